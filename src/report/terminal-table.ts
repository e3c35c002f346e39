import {deriveResult} from '../derive/derive.js'
import type {ResultFile, Target} from '../results/schema.js'
import type {Cell} from '../results/summary-schema.js'
import {DEFINITIONS} from './definitions.js'
import {energyNotes, interruptedNotes, promptCountNotes, skippedNotes, warningNotes} from './figure-notes.js'
import {formatBytes, formatNumber, formatParameters, markdownTable} from './format.js'
import {backendLabel, backToBackText, cellLabel, energyText, itlNote, reasoningText, shortText, testLabel} from './labels.js'
import {speedOfLightNotes, speedOfLightText, sweepLines} from './limits-text.js'
import {answerParagraph} from './answer-text.js'
import type {ResultAnswer} from '../cost/answer.js'

/**
 * The table `owbench run` prints: llama-bench's Markdown layout (model, size, params, backend,
 * threads, test, t/s as mean ± sd over repetitions) plus TTFT and J/token, so it pastes into a
 * README or forum post unchanged; TTFA and the reasoning share where a target reasoned. A row of
 * short outputs is marked and shows why its t/s is missing; ITL per chunk and each target's
 * protocol notes are listed under the table. With an answer (src/cost/answer.ts) the table opens
 * with its paragraph. Every figure comes from the derivation.
 */
export function renderRunTable(result: ResultFile, options: {answer?: ResultAnswer} = {}): string {
  const derived = deriveResult(result)
  const {cells, targets: figures} = derived
  const withEnergy = cells.some((c) => c.energy.status !== 'missing' || c.energy.code !== 'no-power')
  const withReasoning = cells.some((c) => c.reasoning)
  // The column is for local targets: an endpoint's model and hardware are unknown (the answer says so).
  const withLimit = cells.some((c) => c.speedOfLight && result.targets.find((t) => t.id === c.target)?.kind === 'local')
  // Parallel sequences: llama-batched-bench's speeds and the aggregate output rate beside llama-bench's t/s.
  const withBatched = cells.some((c) => c.sequences)
  const batchedHeader = withBatched ? [...BATCHED_HEADER] : []
  const header = ['model', 'size', 'params', 'backend', 'threads', 'test', 't/s', ...batchedHeader, 'TTFT ms', ...(withReasoning ? ['TTFA ms', 'reasoning'] : []), ...(withEnergy ? ['J/token'] : []), ...(withLimit ? ['% BW limit'] : []), 'reps']
  const align: ('l' | 'r')[] = ['l', 'r', 'r', 'l', 'r', 'l', 'r', ...batchedHeader.map(() => 'r' as const), 'r', ...(withReasoning ? (['r', 'r'] as const) : []), ...(withEnergy ? (['r'] as const) : []), ...(withLimit ? (['r'] as const) : []), 'r']
  const rows: string[][] = []
  const itl: string[] = []
  for (const cell of cells) {
    const target = result.targets.find((t) => t.id === cell.target)
    if (!target) continue
    // A cell that measured nothing (skipped, failed) has no energy to be missing.
    const measured = cell.completed > 0
    const chunked = itlNote(cell)
    if (chunked) itl.push(`${target.id} ${cellLabel(cell)}: ${chunked}`)
    const reasoning = withReasoning ? [median(cell.metrics.ttfa_ms?.requests), cell.reasoning ? reasoningText(cell.reasoning) : '-'] : []
    const batched = withBatched ? batchedCells(cell) : []
    rows.push([...targetCells(target), testLabel(cell), rateCell(cell), ...batched, median(cell.metrics.ttft_ms?.requests), ...reasoning, ...(withEnergy ? [measured ? energyText(cell.energy) : '-'] : []), ...(withLimit ? [speedOfLightText(cell.speedOfLight)] : []), repsCell(cell)])
  }
  // Why a J/token is missing or partial, and what validity codes and back-to-back runs mean where there are any.
  const energy = withEnergy ? energyNotes(cells) : []
  const validity = cells.some((c) => (c.energy.status === 'missing' && c.energy.invalid) || (c.energy.status === 'metered' && c.energy.partial) || c.backToBack) ? [DEFINITIONS.validity] : []
  const notes = [
    DEFINITIONS.tps,
    ...(withBatched ? [DEFINITIONS.batched] : []),
    'TTFT ms: median over requests.',
    ...(withReasoning ? [DEFINITIONS.reasoning] : []),
    ...(cells.some((c) => c.shortOutputs) ? [DEFINITIONS.short] : []),
    ...(withEnergy ? [DEFINITIONS.energy, DEFINITIONS.scope, ...validity, ...energy] : []),
    ...speedOfLightNotes(derived, result),
    ...sweepLines(derived.sweeps ?? []),
    ...skippedNotes(cells),
    ...promptCountNotes(result, cells),
    ...interruptedNotes(cells),
    ...itl,
    ...warningNotes(result),
    ...result.labels,
    ...figures.flatMap((t) => t.notes),
  ]
  if (cells.some((c) => c.load.mode !== 'concurrency' || c.load.level > 1)) notes.splice(1, 0, DEFINITIONS.load)
  if (result.state !== 'completed') notes.unshift(`${result.state.toUpperCase()} result${result.stateReason ? `: ${result.stateReason}` : ''}`)
  const answer = options.answer ? [answerParagraph(result, options.answer), ''] : []
  return [...answer, markdownTable(header, align, rows), '', ...notes.map((n) => `- ${n}`)].join('\n')
}

/** model, size, params, backend, threads: a local file, or the model name and host of an endpoint. */
function targetCells(target: Target): string[] {
  if (target.kind === 'endpoint') return [target.endpoint.model, '-', '-', `${backendLabel(target)} ${new URL(target.endpoint.baseUrl).host}`, '-']
  const model = target.model
  return [model.name ?? model.fileName, formatBytes(model.bytes), model.parameters ? formatParameters(model.parameters) : '?', backendLabel(target), String(target.settings.threads)]
}

/** `mean ± sd` over repetitions, or why there is none: skipped, failed, short outputs (n_out of n_asked, finish reason), or no prompt count (the server sent no usage). */
export function rateCell(cell: Cell): string {
  const stats = cell.metrics.tokens_per_second?.repetitions
  // One repetition has no spread: its sd is '-', not '± 0'.
  if (stats) return `${formatNumber(stats.mean)} ± ${stats.sd === null ? '-' : formatNumber(stats.sd)}`
  if (cell.skipped > 0) return 'skipped'
  if (cell.completed === 0 && cell.errored === 0 && cell.interrupted) return 'interrupted'
  if (cell.shortOutputs) return shortText(cell.shortOutputs)
  return cell.completed > 0 ? '-' : 'failed'
}

/** The columns of a table with parallel sequences: llama-batched-bench's speeds and the aggregate output rate (DEFINITIONS.batched). */
export const BATCHED_HEADER = ['S_PP t/s', 'S_TG t/s', 'S t/s', 'agg out t/s'] as const

/** A cell's BATCHED_HEADER figures: means over repetitions, '-' where it has none. */
export function batchedCells(cell: Cell): string[] {
  return (['s_pp_tps', 's_tg_tps', 's_tps', 'aggregate_tps'] as const).map((name) => {
    const stats = cell.metrics[name]?.repetitions
    return stats ? formatNumber(stats.mean) : '-'
  })
}

function median(stats: {median: number} | undefined): string {
  return stats ? formatNumber(stats.median) : '-'
}

function repsCell(cell: Cell): string {
  const failed = `${cell.errored > 0 ? ` (${cell.errored} failed)` : ''}${cell.interrupted ? ` (${cell.interrupted} interrupted)` : ''}`
  // Back-to-back requests are named by backToBackText; a count of them says nothing more.
  const requests = cell.requests > cell.completed + cell.errored && !cell.backToBack ? `, ${cell.requests} req` : ''
  const failedRequests = cell.failedRequests > 0 ? `, ${cell.failedRequests} req failed` : ''
  return `${cell.completed}${failed}${backToBackText(cell)}${requests}${failedRequests}`
}

