import {mean, sampleStandardDeviation} from 'simple-statistics'
import {requestPhases} from '../energy/phases.js'
import {computeEnergy} from '../energy/summary.js'
import {UserError} from '../errors/errors.js'
import {requestMetrics} from '../metrics/request-metrics.js'
import {welchTest, type WelchResult} from '../metrics/welch.js'
import type {ResultFile, RunRecord} from '../results/schema.js'

export const COMPARE_METRICS = ['tg', 'pp', 'ttft', 'j_per_token', 'usd_per_mtok'] as const
export type CompareMetric = (typeof COMPARE_METRICS)[number]

export interface Side {
  label: string
  n: number
  mean: number
  sd: number
  values: number[]
}

export interface Comparison {
  metric: CompareMetric
  unit: string
  test: string
  /** Which way is better for this metric. */
  better: 'higher' | 'lower'
  a: Side
  b: Side
  welch?: WelchResult
  verdict: string
  warnings: string[]
}

const UNITS: Record<CompareMetric, {unit: string; better: 'higher' | 'lower'}> = {
  tg: {unit: 'tokens/s', better: 'higher'},
  pp: {unit: 'tokens/s', better: 'higher'},
  ttft: {unit: 'ms', better: 'lower'},
  j_per_token: {unit: 'J/token', better: 'lower'},
  usd_per_mtok: {unit: 'USD/Mtok', better: 'lower'},
}

/**
 * B against A on one metric of one test they share: the difference with its 95% confidence
 * interval and Welch's t-test over repetitions, and a verdict that says "no significant
 * difference" when that is the truth. Fewer than 2 values on a side is refused with the reason.
 */
export function compareResults(a: ResultFile, b: ResultFile, options: {metric: CompareMetric; test?: string; labels?: [string, string]}): Comparison {
  const {metric} = options
  if (metric === 'usd_per_mtok') {
    throw new UserError('usd_per_mtok has one value per result, no repetitions to test', 'compare tg, pp, ttft or j_per_token, and see each cost with `owbench cost`')
  }
  const test = options.test ?? defaultTest(a, b, metric)
  const warnings: string[] = []
  if (a.suite.sha256 !== b.suite.sha256) warnings.push(`the results ran different suites (${a.suite.name} ${a.suite.version} vs ${b.suite.name} ${b.suite.version}); ${test} is in both`)
  const sides = [a, b].map((result, i) => side(result, test, metric, options.labels?.[i] ?? (i === 0 ? 'A' : 'B')))
  const [sa, sb] = sides as [Energetic, Energetic]
  if (sa.boundary !== sb.boundary) throw new UserError(`the energy figures have different boundaries (${sa.boundary} vs ${sb.boundary})`, 'compare energy measured at the same boundary (e.g. both at the wall)')
  const {better} = UNITS[metric]
  // Energy says where it was measured and whether it was measured at all; one estimated side makes the comparison estimated.
  const unit = sa.boundary ? `${UNITS[metric].unit} (${sa.boundary}, ${sa.estimated || sb.estimated ? 'estimated' : 'measured'})` : UNITS[metric].unit
  const base = {metric, unit, test, better, a: strip(sa), b: strip(sb), warnings}
  if (sa.n < 2 || sb.n < 2) {
    return {...base, verdict: `refused: ${sa.n < 2 ? sa.label : sb.label} has n=${Math.min(sa.n, sb.n)}, so there is no variance to test against; run with --repetitions 5 or more`}
  }
  if (Math.min(sa.n, sb.n) < 5) warnings.push(`few repetitions (n=${sa.n} and ${sb.n}): the test can miss a real difference; 5 or more are better`)
  const welch = welchTest(sa.values, sb.values)
  const percent = (welch.difference / sa.mean) * 100
  const direction = welch.difference > 0 ? 'higher' : 'lower'
  const verdict =
    welch.p < 0.05
      ? `${sb.label} is ${Math.abs(percent).toFixed(1)}% ${direction} than ${sa.label} (${better === direction ? 'better' : 'worse'}); difference ${fmt(welch.difference)} ${unit}, 95% CI ${fmt(welch.ci95[0])} to ${fmt(welch.ci95[1])}, Welch t = ${fmt(welch.t)}, p = ${welch.p.toPrecision(2)}`
      : `no significant difference (p = ${welch.p.toPrecision(2)}): difference ${fmt(welch.difference)} ${unit}, 95% CI ${fmt(welch.ci95[0])} to ${fmt(welch.ci95[1])}`
  return {...base, welch, verdict}
}

function defaultTest(a: ResultFile, b: ResultFile, metric: CompareMetric): string {
  const shared = a.summary.filter((s) => b.summary.some((t) => t.test === s.test && t.concurrency === s.concurrency))
  const kind = metric === 'tg' ? 'tg' : metric === 'pp' ? 'pp' : undefined
  const pick = shared.find((s) => (kind ? s.kind === kind : s.kind !== 'pp')) ?? shared[0]
  if (!pick) throw new UserError('the results share no test', 'compare results of the same suite, or pass --test')
  return pick.test
}

/** A side, with the boundary and method of its energy figures when the metric is energy. */
type Energetic = Side & {boundary?: string; estimated?: boolean}

function side(result: ResultFile, test: string, metric: CompareMetric, label: string): Energetic {
  const runs = result.runs.filter((r) => r.test === test && !r.warmup && r.state === 'completed')
  if (runs.length === 0) throw new UserError(`${label} has no completed repetition of ${test}`, 'pick a test both results ran with --test')
  let boundary: string | undefined
  let estimated = false
  let values: number[]
  if (metric === 'j_per_token') {
    if (!result.power) throw new UserError(`${label} has no power measurement`, 'run both with a meter or --watts to compare energy')
    values = runs.map((run) => {
      const total = computeEnergy(result.power!, run.requests.filter((q) => !q.error).map(requestPhases)).phases.find((p) => p.phase === 'total')
      const figure = total?.boundaries.find((f) => f.boundary === total.widest)
      boundary = figure?.boundary
      if (figure?.method === 'estimated') estimated = true
      return figure?.gross?.jPerToken ?? Number.NaN
    })
  } else {
    values = runs.flatMap((run) => perRequest(run, metric))
  }
  values = values.filter((v) => Number.isFinite(v))
  return {label, n: values.length, mean: values.length ? mean(values) : Number.NaN, sd: values.length > 1 ? sampleStandardDeviation(values) : 0, values, boundary, estimated}
}

function perRequest(run: RunRecord, metric: CompareMetric): number[] {
  return run.requests.filter((q) => !q.error).map((q) => {
    const m = requestMetrics(q)
    return (metric === 'ttft' ? m.ttftMs : m.tokensPerSecond) ?? Number.NaN
  })
}

function strip(s: Energetic): Side {
  return {label: s.label, n: s.n, mean: s.mean, sd: s.sd, values: s.values}
}

function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(1) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3)
}
