import {aggregateThroughput, requestMetrics, type RequestMetrics} from '../metrics/request-metrics.js'
import {type SampleUnit, summarize, wilsonInterval} from '../metrics/statistics.js'
import {compareLoads, type Load, loadOfRun} from '../results/load.js'
import type {RequestRecord, RunRecord, Slo} from '../results/schema.js'
import type {Cell, MetricName, MetricStats, ShortOutputs} from '../results/summary-schema.js'
import {batchedBenchSpeeds} from './batched-bench.js'

/** The runs of one target x test x load level (warm-ups left out), in the order they ran. */
export interface CellRuns {
  target: string
  test: string
  kind: RunRecord['kind']
  load: Load
  runs: RunRecord[]
}

/**
 * Measured runs grouped by target x test x load level: targets and tests in the order they first
 * ran, each test's load levels from the lightest (a sweep measures them out of order).
 */
export function groupCells(runs: readonly RunRecord[]): CellRuns[] {
  const groups = new Map<string, CellRuns>()
  for (const run of runs) {
    if (run.warmup) continue
    const key = [run.target, run.test, run.concurrency, run.rate ?? ''].join('\u0000')
    const group = groups.get(key)
    if (group) group.runs.push(run)
    else groups.set(key, {target: run.target, test: run.test, kind: run.kind, load: loadOfRun(run), runs: [run]})
  }
  const cells = [...groups.values()]
  const first = new Map<string, number>()
  cells.forEach((c, i) => first.set(`${c.target}\u0000${c.test}`, first.get(`${c.target}\u0000${c.test}`) ?? i))
  return cells.sort((a, b) => first.get(`${a.target}\u0000${a.test}`)! - first.get(`${b.target}\u0000${b.test}`)! || compareLoads(a.load, b.load))
}

/** The successful requests of a repetition that completed (a repetition whose requests all failed is errored). */
export function measuredRequests(run: RunRecord): RequestRecord[] {
  return run.state === 'completed' ? run.requests.filter((r) => !r.error) : []
}

/** Per-request metrics, each a value of one request (or, for ITL, of each gap). */
const PER_REQUEST: readonly [MetricName, (m: RequestMetrics, r: RequestRecord, kind: RunRecord['kind']) => number | undefined][] = [
  // llama-bench's t/s: tokens evaluated per second for pp and pg, tokens generated per second for tg ("tg N: N / time").
  ['tokens_per_second', (m, _r, kind) => (kind === 'tg' ? m.outputTps : m.tokensPerSecond)],
  ['prefill_tps', (m, r) => (r.nPrompt > 1 ? m.prefillTps : undefined)],
  // Generation alone (llama-bench tg): the one-token prompt is part of the n decodes timed; an endpoint's short prefix is not counted.
  ['generation_tps', (m, _r, kind) => (kind === 'tg' ? m.outputTps : undefined)],
  ['decode_tps', (m) => m.decodeTps],
  ['ttft_ms', (m) => m.ttftMs],
  ['ttfa_ms', (m) => m.ttfaMs],
  ['tpot_ms', (m) => m.tpotMs],
  ['e2e_ms', (m) => m.e2eMs],
]

/**
 * The figures of an output of N tokens: withheld (with J/token) from a cell of a fixed-length test
 * whose outputs stopped short of N, since they would be another length's figures shown as N's.
 * TTFT, TTFA, prefill rate and ITL are each token's own and stay.
 */
export const LENGTH_FIGURES: readonly MetricName[] = ['tokens_per_second', 'generation_tps', 'decode_tps', 'tpot_ms', 'e2e_ms', 'aggregate_tps', 'request_throughput', 'goodput_rps', 's_tg_tps', 's_tps']

/**
 * Counts and statistics of one cell. Per-request metrics are given over repetitions (the mean of
 * each repetition's requests: the independent unit, as llama-bench reports) and over every
 * request of the load level pooled (latency percentiles, as vLLM reports); ITL pools every gap;
 * aggregate throughput, request throughput and goodput are one value per repetition (phase).
 * Each statistic names its sample unit. In a fixed-length test (tg, pg, chat with ignore_eos: the
 * caller says; by default tg and pg), a
 * request with fewer tokens than asked is short, and one short request withholds LENGTH_FIGURES.
 * Energy and server metrics are added by the caller.
 */
export function cellFigures(cell: CellRuns, slo: Slo | undefined, options: {fixedLength?: boolean} = {}): Omit<Cell, 'energy' | 'phases' | 'server'> {
  const fixedLength = options.fixedLength ?? (cell.kind === 'tg' || cell.kind === 'pg')
  const pooled = new Map<MetricName, number[]>()
  const perRep = new Map<MetricName, number[]>()
  const add = (map: Map<MetricName, number[]>, name: MetricName, value: number | undefined) => {
    if (value === undefined || !Number.isFinite(value)) return
    const list = map.get(name)
    if (list) list.push(value)
    else map.set(name, [value])
  }
  const errorReasons: Record<string, number> = {}
  let requests = 0
  let failedRequests = 0
  let first: RequestRecord | undefined
  const measured: RequestRecord[] = []
  const short: RequestRecord[] = []
  let chunkBasis = false
  let multiTokenChunkRequests = 0
  let sloMet = 0
  for (const run of cell.runs) {
    if (run.state === 'skipped' || run.state === 'interrupted') continue
    requests += run.requests.length
    for (const r of run.requests) {
      if (!r.error) continue
      failedRequests++
      errorReasons[r.error] = (errorReasons[r.error] ?? 0) + 1
    }
    const ok = measuredRequests(run)
    if (ok.length === 0) continue
    first ??= ok[0]
    const repValues = new Map<MetricName, number[]>()
    for (const request of ok) {
      const m = requestMetrics(request)
      measured.push(request)
      if (fixedLength && m.short) short.push(request)
      if (m.itlBasis === 'chunk') chunkBasis = true
      if (m.multiTokenChunks) multiTokenChunkRequests++
      for (const [name, pick] of PER_REQUEST) {
        const v = pick(m, request, run.kind)
        add(pooled, name, v)
        add(repValues, name, v)
      }
      for (const gap of m.itlMs) add(pooled, 'itl_ms', gap)
      for (const gap of m.itlMs) add(repValues, 'itl_ms', gap)
    }
    for (const [name, values] of repValues) add(perRep, name, mean(values))
    add(perRep, 'aggregate_tps', aggregateThroughput(ok))
    const batched = batchedBenchSpeeds(run)
    add(perRep, 's_pp_tps', batched?.pp)
    add(perRep, 's_tg_tps', batched?.tg)
    add(perRep, 's_tps', batched?.total)
    const span = phaseSpanMs(run.requests)
    if (span > 0) {
      add(perRep, 'request_throughput', (ok.length * 1000) / span)
      if (slo) add(perRep, 'goodput_rps', (ok.filter((r) => meetsSlo(r, slo)).length * 1000) / span)
    }
    if (slo) sloMet += ok.filter((r) => meetsSlo(r, slo)).length
  }
  const metrics: Partial<Record<MetricName, MetricStats>> = {}
  const stats = (name: MetricName, values: number[] | undefined, sample: SampleUnit) => {
    const s = values ? summarize(values, sample) : undefined
    if (s) metrics[name] = {...metrics[name], [sample]: s}
  }
  const shortOutputs = summarizeShort(short, measured.length)
  if (shortOutputs) {
    for (const name of LENGTH_FIGURES) {
      perRep.delete(name)
      pooled.delete(name)
    }
  }
  for (const [name, values] of perRep) stats(name, values, 'repetitions')
  for (const [name, values] of pooled) stats(name, values, name === 'itl_ms' ? 'gaps' : 'requests')
  const reasoning = summarizeReasoning(measured)
  const skipped = cell.runs.filter((r) => r.state === 'skipped')
  const interrupted = cell.runs.filter((r) => r.state === 'interrupted')
  return {
    target: cell.target,
    test: cell.test,
    kind: cell.kind,
    load: cell.load,
    completed: cell.runs.filter((r) => r.state === 'completed').length,
    errored: cell.runs.filter((r) => r.state === 'errored').length,
    skipped: skipped.length,
    ...(interrupted.length > 0 ? {interrupted: interrupted.length, interruptReason: interrupted[0]!.reason ?? 'interrupted'} : {}),
    ...(skipped[0]?.reason ? {skipReason: skipped[0].reason} : {}),
    requests,
    failedRequests,
    errorReasons,
    nPrompt: first?.nPrompt ?? 0,
    nOut: first?.nOut ?? 0,
    metrics,
    repetitionValues: Object.fromEntries(perRep),
    itlBasis: chunkBasis ? 'chunk' : 'token',
    ...(cell.runs.some((r) => r.sequences) ? {sequences: Math.max(...cell.runs.map((r) => r.sequences ?? 1))} : {}),
    multiTokenChunkRequests,
    ...(shortOutputs ? {shortOutputs} : {}),
    ...(reasoning ? {reasoning} : {}),
    ...(slo && requests > 0 ? {sloAttainment: attainment(sloMet, requests)} : {}),
  }
}

/** Requests meeting every objective of all requests sent (a failed one misses), with its 95% Wilson interval. */
function attainment(met: number, of: number): NonNullable<Cell['sloAttainment']> {
  const [low, high] = wilsonInterval(met, of)
  return {met, of, fraction: met / of, low, high}
}

/** The short requests of a cell summarized: how many of the measured, the length asked, the range generated and the finish reasons; undefined when none is short. */
function summarizeShort(short: readonly RequestRecord[], of: number): ShortOutputs | undefined {
  if (short.length === 0) return undefined
  const finishReasons: Record<string, number> = {}
  for (const r of short) finishReasons[r.finishReason ?? 'unknown'] = (finishReasons[r.finishReason ?? 'unknown'] ?? 0) + 1
  const outs = short.map((r) => r.nOut)
  return {requests: short.length, of, nAsked: Math.max(...short.map((r) => r.nAsked!)), nOutMin: Math.min(...outs), nOutMax: Math.max(...outs), finishReasons}
}

/** Reasoning tokens of the measured requests (nReasoning) and their share of every generated token; undefined when none reasoned. */
function summarizeReasoning(requests: readonly RequestRecord[]): Cell['reasoning'] {
  const reasoning = requests.filter((r) => (r.nReasoning ?? 0) > 0)
  if (reasoning.length === 0) return undefined
  const tokens = reasoning.reduce((n, r) => n + r.nReasoning!, 0)
  const generated = requests.reduce((n, r) => n + r.nOut, 0)
  const sources = new Set(reasoning.map((r) => r.reasoningCountSource ?? 'usage'))
  const hidden = reasoning.reduce((n, r) => n + requestMetrics(r).hiddenReasoningTokens, 0)
  return {requests: reasoning.length, tokens, share: generated > 0 ? tokens / generated : 0, source: sources.size > 1 ? 'mixed' : [...sources][0]!, hidden}
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length
}

/** Last end - first send over a phase's requests (failed ones included: they held the server too). */
export function phaseSpanMs(requests: readonly RequestRecord[]): number {
  if (requests.length === 0) return 0
  return Math.max(...requests.map((r) => r.tEnd)) - Math.min(...requests.map((r) => r.tSend))
}

/** Whether a request met every objective; TPOT only counts where a request has one (two or more tokens). */
function meetsSlo(request: RequestRecord, slo: Slo): boolean {
  const m = requestMetrics(request)
  if (slo.ttftMs !== undefined && !(m.ttftMs !== undefined && m.ttftMs <= slo.ttftMs)) return false
  if (slo.tpotMs !== undefined && m.tpotMs !== undefined && m.tpotMs > slo.tpotMs) return false
  if (slo.e2eMs !== undefined && m.e2eMs > slo.e2eMs) return false
  return true
}
