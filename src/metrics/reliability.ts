/** An idle baseline's mean draw and the spread of its readings (energy/schema.ts IdleWatts, structurally). */
type IdleWatts = {sourceId: string; watts: number | null; sdW?: number}
import type {MeasuredServer, RunConditions} from '../system/run-conditions.js'

/**
 * When a figure should not be trusted, say so, like hyperfine's outlier warning. Thresholds:
 * - steal time of 10% or more of all CPU time during a test (a VM sharing its host);
 * - other processes using a quarter of the logical CPUs or more, during a test or right before it;
 * - a coefficient of variation of t/s over repetitions above 10%;
 * - any thermal throttling event, or a GPU throttled for heat or a power brake;
 * - an idle baseline whose readings vary by more than 10% of its mean (net energy then depends on when it was taken).
 */
export const STEAL_WARN = 0.1
export const OTHER_LOAD_WARN = 0.25
export const CV_WARN = 0.1
export const IDLE_CV_WARN = 0.1
/**
 * /proc/stat counts CPU time in ticks of 10 ms per CPU, so a window's busy cores are off by up to one tick per CPU
 * over its length: 0.2 of 2 CPUs over 100 ms, but a whole CPU over 6 ms. A shorter window is judged only together
 * with the other window of its repetition (right before and during, weighted by length).
 */
export const MIN_LOAD_WINDOW_MS = 100

const GPU_HEAT = new Set(['hw_slowdown', 'hw_thermal_slowdown', 'sw_thermal_slowdown', 'hw_power_brake_slowdown'])

export interface TestReliabilityInput {
  test: string
  /** Conditions of the test's measured repetitions. */
  conditions: readonly RunConditions[]
  /**
   * Port of an endpoint on this machine's loopback whose repetitions name no server process (a result written before
   * owbench told the server's CPU time apart): other processes' load may include the server's own.
   */
  unrecordedLocalServerPort?: number
  /** t/s of its requests (mean, sd), when measured. */
  tokensPerSecond?: {mean: number; sd: number | null; min: number; max: number; n: number}
}

/** One line per reason a test's figures are unreliable; empty when none applies. */
export function testWarnings(input: TestReliabilityInput): string[] {
  const out: string[] = []
  const {test, conditions} = input
  if (conditions.length > 0) {
    const steal = Math.max(...conditions.map((c) => c.during.stealShare))
    if (steal >= STEAL_WARN) out.push(`this machine was busy: ${Math.round(steal * 100)}% steal time during ${test} — rerun on a quiet machine`)
    const cpus = conditions[0]!.logicalCpus
    const other = Math.max(0, ...conditions.map(otherLoad))
    // A server on this machine whose process was not found: its own CPU use is counted among the others'.
    const unidentified = conditions.find((c) => c.server && 'unidentified' in c.server)?.server
    const unrecorded = input.unrecordedLocalServerPort
    const mayInclude = unidentified
      ? `, which may include the measured server's own CPU use (its process listening on port ${unidentified.port} was not found)`
      : unrecorded !== undefined && !conditions.some((c) => c.server)
        ? `, which may include the measured server's own CPU use (the server on this machine's port ${unrecorded} was not told apart when this result was recorded)`
        : ''
    if (other >= OTHER_LOAD_WARN * cpus) out.push(`this machine was busy: other processes used ${other.toFixed(1)} of ${cpus} CPUs during or right before ${test}${mayInclude} — rerun on a quiet machine`)
    const throttled = conditions.reduce((n, c) => n + (c.cpuThrottleEvents ?? 0), 0)
    if (throttled > 0) out.push(`the CPU throttled for heat ${throttled} times during ${test} — let it cool, or improve its cooling, and rerun`)
    const gpuReasons = [...new Set(conditions.flatMap((c) => (c.gpus ?? []).flatMap((g) => (g.throttleReasons ?? []).filter((r) => GPU_HEAT.has(r)).map((r) => `GPU ${g.index} ${r}`))))]
    if (gpuReasons.length > 0) out.push(`the GPU was slowed during ${test} (${gpuReasons.join(', ')}) — let it cool and rerun`)
  }
  const tps = input.tokensPerSecond
  if (tps && tps.sd !== null && tps.mean > 0 && tps.sd / tps.mean > CV_WARN) {
    out.push(`t/s of ${test} varied by ${Math.round((tps.sd / tps.mean) * 100)}% (coefficient of variation; ${tps.min.toFixed(1)} to ${tps.max.toFixed(1)}) — the figure is unreliable: rerun on a quiet machine or with more repetitions`)
  }
  return out
}

/**
 * What a reader must know about a target whose endpoint ran on this machine: which process was treated as the
 * measured server (its CPU time, threads and child processes included, is not other processes' load), or that it
 * was not found and why (the busy-machine check then cannot tell its CPU use from others'). One line per distinct
 * server of `conditions` (a target's repetitions); none for the local engine or a remote endpoint.
 */
export function measuredServerNotes(target: string, conditions: readonly RunConditions[]): string[] {
  const seen = new Map<string, MeasuredServer>()
  for (const c of conditions) if (c.server) seen.set(JSON.stringify(c.server), c.server)
  return [...seen.values()].map((s) =>
    'processes' in s
      ? `${target}: served on this machine by ${s.processes.map((p) => `${p.name} (pid ${p.pid})`).join(', ')} on port ${s.port}: its CPU time (threads and child processes included) counts as the measured server's own, not as other processes' load`
      : `${target}: served on this machine, but the process listening on port ${s.port} was not found (${s.unidentified}): other processes' load may include the measured server's own CPU use`,
  )
}

/** Other processes' cores right before or during a repetition, over windows long enough for /proc/stat's ticks. */
function otherLoad(c: RunConditions): number {
  const windows = c.before ? [c.during, c.before] : [c.during]
  const judged = windows.filter((w) => w.durationMs >= MIN_LOAD_WINDOW_MS).map((w) => w.otherCores)
  const span = windows.reduce((n, w) => n + w.durationMs, 0)
  if (span >= MIN_LOAD_WINDOW_MS) judged.push(windows.reduce((n, w) => n + w.otherCores * w.durationMs, 0) / span)
  return Math.max(0, ...judged)
}

/** The idle baseline's own spread: a warning per series whose readings vary by more than IDLE_CV_WARN. */
export function idleWarnings(series: readonly IdleWatts[]): string[] {
  return series.flatMap((s) =>
    s.watts !== null && s.sdW !== undefined && s.watts > 0 && s.sdW / s.watts > IDLE_CV_WARN
      ? [`the idle baseline of ${s.sourceId} varied by ±${s.sdW.toFixed(1)} W around ${s.watts.toFixed(1)} W (${Math.round((s.sdW / s.watts) * 100)}%): net energy is unreliable — rerun with a quiet machine or a longer --idle-seconds`]
      : [],
  )
}
