import type {RequestTimeline} from '../metrics/request-metrics.js'

/** Time spans a phase occupies, with the tokens credited to it. */
export type Interval = readonly [number, number]

/**
 * One request's phases. Prefill runs from sending to the first generated token (the prompt's
 * evaluation produces that token); decode from the first token to the end. `outputTokens - 1`
 * tokens are produced in the decode window.
 */
export interface RequestPhases {
  prefill?: Interval
  decode?: Interval
  promptTokens: number
  outputTokens: number
  /** The back-to-back burst this request ran in (its repetition's span), when there was one. */
  window?: Interval
}


/** A request's phase windows from its recorded timeline. */
export function requestPhases(r: RequestTimeline): RequestPhases {
  const tFirst = r.chunks[0]?.[0]
  const prefillEnd = tFirst ?? r.tPrefillEnd ?? r.tEnd
  return {
    ...(prefillEnd > r.tSend ? {prefill: [r.tSend, prefillEnd] as const} : {}),
    ...(tFirst !== undefined && r.tEnd > tFirst && r.nOut >= 2 ? {decode: [tFirst, r.tEnd] as const} : {}),
    promptTokens: r.nPrompt,
    outputTokens: r.nOut,
  }
}

/** Overlapping or touching intervals merged, in time order. */
export function unionIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0])
  const out: [number, number][] = []
  for (const [a, b] of sorted) {
    const last = out.at(-1)
    if (last && a <= last[1]) last[1] = Math.max(last[1], b)
    else out.push([a, b])
  }
  return out
}

export function totalLength(intervals: readonly Interval[]): number {
  return intervals.reduce((sum, [a, b]) => sum + (b - a), 0)
}

/** Length of the time two merged interval lists share. */
export function overlapLength(a: readonly Interval[], b: readonly Interval[]): number {
  let sum = 0
  for (const [a0, a1] of a) for (const [b0, b1] of b) sum += Math.max(0, Math.min(a1, b1) - Math.max(a0, b0))
  return sum
}
