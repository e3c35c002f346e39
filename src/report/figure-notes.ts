import {deriveResult} from '../derive/derive.js'
import type {ResultFile} from '../results/schema.js'
import type {Cell} from '../results/summary-schema.js'
import {cellLabel, validityCodes} from './labels.js'

/**
 * The notes that go under a result's table wherever it is shown (terminal, Markdown, HTML, the
 * site's result pages), from the derivation: why a J/token is missing (its validity code and
 * reason), which devices a partial one leaves out, and the warnings its run conditions call for.
 */

/**
 * One line per measured cell whose J/token is missing (`local pp256: J/token missing
 * (counter-stuck): ...`), and one per target and partial coverage, naming its cells
 * (`local pp256, tg64: J/token covers part of gpu-board: covers 1 of 2 GPUs; not ...`).
 */
export function energyNotes(cells: readonly Cell[]): string[] {
  const lines: string[] = []
  const partial = new Map<string, {target: string; boundary: string; text: string; cells: string[]}>()
  for (const cell of cells) {
    if (cell.completed === 0) continue
    const e = cell.energy
    if (e.status === 'missing') {
      const codes = validityCodes(e)
      lines.push(`${cell.target} ${cellLabel(cell)}: J/token missing${codes ? ` (${codes})` : ''}: ${e.reason}`)
    } else if (e.status === 'metered' && e.partial) {
      const key = [cell.target, e.boundary, e.partial].join('\u0000')
      const group = partial.get(key) ?? {target: cell.target, boundary: e.boundary, text: e.partial, cells: []}
      group.cells.push(cellLabel(cell))
      partial.set(key, group)
    }
  }
  for (const p of partial.values()) lines.push(`${p.target} ${p.cells.join(', ')}: J/token covers part of ${p.boundary}: ${p.text}`)
  return lines
}

/**
 * One line per cell that was skipped, with the reason the runner recorded (`local chat-short @c4: skipped: the local
 * engine runs chat tests one sequence at a time ...`), so a table's `skipped` never stands without its why.
 */
export function skippedNotes(cells: readonly Cell[]): string[] {
  return cells.filter((c) => c.completed === 0 && c.skipped > 0).map((c) => `${c.target} ${cellLabel(c)}: skipped: ${c.skipReason ?? 'no reason recorded'}`)
}

/**
 * One line per endpoint pp or pg cell whose prompt the server counted as another size than the test's name says
 * (`endpoint pp64: the server counted 82 prompt tokens ...`): an endpoint's prompt is about N words of text after a
 * unique prefix, tokenized by the server, so the row's label alone would hide what its rates are per.
 */
export function promptCountNotes(result: Pick<ResultFile, 'targets' | 'suite'>, cells: readonly Cell[]): string[] {
  const endpoints = new Set(result.targets.filter((t) => t.kind === 'endpoint').map((t) => t.id))
  return cells.flatMap((c) => {
    const test = result.suite.definition.tests.find((t) => t.id === c.test)
    if (!endpoints.has(c.target) || c.completed === 0 || !test || (test.kind !== 'pp' && test.kind !== 'pg') || c.nPrompt === 0 || c.nPrompt === test.nPrompt) return []
    return [`${c.target} ${cellLabel(c)}: the server counted ${c.nPrompt} prompt tokens for the test's ${test.nPrompt} words after a unique prefix (its tokenizer); the row's rates are per its count`]
  })
}

/**
 * One line per cell with a repetition stopped by Ctrl-C, with the runner's reason (`local tg64:
 * 1 repetition interrupted: interrupted (Ctrl-C) with 1 of 1 request in flight; kept out of the
 * statistics`), so an interrupted repetition is never read as a failed one.
 */
export function interruptedNotes(cells: readonly Cell[]): string[] {
  return cells.filter((c) => c.interrupted).map((c) => `${c.target} ${cellLabel(c)}: ${c.interrupted} repetition${c.interrupted === 1 ? '' : 's'} interrupted: ${c.interruptReason ?? 'interrupted'}`)
}

/**
 * `warning: ...` lines, like hyperfine's: each cell's (a busy machine, a t/s spread, throttling)
 * and the run's (a noisy idle baseline), once each, named with the target when there are several.
 */
export function warningNotes(result: ResultFile): string[] {
  const derived = deriveResult(result)
  const several = new Set(derived.cells.map((c) => c.target)).size > 1
  const lines = derived.cells.flatMap((c) => (c.warnings ?? []).map((w) => `warning: ${several ? `${c.target}: ` : ''}${w}`))
  return [...new Set([...lines, ...(derived.warnings ?? []).map((w) => `warning: ${w}`)])]
}
