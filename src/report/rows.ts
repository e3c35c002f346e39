import {deriveResult} from '../derive/derive.js'
import type {ResultFile, Target} from '../results/schema.js'
import type {Cell} from '../results/summary-schema.js'
import {resultLabel} from './labels.js'

/** One target x test x load level of one result: the unit every tabular export has a row for. */
export interface ReportRow {
  result: ResultFile
  target: Target
  cell: Cell
}

/**
 * Rows of every result from the derivation, in order: each result's own tables and the CSV show all of them. With
 * results of different suites, `compared` holds only the tests they share (what a comparison across results may
 * put side by side), and a note says so; with one suite it is every row.
 */
export function reportRows(results: readonly ResultFile[]): {rows: ReportRow[]; compared: ReportRow[]; notes: string[]} {
  const notes: string[] = []
  let shared: Set<string> | undefined
  const suites = new Set(results.map((r) => `${r.suite.name} ${r.suite.version} ${r.suite.sha256}`))
  if (suites.size > 1) {
    const testsOf = (r: ResultFile) => new Set(r.suite.definition.tests.map((t) => t.id))
    shared = testsOf(results[0]!)
    for (const r of results.slice(1)) shared = new Set([...testsOf(r)].filter((t) => shared!.has(t)))
    const names = [...new Set(results.map((r) => `${r.suite.name} ${r.suite.version}`))].join(', ')
    notes.push(`These results ran different suites (${names}): compared only on the tests they share (${shared.size > 0 ? [...shared].join(', ') : 'none'}).`)
  }
  const rows: ReportRow[] = []
  for (const result of results) {
    if (result.state !== 'completed') notes.push(`${resultLabel(result)} is ${result.state.toUpperCase()}${result.stateReason ? `: ${result.stateReason}` : ''}.`)
    for (const cell of deriveResult(result).cells) {
      const target = result.targets.find((t) => t.id === cell.target)
      if (target) rows.push({result, target, cell})
    }
  }
  return {rows, compared: shared ? rows.filter((r) => shared!.has(r.cell.test)) : rows, notes}
}
