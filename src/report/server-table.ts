import type {GaugeFigure, HistogramFigure} from '../metrics/server-metrics.js'
import type {Cell, MetricStats} from '../results/summary-schema.js'
import {formatNumber, formatTokens} from './format.js'
import {testLabel} from './labels.js'

/**
 * The server's own /metrics beside owbench's client-side figures, one row per target x test x load
 * level that was scraped: one layout for the Markdown and HTML reports (the CSV has the same figures
 * as columns). Counts read `server / owbench`; latencies `server / owbench` in ms, the server's p50
 * interpolated within its histogram buckets, owbench's the median over requests (ITL: over gaps).
 */
export const SERVER_COLUMNS = [
  'target',
  'test',
  'server',
  'requests (server / owbench)',
  'prompt tokens (server / owbench)',
  'generated tokens (server / owbench)',
  'running mean / max',
  'waiting mean / max',
  'KV cache mean / max',
  'prefix-cache hits',
  'TTFT p50 ms (server / owbench)',
  'TPOT p50 ms (server / owbench)',
  'ITL p50 ms (server / owbench)',
  'E2E p50 ms (server / owbench)',
] as const

/** The rows of the server table for these cells (those without server metrics are left out). */
export function serverTableRows(cells: readonly Cell[]): string[][] {
  return cells.flatMap((cell) => {
    const s = cell.server
    if (!s) return []
    const f = s.figures
    const itl = `${pair(f.itl?.p50Ms, median(cell.metrics.itl_ms, 'gaps'))}${cell.itlBasis === 'chunk' ? ' (owbench per chunk)' : ''}`
    return [
      [
        cell.target,
        testLabel(cell),
        `${f.server} (${s.phases} phase${s.phases === 1 ? '' : 's'})`,
        counts(f.requestsServed, s.client.requests),
        counts(f.promptTokens, s.client.promptTokens),
        counts(f.generatedTokens, s.client.generatedTokens),
        gauge(f.requestsRunning),
        gauge(f.requestsWaiting),
        gauge(f.kvCacheUsage, 100, '%'),
        f.prefixCacheHitRate === undefined ? '-' : `${formatNumber(f.prefixCacheHitRate * 100)}%`,
        pair(p50(f.ttft), median(cell.metrics.ttft_ms, 'requests')),
        pair(p50(f.tpot), median(cell.metrics.tpot_ms, 'requests')),
        itl,
        pair(p50(f.e2e), median(cell.metrics.e2e_ms, 'requests')),
      ],
    ]
  })
}

/** Failed scrapes and dropped series of these cells, one line each, for the notes. */
export function serverTableNotes(cells: readonly Cell[]): string[] {
  return cells.flatMap((cell) => (cell.server?.failures ?? []).map((f) => `${cell.target} ${testLabel(cell)}: server metrics: ${f}`))
}

const value = (x: number | undefined) => (x === undefined ? '-' : formatNumber(x))
const pair = (server: number | undefined, client: number | undefined) => `${value(server)} / ${value(client)}`
/** Counts (requests, tokens) as whole numbers. */
const counts = (server: number | undefined, client: number | undefined) => `${server === undefined ? '-' : formatTokens(server)} / ${client === undefined ? '-' : formatTokens(client)}`
const p50 = (h: HistogramFigure | undefined) => h?.p50Ms
const median = (stats: MetricStats | undefined, sample: 'requests' | 'gaps') => stats?.[sample]?.median

function gauge(g: GaugeFigure | undefined, scale = 1, unit = ''): string {
  return g ? `${formatNumber(g.mean * scale)}${unit} / ${formatNumber(g.max * scale)}${unit}` : '-'
}
