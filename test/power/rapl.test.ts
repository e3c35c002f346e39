import fs from 'node:fs'
import path from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {computeEnergy} from '../../src/energy/summary.js'
import {isUserError, UserError} from '../../src/errors/errors.js'
import {discoverRaplZones, nodePowercapFs, probeRapl, RaplSource, type PowercapFs} from '../../src/power/rapl.js'
import {FIXTURES, manualContext, recorded, tempDir} from './helpers/fixtures.js'
import {extractTtar} from './helpers/ttar.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, {recursive: true, force: true})
})

/** The recorded procfs fixture: zones laid out flat under class/powercap. */
function procfsTree(): string {
  const dir = tempDir('rapl')
  dirs.push(dir)
  extractTtar(recorded('linux-rapl', 'procfs-testdata_fixtures_sys-class-powercap.ttar'), dir)
  return path.join(dir, 'fixtures', 'sys', 'class', 'powercap')
}

/**
 * A client tree as real kernels lay it out: zones nested under /sys/devices/virtual/powercap,
 * and /sys/class/powercap holding symlinks to the control type and to every zone.
 */
function clientTree(): string {
  const dir = tempDir('rapl')
  dirs.push(dir)
  const devices = path.join(dir, 'sys', 'devices', 'virtual')
  extractTtar(path.join(FIXTURES, 'powercap', 'client-nested-dram-psys-mmio.ttar'), devices)
  const klass = path.join(dir, 'sys', 'class', 'powercap')
  fs.mkdirSync(klass, {recursive: true})
  const real = path.join(devices, 'powercap')
  const link = (name: string, target: string) => fs.symlinkSync(path.relative(klass, path.join(real, target)), path.join(klass, name))
  link('intel-rapl', 'intel-rapl')
  link('intel-rapl:0', 'intel-rapl/intel-rapl:0')
  link('intel-rapl:0:0', 'intel-rapl/intel-rapl:0/intel-rapl:0:0')
  link('intel-rapl:0:1', 'intel-rapl/intel-rapl:0/intel-rapl:0:1')
  link('intel-rapl:0:2', 'intel-rapl/intel-rapl:0/intel-rapl:0:2')
  link('intel-rapl:1', 'intel-rapl/intel-rapl:1')
  link('intel-rapl-mmio', 'intel-rapl-mmio')
  link('intel-rapl-mmio:0', 'intel-rapl-mmio/intel-rapl-mmio:0')
  return klass
}

function serverTree(): string {
  const dir = tempDir('rapl')
  dirs.push(dir)
  extractTtar(path.join(FIXTURES, 'powercap', 'server-two-packages-dram-only.ttar'), dir)
  return path.join(dir, 'powercap')
}

const writeUj = (root: string, zone: string, uj: number | string) => fs.writeFileSync(path.join(root, zone, 'energy_uj'), `${uj}\n`)

describe('RAPL zone discovery', () => {
  it('reads the recorded procfs tree and skips its malformed zone', () => {
    const {zones, skipped} = discoverRaplZones(procfsTree())
    expect(zones.map((z) => [z.zone, z.name, z.boundary, z.part, z.wrapJ])).toEqual([
      ['intel-rapl:0', 'package-0', 'cpu-package', undefined, 262143.32885],
      ['intel-rapl:0:0', 'core', 'cpu-package', 'core', 262143.32885],
    ])
    expect(skipped).toEqual([{zone: 'intel-rapl:a', reason: 'not a zone name of the form intel-rapl:N[:M]'}])
  })

  it('finds every zone once through the symlinks and the nested tree, and leaves out the MMIO duplicate', () => {
    const {zones, skipped} = discoverRaplZones(clientTree())
    expect(zones.map((z) => `${z.zone}=${z.name}`)).toEqual(['intel-rapl:0=package-0', 'intel-rapl:0:0=core', 'intel-rapl:0:1=uncore', 'intel-rapl:0:2=dram', 'intel-rapl:1=psys'])
    // dram sits in the package directory but is not part of the package energy; psys contains it.
    const dram = zones.find((z) => z.name === 'dram')!
    expect(dram).toMatchObject({boundary: 'dram', parent: 'intel-rapl:0', wrapJ: 262143.999938})
    expect(dram.part).toBeUndefined()
    expect(zones.find((z) => z.name === 'psys')).toMatchObject({boundary: 'soc'})
    expect(skipped.map((s) => s.zone)).toEqual(['intel-rapl-mmio', 'intel-rapl-mmio:0'])
  })
})

describe('RaplSource', () => {
  it('reads counters in joules and never adds nested zones', async () => {
    const root = clientTree()
    const source = new RaplSource({root, includeParts: true})
    const {context, sink, clock} = manualContext()
    const infos = await source.start(context)
    expect(infos.map((i) => [i.id, i.boundary, i.part ?? ''])).toEqual([
      ['rapl:package-0', 'cpu-package', ''],
      ['rapl:package-0/core', 'cpu-package', 'core'],
      ['rapl:package-0/uncore', 'cpu-package', 'uncore'],
      ['rapl:package-0/dram', 'dram', ''],
      ['rapl:psys', 'soc', ''],
    ])
    expect(sink.samples.get('rapl:package-0')).toEqual([[0, 240422.366267]])
    // One second later: package +30 J, core +20 J, uncore +2 J, dram +3 J, psys +45 J.
    const zone = path.join(root, 'intel-rapl:0')
    writeUj(root, 'intel-rapl:0', 240422366267 + 30e6)
    writeUj(zone, 'intel-rapl:0:0', 118821284256 + 20e6)
    writeUj(zone, 'intel-rapl:0:1', 1520114422 + 2e6)
    writeUj(zone, 'intel-rapl:0:2', 2469474853 + 3e6)
    writeUj(root, 'intel-rapl:1', 512000000000 + 45e6)
    clock.now = 1000
    await source.stop()
    const summary = computeEnergy({sources: infos, samples: Object.fromEntries(sink.samples), failures: sink.failures}, [{prefill: [0, 1000], promptTokens: 10, outputTokens: 0}])
    const prefill = summary.phases[0]!
    const joules = (b: string) => prefill.boundaries.find((f) => f.boundary === b)?.grossJ
    // psys alone (it contains the package); package + dram = 33 J, never + core or uncore.
    expect(prefill.boundaries.map((b) => b.boundary)).toEqual(['soc', 'cpu-package+dram', 'cpu-package', 'dram'])
    expect(joules('soc')).toBeCloseTo(45, 6)
    expect(joules('cpu-package+dram')).toBeCloseTo(33, 6)
    expect(joules('cpu-package')).toBeCloseTo(30, 6)
    expect(prefill.widest).toBe('soc')
  })

  it('undoes a wrap at max_energy_range_uj in the middle of a run', async () => {
    const root = procfsTree()
    // 1 J before the wrap value 262143328850 uJ.
    writeUj(root, 'intel-rapl:0', 262143328850 - 1e6)
    const source = new RaplSource({root})
    const {context, sink, clock} = manualContext()
    const [info] = await source.start(context)
    expect(info).toMatchObject({id: 'rapl:package-0', method: 'counter', unit: 'J', wrapJ: 262143.32885})
    clock.now = 500
    writeUj(root, 'intel-rapl:0', 262143328850 - 0.25e6)
    source.mark()
    // Wrapped: 2 J past zero.
    clock.now = 1000
    writeUj(root, 'intel-rapl:0', 2e6)
    await source.stop()
    expect(sink.samples.get('rapl:package-0')!.map(([t]) => t)).toEqual([0, 500, 1000])
    const summary = computeEnergy({sources: [info!], samples: Object.fromEntries(sink.samples), failures: []}, [{prefill: [0, 500], decode: [500, 1000], promptTokens: 1, outputTokens: 2}])
    // 0.75 J before the mark; then 0.25 J up to the wrap plus 2 J after it.
    expect(summary.phases[0]!.boundaries[0]!.grossJ).toBeCloseTo(0.75, 6)
    expect(summary.phases[1]!.boundaries[0]!.grossJ).toBeCloseTo(2.25, 6)
    expect(summary.phases[2]!.boundaries[0]!.grossJ).toBeCloseTo(3, 6)
  })

  it('reads a 14-digit server counter and says when the wrap value is unknown', async () => {
    const source = new RaplSource({root: serverTree()})
    const {context, sink} = manualContext()
    const infos = await source.start(context)
    expect(infos.map((i) => i.id)).toEqual(['rapl:package-0', 'rapl:package-0/dram', 'rapl:package-1', 'rapl:package-1/dram'])
    expect(infos[0]).toMatchObject({device: 'intel-rapl:0 (package-0)', notes: ['max_energy_range_uj unreadable: a counter wrap cannot be undone']})
    expect(infos[0]!.wrapJ).toBeUndefined()
    expect(sink.samples.get('rapl:package-0')).toEqual([[0, 60293987]])
    await source.stop()
  })

  it('explains a root-only energy_uj with the exact fix (EACCES through the injected fs, since tests run as root)', async () => {
    const root = procfsTree()
    const denied: PowercapFs = {
      ...nodePowercapFs,
      readFile: (file) => {
        if (file.endsWith('energy_uj')) throw Object.assign(new Error(`EACCES: permission denied, open '${file}'`), {code: 'EACCES'})
        return nodePowercapFs.readFile(file)
      },
    }
    const error = await new RaplSource({root, fs: denied}).start(manualContext().context).catch((e: unknown) => e)
    expect(isUserError(error)).toBe(true)
    const {message, hint} = error as UserError
    expect(message).toMatch(/RAPL energy counters are readable by root only/)
    expect(hint).toContain(`sudo chmod o+r ${root}/intel-rapl:*/energy_uj`)
    expect(hint).toContain('SUBSYSTEM=="powercap", ACTION=="add", RUN+="/bin/chmod o+r /sys%p/energy_uj"')
    expect(hint).toContain('or run owbench with sudo')
    expect(probeRapl(root, denied)).toMatchObject({readable: [], denied: [{zone: 'intel-rapl:0'}, {zone: 'intel-rapl:0:0'}]})
  })

  it.skipIf(process.getuid?.() === 0)('is refused by a real chmod 000 when not root', async () => {
    const root = procfsTree()
    fs.chmodSync(path.join(root, 'intel-rapl:0', 'energy_uj'), 0o000)
    fs.chmodSync(path.join(root, 'intel-rapl:0:0', 'energy_uj'), 0o000)
    await expect(new RaplSource({root}).start(manualContext().context)).rejects.toThrow(/readable by root only/)
  })

  it('records a zone that becomes unreadable mid-run as a failure and keeps its readings', async () => {
    const root = procfsTree()
    const source = new RaplSource({root})
    const {context, sink, clock} = manualContext()
    await source.start(context)
    clock.now = 100
    fs.writeFileSync(path.join(root, 'intel-rapl:0', 'energy_uj'), '')
    source.mark()
    await source.stop()
    expect(sink.samples.get('rapl:package-0')).toHaveLength(1)
    expect(sink.failures).toEqual([{sourceId: 'rapl:package-0', failedAt: 100, reason: expect.stringMatching(/not a counter value/)}])
  })

  it('says what to load when there are no zones', async () => {
    const empty = tempDir('rapl-empty')
    dirs.push(empty)
    await expect(new RaplSource({root: empty}).start(manualContext().context)).rejects.toThrow(/no RAPL energy counters/)
  })
})
