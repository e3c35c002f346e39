import {requestPhases} from '../energy/phases.js'
import type {EnergyInput} from '../energy/series-energy.js'
import {computeEnergy} from '../energy/summary.js'
import {aggregateThroughput, requestMetrics} from '../metrics/request-metrics.js'
import {summarize} from '../metrics/statistics.js'
import type {MetricName, RequestRecord, RunRecord, SummaryRow} from './schema.js'

/** Service-level objectives a request must meet to count toward goodput (DistServe, vLLM). */
export interface Slo {
  ttftMs?: number
  tpotMs?: number
  e2eMs?: number
}

/**
 * Statistics per target x test x load over the measured repetitions (warm-ups excluded). Rates
 * per request are pooled over every request of every repetition; aggregate throughput, request
 * throughput and goodput are one value per repetition (phase); ITL pools every gap.
 */
export function computeSummary(runs: readonly RunRecord[], options: {slo?: Slo; power?: EnergyInput} = {}): SummaryRow[] {
  const groups = new Map<string, RunRecord[]>()
  for (const run of runs) {
    if (run.warmup) continue
    const key = [run.target, run.test, run.concurrency, run.rate ?? ''].join('\u0000')
    const list = groups.get(key)
    if (list) list.push(run)
    else groups.set(key, [run])
  }
  const rows: SummaryRow[] = []
  for (const group of groups.values()) {
    const first = group[0]!
    const samples = Object.fromEntries(METRICS.map((m) => [m, [] as number[]])) as Record<MetricName, number[]>
    const errorReasons: Record<string, number> = {}
    let requests = 0
    let failedRequests = 0
    let sample: RequestRecord | undefined
    const measured: RequestRecord[] = []
    for (const run of group) {
      if (run.state === 'skipped') continue
      const ok = run.requests.filter((r) => !r.error)
      requests += run.requests.length
      for (const r of run.requests) {
        if (!r.error) continue
        failedRequests++
        errorReasons[r.error] = (errorReasons[r.error] ?? 0) + 1
      }
      sample ??= ok[0]
      measured.push(...ok)
      for (const request of ok) {
        const m = requestMetrics(request)
        push(samples.tokens_per_second, m.tokensPerSecond)
        push(samples.ttft_ms, m.ttftMs)
        push(samples.tpot_ms, m.tpotMs)
        push(samples.decode_tps, m.decodeTps)
        push(samples.e2e_ms, m.e2eMs)
        samples.itl_ms.push(...m.itlMs)
        if (request.nPrompt > 1) push(samples.prefill_tps, m.prefillTps)
        // Generation alone (llama-bench tg): the one-token prompt is part of the n decodes timed.
        if (run.kind === 'tg') push(samples.generation_tps, m.tokensPerSecond)
      }
      if (ok.length === 0) continue
      push(samples.aggregate_tps, aggregateThroughput(ok))
      const span = phaseSpanMs(run.requests)
      if (span > 0) {
        push(samples.request_throughput, (ok.length * 1000) / span)
        if (options.slo) push(samples.goodput_rps, (ok.filter((r) => meetsSlo(r, options.slo!)).length * 1000) / span)
      }
    }
    const metrics: SummaryRow['metrics'] = {}
    for (const name of METRICS) {
      const stats = summarize(samples[name])
      if (stats) metrics[name] = stats
    }
    const row: SummaryRow = {
      target: first.target,
      test: first.test,
      kind: first.kind,
      concurrency: first.concurrency,
      completed: group.filter((r) => r.state === 'completed').length,
      errored: group.filter((r) => r.state === 'errored').length,
      skipped: group.filter((r) => r.state === 'skipped').length,
      requests,
      failedRequests,
      errorReasons,
      nPrompt: sample?.nPrompt ?? 0,
      nOut: sample?.nOut ?? 0,
      metrics,
    }
    if (first.rate !== undefined) row.rate = first.rate
    if (options.power && measured.length > 0) row.energy = computeEnergy(options.power, measured.map(requestPhases))
    rows.push(row)
  }
  return rows
}

const METRICS: readonly MetricName[] = ['tokens_per_second', 'prefill_tps', 'generation_tps', 'decode_tps', 'ttft_ms', 'tpot_ms', 'itl_ms', 'e2e_ms', 'aggregate_tps', 'request_throughput', 'goodput_rps']

function phaseSpanMs(requests: readonly RequestRecord[]): number {
  if (requests.length === 0) return 0
  return Math.max(...requests.map((r) => r.tEnd)) - Math.min(...requests.map((r) => r.tSend))
}

export function meetsSlo(request: RequestRecord, slo: Slo): boolean {
  const m = requestMetrics(request)
  if (slo.ttftMs !== undefined && !(m.ttftMs !== undefined && m.ttftMs <= slo.ttftMs)) return false
  if (slo.tpotMs !== undefined && m.tpotMs !== undefined && m.tpotMs > slo.tpotMs) return false
  if (slo.e2eMs !== undefined && m.e2eMs > slo.e2eMs) return false
  return true
}

function push(list: number[], value: number | undefined): void {
  if (value !== undefined && Number.isFinite(value)) list.push(value)
}
