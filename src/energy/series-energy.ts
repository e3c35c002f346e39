import type {SourceFailure, SourceInfo, UncoveredDevice} from '../power/power-source.js'
import {counterJoules, counterWatts, pointsBetween, trapezoidJoules, unwrapCounter, valueAt, type Series} from './integrate.js'
import type {Interval} from './phases.js'
import {checkWindow, type Invalid} from './validity.js'

/** What energy is computed from: the `power` part of a result file (or a live PowerRecording). */
export interface EnergyInput {
  sources: readonly SourceInfo[]
  samples: Readonly<Record<string, readonly (readonly [number, number])[]>>
  failures: readonly SourceFailure[]
  idle?: {t0: number; t1: number}
  /** Devices a source should cover but could not read: their boundary's figure is partial. */
  uncovered?: readonly UncoveredDevice[]
  /** Meter updates a window must span (what the run used; default 10). */
  minUpdates?: number
}

/** One series ready to integrate. */
export interface PreparedSeries {
  info: SourceInfo
  /** Counters: unwrapped cumulative joules; otherwise the watts as recorded. */
  values: Series
  /** Watts (a counter's as steps between readings), for averages and peaks. */
  watts: Series
  failure?: SourceFailure
  /** Times where a counter stepped back and could not be unwrapped. */
  unresolved: number[]
}

/**
 * The longest gap between readings that a window may contain. Sampled series: three intervals
 * (at least 1 s): longer, and a spike could hide in between. Counters integrate between readings
 * by themselves, so only a wrap could be missed: a minute is far below any RAPL wrap time.
 */
export function defaultMaxGapMs(info: SourceInfo): number {
  return info.method === 'counter' ? 60_000 : Math.max(3 * info.intervalMs, 1000)
}

export function prepareSeries(input: EnergyInput): Map<string, PreparedSeries> {
  const out = new Map<string, PreparedSeries>()
  for (const info of input.sources) {
    const raw = (input.samples[info.id] ?? []) as Series
    const failure = input.failures.find((f) => f.sourceId === info.id)
    if (info.method === 'counter') {
      const {series, unresolved} = unwrapCounter(raw, info.wrapJ)
      out.set(info.id, {info, values: series, watts: counterWatts(series), unresolved, ...(failure ? {failure} : {})})
    } else {
      out.set(info.id, {info, values: raw, watts: raw, unresolved: [], ...(failure ? {failure} : {})})
    }
  }
  return out
}

export type SeriesEnergy = {joules: number} | {missing: string; invalid: Invalid}

export interface SeriesEnergyOptions {
  maxGapMs?: number
  /** Meter updates each interval must span (default 10; the idle baseline asks for 1). */
  minUpdates?: number
  /** Other series of the same source (device-missing, counter-stuck reasons). */
  siblings?: readonly PreparedSeries[]
  /** Benchmark windows: 0 W is not a reading there. */
  underLoad?: boolean
}

/**
 * Joules of one series over merged intervals, or why they cannot be given (checkWindow: coverage,
 * gaps, counters, plausibility, meter updates spanned).
 */
export function seriesEnergy(s: PreparedSeries, intervals: readonly Interval[], options: SeriesEnergyOptions = {}): SeriesEnergy {
  const invalid = checkWindow(s, intervals, {maxGapMs: options.maxGapMs ?? defaultMaxGapMs(s.info), minUpdates: options.minUpdates, siblings: options.siblings, underLoad: options.underLoad})
  if (invalid) return {missing: invalid.reason, invalid}
  let joules = 0
  for (const [t0, t1] of intervals) joules += s.info.method === 'counter' ? counterJoules(s.values, t0, t1) : trapezoidJoules(s.values, t0, t1)
  return {joules}
}

/** The other whole series of the same source kind (RAPL package and dram, nvidia-smi GPU 0 and GPU 1). */
export function siblingsOf(s: PreparedSeries, all: Iterable<PreparedSeries>): PreparedSeries[] {
  return [...all].filter((o) => o !== s && o.info.kind === s.info.kind && !o.info.part)
}

/**
 * The highest total draw of several series over the intervals: their watts summed at every
 * reading time (both sides of a step) and at the interval edges.
 */
export function peakWatts(series: readonly PreparedSeries[], intervals: readonly Interval[]): number | undefined {
  let peak: number | undefined
  for (const [t0, t1] of intervals) {
    const times = new Set<number>([t0, t1])
    for (const s of series) for (const [t] of pointsBetween(s.watts, t0, t1)) times.add(t)
    for (const t of times) {
      for (const side of ['left', 'right'] as const) {
        if ((t === t0 && side === 'left') || (t === t1 && side === 'right')) continue
        let sum = 0
        let complete = true
        for (const s of series) {
          const w = valueAt(s.watts, t, side)
          if (w === undefined) complete = false
          else sum += w
        }
        if (complete && (peak === undefined || sum > peak)) peak = sum
      }
    }
  }
  return peak
}
