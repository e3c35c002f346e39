import fs from 'node:fs'
import path from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {EnergySummarySchema, type BoundaryFigure, type PhaseEnergy} from '../../src/energy/schema.js'
import type {EnergyInput} from '../../src/energy/series-energy.js'
import {computeEnergy} from '../../src/energy/summary.js'
import {NvidiaSmiSource} from '../../src/power/nvidia-smi.js'
import type {SourceInfo} from '../../src/power/power-source.js'
import {parsePowermetrics} from '../../src/power/powermetrics.js'
import {discoverRaplZones, RaplSource} from '../../src/power/rapl.js'
import {PowerSampler} from '../../src/power/sampler.js'
import {formatNumber} from '../../src/report/format.js'
import {renderRunTable} from '../../src/report/terminal-table.js'
import {handResult, localTarget, request, run} from '../helpers/result-builder.js'
import {fakeEnv, installFakeTools} from '../power/helpers/fake-tools.js'
import {FIXTURES, manualContext, readRecorded, recorded, tempDir, waitFor} from '../power/helpers/fixtures.js'
import {extractTtar} from '../power/helpers/ttar.js'

/**
 * The meter quirks of issue 16, each replayed from recorded output or device behaviour, each
 * asserting the validity code and what a report shows.
 */
const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, {recursive: true, force: true})
})

function figure(phase: PhaseEnergy, boundary: string): BoundaryFigure {
  const found = phase.boundaries.find((b) => b.boundary === boundary)
  if (!found) throw new Error(`no ${boundary} figure in ${phase.boundaries.map((b) => b.boundary).join(', ')}`)
  return found
}

/**
 * What the run table shows for a test whose one request spans `window` under these readings:
 * its J/token cell and the note under the table (from the derivation, as every renderer shows it).
 */
function shown(input: EnergyInput, window: [number, number]): {cell: string; notes: string[]} {
  const power = {...input, sources: input.sources.map((s) => ({...s, scope: 'host' as const})), samples: input.samples as Record<string, [number, number][]>, failures: [...input.failures], notStarted: [], uncovered: input.uncovered ? [...input.uncovered] : undefined, startedAt: window[0]}
  const result = handResult([localTarget()], [run('local', 'pp256', 0, [request(window[0], {nPrompt: 256, nOut: 1, ttft: window[1] - window[0]})])], {power})
  const lines = renderRunTable(result).split('\n')
  const row = lines.find((l) => l.includes('| pp256 '))!.split('|').map((c) => c.trim())
  return {cell: row.at(-3)!, notes: lines.filter((l) => l.startsWith('- local pp256: J/token'))}
}

const total = (input: EnergyInput, window: [number, number], tokens = 100): PhaseEnergy =>
  computeEnergy(input, [{prefill: [window[0], window[0] + 1] as const, decode: [window[0] + 1, window[1]] as const, promptTokens: 1, outputTokens: tokens}]).phases[2]!

describe('nvidia-smi: [Not Supported] for one of two GPUs (replayed through nvidia-smi on PATH)', () => {
  it('covers the GPU that reports, names the one that does not, and keeps the figure labelled partial', async () => {
    const dir = tempDir('nvsmi-partial')
    dirs.push(dir)
    installFakeTools(path.join(dir, 'bin'))
    // The L40S load capture as GPU 1; GPU 0 is the same card printing [Not Supported] for its power fields.
    const good = recorded('nvidia-smi', 'query-gpu-csv', 'linux-x86_64__nvidia-l40s__595.80__load.csv')
    const [header, values] = fs.readFileSync(good, 'utf8').split('\n') as [string, string]
    const names = header.split(', ').map((h) => h.replace(/ \[[^\]]*\]$/, ''))
    const unsupported = values
      .split(', ')
      .map((v, i) => (names[i]!.startsWith('power.draw') ? '[Not Supported]' : v))
      .join(', ')
    const bad = path.join(dir, 'gpu0.csv')
    fs.writeFileSync(bad, `${header}\n${unsupported}\n`)
    const sampler = new PowerSampler({sources: [new NvidiaSmiSource({env: fakeEnv(path.join(dir, 'bin'), {FAKE_NVSMI_GPUS: `${bad};${good}`})})], intervalMs: 100})
    const {sources} = await sampler.start()
    expect(sources.map((s) => s.id)).toEqual(['nvidia:1'])
    await waitFor(() => (sampler.snapshot().samples['nvidia:1']?.length ?? 0) >= 14, 10_000, '14 readings')
    const recording = await sampler.stop()
    expect(recording.uncovered).toEqual([{source: 'nvidia-smi', boundary: 'gpu-board', device: 'NVIDIA L40S (GPU 0)', reason: 'power.draw [Not Supported]'}])
    const series = recording.samples['nvidia:1']!
    const watts = series[0]![1]
    // A window of 1.2 s inside the readings: the 100 ms refresh needs at least 1 s.
    const t0 = series[0]![0] + 1
    const phase = total(recording, [t0, t0 + 1200])
    const gpu = figure(phase, 'gpu-board')
    expect(gpu.invalid).toBeUndefined()
    expect(gpu.partial).toBe('covers 1 of 2 GPUs; not NVIDIA L40S (GPU 0): power.draw [Not Supported]')
    // The recorded load draw, constant here: watts x 1.2 s over 100 tokens.
    expect(gpu.grossJ).toBeCloseTo(watts * 1.2, 6)
    expect(EnergySummarySchema.shape.phases.element.parse(phase)).toEqual(phase)
    // Shown with its mark, and the devices it leaves out in a note: watts x 1.2 s over 256 prompt tokens.
    expect(shown(recording, [t0, t0 + 1200])).toEqual({cell: `${formatNumber((watts * 1.2) / 256)} (gpu-board, sampled, partial)`, notes: ['- local pp256: J/token covers part of gpu-board: covers 1 of 2 GPUs; not NVIDIA L40S (GPU 0): power.draw [Not Supported]']})
  })

  it('marks the figure invalid (device-missing) when one GPU stops reporting while the other goes on', () => {
    const gpu = (i: number): SourceInfo => ({id: `nvidia:${i}`, kind: 'nvidia-smi', boundary: 'gpu-board', method: 'sampled', unit: 'W', intervalMs: 100, updateMs: 100, device: `NVIDIA H100 80GB HBM3 (GPU ${i})`})
    // The H100 load capture's power.draw.instant (661.47 W), every 100 ms; GPU 0 prints [Not Supported] from 600 ms on.
    const every = (from: number, to: number) => Array.from({length: (to - from) / 100 + 1}, (_, k): [number, number] => [from + k * 100, 661.47])
    const input: EnergyInput = {sources: [gpu(0), gpu(1)], samples: {'nvidia:0': every(0, 500), 'nvidia:1': every(0, 3000)}, failures: []}
    const phase = total(input, [100, 2900])
    const board = figure(phase, 'gpu-board')
    expect(board).toMatchObject({grossJ: null, gross: null})
    expect(board.invalid).toEqual([
      {code: 'device-missing', sourceId: 'nvidia:0', reason: 'nvidia:0: NVIDIA H100 80GB HBM3 (GPU 0) stopped reporting while nvidia:1 went on (no reading after the window end (2900 ms; last reading at 500 ms))'},
    ])
    expect(phase.widest).toBeNull()
    expect(shown(input, [100, 2900])).toEqual({cell: 'missing (device-missing)', notes: [`- local pp256: J/token missing (device-missing): ${board.invalid![0]!.reason}`]})
  })
})

describe('powermetrics: CPU Power 0 mW while the CPU clusters are busy (a macOS beta)', () => {
  it('is zero-under-load, and the SoC figure that includes it is not shown either', () => {
    // The recorded M1 capture (macOS 12) with every CPU Power line printed as 0 mW, as the beta did.
    const text = readRecorded('macos-powermetrics', 'apple-m1_MacBookAir10-1_macOS12-21G115_cpu_power_10-samples.txt').replace(/^CPU Power: \d+ mW$/gm, 'CPU Power: 0 mW')
    const samples = parsePowermetrics(text)
    expect(samples).toHaveLength(10)
    expect(samples.every((s) => s.readings.cpu === 0)).toBe(true)
    // As PowermetricsSource stores them: each reading a step over its own elapsed span.
    const spec: Record<string, Omit<SourceInfo, 'id' | 'kind' | 'method' | 'unit' | 'intervalMs'>> = {
      cpu: {boundary: 'cpu-package'},
      gpu: {boundary: 'gpu-board'},
      package: {boundary: 'soc', includes: ['powermetrics:cpu', 'powermetrics:gpu', 'powermetrics:ane']},
      ane: {boundary: 'soc', part: 'ane'},
      dram: {boundary: 'dram'},
    }
    const sources: SourceInfo[] = Object.entries(spec).map(([key, s]) => ({id: `powermetrics:${key}`, kind: 'powermetrics', method: 'sampled', unit: 'W', intervalMs: 100, updateMs: 100, averagingMs: 100, ...s}))
    const series: Record<string, [number, number][]> = Object.fromEntries(sources.map((s) => [s.id, []]))
    let t = 0
    for (const sample of samples) {
      for (const [key, watts] of Object.entries(sample.readings)) {
        series[`powermetrics:${key}`]?.push([t, watts], [t + sample.elapsedMs, watts])
      }
      t += sample.elapsedMs
    }
    const input: EnergyInput = {sources, samples: series, failures: [], minUpdates: 3}
    // The ten samples of about 105 ms each; the window leaves 50 ms at both ends.
    const phase = total(input, [50, t - 50])
    expect(figure(phase, 'cpu-package').invalid).toEqual([
      {code: 'zero-under-load', sourceId: 'powermetrics:cpu', reason: expect.stringMatching(/^powermetrics:cpu: read 0 W throughout 9\d\d\.\d ms in which the benchmark ran: zero watts under load is not a reading$/)},
    ])
    const soc = figure(phase, 'soc')
    expect(soc).toMatchObject({grossJ: null, invalid: [{code: 'zero-under-load', sourceId: 'powermetrics:package', reason: expect.stringMatching(/^powermetrics:package: includes powermetrics:cpu: read 0 W/)}]})
    // Nothing that contains the CPU is shown; the widest honest figure is the GPU's.
    expect(figure(phase, 'cpu-package+gpu-board+dram').invalid![0]!.code).toBe('zero-under-load')
    expect(phase.widest).toBe('gpu-board')
    // The headline is the widest boundary the meters form (soc here): not shown, with the code.
    expect(shown(input, [50, t - 50]).cell).toBe('missing (zero-under-load)')
  })
})

describe('RAPL: the package counter stuck at 0 while DRAM advances', () => {
  it('is counter-stuck, named next to the DRAM counter that moved; the DRAM figure stays', async () => {
    const dir = tempDir('rapl-stuck')
    dirs.push(dir)
    extractTtar(path.join(FIXTURES, 'powercap', 'server-two-packages-dram-only.ttar'), dir)
    const root = path.join(dir, 'powercap')
    const {zones} = discoverRaplZones(root)
    expect(zones.map((z) => z.name)).toEqual(['package-0', 'dram', 'package-1', 'dram'])
    const write = (z: (typeof zones)[number], uj: number) => fs.writeFileSync(path.join(z.dir, 'energy_uj'), `${uj}\n`)
    for (const z of zones) write(z, z.name.startsWith('package') ? 0 : 1_000_000)
    const source = new RaplSource({root})
    const {context, sink, clock} = manualContext()
    const infos = await source.start(context)
    // 2 s in 100 ms steps: the packages never move, each DRAM zone draws 6 W (0.6 J per step).
    for (let step = 1; step <= 20; step++) {
      clock.now = step * 100
      for (const z of zones) if (z.name === 'dram') write(z, 1_000_000 + step * 600_000)
      source.mark()
    }
    await source.stop()
    const input: EnergyInput = {sources: infos, samples: Object.fromEntries(sink.samples), failures: []}
    const phase = total(input, [0, 2000])
    const packages = figure(phase, 'cpu-package')
    expect(packages.invalid!.map((i) => i.code)).toEqual(['counter-stuck', 'counter-stuck'])
    expect(packages.invalid![0]!.reason).toMatch(/^rapl:package-0: the counter did not advance over 2\.00 s \(stuck at 0 J\) while .*rapl:package-0\/dram.* advanced: not a reading$/)
    expect(figure(phase, 'cpu-package+dram').invalid!.map((i) => i.code)).toEqual(['counter-stuck', 'counter-stuck'])
    // Two DRAM zones x 6 W x 2 s.
    expect(figure(phase, 'dram').grossJ).toBeCloseTo(24, 9)
    expect(phase.widest).toBe('dram')
    expect(shown(input, [0, 2000]).cell).toBe('missing (counter-stuck)')
  })

  it('is counter-backwards when a counter steps back with no wrap value (a reset or driver reload)', () => {
    const nvml: SourceInfo = {id: 'nvml:0', kind: 'nvml', boundary: 'gpu-board', method: 'counter', unit: 'J', intervalMs: 100, updateMs: 100, device: 'GPU 0'}
    const input: EnergyInput = {sources: [nvml], samples: {'nvml:0': [[0, 5000], [1000, 5300], [1500, 12], [3000, 462]]}, failures: []}
    const phase = total(input, [0, 3000])
    expect(figure(phase, 'gpu-board').invalid).toEqual([{code: 'counter-backwards', sourceId: 'nvml:0', reason: 'nvml:0: the counter went backwards at 1500.0 ms and its wrap value is unknown (a driver reload or a reset)'}])
    expect(shown(input, [0, 3000])).toEqual({cell: 'missing (counter-backwards)', notes: ['- local pp256: J/token missing (counter-backwards): nvml:0: the counter went backwards at 1500.0 ms and its wrap value is unknown (a driver reload or a reset)']})
  })
})

describe('a window too short for its meter', () => {
  it('is window-too-short for a plug refreshing once a second against a 0.1 s pp256, and valid over 10 s', () => {
    const plug: SourceInfo = {id: 'shelly:plug', kind: 'shelly', boundary: 'wall', method: 'sampled', unit: 'W', intervalMs: 500, updateMs: 1000}
    const readings = Array.from({length: 41}, (_, k): [number, number] => [k * 500, 80])
    const input: EnergyInput = {sources: [plug], samples: {'shelly:plug': readings}, failures: []}
    const short = computeEnergy(input, [{prefill: [1000, 1100], promptTokens: 256, outputTokens: 0}]).phases[2]!
    expect(figure(short, 'wall').invalid).toEqual([
      {
        code: 'window-too-short',
        sourceId: 'shelly:plug',
        reason: 'shelly:plug: a window of 100.0 ms spans 0.1 meter updates (one per 1.00 s); at least 10 are needed (repeat the test back to back, or lower --min-meter-updates)',
      },
    ])
    // 100 pp256 back to back, 0.1 s each with 1 ms between: one window of 10.099 s, 80 W throughout.
    const burst = Array.from({length: 100}, (_, k) => ({prefill: [1000 + k * 101, 1100 + k * 101] as const, promptTokens: 256, outputTokens: 0, window: [1000, 1000 + 99 * 101 + 100] as const}))
    const long = computeEnergy(input, burst).phases[2]!
    expect(long.windowMs).toBe(10_099)
    expect(figure(long, 'wall').invalid).toBeUndefined()
    expect(figure(long, 'wall').gross!.jPerToken).toBeCloseTo((80 * 10.099) / 25_600, 12)
    expect(shown(input, [1000, 1100]).cell).toBe('missing (window-too-short)')
  })

  it('rejects a negative reading (a clamp the wrong way round: the recorded Shelly EM -620.34 W)', () => {
    const em: SourceInfo = {id: 'shelly:em', kind: 'shelly', boundary: 'wall', method: 'sampled', unit: 'W', intervalMs: 500, updateMs: 1000}
    const input: EnergyInput = {sources: [em], samples: {'shelly:em': Array.from({length: 30}, (_, k): [number, number] => [k * 500, -620.34])}, failures: []}
    expect(figure(total(input, [500, 14_000]), 'wall').invalid![0]!.code).toBe('negative-reading')
    expect(shown(input, [500, 14_000])).toEqual({cell: 'missing (negative-reading)', notes: ['- local pp256: J/token missing (negative-reading): shelly:em: read -620.34 W: a consumption meter never reads below 0 (a clamp the wrong way round, or a meter of another circuit)']})
  })
})
