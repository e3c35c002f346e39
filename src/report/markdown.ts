import type {ResultFile} from '../results/schema.js'
import {DEFINITIONS, relevantDefinitions} from './definitions.js'
import {markdownTable} from './format.js'
import {cellLabel, energyText, resultLabel, targetName} from './labels.js'
import {reportRows} from './rows.js'
import {SERVER_COLUMNS, serverTableNotes, serverTableRows} from './server-table.js'
import {rateCell, renderRunTable} from './terminal-table.js'
import {answerParagraph} from './answer-text.js'
import type {ResultAnswer} from '../cost/answer.js'

/**
 * A report to paste into a README or a forum post: per result the answer first (its paragraph),
 * its host and llama-bench-style
 * table (and, for endpoints exposing /metrics, the server's own figures beside owbench's), then
 * (for several results) one comparison table, then what every figure means.
 */
export function exportMarkdown(results: readonly ResultFile[], options: {charts?: readonly {title: string; file: string}[]; answers?: readonly ResultAnswer[]} = {}): string {
  const {rows, compared, notes} = reportRows(results)
  const out: string[] = ['# owbench report', '']
  for (const result of results) {
    const h = result.host
    out.push(`## ${resultLabel(result)}${result.state === 'completed' ? '' : ` (${result.state.toUpperCase()})`}`, '')
    out.push(`${h.cpu.manufacturer} ${h.cpu.brand}, ${h.cpu.physicalCores} cores, ${(h.memoryBytes / 1024 ** 3).toFixed(1)} GiB${h.gpus.length ? `, ${h.gpus.map((g) => g.model).join(', ')}` : ''}; ${h.os.distro} ${h.os.release}; suite ${result.suite.name} ${result.suite.version}`, '')
    const answer = options.answers?.find((a) => a.resultId === result.id)
    if (answer) out.push(`**The answer first.** ${answerParagraph(result, answer)}`, '')
    out.push(renderRunTable(result), '')
    const cells = rows.filter((r) => r.result === result).map((r) => r.cell)
    const server = serverTableRows(cells)
    if (server.length > 0) {
      out.push('### Server-side metrics (the server\'s own /metrics over the measured phases, beside owbench\'s)', '')
      out.push(markdownTable(SERVER_COLUMNS, SERVER_COLUMNS.map((_, i) => (i < 3 ? 'l' : 'r')), server), '', ...serverTableNotes(cells).map((n) => `- ${n}`), '')
    }
  }
  if (results.length > 1) {
    const columns = results.flatMap((result) => result.targets.map((target) => ({result, target})))
    const tests = [...new Set(compared.map((r) => cellLabel(r.cell)))]
    const cell = (test: string, result: ResultFile, target: string) => {
      const found = compared.find((r) => r.result === result && r.cell.target === target && cellLabel(r.cell) === test)
      if (!found) return '-'
      const energy = found.cell.completed === 0 || (found.cell.energy.status === 'missing' && found.cell.energy.code === 'no-power') ? '' : `, ${energyText(found.cell.energy)} J/tok`
      return `${rateCell(found.cell)}${energy}`
    }
    out.push('## Comparison (t/s, mean ± sd over repetitions; J/token where the result has one, with its boundary and method)', '')
    out.push(markdownTable(['test', ...columns.map((c) => `${targetName(c.target)}, ${resultLabel(c.result)}`)], ['l', ...columns.map(() => 'r' as const)], tests.map((test) => [test, ...columns.map((c) => cell(test, c.result, c.target.id))])), '')
  }
  if (options.charts?.length) out.push('## Charts', '', ...options.charts.map((c) => `![${c.title}](${c.file})`), '')
  // Each result's table already prints the definitions of what it shows (t/s, parallel sequences, reasoning, short
  // outputs, energy, load levels); the notes add the rest that apply, once.
  const underTables = new Set<string>([DEFINITIONS.tps, DEFINITIONS.batched, DEFINITIONS.reasoning, DEFINITIONS.short, DEFINITIONS.energy, DEFINITIONS.scope, DEFINITIONS.validity, DEFINITIONS.load])
  const definitions = relevantDefinitions(rows.map((r) => r.cell)).filter((d) => !underTables.has(d))
  out.push('## Notes', '', ...notes.map((n) => `- ${n}`), ...definitions.map((d) => `- ${d}`), '')
  return out.join('\n')
}
