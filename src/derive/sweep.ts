import {compareLoads, type Load, loadLabel, loadOfRun} from '../results/load.js'
import type {ResultFile, RunRecord, Slo} from '../results/schema.js'
import type {SweepPoint, SweepRecord, SweepSettings, SweepStop, SweepSummary} from '../results/sweep-schema.js'
import {cellFigures} from './cells.js'

/**
 * Load sweeps and goodput searches: the figures of each level and the rules that say when a sweep
 * stops, where it saturated and which level is the highest meeting the objectives. The runner's
 * load plan (src/runner/load-plan.ts) decides with these while it runs; the derivation summarizes a
 * finished sweep with the same functions, so a report says exactly what the run decided on.
 *
 * Following GuideLLM (vllm-project/guidellm): its sweep profile starts from the rate one request at
 * a time sustains (`src/guidellm/benchmark/profiles/sweep.py` @14ffe9c6); its over-saturation
 * detector stops a benchmark when responses no longer keep up with requests and TTFT keeps rising
 * (`src/guidellm/scheduler/constraints/over_saturation.py` @2c4c046c); its knee profile refines a
 * concurrency sweep with levels around the knee (`src/guidellm/benchmark/analysis/knee.py`
 * @02245208); its goodput profile doubles concurrency until a level misses the objectives, then
 * bisects, judging each level by SLO attainment with a Wilson interval
 * (`src/guidellm/benchmark/profiles/goodput.py` @37c0434c). owbench doubles instead of fitting
 * segments (a sweep of a few doublings has too few points for GuideLLM's five-point fit) and
 * judges over-saturation across levels and, open loop, by completions falling behind arrivals.
 */

export type SweepStage = SweepPoint['stage']

/** Defaults of `--concurrency sweep` / `--rate sweep` (README: Load sweeps). */
export const SWEEP_DEFAULTS = {minGain: 0.1, ttftRise: 2, keepUp: 0.9, maxErrorRate: 0.05, maxLevel: 256, maxSeconds: 900, maxRequests: 4000, fill: 1} as const

/** Requests per measured phase of a sweep level: --max-requests, 'level' (as many as in flight), else 4 x the level (at least 16) in flight, or 32 arrivals at a rate. */
export function sweepRequests(settings: Pick<SweepSettings, 'requestsPerLevel'>, load: Load): number {
  if (settings.requestsPerLevel === 'level') return load.mode === 'concurrency' ? load.level : 32
  if (settings.requestsPerLevel !== undefined) return settings.requestsPerLevel
  return load.mode === 'concurrency' ? Math.max(16, 4 * load.level) : 32
}

/** One level's figures (its measured runs; warm-ups are left out), from the derivation's cell of those runs. */
export function sweepPoint(runs: readonly RunRecord[], stage: SweepStage, slo: Slo | undefined, goodputTarget: number | undefined): SweepPoint {
  const measured = runs.filter((r) => !r.warmup)
  const first = measured[0] ?? runs[0]!
  const figures = cellFigures({target: first.target, test: first.test, kind: first.kind, load: loadOfRun(first), runs: [...measured]}, slo)
  const m = figures.metrics
  const keepUp = loadOfRun(first).mode === 'rate' ? keepUpRatio(measured) : undefined
  const a = figures.sloAttainment
  return {
    load: loadOfRun(first),
    stage,
    ...defined('aggregateTps', m.aggregate_tps?.repetitions?.mean),
    ...defined('requestThroughput', m.request_throughput?.repetitions?.mean),
    ...defined('ttftMs', m.ttft_ms?.requests?.median),
    ...defined('decodeTps', m.decode_tps?.requests?.median),
    ...defined('keepUp', keepUp),
    ...defined('goodputRps', m.goodput_rps?.repetitions?.mean),
    requests: figures.requests,
    failed: figures.failedRequests,
    ...(a && goodputTarget !== undefined ? {attainment: a.fraction, resolved: a.low >= goodputTarget || a.high < goodputTarget} : {}),
  }
}

function defined<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined || !Number.isFinite(value) ? {} : ({[key]: value} as Record<K, number>)
}

/**
 * Open loop: how fast requests completed over how fast they arrived, (n − 1) / (last end − first end)
 * over (n − 1) / (last send − first send), the mean over repetitions of at least 3 successful
 * requests. 1 when the server keeps up (completions follow arrivals); below 1 when a queue builds
 * (completions leave at the server's pace): GuideLLM's over-saturation, "the response rate doesn't
 * keep up with the request rate".
 */
export function keepUpRatio(runs: readonly RunRecord[]): number | undefined {
  const ratios: number[] = []
  for (const run of runs) {
    const ok = run.state === 'completed' ? run.requests.filter((r) => !r.error) : []
    if (ok.length < 3) continue
    const sends = ok.map((r) => r.tSend)
    const ends = ok.map((r) => r.tEnd)
    const arrivals = Math.max(...sends) - Math.min(...sends)
    const completions = Math.max(...ends) - Math.min(...ends)
    if (arrivals > 0 && completions > 0) ratios.push(arrivals / completions)
  }
  return ratios.length === 0 ? undefined : ratios.reduce((a, b) => a + b, 0) / ratios.length
}

const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2))

/** The points a saturation rule compares: the doubling and fill levels of the sweep's own mode (an open-loop sweep's one-at-a-time start is another kind of load). */
function comparable(points: readonly SweepPoint[], settings: SweepSettings): SweepPoint[] {
  return points.filter((p) => p.load.mode === settings.mode)
}

/**
 * Whether the level just measured (the last point) ends a saturation sweep, and why: too many
 * failed requests; no throughput to compare; open loop, completions falling behind arrivals;
 * a doubling that raised throughput by less than `minGain` over the best level before it; or TTFT
 * rising `ttftRise` times while throughput gained less than 2 x minGain. Undefined: keep doubling.
 */
export function saturationStop(points: readonly SweepPoint[], settings: SweepSettings): {code: SweepStop; reason: string} | undefined {
  const last = points.at(-1)
  if (!last) return undefined
  const at = loadLabel(last.load)
  if (last.requests > 0 && last.failed / last.requests > settings.maxErrorRate) {
    return {code: 'errors', reason: `${last.failed} of ${last.requests} requests failed at ${at} (more than ${fmt(settings.maxErrorRate * 100)}% allowed)`}
  }
  if (last.aggregateTps === undefined) return {code: 'no-throughput', reason: `${at} gave no throughput to compare (no request completed its full length)`}
  if (last.keepUp !== undefined && last.keepUp < settings.keepUp) {
    return {code: 'over-saturated', reason: `the server fell behind at ${at}: requests completed at ${fmt(last.keepUp)}x the rate they arrived (below ${fmt(settings.keepUp)}x: a queue was building)`}
  }
  const before = comparable(points.slice(0, -1), settings).filter((p) => p.aggregateTps !== undefined && compareLoads(p.load, last.load) < 0)
  if (before.length === 0 || last.load.mode !== settings.mode) return undefined
  const best = before.reduce((a, b) => (b.aggregateTps! > a.aggregateTps! ? b : a))
  const gain = last.aggregateTps / best.aggregateTps!
  if (gain < 1 + settings.minGain) {
    return {code: 'saturated', reason: `throughput stopped growing at ${at}: ${fmt(last.aggregateTps)} output tokens/s, ${gain.toFixed(2)}x the best before it (${fmt(best.aggregateTps!)} at ${loadLabel(best.load)}); a doubling must give more than ${(1 + settings.minGain).toFixed(2)}x`}
  }
  const previous = before.at(-1)!
  if (previous.ttftMs !== undefined && last.ttftMs !== undefined && previous.ttftMs > 0 && last.ttftMs / previous.ttftMs >= settings.ttftRise && gain < 1 + 2 * settings.minGain) {
    return {code: 'over-saturated', reason: `TTFT rose without throughput at ${at}: median TTFT ${fmt(previous.ttftMs)} -> ${fmt(last.ttftMs)} ms (${(last.ttftMs / previous.ttftMs).toFixed(1)}x ${loadLabel(previous.load)}'s) while throughput gained only ${gain.toFixed(2)}x`}
  }
  return undefined
}

/** A level between two measured ones: a whole number of requests in flight, or a rate to 3 significant digits. */
function between(a: Load, b: Load, share: number): Load | undefined {
  if (a.mode === 'concurrency' && b.mode === 'concurrency') {
    const level = Math.round(a.level + (b.level - a.level) * share)
    return level > a.level && level < b.level ? {mode: 'concurrency', level} : undefined
  }
  if (a.mode === 'rate' && b.mode === 'rate') {
    const rps = Number((a.rps + (b.rps - a.rps) * share).toPrecision(3))
    return rps > a.rps && rps < b.rps ? {mode: 'rate', rps} : undefined
  }
  return undefined
}

/**
 * Levels to measure around the knee once a doubling stopped at the last level: `fill` evenly
 * spaced levels between each of the last three doubling levels (the knee lies between the level
 * before the one that stopped gaining and the one that did), skipping levels already measured.
 */
export function fillLevels(points: readonly SweepPoint[], settings: SweepSettings): Load[] {
  const doubling = comparable(points, settings).map((p) => p.load).sort(compareLoads).slice(-3)
  const measured = new Set(points.map((p) => loadLabel(p.load)))
  const out: Load[] = []
  for (let i = 1; i < doubling.length; i++) {
    for (let k = 1; k <= settings.fill; k++) {
      const level = between(doubling[i - 1]!, doubling[i]!, k / (settings.fill + 1))
      if (level && !measured.has(loadLabel(level))) {
        measured.add(loadLabel(level))
        out.push(level)
      }
    }
  }
  return out
}

/**
 * The knee of a saturation sweep: the lowest level within the gain threshold of the peak
 * throughput (peak / (1 + minGain) or more), and the peak. Open loop, only the rates the server
 * kept up with count: above them a queue grows for as long as the rate is offered, so their
 * throughput is no operating point.
 */
export function saturationKnee(points: readonly SweepPoint[], settings: SweepSettings): SweepSummary['saturation'] {
  const sustained = (p: SweepPoint) => p.keepUp === undefined || p.keepUp >= settings.keepUp
  const measured = comparable(points, settings).filter((p) => p.aggregateTps !== undefined && sustained(p)).sort((a, b) => compareLoads(a.load, b.load))
  if (measured.length === 0 || (measured.length < 2 && settings.mode === 'concurrency')) return undefined
  const peak = measured.reduce((a, b) => (b.aggregateTps! > a.aggregateTps! ? b : a))
  const knee = measured.find((p) => p.aggregateTps! >= peak.aggregateTps! / (1 + settings.minGain))!
  return {load: knee.load, aggregateTps: knee.aggregateTps!, peakLoad: peak.load, peakTps: peak.aggregateTps!}
}

/** A goodput search's bracket: the highest level that met the target, the lowest that missed it (the search's own mode only). */
export function goodputBracket(points: readonly SweepPoint[], settings: SweepSettings): {best?: SweepPoint; worst?: SweepPoint} {
  const judged = comparable(points, settings).filter((p) => p.attainment !== undefined)
  const pass = judged.filter((p) => p.attainment! >= settings.goodputTarget!)
  const fail = judged.filter((p) => p.attainment! < settings.goodputTarget!)
  return {
    best: pass.reduce<SweepPoint | undefined>((a, b) => (!a || compareLoads(b.load, a.load) > 0 ? b : a), undefined),
    worst: fail.reduce<SweepPoint | undefined>((a, b) => (!a || compareLoads(b.load, a.load) < 0 ? b : a), undefined),
  }
}

/**
 * The next level of a goodput search after the last point, or why it stops: double until a level
 * misses the target; then bisect between the highest passing and lowest failing level until they
 * are one request apart (concurrency) or within `minGain` of each other (rate); when even the
 * lowest level misses, halve it down to one request at a time (concurrency) or 1/8 of the start
 * rate (rate) before giving up. The caller caps levels at the target's and the sweep's limits.
 */
export function goodputNext(points: readonly SweepPoint[], settings: SweepSettings, floor: Load): {load: Load; stage: SweepStage} | {code: SweepStop; reason: string} {
  const target = settings.goodputTarget!
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`
  const last = points.at(-1)!
  if (last.attainment === undefined) return {code: 'no-throughput', reason: `${loadLabel(last.load)} completed no request to judge`}
  const {best, worst} = goodputBracket(points, settings)
  if (!worst) return {load: double(best?.load ?? last.load), stage: 'double'}
  if (!best) {
    const lower = half(worst.load)
    if (compareLoads(lower, floor) < 0) {
      return {code: 'objectives-unmet', reason: `even ${loadLabel(worst.load)} met the objectives in only ${pct(worst.attainment!)} of requests (target ${pct(target)})`}
    }
    return {load: lower, stage: 'descend'}
  }
  const mid = between(best.load, worst.load, 0.5)
  const close = best.load.mode === 'rate' && worst.load.mode === 'rate' ? worst.load.rps - best.load.rps <= settings.minGain * best.load.rps : mid === undefined
  if (close || !mid) {
    return {code: 'converged', reason: `${loadLabel(best.load)} is the highest load meeting the objectives in ${pct(target)} of requests (${pct(best.attainment!)}); ${loadLabel(worst.load)} met them in ${pct(worst.attainment!)}`}
  }
  return {load: mid, stage: 'bisect'}
}

function double(load: Load): Load {
  return load.mode === 'concurrency' ? {mode: 'concurrency', level: load.level * 2} : {mode: 'rate', rps: Number((load.rps * 2).toPrecision(3))}
}

function half(load: Load): Load {
  return load.mode === 'concurrency' ? {mode: 'concurrency', level: Math.floor(load.level / 2)} : {mode: 'rate', rps: Number((load.rps / 2).toPrecision(3))}
}

/** The next doubling of a load level (rates to 3 significant digits). */
export const doubleLoad = double

/**
 * Every sweep of a result summarized from its record and its runs: each level's figures (as the
 * run decided on them), the knee of a saturation sweep and the bracket of a goodput search.
 */
export function summarizeSweeps(result: ResultFile): SweepSummary[] {
  return (result.sweeps ?? []).map((record) => summarizeSweep(result, record))
}

function summarizeSweep(result: ResultFile, record: SweepRecord): SweepSummary {
  const slo = result.load?.slo
  const points: SweepPoint[] = []
  for (const step of record.steps) {
    const runs = result.runs.filter((r) => r.target === record.target && r.test === record.test && loadLabel(loadOfRun(r)) === loadLabel(step.load) && !r.warmup && r.state !== 'skipped' && r.state !== 'interrupted')
    if (runs.length > 0) points.push(sweepPoint(runs, step.stage, slo, record.settings.goodputTarget))
  }
  const s = record.settings
  const summary: SweepSummary = {target: record.target, test: record.test, settings: s, points, ...(record.stop ? {stop: record.stop} : {})}
  if (s.search === 'saturation') {
    const knee = saturationKnee(points, s)
    if (knee) summary.saturation = knee
  } else {
    const {best, worst} = goodputBracket(points, s)
    summary.goodput = {
      best: best?.load ?? null,
      ...(best?.attainment !== undefined ? {bestAttainment: best.attainment} : {}),
      ...(best?.goodputRps !== undefined ? {bestGoodputRps: best.goodputRps} : {}),
      lowestFailing: worst?.load ?? null,
      unresolved: points.filter((p) => p.resolved === false).map((p) => p.load),
    }
  }
  return summary
}
