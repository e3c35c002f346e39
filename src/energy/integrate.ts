/**
 * Pure integration over [t, value] series (t in ms). Sampled watts are integrated with the
 * trapezoid rule, the series interpolated linearly at the window edges; cumulative counters are
 * unwrapped, interpolated at the edges and differenced. Equal times are allowed: a step (a reading
 * that is an average over a span, stored at both ends of the span) then integrates exactly.
 */
export type Point = readonly [number, number]
export type Series = readonly Point[]

/** Index of the first point with t > x (binary search; series in time order). */
function upperBound(series: Series, x: number): number {
  let lo = 0
  let hi = series.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (series[mid]![0] <= x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Index of the first point with t >= x. */
function lowerBound(series: Series, x: number): number {
  let lo = 0
  let hi = series.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (series[mid]![0] < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

function lerp(a: Point, b: Point, t: number): number {
  if (b[0] === a[0]) return b[1]
  return a[1] + ((b[1] - a[1]) * (t - a[0])) / (b[0] - a[0])
}

/**
 * The series' value at t by linear interpolation; undefined outside the sampled span. At a time
 * held by several points (a step), `side` picks the value just before ('left') or after ('right').
 */
export function valueAt(series: Series, t: number, side: 'left' | 'right' = 'right'): number | undefined {
  const first = series[0]
  const last = series.at(-1)
  if (!first || !last || t < first[0] || t > last[0]) return undefined
  if (side === 'right') {
    const i = upperBound(series, t)
    if (i >= series.length) return last[1]
    const a = series[i - 1]!
    return a[0] === t ? a[1] : lerp(a, series[i]!, t)
  }
  const i = lowerBound(series, t)
  if (i === 0) return first[1]
  const b = series[i]!
  return b[0] === t ? b[1] : lerp(series[i - 1]!, b, t)
}

/**
 * Joules of a watts series over [t0, t1] (ms): the trapezoid rule over the samples inside, with
 * the series interpolated at both edges. The caller checks coverage first (`coverage`).
 */
export function trapezoidJoules(series: Series, t0: number, t1: number): number {
  if (t1 <= t0 || series.length < 2) return 0
  let wattMs = 0
  // The first segment that can overlap the window ends after t0.
  for (let i = Math.max(1, upperBound(series, t0)); i < series.length; i++) {
    const a = series[i - 1]!
    const b = series[i]!
    if (a[0] >= t1) break
    const lo = Math.max(a[0], t0)
    const hi = Math.min(b[0], t1)
    if (hi <= lo) continue
    wattMs += ((lerp(a, b, lo) + lerp(a, b, hi)) / 2) * (hi - lo)
  }
  return wattMs / 1000
}

/**
 * A raw counter series (joules, as read) made monotonic: a reading lower than the one before is a
 * wrap at `wrapJ` (RAPL max_energy_range_uj), so `wrapJ` is added from there on. Without `wrapJ`
 * a backwards step cannot be undone and is reported.
 */
export function unwrapCounter(series: Series, wrapJ?: number): {series: Point[]; wraps: number[]; unresolved: number[]} {
  const out: Point[] = []
  const wraps: number[] = []
  const unresolved: number[] = []
  let offset = 0
  let previous: number | undefined
  for (const [t, raw] of series) {
    if (previous !== undefined && raw < previous) {
      if (wrapJ !== undefined && wrapJ > 0) {
        offset += wrapJ
        wraps.push(t)
      } else {
        unresolved.push(t)
        offset += previous - raw
      }
    }
    previous = raw
    out.push([t, raw + offset])
  }
  return {series: out, wraps, unresolved}
}

/** Joules between t0 and t1 of an unwrapped (monotonic) counter, interpolated at both edges. */
export function counterJoules(cumulative: Series, t0: number, t1: number): number {
  if (t1 <= t0) return 0
  const e0 = valueAt(cumulative, t0)
  const e1 = valueAt(cumulative, t1)
  if (e0 === undefined || e1 === undefined) return 0
  return e1 - e0
}

/**
 * An unwrapped counter as watts: the average power between successive readings, stored as a
 * step so it integrates back to the counter's own differences. For peaks and plots.
 */
export function counterWatts(cumulative: Series): Point[] {
  const out: Point[] = []
  for (let i = 1; i < cumulative.length; i++) {
    const a = cumulative[i - 1]!
    const b = cumulative[i]!
    if (b[0] <= a[0]) continue
    const watts = ((b[1] - a[1]) * 1000) / (b[0] - a[0])
    out.push([a[0], watts], [b[0], watts])
  }
  return out
}

/**
 * Why a window is not covered by a series, or undefined when it is: there must be a reading at or
 * before t0 and at or after t1, and no gap inside longer than `maxGapMs`.
 */
export function coverage(series: Series, t0: number, t1: number, maxGapMs: number): string | undefined {
  const first = series[0]
  const last = series.at(-1)
  if (!first || !last) return 'no readings'
  if (first[0] > t0) return `no reading before the window start (${fmt(t0)} ms; first reading at ${fmt(first[0])} ms)`
  if (last[0] < t1) return `no reading after the window end (${fmt(t1)} ms; last reading at ${fmt(last[0])} ms)`
  for (let i = Math.max(1, upperBound(series, t0)); i < series.length; i++) {
    const a = series[i - 1]!
    const b = series[i]!
    if (a[0] >= t1) break
    if (b[0] - a[0] > maxGapMs) return `a gap of ${fmt(b[0] - a[0])} ms in the readings at ${fmt(a[0])} ms (more than ${fmt(maxGapMs)} ms)`
  }
  return undefined
}

/** Highest value on [t0, t1], edges included (interpolated). */
export function peakValue(series: Series, t0: number, t1: number): number | undefined {
  const candidates = [valueAt(series, t0, 'right'), valueAt(series, t1, 'left')]
  for (let i = upperBound(series, t0); i < series.length && series[i]![0] < t1; i++) candidates.push(series[i]![1])
  const values = candidates.filter((v): v is number => v !== undefined)
  return values.length > 0 ? Math.max(...values) : undefined
}

/** The points strictly inside (t0, t1). */
export function pointsBetween(series: Series, t0: number, t1: number): Series {
  return series.slice(upperBound(series, t0), lowerBound(series, t1))
}

function fmt(ms: number): string {
  return Number.isInteger(ms) ? String(ms) : ms.toFixed(1)
}
