import {readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import type {EnergyReferenceRow, ResultCosts} from '../results/cost-schema.js'
import {loadLabel} from '../results/load.js'
import type {ResultFile} from '../results/schema.js'
import type {Cell} from '../results/summary-schema.js'
import {type ChartSpec, chartSpecs} from './charts.js'
import {CHART_PLUGINS_SOURCE} from './chart-plugins.js'
import {relevantDefinitions} from './definitions.js'
import {formatNumber} from './format.js'
import {deriveResult} from '../derive/derive.js'
import {energyNotes, interruptedNotes, promptCountNotes, skippedNotes, warningNotes} from './figure-notes.js'
import {backendLabel, backToBackText, cellLabel, energyText, itlLabel, itlNote, reasoningText, resultLabel, targetName, testLabel} from './labels.js'
import {reportRows} from './rows.js'
import {SERVER_COLUMNS, serverTableNotes, serverTableRows} from './server-table.js'
import {BATCHED_HEADER, batchedCells, rateCell} from './terminal-table.js'
import {answerParagraph} from './answer-text.js'
import {speedOfLightNotes, speedOfLightText, sweepLines} from './limits-text.js'
import type {ResultAnswer} from '../cost/answer.js'

// Chart.js is inlined so the report works offline and from a file:// URL; no CDN.
export const chartJsPath = (): string => path.join(path.dirname(fileURLToPath(import.meta.resolve('chart.js'))), 'chart.umd.min.js')
const chartJsSource = (): string => readFileSync(chartJsPath(), 'utf8')

export interface HtmlOptions {
  /** PNG fallbacks for print, inlined as data URLs. */
  png?: (spec: ChartSpec) => Buffer
  /** Load Chart.js from this relative URL instead of inlining it (a published site shares one copy). */
  chartJsHref?: string
  /** Extra HTML placed right after <body> (a site's navigation). */
  header?: string
  /** Each result's cost (costsOfResults), for the cost charts; with notes on results that have none. */
  costs?: readonly (ResultCosts | undefined)[]
  costNotes?: readonly string[]
  /** Published figures (data/energy-reference.csv) for the J/token Pareto chart. */
  energyReference?: readonly EnergyReferenceRow[]
  /** Each result's answer (src/cost/answer.ts): the paragraph its section opens with. */
  answers?: readonly ResultAnswer[]
}

/**
 * One self-contained HTML file: tables, interactive charts (Chart.js inlined), PNG fallbacks for
 * print, the host fingerprint, the suite, and footnotes saying what every figure means and how it
 * was obtained. The same input gives the same bytes: nothing about the time of rendering is in it.
 */
export function exportHtml(results: readonly ResultFile[], options: HtmlOptions = {}): string {
  const {rows, notes} = reportRows(results)
  notes.push(...(options.costNotes ?? []))
  const specs = chartSpecs(results, {costs: options.costs, energyReference: options.energyReference})
  const sections = results.map((result) => {
    const h = result.host
    const own = rows.filter((r) => r.result === result)
    const withReasoning = own.some((r) => r.cell.reasoning)
    const withLimit = own.some((r) => r.cell.speedOfLight && r.target.kind === 'local')
    const withBatched = own.some((r) => r.cell.sequences)
    const header = ['target', 'backend', 'threads', 'test', 'load', 't/s mean ± sd (repetitions)', '95% CI', ...(withBatched ? BATCHED_HEADER : []), 'TTFT p50 / p95 ms (requests)', ...(withReasoning ? ['TTFA p50 ms (requests)', 'reasoning tokens'] : []), 'TPOT p50 ms (requests)', 'ITL p50 / p95 ms (gaps)', 'J/token (boundary, method)', ...(withLimit ? ['% BW limit'] : []), 'reps', 'failed requests']
    const table = `<table><thead><tr>${header.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${own
      .map(({target, cell}) => {
        const tps = cell.metrics.tokens_per_second?.repetitions
        const ttft = cell.metrics.ttft_ms?.requests
        const ttfa = cell.metrics.ttfa_ms?.requests
        const tpot = cell.metrics.tpot_ms?.requests
        const itl = cell.metrics.itl_ms?.gaps
        const cells = [
          targetName(target),
          backendLabel(target),
          target.kind === 'local' ? String(target.settings.threads) : '-',
          testLabel(cell, {load: false}),
          loadLabel(cell.load),
          rateCell(cell),
          tps?.ci95 ? `${formatNumber(tps.ci95[0])} – ${formatNumber(tps.ci95[1])}` : '-',
          ...(withBatched ? batchedCells(cell) : []),
          ttft ? `${formatNumber(ttft.median)} / ${formatNumber(ttft.p95)}` : '-',
          ...(withReasoning ? [ttfa ? formatNumber(ttfa.median) : '-', cell.reasoning ? reasoningText(cell.reasoning) : '-'] : []),
          tpot ? formatNumber(tpot.median) : '-',
          itl ? `${formatNumber(itl.median)} / ${formatNumber(itl.p95)}${cell.itlBasis === 'chunk' ? ` (${itlLabel(cell)})` : ''}` : '-',
          cell.completed === 0 || (cell.energy.status === 'missing' && cell.energy.code === 'no-power') ? '-' : energyText(cell.energy, {reason: true}),
          ...(withLimit ? [speedOfLightText(cell.speedOfLight)] : []),
          `${cell.completed}${backToBackText(cell)}`,
          String(cell.failedRequests),
        ]
        return `<tr${cell.shortOutputs ? ' class="short"' : ''}>${cells.map((c, i) => `<td${i >= 5 ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`
      })
      .join('')}</tbody></table>`
    const server = serverTableRows(own.map((r) => r.cell))
    const serverTable =
      server.length > 0
        ? `<h3>Server-side metrics <span class="host">(the server's own /metrics over the measured phases, beside owbench's)</span></h3><table class="server"><thead><tr>${SERVER_COLUMNS.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${server.map((row) => `<tr>${row.map((c, i) => `<td${i >= 3 ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`
        : ''
    const flags = [
      ...deriveResult(result).targets.flatMap((t) => t.notes),
      ...own.flatMap(({cell}) => {
        const note = itlNote(cell)
        return note ? [`${cell.target} ${cellLabel(cell)}: ${note}`] : []
      }),
      ...serverTableNotes(own.map((r) => r.cell)),
    ]
    const answer = options.answers?.find((a) => a.resultId === result.id)
    return `<section><h2>${esc(resultLabel(result))}${result.state === 'completed' ? '' : ` <span class="state">${esc(result.state.toUpperCase())}</span>`}</h2>
${answer ? `<p class="answer"><b>The answer first.</b> ${esc(answerParagraph(result, answer))}</p>` : ''}
<p class="host">${esc(`${h.cpu.manufacturer} ${h.cpu.brand}, ${h.cpu.physicalCores} cores / ${h.cpu.threads} threads (${h.cpu.flags.join(' ')}), ${(h.memoryBytes / 1024 ** 3).toFixed(1)} GiB, GPUs: ${h.gpus.map((g) => g.model).join(', ') || 'none'}; ${h.os.distro} ${h.os.release}; Node ${h.runtime.node}, owbench ${result.owbenchVersion}`)}</p>
<p>Suite <b>${esc(result.suite.name)} ${esc(result.suite.version)}</b> (sha256 ${esc(result.suite.sha256.slice(0, 12))}), ${result.suite.definition.tests.length} tests.${result.stateReason ? ` ${esc(result.stateReason)}.` : ''}</p>
${[...result.labels, ...flags].map((l) => `<p class="label">${esc(l)}</p>`).join('\n')}
${table}
${serverTable}
${figureNotesHtml(own.map((r) => r.cell), result)}
${limitNotesHtml(result)}
</section>`
  })
  const charts = specs
    .map((spec) => {
      const png = options.png ? `<img class="fallback" alt="${esc(spec.title)}" src="data:image/png;base64,${options.png(spec).toString('base64')}">` : ''
      return `<figure><figcaption>${esc(spec.title)}</figcaption><canvas id="chart-${esc(spec.id)}" width="900" height="450"></canvas>${png}</figure>`
    })
    .join('\n')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>owbench report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0;width:100%}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f4f4f4}.state{color:#b00;font-size:.8em}tr.short td{color:#955}.warn{color:#a40}.answer{font-size:1.05em;background:#f6f8fa;border-left:4px solid #1f77b4;padding:.6rem .9rem}.label{color:#955;font-style:italic}.host{color:#555}
figure{margin:1.5rem 0}canvas{background:#fff;max-width:100%}img.fallback{display:none;max-width:100%}
@media print{canvas{display:none}img.fallback{display:block}}
</style></head><body>
${options.header ?? ''}<h1>owbench report</h1>
${sections.join('\n')}
<h2>Charts</h2>
${charts}
<h2>Notes</h2>
<ul>${[...notes, ...relevantDefinitions(rows.map((r) => r.cell))].map((n) => `<li>${esc(n)}</li>`).join('')}</ul>
${options.chartJsHref ? `<script src="${esc(options.chartJsHref)}"></script>` : `<script>${chartJsSource()}</script>`}
<script type="application/json" id="owbench-charts">${JSON.stringify(specs).replace(/</g, '\\u003c')}</script>
<script>
const plugins = ${CHART_PLUGINS_SOURCE}
for (const spec of JSON.parse(document.getElementById('owbench-charts').textContent)) {
  spec.config.plugins = plugins
  spec.config.options = Object.assign({}, spec.config.options, {plugins: Object.assign({}, spec.config.options.plugins, {title: {display: true, text: spec.title}})})
  new Chart(document.getElementById('chart-' + spec.id), spec.config)
}
</script>
</body></html>
`
}

/** Under a result's table: why a J/token is missing or partial, and the warnings its run conditions call for. */
function figureNotesHtml(cells: readonly Cell[], result: ResultFile): string {
  const energy = energyNotes(cells)
  const skipped = [...skippedNotes(cells), ...interruptedNotes(cells), ...promptCountNotes(result, cells)]
  const warnings = warningNotes(result)
  if (energy.length === 0 && skipped.length === 0 && warnings.length === 0) return ''
  return `<ul class="figure-notes">${energy.map((n) => `<li class="energy-note">${esc(n)}</li>`).join('')}${skipped.map((n) => `<li class="skipped">${esc(n)}</li>`).join('')}${warnings.map((w) => `<li class="warn">${esc(w)}</li>`).join('')}</ul>`
}

/** Under a result's table: what the % BW limit column is and each target's limit, and each sweep: its levels, why it stopped, where it saturated. */
function limitNotesHtml(result: ResultFile): string {
  const derived = deriveResult(result)
  const limit = speedOfLightNotes(derived, result)
  const sweeps = sweepLines(derived.sweeps ?? [])
  if (limit.length === 0 && sweeps.length === 0) return ''
  return `<ul class="limit-notes">${limit.map((n) => `<li${/IMPLAUSIBLE/.test(n) ? ' class="warn"' : ''}>${esc(n)}</li>`).join('')}${sweeps.map((n) => `<li class="sweep">${esc(n)}</li>`).join('')}</ul>`
}

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}
