import {z} from 'zod'

/**
 * A load level: how requests were offered in one measured phase. `concurrency`: a fixed number in
 * flight (closed loop; 1 = one request at a time); `rate`: Poisson arrivals per second (open loop).
 * A new way of offering load (e.g. a local engine's parallel sequences) is a new member here:
 * its label, parse and run-record mapping live in this file only.
 */
export const LoadSchema = z.discriminatedUnion('mode', [
  z.strictObject({mode: z.literal('concurrency'), level: z.number().int().positive()}),
  z.strictObject({mode: z.literal('rate'), rps: z.number().positive()}),
])
export type Load = z.infer<typeof LoadSchema>

/** `c4`, `r2.5`: how a load level is written in tables, flags and file names. */
export function loadLabel(load: Load): string {
  return load.mode === 'concurrency' ? `c${load.level}` : `r${load.rps}`
}

/** `tg64`, `tg64 @c4`, `tg64 @r2.5`: a test at one load level (one request at a time is the plain test). */
export function testAtLoad(test: string, load: Load): string {
  return load.mode === 'concurrency' && load.level === 1 ? test : `${test} @${loadLabel(load)}`
}

/** `c4` or `r2.5` back to a load level; undefined when the text is neither. */
export function parseLoadLabel(text: string): Load | undefined {
  const m = /^(c)(\d+)$|^(r)(\d+(?:\.\d+)?)$/.exec(text.trim())
  if (!m) return undefined
  if (m[1]) return Number(m[2]) >= 1 ? {mode: 'concurrency', level: Number(m[2])} : undefined
  return Number(m[4]) > 0 ? {mode: 'rate', rps: Number(m[4])} : undefined
}

/** The load level a run record was measured at (its `concurrency`, or its `rate` when open-loop). */
export function loadOfRun(run: {concurrency: number; rate?: number}): Load {
  return run.rate === undefined ? {mode: 'concurrency', level: run.concurrency} : {mode: 'rate', rps: run.rate}
}

/** Heavier load sorts later: concurrency levels by level, then rates by rate. */
export function compareLoads(a: Load, b: Load): number {
  if (a.mode !== b.mode) return a.mode === 'concurrency' ? -1 : 1
  return a.mode === 'concurrency' ? a.level - (b as typeof a).level : a.rps - (b as typeof a).rps
}
