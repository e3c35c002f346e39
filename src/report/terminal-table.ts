import type {ResultFile, SummaryRow, Target} from '../results/schema.js'
import {formatBytes, formatNumber, formatParameters, markdownTable} from './format.js'

/**
 * The table `owbench run` prints: llama-bench's Markdown layout (model, size, params, backend,
 * threads, test, t/s as mean ± sd) plus TTFT, so it pastes into a README or forum post unchanged.
 */
export function renderRunTable(result: ResultFile): string {
  const withEnergy = result.summary.some((row) => row.energy)
  const header = ['model', 'size', 'params', 'backend', 'threads', 'test', 't/s', 'TTFT ms', ...(withEnergy ? ['J/token'] : []), 'reps']
  const align: ('l' | 'r')[] = ['l', 'r', 'r', 'l', 'r', 'l', 'r', 'r', ...(withEnergy ? (['r'] as const) : []), 'r']
  const rows: string[][] = []
  for (const row of result.summary) {
    const target = result.targets.find((t) => t.id === row.target)
    if (!target) continue
    rows.push([
      ...targetCells(target),
      row.rate !== undefined ? `${row.test} @${row.rate}/s` : row.concurrency > 1 ? `${row.test} @c${row.concurrency}` : row.test,
      rateCell(row),
      ttftCell(row),
      ...(withEnergy ? [energyCell(row)] : []),
      repsCell(row),
    ])
  }
  const notes = [
    't/s: tokens evaluated (prompt + generated) per second of wall time, mean ± sample sd over repetitions (llama-bench); TTFT: median time to first token.',
    ...(withEnergy ? ['J/token: gross energy of the measured windows per token (pp: per prompt token; otherwise per generated token) at the widest boundary measured, which is named with its method; net of idle is in the result file.'] : []),
    ...result.labels,
  ]
  if (result.state !== 'completed') notes.unshift(`${result.state.toUpperCase()} result${result.stateReason ? `: ${result.stateReason}` : ''}`)
  return [markdownTable(header, align, rows), '', ...notes.map((n) => `- ${n}`)].join('\n')
}

/** model, size, params, backend, threads: a local file, or the model name and host of an endpoint. */
function targetCells(target: Target): string[] {
  if (target.kind === 'endpoint') {
    return [target.endpoint.model, '-', '-', `HTTP ${new URL(target.endpoint.baseUrl).host}`, '-']
  }
  const model = target.model
  return [
    model.name ?? model.fileName,
    formatBytes(model.bytes),
    model.parameters ? formatParameters(model.parameters) : '?',
    `${target.engine.backend.toUpperCase()} (${target.engine.build === 'localBuild' ? 'local build' : 'prebuilt'})`,
    String(target.settings.threads),
  ]
}

function rateCell(row: SummaryRow): string {
  const stats = row.metrics.tokens_per_second
  if (!stats) return row.skipped > 0 ? 'skipped' : 'failed'
  return `${formatNumber(stats.mean)} ± ${formatNumber(stats.sd)}`
}

function energyCell(row: SummaryRow): string {
  const total = row.energy?.phases.find((p) => p.phase === 'total')
  const figure = total?.boundaries.find((b) => b.boundary === total.widest)
  if (!figure?.gross) return total ? 'missing' : '-'
  return `${formatNumber(figure.gross.jPerToken)} (${figure.boundary}, ${figure.method})`
}

function ttftCell(row: SummaryRow): string {
  const stats = row.metrics.ttft_ms
  return stats ? formatNumber(stats.median) : '-'
}

function repsCell(row: SummaryRow): string {
  const failed = row.errored > 0 ? ` (${row.errored} failed)` : ''
  const requests = row.requests > row.completed + row.errored ? `, ${row.requests} req` : ''
  const failedRequests = row.failedRequests > 0 ? `, ${row.failedRequests} req failed` : ''
  return `${row.completed}${failed}${requests}${failedRequests}`
}
