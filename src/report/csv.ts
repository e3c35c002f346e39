import {stringify} from 'csv-stringify/sync'
import type {ResultFile} from '../results/schema.js'
import {energyFigure, reportRows} from './rows.js'

/** Columns of the CSV export, in order, each documented in the README. */
export const CSV_COLUMNS = [
  'result_id', 'created_at', 'state', 'host', 'cpu', 'gpus', 'suite', 'suite_version', 'target', 'target_kind', 'model', 'quantization', 'engine_build', 'backend', 'threads',
  'test', 'kind', 'concurrency', 'rate', 'repetitions', 'requests', 'failed_requests', 'n_prompt', 'n_out',
  'tps_mean', 'tps_sd', 'tps_ci95_low', 'tps_ci95_high', 'ttft_ms_median', 'ttft_ms_p95', 'tpot_ms_median', 'itl_ms_p95', 'e2e_ms_median', 'decode_tps_mean', 'aggregate_tps_mean',
  'j_per_token', 'energy_boundary', 'energy_method', 'labels',
] as const

/** One row per test per target of every result (hyperfine-style pure exporter). */
export function exportCsv(results: readonly ResultFile[]): string {
  const {rows} = reportRows(results)
  const records = rows.map(({result, target, row}) => {
    const m = row.metrics
    const energy = energyFigure(row)
    const local = target.kind === 'local' ? target : undefined
    return [
      result.id, result.createdAt, result.state, result.host.hostname, `${result.host.cpu.manufacturer} ${result.host.cpu.brand}`.trim(), result.host.gpus.map((g) => g.model).join('; '),
      result.suite.name, result.suite.version, target.id, target.kind, local ? (local.model.name ?? local.model.fileName) : target.kind === 'endpoint' ? target.endpoint.model : '',
      local?.model.quantization ?? '', local?.engine.build ?? '', local?.engine.backend ?? 'http', local?.settings.threads ?? '',
      row.test, row.kind, row.concurrency, row.rate ?? '', row.completed, row.requests, row.failedRequests, row.nPrompt, row.nOut,
      m.tokens_per_second?.mean ?? '', m.tokens_per_second?.sd ?? '', m.tokens_per_second?.ci95?.[0] ?? '', m.tokens_per_second?.ci95?.[1] ?? '',
      m.ttft_ms?.median ?? '', m.ttft_ms?.p95 ?? '', m.tpot_ms?.median ?? '', m.itl_ms?.p95 ?? '', m.e2e_ms?.median ?? '', m.decode_tps?.mean ?? '', m.aggregate_tps?.mean ?? '',
      energy?.jPerToken ?? '', energy?.boundary ?? '', energy?.method ?? '', result.labels.join(' | '),
    ]
  })
  return stringify(records, {header: true, columns: [...CSV_COLUMNS]})
}
