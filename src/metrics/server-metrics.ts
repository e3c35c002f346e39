import {z} from 'zod'
import {parsePrometheusText} from './prometheus-text.js'

/** Servers whose metric names owbench knows, and 'other' for a /metrics without them. */
export const SERVER_KINDS = ['vllm', 'sglang', 'llama-server', 'other'] as const
export type ServerKind = (typeof SERVER_KINDS)[number]

/** A Prometheus histogram's increase over a phase: cumulative bucket counts at finite upper bounds (the +Inf bucket is `count`). */
export interface HistogramDelta {
  le: number[]
  counts: number[]
  sum: number
  count: number
}

/**
 * What the formulas read of one phase's server metrics (structurally a result file's
 * `serverMetrics`): counters and histograms as increases over the phase, gauges as every sample
 * (ms on the run's clock, value) taken while it ran, `window` the times of the edge readings.
 */
export interface ServerMetricsPhase {
  server: ServerKind
  window: [number, number]
  counters: Record<string, number>
  gauges: Record<string, [number, number][]>
  histograms: Record<string, HistogramDelta>
  failures?: string[]
}

/**
 * Inference servers' own Prometheus metrics: one reading (a scrape) of the series owbench keeps,
 * the increase of counters and histograms between two readings, and the figures a phase's
 * readings give (running/waiting requests, KV-cache use, prefix-cache hits, requests served,
 * tokens, and the server's TTFT/TPOT/ITL/E2E histograms). Metric names are the servers' own:
 * vLLM docs/design/metrics.md and usage/metrics.md, SGLang docs/references/production_metrics.md,
 * llama.cpp tools/server (server_task_result_metrics::to_metrics).
 */
export interface Reading {
  server: ServerKind
  counters: Map<string, number>
  gauges: Map<string, number>
  histograms: Map<string, {buckets: Map<number, number>; sum: number; count: number}>
}

const PREFIXES: [string, ServerKind][] = [
  ['vllm:', 'vllm'],
  ['sglang:', 'sglang'],
  ['sglang_', 'sglang'],
  ['llamacpp:', 'llama-server'],
]

/** The series of a server's own families (vllm:, sglang:, llamacpp:) in one /metrics answer; other families (python_gc_, process_, http_) are left out. */
export function readMetrics(text: string): Reading {
  const {samples, types} = parsePrometheusText(text)
  const reading: Reading = {server: 'other', counters: new Map(), gauges: new Map(), histograms: new Map()}
  const found = new Map<ServerKind, number>()
  for (const sample of samples) {
    const kind = PREFIXES.find(([prefix]) => sample.name.startsWith(prefix))?.[1]
    if (!kind) continue
    found.set(kind, (found.get(kind) ?? 0) + 1)
    const histogram = histogramFamily(sample.name, types)
    if (histogram) {
      const {le, ...labels} = sample.labels
      const key = seriesKey(histogram.family, labels)
      const h = reading.histograms.get(key) ?? {buckets: new Map<number, number>(), sum: 0, count: 0}
      reading.histograms.set(key, h)
      if (histogram.part === 'bucket') {
        const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le)
        if (Number.isFinite(bound)) h.buckets.set(bound, sample.value)
      } else if (histogram.part === 'sum') h.sum = sample.value
      else h.count = sample.value
      continue
    }
    // prometheus_client's _created series are timestamps of a counter's creation, not values.
    if (sample.name.endsWith('_created')) continue
    const type = types.get(sample.name) ?? (sample.name.endsWith('_total') ? 'counter' : 'gauge')
    const key = seriesKey(sample.name, sample.labels)
    if (type === 'counter') reading.counters.set(key, sample.value)
    else if (type === 'gauge' || type === 'untyped') reading.gauges.set(key, sample.value)
  }
  reading.server = [...found].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'other'
  return reading
}

function histogramFamily(name: string, types: Map<string, string>): {family: string; part: 'bucket' | 'sum' | 'count'} | undefined {
  for (const part of ['bucket', 'sum', 'count'] as const) {
    const suffix = `_${part}`
    if (!name.endsWith(suffix)) continue
    const family = name.slice(0, -suffix.length)
    if (types.get(family) === 'histogram') return {family, part}
  }
  return undefined
}

/** `name{a="1",b="2"}` with labels sorted, or the bare name. */
export function seriesKey(name: string, labels: Record<string, string>): string {
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return entries.length === 0 ? name : `${name}{${entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`
}

/**
 * A phase's record from its first and last readings and the gauge samples between: counters and
 * histograms as increases (a series new in the last reading started from 0; one that went down,
 * a server restart, is dropped and listed in `failures`).
 */
export function phaseMetrics(first: Reading, last: Reading, window: [number, number], gauges: Record<string, [number, number][]>, failures: string[] = []): ServerMetricsPhase {
  const counters: Record<string, number> = {}
  for (const [key, value] of last.counters) {
    const increase = value - (first.counters.get(key) ?? 0)
    if (increase < 0) failures.push(`${key} went down from ${first.counters.get(key)} to ${value} (server restarted?)`)
    else counters[key] = increase
  }
  const histograms: Record<string, HistogramDelta> = {}
  for (const [key, h] of last.histograms) {
    const before = first.histograms.get(key)
    const le = [...h.buckets.keys()].sort((a, b) => a - b)
    const delta: HistogramDelta = {le, counts: le.map((b) => h.buckets.get(b)! - (before?.buckets.get(b) ?? 0)), sum: h.sum - (before?.sum ?? 0), count: h.count - (before?.count ?? 0)}
    if (delta.count < 0 || delta.counts.some((c) => c < 0)) failures.push(`${key} went down (server restarted?)`)
    else histograms[key] = delta
  }
  const phase: ServerMetricsPhase = {server: last.server, window, counters, gauges, histograms}
  if (failures.length > 0) phase.failures = failures
  return phase
}

interface Names {
  running: string[]
  waiting: string[]
  kvCache: string[]
  served: string[]
  promptTokens: string[]
  /** Prompt tokens served from the prefix cache (counted apart from promptTokens by llama-server). */
  cachedPromptTokens: string[]
  generatedTokens: string[]
  prefixHits: string[]
  prefixQueries: string[]
  /** A hit-rate gauge (SGLang). */
  prefixHitRate: string[]
  ttft: string[]
  tpot: string[]
  itl: string[]
  e2e: string[]
}

/** Each server's names for the same facts, newest first (vLLM renamed several in v1 / 0.10). */
export const SERVER_METRIC_NAMES: Record<Exclude<ServerKind, 'other'>, Names> = {
  vllm: {
    running: ['vllm:num_requests_running'],
    waiting: ['vllm:num_requests_waiting'],
    kvCache: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'],
    served: ['vllm:request_success_total'],
    promptTokens: ['vllm:prompt_tokens_total'],
    cachedPromptTokens: [],
    generatedTokens: ['vllm:generation_tokens_total'],
    prefixHits: ['vllm:prefix_cache_hits_total', 'vllm:gpu_prefix_cache_hits_total'],
    prefixQueries: ['vllm:prefix_cache_queries_total', 'vllm:gpu_prefix_cache_queries_total'],
    prefixHitRate: [],
    ttft: ['vllm:time_to_first_token_seconds'],
    tpot: ['vllm:request_time_per_output_token_seconds'],
    itl: ['vllm:inter_token_latency_seconds', 'vllm:time_per_output_token_seconds'],
    e2e: ['vllm:e2e_request_latency_seconds'],
  },
  sglang: {
    running: ['sglang:num_running_reqs'],
    waiting: ['sglang:num_queue_reqs'],
    kvCache: ['sglang:token_usage'],
    served: ['sglang:num_requests_total'],
    promptTokens: ['sglang:prompt_tokens_total'],
    cachedPromptTokens: [],
    generatedTokens: ['sglang:generation_tokens_total'],
    prefixHits: [],
    prefixQueries: [],
    prefixHitRate: ['sglang:cache_hit_rate'],
    ttft: ['sglang:time_to_first_token_seconds'],
    tpot: ['sglang:time_per_output_token_seconds'],
    itl: ['sglang:inter_token_latency_seconds'],
    e2e: ['sglang:e2e_request_latency_seconds'],
  },
  'llama-server': {
    running: ['llamacpp:requests_processing'],
    waiting: ['llamacpp:requests_deferred'],
    kvCache: ['llamacpp:kv_cache_usage_ratio'],
    served: [],
    promptTokens: ['llamacpp:prompt_tokens_total'],
    cachedPromptTokens: ['llamacpp:prompt_tokens_cached_total'],
    generatedTokens: ['llamacpp:tokens_predicted_total'],
    prefixHits: [],
    prefixQueries: [],
    prefixHitRate: [],
    ttft: [],
    tpot: [],
    itl: [],
    e2e: [],
  },
}

const finite = z.number().refine(Number.isFinite, 'must be a finite number')

/** A gauge over a phase: mean and max of the samples taken while it ran. */
export const GaugeFigureSchema = z.strictObject({mean: finite, max: finite, samples: z.number().int().positive()})
export type GaugeFigure = z.infer<typeof GaugeFigureSchema>

/** A server-side latency histogram over a phase. */
export const HistogramFigureSchema = z.strictObject({
  /** Observations in the phase. */
  n: finite,
  /** sum / count, in ms. */
  meanMs: finite,
  /** Quantiles estimated from the buckets as Prometheus' histogram_quantile does (linear within a bucket), in ms; absent where the rank falls in the +Inf bucket. */
  p50Ms: finite.optional(),
  p90Ms: finite.optional(),
  p99Ms: finite.optional(),
})
export type HistogramFigure = z.infer<typeof HistogramFigureSchema>

/** What the server itself says about one phase (or several merged), each figure from its own counters, gauges or histograms. */
export const ServerPhaseFiguresSchema = z.strictObject({
  server: z.enum(SERVER_KINDS),
  /** Requests running / waiting (gauges sampled while the phase ran, edges excluded; the sum over series such as vLLM's engines). */
  requestsRunning: GaugeFigureSchema.optional(),
  requestsWaiting: GaugeFigureSchema.optional(),
  /** KV-cache use, a fraction 0..1 (the mean over series). */
  kvCacheUsage: GaugeFigureSchema.optional(),
  /** Requests the server finished in the phase (vLLM request_success_total, SGLang num_requests_total; llama-server has no such counter). */
  requestsServed: finite.optional(),
  /** Prompt tokens the server took in the phase (llama-server: processed + served from its cache). */
  promptTokens: finite.optional(),
  generatedTokens: finite.optional(),
  /** Share of prompt tokens (or blocks, vLLM) served from the prefix cache in the phase, 0..1. */
  prefixCacheHitRate: finite.optional(),
  ttft: HistogramFigureSchema.optional(),
  tpot: HistogramFigureSchema.optional(),
  itl: HistogramFigureSchema.optional(),
  e2e: HistogramFigureSchema.optional(),
})
export type ServerPhaseFigures = z.infer<typeof ServerPhaseFiguresSchema>

/**
 * Several phases of one server as one (the repetitions of a test at one load level): counters and
 * histograms summed, gauge samples pooled (each phase's own edge readings left out first), failures
 * listed. A series missing from some phase (a failed edge reading) is left out rather than undercounted.
 */
export function mergePhases(phases: readonly ServerMetricsPhase[]): ServerMetricsPhase {
  const first = phases[0]
  if (!first) throw new Error('mergePhases needs at least one phase')
  const inAll = <T>(pick: (p: ServerMetricsPhase) => Record<string, T>) => Object.keys(pick(first)).filter((key) => phases.every((p) => key in pick(p)))
  const counters: Record<string, number> = {}
  for (const key of inAll((p) => p.counters)) counters[key] = phases.reduce((sum, p) => sum + p.counters[key]!, 0)
  const histograms: Record<string, HistogramDelta> = {}
  for (const key of inAll((p) => p.histograms)) histograms[key] = mergeHistograms(phases.map((p) => p.histograms[key]!))
  const gauges: Record<string, [number, number][]> = {}
  for (const p of phases) {
    for (const [key, samples] of Object.entries(p.gauges)) (gauges[key] ??= []).push(...samples.filter(([t]) => t > p.window[0] && t < p.window[1]))
  }
  const failures = phases.flatMap((p) => p.failures ?? [])
  // Every kept sample lies strictly inside its own phase, so strictly inside the span of all of them.
  const window: [number, number] = [Math.min(...phases.map((p) => p.window[0])), Math.max(...phases.map((p) => p.window[1]))]
  return {server: first.server, window, counters, gauges, histograms, ...(failures.length > 0 ? {failures} : {})}
}

export function serverPhaseFigures(phase: ServerMetricsPhase): ServerPhaseFigures {
  const figures: ServerPhaseFigures = {server: phase.server}
  if (phase.server === 'other') return figures
  const names = SERVER_METRIC_NAMES[phase.server]
  const counter = (list: string[]) => sumFirst(list, phase.counters)
  const gauge = (list: string[], combine: 'sum' | 'mean') => gaugeFigure(list, phase.gauges, combine, phase.window)
  const histogram = (list: string[]) => histogramFigure(list, phase.histograms)
  assign(figures, 'requestsRunning', gauge(names.running, 'sum'))
  assign(figures, 'requestsWaiting', gauge(names.waiting, 'sum'))
  assign(figures, 'kvCacheUsage', gauge(names.kvCache, 'mean'))
  assign(figures, 'requestsServed', counter(names.served))
  const prompt = counter(names.promptTokens)
  const cached = counter(names.cachedPromptTokens)
  assign(figures, 'promptTokens', prompt === undefined ? undefined : prompt + (cached ?? 0))
  assign(figures, 'generatedTokens', counter(names.generatedTokens))
  const hits = counter(names.prefixHits)
  const queries = counter(names.prefixQueries)
  if (hits !== undefined && queries !== undefined && queries > 0) figures.prefixCacheHitRate = hits / queries
  else if (cached !== undefined && prompt !== undefined && prompt + cached > 0) figures.prefixCacheHitRate = cached / (prompt + cached)
  else assign(figures, 'prefixCacheHitRate', gauge(names.prefixHitRate, 'mean')?.mean)
  assign(figures, 'ttft', histogram(names.ttft))
  assign(figures, 'tpot', histogram(names.tpot))
  assign(figures, 'itl', histogram(names.itl))
  assign(figures, 'e2e', histogram(names.e2e))
  return figures
}

function assign<K extends keyof ServerPhaseFigures>(figures: ServerPhaseFigures, key: K, value: ServerPhaseFigures[K] | undefined): void {
  if (value !== undefined) figures[key] = value
}

const familyOf = (key: string) => key.replace(/\{.*$/, '')

/** The sum over every series of the first name present (a counter split by label, e.g. finished_reason). */
function sumFirst(names: string[], values: Record<string, number>): number | undefined {
  for (const name of names) {
    const matching = Object.entries(values).filter(([key]) => familyOf(key) === name)
    if (matching.length > 0) return matching.reduce((sum, [, v]) => sum + v, 0)
  }
  return undefined
}

/**
 * A gauge over the phase from the samples taken while it ran: the edge readings (before the first
 * request, after the last) show an idle server by construction and are left out, so a phase
 * shorter than the sampling interval has no figure rather than a false 0.
 */
function gaugeFigure(names: string[], gauges: Record<string, [number, number][]>, combine: 'sum' | 'mean', window: [number, number]): GaugeFigure | undefined {
  for (const name of names) {
    const series = Object.entries(gauges).filter(([key]) => familyOf(key) === name)
    if (series.length === 0) continue
    // Combine the series at each sampling time (they are read together), then summarize over time.
    const byTime = new Map<number, number[]>()
    for (const [, samples] of series) for (const [t, v] of samples) if (t > window[0] && t < window[1]) byTime.set(t, [...(byTime.get(t) ?? []), v])
    const values = [...byTime.values()].map((vs) => (combine === 'sum' ? vs.reduce((a, b) => a + b, 0) : vs.reduce((a, b) => a + b, 0) / vs.length)).filter(Number.isFinite)
    if (values.length === 0) return undefined
    return {mean: values.reduce((a, b) => a + b, 0) / values.length, max: Math.max(...values), samples: values.length}
  }
  return undefined
}

function histogramFigure(names: string[], histograms: Record<string, HistogramDelta>): HistogramFigure | undefined {
  for (const name of names) {
    const series = Object.entries(histograms).filter(([key]) => familyOf(key) === name)
    if (series.length === 0) continue
    const merged = mergeHistograms(series.map(([, h]) => h))
    if (merged.count <= 0) return undefined
    const figure: HistogramFigure = {n: merged.count, meanMs: (merged.sum / merged.count) * 1000}
    for (const [q, key] of [[0.5, 'p50Ms'], [0.9, 'p90Ms'], [0.99, 'p99Ms']] as const) {
      const value = histogramQuantile(q, merged)
      if (value !== undefined) figure[key] = value * 1000
    }
    return figure
  }
  return undefined
}

function mergeHistograms(list: HistogramDelta[]): HistogramDelta {
  const le = [...new Set(list.flatMap((h) => h.le))].sort((a, b) => a - b)
  const countAt = (h: HistogramDelta, bound: number) => {
    // Cumulative counts: the count at the largest bound not above `bound`.
    let c = 0
    for (let i = 0; i < h.le.length && h.le[i]! <= bound; i++) c = h.counts[i]!
    return c
  }
  return {le, counts: le.map((b) => list.reduce((sum, h) => sum + countAt(h, b), 0)), sum: list.reduce((s, h) => s + h.sum, 0), count: list.reduce((s, h) => s + h.count, 0)}
}

/**
 * Prometheus' histogram_quantile: the bucket holding rank q x count, then linear interpolation
 * between its lower and upper bound (the first bucket's lower bound is 0). Undefined when the rank
 * falls in the +Inf bucket (no upper bound to interpolate to) or the histogram is empty.
 */
export function histogramQuantile(q: number, h: HistogramDelta): number | undefined {
  if (h.count <= 0) return undefined
  const rank = q * h.count
  for (let i = 0; i < h.le.length; i++) {
    if (h.counts[i]! >= rank) {
      const lower = i === 0 ? 0 : h.le[i - 1]!
      const below = i === 0 ? 0 : h.counts[i - 1]!
      const inBucket = h.counts[i]! - below
      return inBucket > 0 ? lower + ((h.le[i]! - lower) * (rank - below)) / inBucket : h.le[i]!
    }
  }
  return undefined
}
