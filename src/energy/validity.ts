import {z} from 'zod'
import {DEFAULT_MIN_UPDATES, resolutionMs} from '../power/power-source.js'
import {coverage, pointsBetween, valueAt} from './integrate.js'
import type {Interval} from './phases.js'
import type {PreparedSeries} from './series-energy.js'

/**
 * Why an energy figure is not a measurement, in the spirit of InferenceX's `power_valid`: every
 * figure is checked against its readings before it is shown, and an invalid one is shown as
 * missing with its reason.
 * - no-readings: the series has no reading at all;
 * - not-bracketed: no reading at or before the window's start, or at or after its end;
 * - gap: a gap between readings inside the window longer than the source allows;
 * - source-failed: the source stopped (its process died, the plug stopped answering) before the window ended;
 * - device-missing: one device of a source stopped reporting while the source's other devices went on
 *   (nvidia-smi printing [Not Supported] for one GPU mid-run);
 * - counter-backwards: a counter stepped back and its wrap value is unknown (driver reload, reset);
 * - counter-stuck: a counter did not advance over a window it should have (RAPL package stuck at 0 while DRAM advances);
 * - zero-under-load: a meter read 0 W throughout a window in which the benchmark ran (powermetrics' CPU Power on a macOS beta);
 * - negative-reading: a meter read less than 0 W (a clamp the wrong way round, a meter of another circuit);
 * - window-too-short: the window spans fewer meter updates than required (a 0.1 s pp256 against a plug refreshing once a second).
 */
export const VALIDITY_CODES = [
  'no-readings',
  'not-bracketed',
  'gap',
  'source-failed',
  'device-missing',
  'counter-backwards',
  'counter-stuck',
  'zero-under-load',
  'negative-reading',
  'window-too-short',
] as const
export type ValidityCode = (typeof VALIDITY_CODES)[number]

/** One series' failed check: its code, the series, and one line naming what was seen and where. */
export const InvalidSchema = z.strictObject({
  code: z.enum(VALIDITY_CODES),
  sourceId: z.string(),
  reason: z.string().describe('one line naming the series, what was seen and where'),
})
export type Invalid = z.infer<typeof InvalidSchema>

export interface ValidityOptions {
  /** Longest allowed gap between readings inside a window (ms). */
  maxGapMs: number
  /** Meter updates every merged interval must span (default 10). */
  minUpdates?: number
  /**
   * The other series of the same source (same kind), for telling a device that dropped out from a
   * source that stopped, and for naming a sibling counter that did advance.
   */
  siblings?: readonly PreparedSeries[]
  /** The windows are benchmark windows (work ran in them), so 0 W is not a reading. */
  underLoad?: boolean
}

/**
 * The first reason (readings, bracketing and devices, counters, plausibility, gaps, length) that the readings of `s` do not measure the energy of `intervals`, or
 * undefined when they do. Intervals are merged, in time order, in ms on the series' clock.
 */
export function checkWindow(s: PreparedSeries, intervals: readonly Interval[], options: ValidityOptions): Invalid | undefined {
  const id = s.info.id
  const invalid = (code: ValidityCode, reason: string): Invalid => ({code, sourceId: id, reason: `${id}: ${reason}`})
  if (intervals.length === 0) return undefined
  if (s.values.length === 0) {
    return invalid(s.failure ? 'source-failed' : 'no-readings', s.failure ? `failed before its first reading: ${s.failure.reason}` : 'no readings at all')
  }
  let gapFound: Invalid | undefined
  for (const [t0, t1] of intervals) {
    const gap = coverage(s.values, t0, t1, options.maxGapMs)
    if (!gap) continue
    if (s.failure && s.failure.failedAt <= t1) return invalid('source-failed', `${gap}; the source failed at ${s.failure.failedAt.toFixed(1)} ms: ${s.failure.reason}`)
    const reporting = (options.siblings ?? []).filter((o) => !coverage(o.values, t0, t1, options.maxGapMs))
    if (reporting.length > 0) {
      return invalid('device-missing', `${s.info.device ?? 'this device'} stopped reporting while ${reporting.map((o) => o.info.id).join(', ')} went on (${gap})`)
    }
    // A gap is reported after the plausibility checks: readings of 0 W under load say more.
    if (!gap.startsWith('a gap')) return invalid('not-bracketed', gap)
    gapFound ??= invalid('gap', gap)
  }
  const windowMs = intervals.reduce((sum, [a, b]) => sum + (b - a), 0)
  if (s.info.method === 'counter') {
    const backwards = s.unresolved.find((t) => intervals.some(([a, b]) => t > a && t <= b))
    if (backwards !== undefined) return invalid('counter-backwards', `the counter went backwards at ${backwards.toFixed(1)} ms and its wrap value is unknown (a driver reload or a reset)`)
    const advance = intervals.reduce((sum, [a, b]) => sum + ((valueAt(s.values, b) ?? 0) - (valueAt(s.values, a) ?? 0)), 0)
    const update = resolutionMs(s.info)
    if (advance <= 0 && windowMs >= 2 * update) {
      const moving = (options.siblings ?? []).filter((o) => o.info.method === 'counter' && intervals.reduce((sum, [a, b]) => sum + ((valueAt(o.values, b) ?? 0) - (valueAt(o.values, a) ?? 0)), 0) > 0)
      const at = valueAt(s.values, intervals[0]![0])
      return invalid(
        'counter-stuck',
        `the counter did not advance over ${formatMs(windowMs)} (stuck at ${at === undefined ? '?' : formatJ(at)} J)${moving.length > 0 ? ` while ${moving.map((o) => o.info.id).join(', ')} advanced` : ''}: not a reading`,
      )
    }
  } else if (s.info.method === 'sampled') {
    const readings = intervals.flatMap(([a, b]) => [valueAt(s.values, a, 'right'), ...pointsBetween(s.values, a, b).map(([, w]) => w), valueAt(s.values, b, 'left')]).filter((w): w is number => w !== undefined)
    if (readings.some((w) => w < 0)) return invalid('negative-reading', `read ${formatW(Math.min(...readings))} W: a consumption meter never reads below 0 (a clamp the wrong way round, or a meter of another circuit)`)
    if (options.underLoad && readings.length > 0 && readings.every((w) => w === 0)) {
      return invalid('zero-under-load', `read 0 W throughout ${formatMs(windowMs)} in which the benchmark ran: zero watts under load is not a reading`)
    }
  }
  if (gapFound) return gapFound
  const minUpdates = options.minUpdates ?? DEFAULT_MIN_UPDATES
  const resolution = resolutionMs(s.info)
  const shortest = Math.min(...intervals.map(([a, b]) => b - a))
  if (resolution > 0 && shortest < minUpdates * resolution) {
    return invalid(
      'window-too-short',
      `a window of ${formatMs(shortest)} spans ${(shortest / resolution).toFixed(1)} meter updates (one per ${formatMs(resolution)}); at least ${minUpdates} are needed (repeat the test back to back, or lower --min-meter-updates)`,
    )
  }
  return undefined
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`
}

function formatW(w: number): string {
  return Number.isInteger(w) ? String(w) : w.toFixed(2)
}

function formatJ(j: number): string {
  return Number.isInteger(j) ? String(j) : j.toFixed(3)
}
