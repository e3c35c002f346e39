import {stringify} from 'csv-stringify/sync'
import {deriveResult} from '../derive/derive.js'
import {invalidCodes} from '../derive/energy.js'
import {loadLabel} from '../results/load.js'
import type {ResultFile} from '../results/schema.js'
import {reportRows} from './rows.js'

/** Columns of the CSV export, in order, each documented in the README. */
export const CSV_COLUMNS = [
  'result_id', 'created_at', 'state', 'host', 'cpu', 'gpus', 'suite', 'suite_version', 'target', 'target_kind', 'model', 'quantization', 'engine_build', 'backend', 'threads',
  'test', 'kind', 'load', 'concurrency', 'rate', 'repetitions', 'requests', 'failed_requests', 'n_prompt', 'n_out',
  'tps_mean', 'tps_sd', 'tps_ci95_low', 'tps_ci95_high', 'tps_request_mean', 'tps_request_sd', 'ttft_ms_median', 'ttft_ms_p95', 'ttfa_ms_median', 'tpot_ms_median', 'itl_ms_median', 'itl_ms_p95', 'itl_basis', 'multi_token_chunk_requests', 'e2e_ms_median', 'decode_tps_mean', 'aggregate_tps_mean', 'sequences', 's_pp_tps_mean', 's_tg_tps_mean', 's_tps_mean',
  'short_requests', 'n_asked', 'n_out_min', 'n_out_max', 'finish_reasons', 'reasoning_tokens', 'reasoning_share', 'reasoning_source', 'hidden_reasoning_tokens',
  'j_per_token', 'j_per_token_high', 'energy_basis', 'energy_boundary', 'energy_method', 'energy_missing', 'energy_invalid', 'energy_partial', 'back_to_back', 'warnings',
  'server', 'server_phases', 'server_requests_served', 'client_requests', 'server_prompt_tokens', 'client_prompt_tokens', 'server_generated_tokens', 'client_generated_tokens',
  'server_running_mean', 'server_running_max', 'server_waiting_mean', 'server_waiting_max', 'server_kv_cache_mean', 'server_kv_cache_max', 'server_prefix_hit_rate',
  'server_ttft_ms_p50', 'server_tpot_ms_p50', 'server_itl_ms_p50', 'server_e2e_ms_p50',
  'bw_limit_pct', 'bw_achieved_gbs', 'bw_limit_gbs', 'bw_limit_source', 'bytes_per_token', 'bw_implausible', 'bw_missing', 'slo_attainment', 'slo_met', 'slo_of',
  'labels', 'target_notes',
] as const

/**
 * One row per target x test x load level of every result (hyperfine-style pure exporter). tps_*
 * are over repetitions (one value per repetition), tps_request_* over every request pooled; latency
 * medians and p95 over requests (ITL: gaps, per chunk where itl_basis says so); a row of short
 * outputs has short_requests and blank N-token figures; j_per_token is the headline figure, a hosted
 * model's low end with j_per_token_high its high end. energy_missing says why a figure is missing,
 * energy_invalid names the validity codes of readings that failed their checks (`counter-stuck`;
 * `gap; zero-under-load` for several), energy_partial the devices a partial figure leaves out;
 * back_to_back the requests each repetition ran in a row (`4;4;5`); warnings the cell's (busy
 * machine, t/s spread, throttling), separated by ` | `. server_* are the server's own /metrics over
 * the same phases, client_* what owbench sent and received in them. bw_* are the speed-of-light
 * figures of tg and pg rows (achieved GB/s, the limit and where it comes from, bytes per generated
 * token, bw_missing why there is none); slo_* the share of requests meeting every --slo objective.
 */
export function exportCsv(results: readonly ResultFile[]): string {
  const {rows} = reportRows(results)
  const records = rows.map(({result, target, cell}) => {
    const m = cell.metrics
    const e = cell.energy
    const short = cell.shortOutputs
    const r = cell.reasoning
    const server = cell.server
    const f = server?.figures
    const notes = deriveResult(result).targets.find((t) => t.target === target.id)?.notes ?? []
    const local = target.kind === 'local' ? target : undefined
    const sol = cell.speedOfLight
    return [
      result.id, result.createdAt, result.state, result.host.hostname, `${result.host.cpu.manufacturer} ${result.host.cpu.brand}`.trim(), result.host.gpus.map((g) => g.model).join('; '),
      result.suite.name, result.suite.version, target.id, target.kind, local ? (local.model.name ?? local.model.fileName) : target.kind === 'endpoint' ? target.endpoint.model : '',
      local?.model.quantization ?? '', local?.engine.build ?? '', local?.engine.backend ?? 'http', local?.settings.threads ?? '',
      cell.test, cell.kind, loadLabel(cell.load), cell.load.mode === 'concurrency' ? cell.load.level : '', cell.load.mode === 'rate' ? cell.load.rps : '', cell.completed, cell.requests, cell.failedRequests, cell.nPrompt, cell.nOut,
      m.tokens_per_second?.repetitions?.mean ?? '', m.tokens_per_second?.repetitions?.sd ?? '', m.tokens_per_second?.repetitions?.ci95?.[0] ?? '', m.tokens_per_second?.repetitions?.ci95?.[1] ?? '',
      m.tokens_per_second?.requests?.mean ?? '', m.tokens_per_second?.requests?.sd ?? '',
      m.ttft_ms?.requests?.median ?? '', m.ttft_ms?.requests?.p95 ?? '', m.ttfa_ms?.requests?.median ?? '', m.tpot_ms?.requests?.median ?? '', m.itl_ms?.gaps?.median ?? '', m.itl_ms?.gaps?.p95 ?? '', m.itl_ms ? cell.itlBasis : '', cell.multiTokenChunkRequests,
      m.e2e_ms?.requests?.median ?? '', m.decode_tps?.repetitions?.mean ?? '', m.aggregate_tps?.repetitions?.mean ?? '', cell.sequences ?? '', m.s_pp_tps?.repetitions?.mean ?? '', m.s_tg_tps?.repetitions?.mean ?? '', m.s_tps?.repetitions?.mean ?? '',
      short?.requests ?? 0, short?.nAsked ?? '', short?.nOutMin ?? '', short?.nOutMax ?? '', short ? Object.entries(short.finishReasons).map(([reason, k]) => `${reason}:${k}`).join(' ') : '',
      r?.tokens ?? 0, r?.share ?? '', r?.source ?? '', r?.hidden ?? '',
      e.status === 'metered' ? e.jPerToken : e.status === 'modelled' ? e.low : '', e.status === 'modelled' ? e.high : '', e.status === 'missing' ? '' : e.basis, e.status === 'missing' ? '' : e.boundary, e.status === 'missing' ? '' : e.method, e.status === 'missing' ? e.reason : '',
      invalidCodes(e).join('; '), e.status === 'metered' ? (e.partial ?? '') : '',
      cell.backToBack?.join(';') ?? '', (cell.warnings ?? []).join(' | '),
      f?.server ?? '', server?.phases ?? '', f?.requestsServed ?? '', server?.client.requests ?? '', f?.promptTokens ?? '', server?.client.promptTokens ?? '', f?.generatedTokens ?? '', server?.client.generatedTokens ?? '',
      f?.requestsRunning?.mean ?? '', f?.requestsRunning?.max ?? '', f?.requestsWaiting?.mean ?? '', f?.requestsWaiting?.max ?? '', f?.kvCacheUsage?.mean ?? '', f?.kvCacheUsage?.max ?? '', f?.prefixCacheHitRate ?? '',
      f?.ttft?.p50Ms ?? '', f?.tpot?.p50Ms ?? '', f?.itl?.p50Ms ?? '', f?.e2e?.p50Ms ?? '',
      sol?.status === 'ok' ? sol.percent : '', sol?.status === 'ok' ? sol.achievedGBs : '', sol?.status === 'ok' ? sol.limit.gbs : '', sol?.status === 'ok' ? `${sol.limit.source}: ${sol.limit.label}` : '', sol?.status === 'ok' ? sol.bytesPerToken : '', sol?.status === 'ok' ? String(sol.implausible) : '', sol?.status === 'missing' ? sol.reason : '',
      cell.sloAttainment?.fraction ?? '', cell.sloAttainment?.met ?? '', cell.sloAttainment?.of ?? '',
      result.labels.join(' | '), notes.join(' | '),
    ]
  })
  return stringify(records, {header: true, columns: [...CSV_COLUMNS]})
}
