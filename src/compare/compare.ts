import {mean, sampleStandardDeviation} from 'simple-statistics'
import {LENGTH_FIGURES} from '../derive/cells.js'
import {deriveResult} from '../derive/derive.js'
import {UserError} from '../errors/errors.js'
import {welchTest, type WelchResult} from '../metrics/welch.js'
import {formatNumber} from '../report/format.js'
import {basisText, cellLabel, energyNote, shortText, validityCodes} from '../report/labels.js'
import {type Load, loadLabel, parseLoadLabel} from '../results/load.js'
import type {ResultFile} from '../results/schema.js'
import type {Cell, MetricName} from '../results/summary-schema.js'

export const COMPARE_METRICS = ['tg', 'pp', 'ttft', 'j_per_token', 'usd_per_mtok'] as const
export type CompareMetric = (typeof COMPARE_METRICS)[number]

export interface Side {
  label: string
  /** The one target and load level this side is. */
  target: string
  load: string
  n: number
  mean: number
  sd: number
  values: number[]
}

export interface Comparison {
  metric: CompareMetric
  unit: string
  test: string
  /** What one value is: always one repetition (the mean of its requests), the independent unit. */
  sample: 'repetitions'
  /** Which way is better for this metric. */
  better: 'higher' | 'lower'
  a: Side
  b: Side
  welch?: WelchResult
  verdict: string
  warnings: string[]
}

/** Which target and load level a side compares: given, or the only one there is. */
export interface SideChoice {
  target?: string
  load?: string
}

const UNITS: Record<CompareMetric, {unit: string; better: 'higher' | 'lower'; metric?: MetricName | 'j_per_token'}> = {
  tg: {unit: 'tokens/s', better: 'higher', metric: 'tokens_per_second'},
  pp: {unit: 'tokens/s', better: 'higher', metric: 'tokens_per_second'},
  ttft: {unit: 'ms', better: 'lower', metric: 'ttft_ms'},
  j_per_token: {unit: 'J/token', better: 'lower', metric: 'j_per_token'},
  usd_per_mtok: {unit: 'USD/Mtok', better: 'lower'},
}

/**
 * B against A on one metric of one test, one target and one load level a side (chosen, or the
 * only one there is: an ambiguous side is refused with its choices), over repetitions (one value
 * each: the mean of its requests, or its energy per token): the difference with its 95%
 * confidence interval and Welch's t-test, and a verdict that says "no significant difference"
 * when that is the truth. Fewer than 2 values on a side is refused with the reason.
 */
export function compareResults(a: ResultFile, b: ResultFile, options: {metric: CompareMetric; test?: string; labels?: [string, string]; sides?: [SideChoice, SideChoice]}): Comparison {
  const {metric} = options
  if (metric === 'usd_per_mtok') {
    throw new UserError('usd_per_mtok has one value per result, no repetitions to test', 'compare tg, pp, ttft or j_per_token, and see each cost with `owbench cost`')
  }
  const labels = options.labels ?? ['A', 'B']
  const chosen = [a, b].map((result, i) => chooseSide(result, labels[i]!, options.sides?.[i] ?? {})) as [Chosen, Chosen]
  const test = options.test ?? defaultTest(chosen, metric)
  const warnings: string[] = []
  if (a.suite.sha256 !== b.suite.sha256) warnings.push(`the results ran different suites (${a.suite.name} ${a.suite.version} vs ${b.suite.name} ${b.suite.version}); ${test} is in both`)
  const [sa, sb] = chosen.map((c, i) => side(c, test, metric, labels[i]!)) as [Valued, Valued]
  warnings.push(...sa.warnings, ...sb.warnings)
  if (metric === 'j_per_token' && sa.energy !== sb.energy) throw new UserError(`the energy figures were obtained differently (${sa.energy} vs ${sb.energy})`, 'compare energy measured at the same boundary (e.g. both at the wall)')
  const {better} = UNITS[metric]
  const unit = metric === 'j_per_token' ? `${UNITS[metric].unit} (${sa.energy})` : UNITS[metric].unit
  const base = {metric, unit, test, sample: 'repetitions' as const, better, a: strip(sa), b: strip(sb), warnings}
  if (sa.n < 2 || sb.n < 2) {
    return {...base, verdict: `refused: ${sa.n < 2 ? sa.label : sb.label} has n=${Math.min(sa.n, sb.n)}, so there is no variance to test against; run with --repetitions 5 or more`}
  }
  if (Math.min(sa.n, sb.n) < 5) warnings.push(`few repetitions (n=${sa.n} and ${sb.n}): the test can miss a real difference; 5 or more are better`)
  const welch = welchTest(sa.values, sb.values)
  const percent = (welch.difference / sa.mean) * 100
  const direction = welch.difference > 0 ? 'higher' : 'lower'
  const verdict =
    welch.p < 0.05
      ? `${sb.label} is ${Math.abs(percent).toFixed(1)}% ${direction} than ${sa.label} (${better === direction ? 'better' : 'worse'}); difference ${formatNumber(welch.difference)} ${unit}, 95% CI ${formatNumber(welch.ci95[0])} to ${formatNumber(welch.ci95[1])}, Welch t = ${formatNumber(welch.t)}, p = ${welch.p.toPrecision(2)}`
      : `no significant difference (p = ${welch.p.toPrecision(2)}): difference ${formatNumber(welch.difference)} ${unit}, 95% CI ${formatNumber(welch.ci95[0])} to ${formatNumber(welch.ci95[1])}`
  return {...base, welch, verdict}
}

/** One side's cells: those of its one target at its one load level. */
interface Chosen {
  target: string
  load: Load
  cells: Cell[]
}

/** The target and load level each side resolves to (the only one, or the one chosen); an ambiguous side is refused with its choices. */
export function sidesOf(a: ResultFile, b: ResultFile, choices: [SideChoice, SideChoice], labels: [string, string]): [{target: string; load: string}, {target: string; load: string}] {
  const pick = (r: ResultFile, i: 0 | 1) => {
    const c = chooseSide(r, labels[i], choices[i])
    return {target: c.target, load: loadLabel(c.load)}
  }
  return [pick(a, 0), pick(b, 1)]
}

function chooseSide(result: ResultFile, label: string, choice: SideChoice): Chosen {
  const cells = deriveResult(result).cells
  const targets = [...new Set(cells.map((c) => c.target))]
  const target = choice.target ?? (targets.length === 1 ? targets[0] : undefined)
  if (target === undefined) throw new UserError(`${label} has ${targets.length} targets (${targets.join(', ')}): which one?`, `pass --target with one of ${targets.join(', ')} (or A,B for one each)`)
  if (!targets.includes(target)) throw new UserError(`${label} has no target "${target}"`, `its targets are ${targets.join(', ')}`)
  const own = cells.filter((c) => c.target === target)
  const loads = [...new Map(own.map((c) => [loadLabel(c.load), c.load])).values()]
  let load: Load | undefined
  if (choice.load !== undefined) {
    load = parseLoadLabel(choice.load)
    if (!load) throw new UserError(`--load "${choice.load}" is not a load level`, 'write c4 for 4 requests in flight or r2.5 for 2.5 requests/s')
    if (!loads.some((l) => loadLabel(l) === loadLabel(load!))) throw new UserError(`${label} has no load level ${choice.load} for target ${target}`, `its levels are ${loads.map(loadLabel).join(', ')}`)
  } else if (loads.length === 1) {
    load = loads[0]
  } else {
    throw new UserError(`${label} measured target ${target} at ${loads.length} load levels (${loads.map(loadLabel).join(', ')}): which one?`, `pass --load with one of ${loads.map(loadLabel).join(', ')} (or A,B for one each)`)
  }
  return {target, load: load!, cells: own.filter((c) => loadLabel(c.load) === loadLabel(load!))}
}

function defaultTest([a, b]: [Chosen, Chosen], metric: CompareMetric): string {
  const shared = a.cells.filter((s) => b.cells.some((t) => t.test === s.test))
  const kind = metric === 'tg' ? 'tg' : metric === 'pp' ? 'pp' : undefined
  const pick = shared.find((s) => (kind ? s.kind === kind : s.kind !== 'pp')) ?? shared[0]
  if (!pick) throw new UserError(`the two sides share no test (${a.target} @${loadLabel(a.load)} and ${b.target} @${loadLabel(b.load)})`, 'compare results of the same suite, or pass --test')
  return pick.test
}

/** A side's values, with how its energy was obtained when the metric is energy, and what its figures' conditions warn of. */
type Valued = Side & {energy?: string; warnings: string[]}

function side(chosen: Chosen, test: string, metric: CompareMetric, label: string): Valued {
  const cell = chosen.cells.find((c) => c.test === test)
  if (!cell || cell.completed === 0) throw new UserError(`${label} has no completed repetition of ${test} (target ${chosen.target}, ${loadLabel(chosen.load)})`, 'pick a test both sides ran with --test')
  const name = UNITS[metric].metric!
  if (cell.shortOutputs && (name === 'j_per_token' || LENGTH_FIGURES.includes(name))) {
    throw new UserError(`${label}'s ${cellLabel(cell)} is made of short outputs (${shortText(cell.shortOutputs)}): its ${metric} is not a ${cell.test} figure`, 'compare a test whose outputs reached their length (a target that honours ignore_eos), or ttft')
  }
  let energy: string | undefined
  // A busy machine, a spread or throttling on either side can make a difference (or hide one).
  const warnings = (cell.warnings ?? []).map((w) => `${label}: ${w}`)
  if (metric === 'j_per_token') {
    const e = cell.energy
    if (e.status === 'missing') {
      const codes = validityCodes(e)
      if (codes) throw new UserError(`${label}'s energy for ${cellLabel(cell)} is not a measurement (${codes}): ${e.reason}`, 'its meter readings failed their checks (owbench doctor checks the meter); re-run with a working meter to compare energy')
      throw new UserError(`${label} has no energy figure for ${cellLabel(cell)}: ${e.reason}`, 'run both with a meter or --watts to compare energy')
    }
    if (e.status === 'modelled') throw new UserError(`${label}'s energy for ${cellLabel(cell)} is a hosted estimate from a model, not a measurement: there is nothing to test`, 'compare endpoints whose server was metered (--meter-on-server)')
    energy = `${energyNote(e)}, ${basisText(e.basis)}`
    if (e.status === 'metered' && e.partial) warnings.push(`${label}'s ${e.boundary} figure is partial: ${e.partial}`)
  }
  const values = cell.repetitionValues[name] ?? []
  return {label, target: chosen.target, load: loadLabel(chosen.load), n: values.length, mean: values.length ? mean(values) : Number.NaN, sd: values.length > 1 ? sampleStandardDeviation(values) : 0, values, energy, warnings}
}

function strip(s: Valued): Side {
  return {label: s.label, target: s.target, load: s.load, n: s.n, mean: s.mean, sd: s.sd, values: s.values}
}
