import {invalidCodes} from '../derive/energy.js'
import {compareLoads, type Load, loadLabel, testAtLoad} from '../results/load.js'
import type {ResultFile, Target} from '../results/schema.js'
import type {Cell, EnergyFigure, ShortOutputs} from '../results/summary-schema.js'
import {formatNumber} from './format.js'

/**
 * Display labels, in one place so every table, chart, page and message names a thing the same
 * way: results, targets, backends, load levels and energy figures with how they were obtained.
 */

const BACKENDS: Record<string, string> = {cpu: 'CPU', cuda: 'CUDA', metal: 'Metal', vulkan: 'Vulkan'}

/** A short name for a result: its host and time. */
export function resultLabel(result: ResultFile): string {
  return `${result.host.hostname} ${result.createdAt.replace(/\.\d+Z$/, 'Z')}`
}

/** A local model's name, or an endpoint's model and host. */
export function targetName(target: Target): string {
  return target.kind === 'local' ? (target.model.name ?? target.model.fileName) : `${target.endpoint.model} @ ${new URL(target.endpoint.baseUrl).host}`
}

/** `CUDA (local build)`, `CPU (prebuilt)`, `HTTP (completions)`. */
export function backendLabel(target: Target): string {
  if (target.kind === 'endpoint') return `HTTP (${target.endpoint.api})`
  return `${BACKENDS[target.engine.backend] ?? target.engine.backend} (${target.engine.build === 'localBuild' ? 'local build' : 'prebuilt'})`
}

/** `tg64`, `tg64 @c4`, `tg64 @r2.5`: a test at one load level (one request at a time is the plain test). */
export function cellLabel(cell: Pick<Cell, 'test' | 'load'>): string {
  return testAtLoad(cell.test, cell.load)
}

/**
 * The load levels a chart series holds, lightest first: `c1`, `c1, c2, c4, r2.5`; more than four
 * of one mode shortened to its ends and count, `c1–c64 (7 levels)`. A series' legend names every
 * level it spans, never just one of them.
 */
export function loadLevelsText(loads: readonly Load[]): string {
  const unique = [...new Map(loads.map((l) => [loadLabel(l), l])).values()].sort(compareLoads)
  const modes = [...new Set(unique.map((l) => l.mode))]
  return modes
    .map((mode) => {
      const labels = unique.filter((l) => l.mode === mode).map(loadLabel)
      return labels.length > 4 ? `${labels[0]}–${labels.at(-1)} (${labels.length} levels)` : labels.join(', ')
    })
    .join(', ')
}

/**
 * `(wall, counter)`, `(gpu-board, sampled, partial)`, `(facility, estimated: hosted model)`: where
 * an energy figure was measured and how; `partial` when its boundary covers only some devices.
 */
export function energyNote(figure: EnergyFigure): string {
  if (figure.status === 'metered') return `${figure.boundary}, ${figure.method}${figure.partial ? ', partial' : ''}`
  if (figure.status === 'modelled') return `${figure.boundary}, ${figure.method}: hosted model`
  return `missing: ${figure.reason}`
}

/** The validity codes of a figure whose readings failed their checks (`counter-stuck`, `gap, zero-under-load`); undefined for any other figure. */
export function validityCodes(figure: EnergyFigure): string | undefined {
  const codes = invalidCodes(figure)
  return codes.length > 0 ? codes.join(', ') : undefined
}

/**
 * J/token as every table prints it: `0.123 (wall, counter)`, `0.0812–0.111 (facility, estimated:
 * hosted model)`, `missing`, or `missing (counter-stuck)` for a figure whose readings failed their
 * validity checks; with `reason`, the reason too.
 */
export function energyText(figure: EnergyFigure, options: {reason?: boolean} = {}): string {
  if (figure.status === 'metered') return `${formatNumber(figure.jPerToken)} (${energyNote(figure)})`
  if (figure.status === 'modelled') return `${formatNumber(figure.low)}–${formatNumber(figure.high)} (${energyNote(figure)})`
  const codes = validityCodes(figure)
  if (options.reason) return `missing (${codes ? `${codes}: ` : ''}${figure.reason})`
  return codes ? `missing (${codes})` : 'missing'
}

/** The per-token unit of an energy figure: J per prompt, generated, or prompt + generated token. */
export function basisText(basis: string): string {
  return basis === 'prompt' ? 'per prompt token' : basis === 'generated' ? 'per generated token' : 'per prompt + generated token'
}

/** `tg8 @c4 (short)`: a test at its load level (or alone, for a table with a load column), marked when its outputs stopped short of the length asked for. */
export function testLabel(cell: Pick<Cell, 'test' | 'load' | 'shortOutputs'>, options: {load?: boolean} = {}): string {
  return `${options.load === false ? cell.test : cellLabel(cell)}${cell.shortOutputs ? ' (short)' : ''}`
}

/** `short: 3 of 8 tokens, finish_reason stop`; `short: 3–5 of 8 tokens in 2 of 9 requests, finish_reason stop 1, length 1`. */
export function shortText(short: ShortOutputs): string {
  const n = short.nOutMin === short.nOutMax ? `${short.nOutMin}` : `${short.nOutMin}–${short.nOutMax}`
  const some = short.requests < short.of ? ` in ${short.requests} of ${short.of} requests` : ''
  const reasons = Object.entries(short.finishReasons)
  const finish = reasons.length === 1 ? reasons[0]![0] : reasons.map(([reason, k]) => `${reason} ${k}`).join(', ')
  return `short: ${n} of ${short.nAsked} tokens${some}, finish_reason ${finish}`
}

/** `75% (6 per request, usage)`: reasoning tokens' share of generated tokens, per reasoning request, and where counted. */
export function reasoningText(reasoning: NonNullable<Cell['reasoning']>): string {
  const perRequest = reasoning.tokens / reasoning.requests
  const hidden = reasoning.hidden > 0 ? ', hidden' : ''
  return `${formatNumber(reasoning.share * 100)}% (${formatNumber(perRequest)} per request, ${reasoning.source}${hidden})`
}

/** `ITL` or `ITL per chunk`: the label every ITL figure of a cell carries. */
export function itlLabel(cell: Pick<Cell, 'itlBasis'>): string {
  return cell.itlBasis === 'chunk' ? 'ITL per chunk' : 'ITL'
}

/** Why a cell's ITL is per chunk, in words; undefined when it is per token. */
export function itlNote(cell: Pick<Cell, 'itlBasis' | 'multiTokenChunkRequests' | 'requests'>): string | undefined {
  if (cell.itlBasis === 'token') return undefined
  return cell.multiTokenChunkRequests > 0
    ? `ITL per chunk: the server counted more tokens than token-bearing chunks in ${cell.multiTokenChunkRequests} request${cell.multiTokenChunkRequests === 1 ? '' : 's'} (multi-token chunks)`
    : 'ITL per chunk: tokens per chunk unconfirmed (no server count to check them against)'
}

/** ` ×4 back to back`, ` ×4–5 back to back`: requests each repetition ran back to back for a slow meter (one repetition each, all the same). */
export function backToBackText(cell: Pick<Cell, 'backToBack'>): string {
  if (!cell.backToBack?.length) return ''
  const low = Math.min(...cell.backToBack)
  const high = Math.max(...cell.backToBack)
  return ` ×${low}${high > low ? `–${high}` : ''} back to back`
}
