import type {ResultFile} from '../results/schema.js'
import {formatNumber, markdownTable} from './format.js'
import {energyFigure, label, reportRows, targetName} from './rows.js'
import {renderRunTable} from './terminal-table.js'

/**
 * A report to paste into a README or a forum post: per result its host and llama-bench-style
 * table, then (for several results) one comparison table, then what every figure means.
 */
export function exportMarkdown(results: readonly ResultFile[], options: {charts?: readonly {title: string; file: string}[]} = {}): string {
  const {rows, notes} = reportRows(results)
  const out: string[] = ['# owbench report', '']
  for (const result of results) {
    const h = result.host
    out.push(`## ${label(result)}${result.state === 'completed' ? '' : ` (${result.state.toUpperCase()})`}`, '')
    out.push(`${h.cpu.manufacturer} ${h.cpu.brand}, ${h.cpu.physicalCores} cores, ${(h.memoryBytes / 1024 ** 3).toFixed(1)} GiB${h.gpus.length ? `, ${h.gpus.map((g) => g.model).join(', ')}` : ''}; ${h.os.distro} ${h.os.release}; suite ${result.suite.name} ${result.suite.version}`, '')
    out.push(renderRunTable(result), '')
  }
  if (results.length > 1) {
    const columns = results.flatMap((result) => result.targets.map((target) => ({result, target})))
    const tests = [...new Set(rows.map((r) => `${r.row.test}${r.row.concurrency > 1 ? ` @c${r.row.concurrency}` : ''}`))]
    const cell = (test: string, result: ResultFile, target: string) => {
      const found = rows.find((r) => r.result === result && r.row.target === target && `${r.row.test}${r.row.concurrency > 1 ? ` @c${r.row.concurrency}` : ''}` === test)
      const stats = found?.row.metrics.tokens_per_second
      if (!stats) return '-'
      const energy = energyFigure(found.row)
      return `${formatNumber(stats.mean)} ± ${formatNumber(stats.sd)}${energy ? `, ${formatNumber(energy.jPerToken)} J/tok (${energy.boundary}, ${energy.method})` : ''}`
    }
    out.push('## Comparison (t/s, mean ± sd; J/token where measured)', '')
    out.push(markdownTable(['test', ...columns.map((c) => `${targetName(c.target)}, ${label(c.result)}`)], ['l', ...columns.map(() => 'r' as const)], tests.map((test) => [test, ...columns.map((c) => cell(test, c.result, c.target.id))])), '')
  }
  if (options.charts?.length) out.push('## Charts', '', ...options.charts.map((c) => `![${c.title}](${c.file})`), '')
  out.push('## Notes', '', ...notes.map((n) => `- ${n}`), ...DEFINITIONS.map((d) => `- ${d}`), '')
  return out.join('\n')
}

const DEFINITIONS = [
  't/s: tokens evaluated (prompt + generated) per second of wall time, as llama-bench reports it; TTFT: send to the first generated token; TPOT: (end - first token) / (generated - 1); ITL: gaps between token-bearing chunks after the first.',
  'J/token: gross energy of the measured windows per token at the boundary named (wall, gpu-board, cpu-package, soc, facility), labelled measured (counter, sampled) or estimated.',
  'Every figure is recomputed from the raw per-token timings in the result files.',
]
