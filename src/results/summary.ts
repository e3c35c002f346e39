import {aggregateThroughput, requestMetrics} from '../metrics/request-metrics.js'
import {summarize} from '../metrics/statistics.js'
import type {MetricName, RunRecord, SummaryRow} from './schema.js'

/**
 * Statistics per target x test over the measured repetitions (warm-ups and failed repetitions
 * excluded). Rates are per repetition; ITL is pooled over every gap of every repetition.
 */
export function computeSummary(runs: readonly RunRecord[]): SummaryRow[] {
  const groups = new Map<string, RunRecord[]>()
  for (const run of runs) {
    if (run.warmup) continue
    const key = `${run.target}\u0000${run.test}`
    const list = groups.get(key)
    if (list) list.push(run)
    else groups.set(key, [run])
  }
  const rows: SummaryRow[] = []
  for (const group of groups.values()) {
    const first = group[0]!
    const completed = group.filter((r) => r.state === 'completed')
    const samples: Record<MetricName, number[]> = {
      tokens_per_second: [],
      prefill_tps: [],
      generation_tps: [],
      decode_tps: [],
      ttft_ms: [],
      tpot_ms: [],
      itl_ms: [],
      e2e_ms: [],
      aggregate_tps: [],
    }
    for (const run of completed) {
      for (const request of run.requests) {
        if (request.error) continue
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
      push(samples.aggregate_tps, aggregateThroughput(run.requests.filter((r) => !r.error)))
    }
    const metrics: SummaryRow['metrics'] = {}
    for (const [name, values] of Object.entries(samples) as [MetricName, number[]][]) {
      const stats = summarize(values)
      if (stats) metrics[name] = stats
    }
    const sample = completed[0]?.requests[0]
    rows.push({
      target: first.target,
      test: first.test,
      kind: first.kind,
      completed: completed.length,
      errored: group.filter((r) => r.state === 'errored').length,
      skipped: group.filter((r) => r.state === 'skipped').length,
      nPrompt: sample?.nPrompt ?? 0,
      nOut: sample?.nOut ?? 0,
      metrics,
    })
  }
  return rows
}

function push(list: number[], value: number | undefined): void {
  if (value !== undefined && Number.isFinite(value)) list.push(value)
}
