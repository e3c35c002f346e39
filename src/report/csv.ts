import {stringify} from 'csv-stringify/sync'
import {loadLabel} from '../results/load.js'
import type {ResultFile} from '../results/schema.js'
import {reportRows} from './rows.js'

/** Columns of the CSV export, in order, each documented in the README. */
export const CSV_COLUMNS = [
  'result_id', 'created_at', 'state', 'host', 'cpu', 'gpus', 'suite', 'suite_version', 'target', 'target_kind', 'model', 'quantization', 'engine_build', 'backend', 'threads',
  'test', 'kind', 'load', 'concurrency', 'rate', 'repetitions', 'requests', 'failed_requests', 'n_prompt', 'n_out',
  'tps_mean', 'tps_sd', 'tps_ci95_low', 'tps_ci95_high', 'tps_request_mean', 'tps_request_sd', 'ttft_ms_median', 'ttft_ms_p95', 'tpot_ms_median', 'itl_ms_p95', 'e2e_ms_median', 'decode_tps_mean', 'aggregate_tps_mean',
  'j_per_token', 'j_per_token_high', 'energy_basis', 'energy_boundary', 'energy_method', 'energy_missing', 'labels',
] as const

/**
 * One row per target x test x load level of every result (hyperfine-style pure exporter). tps_*
 * are over repetitions (one value per repetition), tps_request_* over every request pooled; latency
 * medians and p95 over requests (ITL: gaps); j_per_token is the headline figure, a hosted model's
 * low end with j_per_token_high its high end.
 */
export function exportCsv(results: readonly ResultFile[]): string {
  const {rows} = reportRows(results)
  const records = rows.map(({result, target, cell}) => {
    const m = cell.metrics
    const e = cell.energy
    const local = target.kind === 'local' ? target : undefined
    return [
      result.id, result.createdAt, result.state, result.host.hostname, `${result.host.cpu.manufacturer} ${result.host.cpu.brand}`.trim(), result.host.gpus.map((g) => g.model).join('; '),
      result.suite.name, result.suite.version, target.id, target.kind, local ? (local.model.name ?? local.model.fileName) : target.kind === 'endpoint' ? target.endpoint.model : '',
      local?.model.quantization ?? '', local?.engine.build ?? '', local?.engine.backend ?? 'http', local?.settings.threads ?? '',
      cell.test, cell.kind, loadLabel(cell.load), cell.load.mode === 'concurrency' ? cell.load.level : '', cell.load.mode === 'rate' ? cell.load.rps : '', cell.completed, cell.requests, cell.failedRequests, cell.nPrompt, cell.nOut,
      m.tokens_per_second?.repetitions?.mean ?? '', m.tokens_per_second?.repetitions?.sd ?? '', m.tokens_per_second?.repetitions?.ci95?.[0] ?? '', m.tokens_per_second?.repetitions?.ci95?.[1] ?? '',
      m.tokens_per_second?.requests?.mean ?? '', m.tokens_per_second?.requests?.sd ?? '',
      m.ttft_ms?.requests?.median ?? '', m.ttft_ms?.requests?.p95 ?? '', m.tpot_ms?.requests?.median ?? '', m.itl_ms?.gaps?.p95 ?? '', m.e2e_ms?.requests?.median ?? '', m.decode_tps?.repetitions?.mean ?? '', m.aggregate_tps?.repetitions?.mean ?? '',
      e.status === 'metered' ? e.jPerToken : e.status === 'modelled' ? e.low : '', e.status === 'modelled' ? e.high : '', e.status === 'missing' ? '' : e.basis, e.status === 'missing' ? '' : e.boundary, e.status === 'missing' ? '' : e.method, e.status === 'missing' ? e.reason : '',
      result.labels.join(' | '),
    ]
  })
  return stringify(records, {header: true, columns: [...CSV_COLUMNS]})
}
