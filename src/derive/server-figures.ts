import {mergePhases, serverPhaseFigures} from '../metrics/server-metrics.js'
import type {RunRecord} from '../results/schema.js'
import type {Cell} from '../results/summary-schema.js'

/**
 * The server's own figures over a cell's measured phases (its Prometheus /metrics, merged over the
 * repetitions: counters and histograms summed, gauge samples pooled), beside owbench's side of the
 * same phases: requests sent and tokens sent and received, so the two can be checked against each
 * other (llama-server's tokens predicted equal the tokens owbench received). Undefined when no
 * phase of the cell was scraped.
 */
export function cellServerFigures(runs: readonly RunRecord[]): Cell['server'] {
  const observed = runs.filter((r) => r.state !== 'skipped' && r.state !== 'interrupted' && r.serverMetrics)
  if (observed.length === 0) return undefined
  const merged = mergePhases(observed.map((r) => r.serverMetrics!))
  const requests = observed.flatMap((r) => r.requests)
  // Counted from the stream, a request's prompt size is unknown (recorded as 0): no total then.
  const promptKnown = requests.every((r) => r.countSource !== 'stream')
  const client = {
    requests: requests.length,
    ...(promptKnown ? {promptTokens: requests.reduce((n, r) => n + r.nPrompt, 0)} : {}),
    generatedTokens: requests.reduce((n, r) => n + r.nOut, 0),
  }
  return {phases: observed.length, figures: serverPhaseFigures(merged), client, ...(merged.failures ? {failures: merged.failures} : {})}
}
