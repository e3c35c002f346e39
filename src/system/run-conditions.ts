import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {z} from 'zod'
import type {LocalListener} from './listening-process.js'

/**
 * The conditions one repetition ran under: how busy the machine was with other work (steal time of
 * a VM, other processes), how fast the CPU ran (frequency, thermal throttling, temperature), and
 * the GPUs' clocks, temperatures and throttle reasons. Raw facts, recorded per repetition; what
 * they mean for a figure is judged in src/metrics/reliability.ts.
 */
const finite = z.number().refine(Number.isFinite, 'must be a finite number')

export const GpuConditionSchema = z.strictObject({
  index: z.number().int().min(0),
  name: z.string().optional(),
  smClockMHz: finite.optional(),
  memClockMHz: finite.optional(),
  temperatureC: finite.optional(),
  /** NVML clocks event (throttle) reasons active at the end: 'sw_power_cap', 'hw_thermal_slowdown', ... */
  throttleReasons: z.array(z.string()).optional(),
})
export type GpuCondition = z.infer<typeof GpuConditionSchema>

export const CpuLoadSchema = z.strictObject({
  durationMs: finite,
  /** Cores busy on average over the window, every process counted (/proc/stat). */
  busyCores: finite,
  /**
   * Cores owbench and its child processes used (an engine process, meter tools). The engine's own time is exact; the
   * rest is counted in /proc's 10 ms ticks, so in a window of a few ms this can read above logicalCpus (one tick in
   * 7 ms reads as 1.4 cores): the busy-machine warning judges only windows of 100 ms or more for that reason.
   */
  ownCores: finite,
  /**
   * Cores the measured local servers used: the processes listening on the port of an endpoint on this machine, with
   * their threads and child processes (vLLM's workers), where found (`server` of RunConditions names them).
   */
  serverCores: finite.optional(),
  /** busyCores - ownCores - serverCores, at least 0: the load other processes put on the machine. */
  otherCores: finite,
  /** Share of all CPU time the hypervisor gave to other guests (/proc/stat steal), 0..1. */
  stealShare: finite,
})
export type CpuLoad = z.infer<typeof CpuLoadSchema>

/**
 * The server of a repetition's endpoint when the endpoint is on this machine: the process(es) listening on its port
 * (pid and /proc/<pid>/comm name, never a command line), whose CPU time, with their threads' and child processes',
 * is the measured server's own (CpuLoad.serverCores) and not other processes' load; or why none was found, in which
 * case other processes' load may include the server's own.
 */
export const MeasuredServerSchema = z.union([
  z.strictObject({port: z.number().int().min(0).max(65_535), processes: z.array(z.strictObject({pid: z.number().int().positive(), name: z.string()})).min(1)}),
  z.strictObject({port: z.number().int().min(0).max(65_535), unidentified: z.string()}),
])
export type MeasuredServer = z.infer<typeof MeasuredServerSchema>

export const RunConditionsSchema = z.strictObject({
  logicalCpus: z.number().int().positive(),
  /** The local server of the repetition's endpoint (absent for the local engine and remote endpoints). */
  server: MeasuredServerSchema.optional(),
  /** During the repetition. */
  during: CpuLoadSchema,
  /** Between the previous repetition (or the start of the run) and this one. */
  before: CpuLoadSchema.optional(),
  /** CPU clock (MHz) at the start and end of the repetition, over all cores. */
  cpuFreqMHz: z.strictObject({min: finite, avg: finite, max: finite}).optional(),
  /** Highest CPU temperature read at the start and end (hwmon or thermal zones), where the kernel has one. */
  cpuTemperatureC: finite.optional(),
  /** Thermal throttling events the kernel counted during the repetition (Intel core_throttle_count). */
  cpuThrottleEvents: z.number().int().min(0).optional(),
  gpus: z.array(GpuConditionSchema).optional(),
})
export type RunConditions = z.infer<typeof RunConditionsSchema>

/**
 * Cumulative CPU time of all cores in any unit (power/cpu-utilization.ts reads it from /proc/stat;
 * the runner passes that reader in, as system/ sits beside power/ and imports neither).
 */
export interface CpuTimes {
  busy: number
  total: number
  /** Time the hypervisor ran other guests (/proc/stat steal); 0 where not reported. */
  steal?: number
}

/** What the monitor reads; each part injectable so tests are exact. Every reader is synchronous and cheap (no process spawned). */
export interface ConditionReaders {
  clock: () => number
  cpuTimes: () => CpuTimes
  /** CPU milliseconds used by owbench and its descendants so far. */
  ownCpuMs: () => number
  /** Local endpoints' servers by target id (localListener of system/listening-process.ts); fixed for a run. */
  servers?: ReadonlyMap<string, LocalListener>
  /** CPU milliseconds so far of every process of the found servers' trees, by pid (serverTreeCpuMs); none of owbench's own tree. */
  serverCpuMs?: () => ReadonlyMap<number, number>
  logicalCpus: number
  cpuFreqsMHz?: () => number[]
  cpuTemperatureC?: () => number | undefined
  cpuThrottleCount?: () => number | undefined
  gpus?: () => GpuCondition[]
}

interface Snapshot {
  t: number
  cpu: CpuTimes
  own: number
  server?: ReadonlyMap<number, number>
  freqs: number[]
  temperature?: number
  throttle?: number
}

/**
 * Reads the conditions at the edges of each repetition (begin/end): CPU times are cumulative
 * counters, so two reads cover the whole window without sampling in between, and nothing runs
 * while requests do. systeminformation is not used here: its currentLoad keeps one global state
 * and its cpuTemperature runs shell commands with execSync, which would stall the event loop at
 * every window edge.
 */
export class ConditionsMonitor {
  private last: Snapshot | undefined
  private started: Snapshot | undefined
  private target: string | undefined

  constructor(private readonly readers: ConditionReaders) {
    this.last = this.snapshot()
  }

  /** Called right before a repetition's first request, with its target's id (which names its local server, if any). */
  begin(target?: string): void {
    this.target = target
    this.started = this.snapshot()
  }

  /** Called right after its last request ends; undefined without a begin(). */
  end(): RunConditions | undefined {
    const start = this.started
    if (!start) return undefined
    const end = this.snapshot()
    const before = this.last
    this.started = undefined
    this.last = end
    const freqs = [...start.freqs, ...end.freqs].filter((f) => f > 0)
    const temperatures = [start.temperature, end.temperature].filter((t): t is number => t !== undefined)
    const gpus = this.readers.gpus?.()
    const server = this.target === undefined ? undefined : this.readers.servers?.get(this.target)
    return {
      logicalCpus: this.readers.logicalCpus,
      ...(server ? {server: 'processes' in server ? {port: server.port, processes: server.processes.map((p) => ({...p}))} : {...server}} : {}),
      during: this.load(start, end),
      ...(before && start.t > before.t ? {before: this.load(before, start)} : {}),
      ...(freqs.length > 0 ? {cpuFreqMHz: {min: Math.min(...freqs), avg: freqs.reduce((a, b) => a + b, 0) / freqs.length, max: Math.max(...freqs)}} : {}),
      ...(temperatures.length > 0 ? {cpuTemperatureC: Math.max(...temperatures)} : {}),
      ...(start.throttle !== undefined && end.throttle !== undefined ? {cpuThrottleEvents: Math.max(0, end.throttle - start.throttle)} : {}),
      ...(gpus && gpus.length > 0 ? {gpus} : {}),
    }
  }

  private load(a: Snapshot, b: Snapshot): CpuLoad {
    const durationMs = b.t - a.t
    const total = b.cpu.total - a.cpu.total
    const cpus = this.readers.logicalCpus
    const busyCores = total > 0 ? ((b.cpu.busy - a.cpu.busy) / total) * cpus : 0
    const ownCores = durationMs > 0 ? (b.own - a.own) / durationMs : 0
    const serverCores = b.server && durationMs > 0 ? serverMsBetween(a.server, b.server) / durationMs : undefined
    return {
      durationMs,
      busyCores,
      ownCores,
      ...(serverCores !== undefined ? {serverCores} : {}),
      otherCores: Math.max(0, busyCores - ownCores - (serverCores ?? 0)),
      stealShare: total > 0 ? Math.max(0, ((b.cpu.steal ?? 0) - (a.cpu.steal ?? 0)) / total) : 0,
    }
  }

  private snapshot(): Snapshot {
    const r = this.readers
    const temperature = r.cpuTemperatureC?.()
    const throttle = r.cpuThrottleCount?.()
    const server = r.serverCpuMs?.()
    return {t: r.clock(), cpu: r.cpuTimes(), own: r.ownCpuMs(), ...(server ? {server} : {}), freqs: r.cpuFreqsMHz?.() ?? [], ...(temperature !== undefined ? {temperature} : {}), ...(throttle !== undefined ? {throttle} : {})}
  }
}

/**
 * CPU ms the servers' processes used between two readings (pid -> cumulative ms): each process still there at the
 * later one counts what it used since the earlier (all of it when it started in between); a process gone by then
 * counts nothing more (a reaped child's time shows in its parent's cutime/cstime).
 */
function serverMsBetween(a: ReadonlyMap<number, number> | undefined, b: ReadonlyMap<number, number>): number {
  let ms = 0
  for (const [pid, now] of b) ms += Math.max(0, now - (a?.get(pid) ?? 0))
  return ms
}

/** USER_HZ: the unit of /proc/<pid>/stat times on every Linux architecture owbench runs on. */
const CLOCK_TICKS_PER_S = 100

/**
 * CPU ms of this process (every thread) plus its descendants that are still running (found through
 * every process's parent pid; llama.cpp's engine process among them) and those already reaped
 * (cutime/cstime). /proc counts another process's time in 10 ms ticks, too coarse for a repetition
 * of a few ms: `exact` gives the CPU ms of descendants that measure their own (getrusage, as
 * process.cpuUsage() does here), used instead of their ticks.
 */
export function ownTreeCpuMs(proc = '/proc', exact: ReadonlyMap<number, number> = new Map()): number {
  const usage = process.cpuUsage()
  let ms = (usage.user + usage.system) / 1000
  const children = childMap(proc)
  const seen = new Set<number>()
  const visit = (pid: number, self: boolean) => {
    if (seen.has(pid)) return
    seen.add(pid)
    const fields = statFields(proc, pid)
    if (fields && !self) ms += exact.get(pid) ?? ((fields[13] ?? 0) + (fields[14] ?? 0)) * (1000 / CLOCK_TICKS_PER_S)
    if (fields) ms += ((fields[15] ?? 0) + (fields[16] ?? 0)) * (1000 / CLOCK_TICKS_PER_S)
    for (const child of children.get(pid) ?? []) visit(child, false)
  }
  visit(process.pid, true)
  return ms
}

/**
 * CPU ms (user + system, every thread: /proc/<pid>/stat utime + stime, with cutime + cstime of reaped children) of each
 * process of the trees rooted at `roots` (a server listening on a port, its worker processes), by pid, in /proc's
 * 10 ms ticks. Processes of owbench's own tree (`self`, this process by default, and its descendants) are left out:
 * ownTreeCpuMs counts them already.
 */
export function serverTreeCpuMs(roots: readonly number[], proc = '/proc', self = process.pid): Map<number, number> {
  const children = childMap(proc)
  const own = new Set<number>()
  const mark = (pid: number) => {
    if (own.has(pid)) return
    own.add(pid)
    for (const child of children.get(pid) ?? []) mark(child)
  }
  mark(self)
  const out = new Map<number, number>()
  const visit = (pid: number) => {
    if (own.has(pid) || out.has(pid)) return
    const fields = statFields(proc, pid)
    if (!fields) return
    out.set(pid, ((fields[13] ?? 0) + (fields[14] ?? 0) + (fields[15] ?? 0) + (fields[16] ?? 0)) * (1000 / CLOCK_TICKS_PER_S))
    for (const child of children.get(pid) ?? []) visit(child)
  }
  for (const root of roots) visit(root)
  return out
}

/** Fields of /proc/<pid>/stat after the command (which may hold spaces), numbered as in proc(5) minus one. */
function statFields(proc: string, pid: number): number[] | undefined {
  try {
    return parseStat(fs.readFileSync(path.join(proc, String(pid), 'stat'), 'utf8'))
  } catch {
    return undefined
  }
}

function parseStat(text: string): number[] {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // rest[0] is field 3 (state): pad so that index i is field i + 1.
  return [0, 0, ...rest.map(Number)]
}

/** Parent pid -> child pids, from every /proc/<pid>/stat (field 4); kernels without CONFIG_PROC_CHILDREN have no shortcut. */
function childMap(proc: string): Map<number, number[]> {
  const map = new Map<number, number[]>()
  let entries: string[]
  try {
    entries = fs.readdirSync(proc).filter((e) => /^\d+$/.test(e))
  } catch {
    return map
  }
  for (const entry of entries) {
    const fields = statFields(proc, Number(entry))
    const parent = fields?.[3]
    if (parent === undefined || !Number.isFinite(parent)) continue
    map.set(parent, [...(map.get(parent) ?? []), Number(entry)])
  }
  return map
}

/** The hottest CPU sensor: hwmon temp*_input of coretemp/k10temp (millidegrees), else a thermal zone named like a CPU. */
export function cpuTemperatureC(sys = '/sys/class'): number | undefined {
  const values: number[] = []
  try {
    for (const mon of fs.readdirSync(path.join(sys, 'hwmon'))) {
      const dir = path.join(sys, 'hwmon', mon)
      let name = ''
      try {
        name = fs.readFileSync(path.join(dir, 'name'), 'utf8').trim()
      } catch {
        continue
      }
      if (!/coretemp|k10temp|zenpower|cpu_thermal/.test(name)) continue
      for (const file of fs.readdirSync(dir).filter((f) => /^temp\d+_input$/.test(f))) {
        const v = Number(fs.readFileSync(path.join(dir, file), 'utf8'))
        if (Number.isFinite(v) && v > 0) values.push(v / 1000)
      }
    }
  } catch {
    // No hwmon: a VM or a container.
  }
  return values.length > 0 ? Math.max(...values) : undefined
}

/** Sum of Intel's per-core thermal throttle counters; undefined where the kernel has none (AMD, VMs). */
export function cpuThrottleCount(sys = '/sys/devices/system/cpu'): number | undefined {
  let sum = 0
  let found = false
  try {
    for (const cpu of fs.readdirSync(sys).filter((d) => /^cpu\d+$/.test(d))) {
      try {
        sum += Number(fs.readFileSync(path.join(sys, cpu, 'thermal_throttle', 'core_throttle_count'), 'utf8'))
        found = true
      } catch {
        // Not Intel, or no counter.
      }
    }
  } catch {
    return undefined
  }
  return found ? sum : undefined
}

/**
 * This machine's readers: `cpuTimes` from /proc/stat (power/cpu-utilization.ts systemCpuTimes), `gpus` from NVML when it
 * loads, `exactCpuMs` the CPU ms of child processes that report their own (pid -> ms; see ownTreeCpuMs), `servers` the
 * local endpoints' listeners by target id (system/listening-process.ts localListener), whose found processes' CPU time
 * is read as the measured servers' (serverTreeCpuMs).
 */
export function defaultReaders(cpuTimes: () => CpuTimes, gpus?: () => GpuCondition[], exactCpuMs?: () => ReadonlyMap<number, number>, servers?: ReadonlyMap<string, LocalListener>): ConditionReaders {
  const roots = [...(servers?.values() ?? [])].flatMap((s) => ('processes' in s ? s.processes.map((p) => p.pid) : []))
  return {
    clock: () => performance.now(),
    cpuTimes,
    ownCpuMs: () => ownTreeCpuMs('/proc', exactCpuMs?.()),
    ...(servers && servers.size > 0 ? {servers} : {}),
    ...(roots.length > 0 ? {serverCpuMs: () => serverTreeCpuMs(roots)} : {}),
    logicalCpus: os.cpus().length || 1,
    cpuFreqsMHz: () => os.cpus().map((c) => c.speed),
    cpuTemperatureC: () => cpuTemperatureC(),
    cpuThrottleCount: () => cpuThrottleCount(),
    ...(gpus ? {gpus} : {}),
  }
}
