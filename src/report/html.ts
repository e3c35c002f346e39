import {readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import type {ResultFile} from '../results/schema.js'
import {type ChartSpec, chartSpecs} from './charts.js'
import {CHART_PLUGINS_SOURCE} from './chart-plugins.js'
import {formatNumber} from './format.js'
import {energyFigure, label, reportRows, targetName} from './rows.js'

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
}

/**
 * One self-contained HTML file: tables, interactive charts (Chart.js inlined), PNG fallbacks for
 * print, the host fingerprint, the suite, and footnotes saying what every figure means and how it
 * was obtained. The same input gives the same bytes: nothing about the time of rendering is in it.
 */
export function exportHtml(results: readonly ResultFile[], options: HtmlOptions = {}): string {
  const {rows, notes} = reportRows(results)
  const specs = chartSpecs(results)
  const sections = results.map((result) => {
    const h = result.host
    const own = rows.filter((r) => r.result === result)
    const table = `<table><thead><tr>${['target', 'backend', 'threads', 'test', 'load', 't/s mean ± sd', '95% CI', 'TTFT p50 / p95 ms', 'TPOT p50 ms', 'J/token (boundary, method)', 'reps', 'failed requests'].map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${own
      .map(({target, row}) => {
        const tps = row.metrics.tokens_per_second
        const energy = energyFigure(row)
        const cells = [
          targetName(target),
          target.kind === 'local' ? `${target.engine.backend.toUpperCase()} (${target.engine.build === 'localBuild' ? 'local build' : 'prebuilt'})` : 'HTTP',
          target.kind === 'local' ? String(target.settings.threads) : '-',
          row.test,
          row.rate !== undefined ? `${row.rate}/s` : `c${row.concurrency}`,
          tps ? `${formatNumber(tps.mean)} ± ${formatNumber(tps.sd)}` : row.skipped ? 'skipped' : 'failed',
          tps?.ci95 ? `${formatNumber(tps.ci95[0])} – ${formatNumber(tps.ci95[1])}` : '-',
          row.metrics.ttft_ms ? `${formatNumber(row.metrics.ttft_ms.median)} / ${formatNumber(row.metrics.ttft_ms.p95)}` : '-',
          row.metrics.tpot_ms ? formatNumber(row.metrics.tpot_ms.median) : '-',
          energy ? `${formatNumber(energy.jPerToken)} (${energy.boundary}, ${energy.method})` : '-',
          String(row.completed),
          String(row.failedRequests),
        ]
        return `<tr>${cells.map((c, i) => `<td${i >= 5 ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`
      })
      .join('')}</tbody></table>`
    return `<section><h2>${esc(label(result))}${result.state === 'completed' ? '' : ` <span class="state">${esc(result.state.toUpperCase())}</span>`}</h2>
<p class="host">${esc(`${h.cpu.manufacturer} ${h.cpu.brand}, ${h.cpu.physicalCores} cores / ${h.cpu.threads} threads (${h.cpu.flags.join(' ')}), ${(h.memoryBytes / 1024 ** 3).toFixed(1)} GiB, GPUs: ${h.gpus.map((g) => g.model).join(', ') || 'none'}; ${h.os.distro} ${h.os.release}; Node ${h.runtime.node}, owbench ${result.owbenchVersion}`)}</p>
<p>Suite <b>${esc(result.suite.name)} ${esc(result.suite.version)}</b> (sha256 ${esc(result.suite.sha256.slice(0, 12))}), ${result.suite.definition.tests.length} tests.${result.stateReason ? ` ${esc(result.stateReason)}.` : ''}</p>
${result.labels.map((l) => `<p class="label">${esc(l)}</p>`).join('\n')}
${table}
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
th{background:#f4f4f4}.state{color:#b00;font-size:.8em}.label{color:#955;font-style:italic}.host{color:#555}
figure{margin:1.5rem 0}canvas{background:#fff;max-width:100%}img.fallback{display:none;max-width:100%}
@media print{canvas{display:none}img.fallback{display:block}}
</style></head><body>
${options.header ?? ''}<h1>owbench report</h1>
${sections.join('\n')}
<h2>Charts</h2>
${charts}
<h2>Notes</h2>
<ul>${[...notes, ...FOOTNOTES].map((n) => `<li>${esc(n)}</li>`).join('')}</ul>
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

const FOOTNOTES = [
  't/s: tokens evaluated (prompt + generated) per second of wall time, as llama-bench reports it (measured). 95% CI: Student t over repetitions.',
  'TTFT: send to the first chunk with a generated token; TPOT: (end − first token) / (generated − 1); both measured on the client\'s monotonic clock.',
  'J/token: gross energy of the measured windows per token (pp: per prompt token; otherwise per generated token) at the boundary named: wall (the whole machine at the socket), gpu-board, cpu-package, dram, soc, facility (wall × PUE). measured = a counter or a sampled meter; estimated = a model or a declared draw, never shown as measured.',
  'Every figure is recomputed from the raw per-token timings and power samples in the result files.',
]

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}
