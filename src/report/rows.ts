import type {ResultFile, SummaryRow, Target} from '../results/schema.js'

/** One test of one target of one result: the unit every tabular export has a row for. */
export interface ReportRow {
  result: ResultFile
  target: Target
  row: SummaryRow
}

/** Rows of every result, in order; with results of different suites only the tests they share, and a note saying so. */
export function reportRows(results: readonly ResultFile[]): {rows: ReportRow[]; notes: string[]} {
  const notes: string[] = []
  let shared: Set<string> | undefined
  const suites = new Set(results.map((r) => `${r.suite.name} ${r.suite.version} ${r.suite.sha256}`))
  if (suites.size > 1) {
    shared = new Set(results[0]!.summary.map((s) => s.test))
    for (const r of results.slice(1)) shared = new Set(r.summary.map((s) => s.test).filter((t) => shared!.has(t)))
    const names = [...new Set(results.map((r) => `${r.suite.name} ${r.suite.version}`))].join(', ')
    notes.push(`These results ran different suites (${names}): compared only on the tests they share (${shared.size > 0 ? [...shared].join(', ') : 'none'}).`)
  }
  const rows: ReportRow[] = []
  for (const result of results) {
    if (result.state !== 'completed') notes.push(`${label(result)} is ${result.state.toUpperCase()}${result.stateReason ? `: ${result.stateReason}` : ''}.`)
    for (const row of result.summary) {
      if (shared && !shared.has(row.test)) continue
      const target = result.targets.find((t) => t.id === row.target)
      if (target) rows.push({result, target, row})
    }
  }
  return {rows, notes}
}

/** A short name for a result: its host and time. */
export function label(result: ResultFile): string {
  return `${result.host.hostname} ${result.createdAt.replace(/\.\d+Z$/, 'Z')}`
}

export function targetName(target: Target): string {
  return target.kind === 'local' ? (target.model.name ?? target.model.fileName) : `${target.endpoint.model} @ ${new URL(target.endpoint.baseUrl).host}`
}

/** Gross J/token of the total phase at the widest boundary measured, with that boundary and method. */
export function energyFigure(row: SummaryRow): {jPerToken: number; boundary: string; method: string} | undefined {
  const total = row.energy?.phases.find((p) => p.phase === 'total')
  const figure = total?.boundaries.find((b) => b.boundary === total.widest)
  return figure?.gross ? {jPerToken: figure.gross.jPerToken, boundary: figure.boundary, method: figure.method} : undefined
}
