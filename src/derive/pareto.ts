import {compareLoads, type Load} from '../results/load.js'
import type {Cell, DerivedSummary, EnergyFigure} from '../results/summary-schema.js'

/**
 * The trade-off every load level makes, as InferenceMAX draws it for datacenter GPUs: the speed
 * each user sees against what the machine delivers in total, and the energy and money a token
 * costs at that speed. Each point is one cell of the derivation (a target x test x load level);
 * a frontier keeps the points no other point of the same series beats on both axes.
 */
export interface ParetoPoint {
  target: string
  test: string
  load: Load
  /** Tokens/s one user sees: the median over requests of 1 / TPOT. */
  perUserTps?: number
  /** Output tokens/s of the whole phase (all users), the mean over repetitions. */
  totalTps?: number
  /** J per token of the test kind at the target's boundary (per generated token for tg). */
  energy: EnergyFigure
}

/** One target's points over the load levels of one test. */
export interface ParetoSeries {
  target: string
  test: string
  points: ParetoPoint[]
}

const GENERATION = new Set<Cell['kind']>(['tg', 'pg', 'chat'])

/**
 * Each target's Pareto points: the cells of its generation test measured at the most load levels
 * (a tg test first on a tie, then suite order), one point per level that completed; a frontier
 * compares one workload at different loads, never two workloads.
 */
export function paretoSeries(summary: Pick<DerivedSummary, 'cells'>): ParetoSeries[] {
  const out: ParetoSeries[] = []
  for (const target of [...new Set(summary.cells.map((c) => c.target))]) {
    const own = summary.cells.filter((c) => c.target === target && GENERATION.has(c.kind) && c.completed > 0)
    const tests = [...new Set(own.map((c) => c.test))]
    if (tests.length === 0) continue
    const levels = (test: string) => own.filter((c) => c.test === test).length
    const kindOf = (test: string) => own.find((c) => c.test === test)!.kind
    const test = tests.reduce((best, t) => (levels(t) > levels(best) || (levels(t) === levels(best) && kindOf(t) === 'tg' && kindOf(best) !== 'tg') ? t : best))
    const points = own
      .filter((c) => c.test === test)
      .sort((a, b) => compareLoads(a.load, b.load))
      .map((c): ParetoPoint => ({
        target,
        test,
        load: c.load,
        ...(c.metrics.decode_tps?.requests ? {perUserTps: c.metrics.decode_tps.requests.median} : {}),
        ...(c.metrics.aggregate_tps?.repetitions ? {totalTps: c.metrics.aggregate_tps.repetitions.mean} : {}),
        energy: c.energy,
      }))
    out.push({target, test, points})
  }
  return out
}

/** An objective of a frontier: the value of a point (undefined: the point cannot be placed) and whether more is better. */
export type Objective<T> = readonly [(point: T) => number | undefined, 'max' | 'min']

/**
 * The points no other point dominates (at least as good on both objectives and better on one),
 * in order of the first objective; points without a value on either are left out.
 */
export function paretoFrontier<T>(points: readonly T[], x: Objective<T>, y: Objective<T>): T[] {
  const placed = points.flatMap((p) => {
    const a = x[0](p)
    const b = y[0](p)
    return a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) ? [] : [{p, a: x[1] === 'max' ? a : -a, b: y[1] === 'max' ? b : -b}]
  })
  const frontier = placed.filter((q) => !placed.some((o) => o !== q && o.a >= q.a && o.b >= q.b && (o.a > q.a || o.b > q.b)))
  return frontier.sort((m, n) => (x[1] === 'max' ? m.a - n.a : n.a - m.a)).map((q) => q.p)
}

/** J/token of a point for a chart: a meter's figure, a hosted model's midpoint (its low and high beside it), or undefined. */
export function energyValue(energy: EnergyFigure): {value: number; low?: number; high?: number} | undefined {
  if (energy.status === 'metered') return {value: energy.jPerToken}
  if (energy.status === 'modelled') return {value: (energy.low + energy.high) / 2, low: energy.low, high: energy.high}
  return undefined
}
