import fs from 'node:fs'
import path from 'node:path'
import {UserError} from '../errors/errors.js'
import {CounterPoller, type CounterSeries} from './counter-poller.js'
import {effectiveInterval, errorCode, errorMessage, type Boundary, type PowerSource, type SourceInfo, type StartContext} from './power-source.js'

export const DEFAULT_POWERCAP_ROOT = '/sys/class/powercap'

/** File access, injectable so tests can make `energy_uj` unreadable even when they run as root. */
export interface PowercapFs {
  readFile(file: string): string
  readdir(dir: string): string[]
  isDirectory(file: string): boolean
}

export const nodePowercapFs: PowercapFs = {
  readFile: (file) => fs.readFileSync(file, 'utf8'),
  readdir: (dir) => fs.readdirSync(dir),
  isDirectory: (file) => {
    try {
      return fs.statSync(file).isDirectory()
    } catch {
      return false
    }
  },
}

export interface RaplZone {
  /** Directory name: 'intel-rapl:0', 'intel-rapl:0:2', 'amd-rapl:0'. */
  zone: string
  dir: string
  /** Contents of `name`: 'package-0', 'core', 'uncore', 'dram', 'psys'. */
  name: string
  /** Zone of the enclosing directory level ('intel-rapl:0' for 'intel-rapl:0:2'). */
  parent?: string
  boundary: Boundary
  /** Set for zones inside another zone's energy (core, uncore): never added to a total. */
  part?: string
  /** max_energy_range_uj in joules; undefined when the file is missing or empty. */
  wrapJ?: number
}

export interface RaplDiscovery {
  zones: RaplZone[]
  /** Zones skipped and why (malformed names, MMIO duplicates, unknown domains). */
  skipped: {zone: string; reason: string}[]
}

// `intel-rapl-mmio:0` is left out on purpose: it is the same package-0 counter read through MMIO.
const ZONE_PATTERN = /^(intel-rapl|amd-rapl)(:\d+)+$/
const CONTROL_TYPES = ['intel-rapl', 'amd-rapl']

/**
 * Lists the RAPL zones under a powercap root. Zones appear flat at the top (`intel-rapl:0`,
 * `intel-rapl:0:0`, as symlinks on real kernels) and nested under the control type
 * (`intel-rapl/intel-rapl:0/intel-rapl:0:0`); both are walked and a zone is kept once.
 */
export function discoverRaplZones(root = DEFAULT_POWERCAP_ROOT, fsx: PowercapFs = nodePowercapFs): RaplDiscovery {
  const found = new Map<string, string>()
  const skipped: RaplDiscovery['skipped'] = []
  const visit = (dir: string, depth: number) => {
    let entries: string[]
    try {
      entries = fsx.readdir(dir)
    } catch {
      return
    }
    for (const entry of entries.sort()) {
      const full = path.join(dir, entry)
      if (ZONE_PATTERN.test(entry)) {
        if (!fsx.isDirectory(full)) {
          skipped.push({zone: entry, reason: 'listed but not readable (dangling link?)'})
          continue
        }
        if (!found.has(entry)) found.set(entry, full)
        if (depth < 3) visit(full, depth + 1)
      } else if (depth === 0 && CONTROL_TYPES.includes(entry)) {
        visit(full, depth + 1)
      } else if (depth === 0 && /^(intel-rapl|amd-rapl)/.test(entry)) {
        skipped.push({zone: entry, reason: entry.includes('mmio') ? 'MMIO view of the package-0 counter (would double count)' : 'not a zone name of the form intel-rapl:N[:M]'})
      }
    }
  }
  visit(root, 0)

  const zones: RaplZone[] = []
  for (const [zone, dir] of [...found.entries()].sort(([a], [b]) => compareZones(a, b))) {
    const name = readTrimmed(fsx, path.join(dir, 'name'))
    if (!name) {
      skipped.push({zone, reason: 'no readable name file'})
      continue
    }
    const role = zoneRole(name)
    if (!role) {
      skipped.push({zone, reason: `unknown domain '${name}'`})
      continue
    }
    const parts = zone.split(':')
    const parent = parts.length > 2 ? parts.slice(0, -1).join(':') : undefined
    const range = Number(readTrimmed(fsx, path.join(dir, 'max_energy_range_uj')))
    zones.push({zone, dir, name, parent, ...role, wrapJ: Number.isFinite(range) && range > 0 ? range / 1e6 : undefined})
  }
  return {zones, skipped}
}

/**
 * A zone's boundary comes from its name, not from where it sits in sysfs: `dram` is a sub-zone
 * of a package directory yet its energy is not part of the package's, while core and uncore are.
 * psys (platform) contains the packages, so it stands for the SoC boundary.
 */
function zoneRole(name: string): {boundary: Boundary; part?: string} | undefined {
  if (/^package-\d+$/.test(name)) return {boundary: 'cpu-package'}
  if (name === 'dram') return {boundary: 'dram'}
  if (name === 'psys') return {boundary: 'soc'}
  if (name === 'core' || name === 'uncore') return {boundary: 'cpu-package', part: name}
  return undefined
}

function compareZones(a: string, b: string): number {
  const na = a.split(':').slice(1).map(Number)
  const nb = b.split(':').slice(1).map(Number)
  for (let i = 0; i < Math.max(na.length, nb.length); i++) {
    const d = (na[i] ?? -1) - (nb[i] ?? -1)
    if (d !== 0) return d
  }
  return a.localeCompare(b)
}

function readTrimmed(fsx: PowercapFs, file: string): string | undefined {
  try {
    return fsx.readFile(file).trim() || undefined
  } catch {
    return undefined
  }
}

/** The two fixes for a root-only energy_uj (CVE-2020-8694 made it 0400 on most kernels). */
export function raplPermissionFix(zones: readonly Pick<RaplZone, 'zone'>[], root = DEFAULT_POWERCAP_ROOT): string {
  const prefixes = [...new Set(zones.map((z) => z.zone.split(':')[0]!))]
  const globs = (prefixes.length > 0 ? prefixes : ['intel-rapl']).map((p) => `${root}/${p}:*/energy_uj`).join(' ')
  return (
    `run 'sudo chmod o+r ${globs}' (until the next reboot), or make it permanent with a udev rule: ` +
    `echo 'SUBSYSTEM=="powercap", ACTION=="add", RUN+="/bin/chmod o+r /sys%p/energy_uj"' | sudo tee /etc/udev/rules.d/99-owbench-rapl.rules, ` +
    `or run owbench with sudo`
  )
}

export interface RaplOptions {
  root?: string
  fs?: PowercapFs
  /** Also report core and uncore (parts of the package; shown, never added). */
  includeParts?: boolean
}

/**
 * RAPL energy counters from /sys/class/powercap. Each zone is a counter series in joules, read on
 * a timer and at every `mark()`; wraparound is left in the raw series (with `wrapJ` next to it)
 * and undone when a window is differenced, so the file keeps exactly what the kernel said.
 */
export class RaplSource implements PowerSource {
  readonly name = 'rapl'
  readonly minIntervalMs = 10
  private readonly root: string
  private readonly fsx: PowercapFs
  private readonly poller = new CounterPoller()

  constructor(private readonly options: RaplOptions = {}) {
    this.root = options.root ?? DEFAULT_POWERCAP_ROOT
    this.fsx = options.fs ?? nodePowercapFs
  }

  async start(context: StartContext): Promise<SourceInfo[]> {
    const {zones} = discoverRaplZones(this.root, this.fsx)
    const wanted = zones.filter((z) => this.options.includeParts || !z.part)
    if (wanted.length === 0) {
      throw new UserError(`no RAPL energy counters under ${this.root}`, 'RAPL needs an Intel CPU (Sandy Bridge or newer) or an AMD Zen CPU on Linux 5.8+, with the intel_rapl_msr module loaded (sudo modprobe intel_rapl_msr)')
    }
    const denied: RaplZone[] = []
    const infos: SourceInfo[] = []
    const active: CounterSeries[] = []
    for (const zone of wanted) {
      const file = path.join(zone.dir, 'energy_uj')
      try {
        parseMicrojoules(this.fsx.readFile(file))
      } catch (error) {
        if (errorCode(error) === 'EACCES' || errorCode(error) === 'EPERM') {
          denied.push(zone)
          continue
        }
        throw new UserError(`cannot read ${file}: ${errorMessage(error)}`, 'check that the intel_rapl_msr module is loaded and the zone is enabled')
      }
      const parentName = zones.find((z) => z.zone === zone.parent)?.name
      const id = parentName ? `rapl:${parentName}/${zone.name}` : `rapl:${zone.name}`
      const notes = zone.wrapJ === undefined ? ['max_energy_range_uj unreadable: a counter wrap cannot be undone'] : undefined
      infos.push({
        id: uniqueId(id, infos),
        kind: 'rapl',
        boundary: zone.boundary,
        method: 'counter',
        unit: 'J',
        intervalMs: effectiveInterval(context.intervalMs, this.minIntervalMs),
        // Intel SDM vol. 3B 15.10.1: the energy status counters are updated about every 1 ms.
        updateMs: 1,
        device: parentName ? `${zone.zone} (${parentName} ${zone.name})` : `${zone.zone} (${zone.name})`,
        field: 'energy_uj',
        ...(zone.part ? {part: zone.part} : {}),
        ...(zone.wrapJ !== undefined ? {wrapJ: zone.wrapJ} : {}),
        ...(zone.boundary === 'soc' ? {notes: ['RAPL psys: the platform (packages and more), not the whole machine at the wall', ...(notes ?? [])]} : notes ? {notes} : {}),
      })
      active.push({id: infos.at(-1)!.id, read: () => this.readJoules(file)})
    }
    if (active.length === 0) {
      throw new UserError(`RAPL energy counters are readable by root only (${denied.map((z) => path.join(z.dir, 'energy_uj')).join(', ')})`, raplPermissionFix(denied, this.root))
    }
    this.poller.start(context, effectiveInterval(context.intervalMs, this.minIntervalMs), active)
    return infos
  }

  mark(): void {
    this.poller.read()
  }

  async stop(): Promise<void> {
    this.poller.stop()
  }

  private readJoules(file: string): number {
    try {
      return parseMicrojoules(this.fsx.readFile(file)) / 1e6
    } catch (error) {
      throw new Error(`cannot read ${file}: ${errorMessage(error)}`, {cause: error})
    }
  }
}

function parseMicrojoules(text: string): number {
  const trimmed = text.trim()
  if (!/^\d+$/.test(trimmed)) throw new Error(`not a counter value: '${trimmed}'`)
  return Number(trimmed)
}

function uniqueId(id: string, infos: readonly SourceInfo[]): string {
  let candidate = id
  for (let i = 2; infos.some((s) => s.id === candidate); i++) candidate = `${id}#${i}`
  return candidate
}

/** Reads the counters once: for `detect`, which must not start anything. */
export function probeRapl(root = DEFAULT_POWERCAP_ROOT, fsx: PowercapFs = nodePowercapFs): {zones: RaplZone[]; readable: RaplZone[]; denied: RaplZone[]; errors: string[]} {
  const {zones} = discoverRaplZones(root, fsx)
  const readable: RaplZone[] = []
  const denied: RaplZone[] = []
  const errors: string[] = []
  for (const zone of zones) {
    try {
      parseMicrojoules(fsx.readFile(path.join(zone.dir, 'energy_uj')))
      readable.push(zone)
    } catch (error) {
      if (errorCode(error) === 'EACCES' || errorCode(error) === 'EPERM') denied.push(zone)
      else errors.push(`${zone.zone}: ${errorMessage(error)}`)
    }
  }
  return {zones, readable, denied, errors}
}
