import {mean, sampleStandardDeviation} from 'simple-statistics'
import type {Comparison} from '../compare/compare.js'
import {DEFINITIONS} from '../report/definitions.js'
import {displayedValue, FORMAT_NUMBER_SOURCE, formatNumber} from '../report/format.js'
import {esc} from '../report/html.js'
import type {Board, Group, SiteEntry} from './entries.js'
import {COLORS} from '../report/chart-style.js'
import {throughputFrontierChart} from '../report/pareto-charts.js'
import {parseLoadLabel} from '../results/load.js'

/**
 * The site's own pages (the per-result pages are the HTML report). Every link is relative, so the
 * site works from any directory of any static host and from file://; nothing depends on the time
 * of publishing, so publishing the same results twice gives the same bytes.
 */

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:1200px;color:#222;padding:0 1rem}
nav{margin-bottom:1rem}nav a{margin-right:1rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;width:100%}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}th.sortable{cursor:pointer;user-select:none}th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.muted{color:#666}.partial{color:#b00}
#filters{display:flex;gap:.5rem;flex-wrap:wrap;align-items:center;margin:1rem 0}#filters input{min-width:18rem}
.verdict{font-weight:600}.warn{color:#955}`

export interface SiteMeta {
  owbenchVersion: string
  results: number
  /** Absolute URL the site is served from (--base-url), for the canonical link. */
  baseUrl?: string
}

export interface CompareLink {
  href: string
  title: string
  /** Page ids of the two results, A then B. */
  a: string
  b: string
  /** The target and load level of each side. */
  sides: [{target: string; load: string}, {target: string; load: string}]
}

function page(title: string, body: string, depth: number, extraHead = ''): string {
  const up = '../'.repeat(depth)
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>${extraHead}
<style>${STYLE}</style></head><body>
<nav><a href="${up}index.html">owbench results</a><a href="${up}results.json">results.json</a></nav>
${body}
</body></html>
`
}

/** The site navigation placed at the top of a result page (one level down). */
export function resultHeader(resultId: string): string {
  return `<nav style="margin-bottom:1rem"><a href="../index.html">owbench results</a> · <a href="${esc(resultId)}.json">raw result file (JSON)</a> · <a href="../schema/result.schema.json">its JSON Schema</a></nav>\n`
}

const COLUMNS = ['#', 'hardware', 'backend', 'settings', 'results', 'TG', '% BW', 'PP', 'TTFT', 'J/token', 'cost/Mtok', 'latest'] as const

/**
 * The leaderboard: one table per model and exact suite version, one row per hardware and backend
 * (medians over its results). Rows live in a compact JSON block and are drawn by a small script
 * (sort by any column, filter by text, model, suite and backend) so 10,000 results stay a small
 * page and need no server.
 */
export function indexPage(boards: readonly Board[], comparisons: readonly CompareLink[], meta: SiteMeta): string {
  const strings: string[] = []
  const index = new Map<string, number>()
  const s = (text: string): number => {
    let i = index.get(text)
    if (i === undefined) {
      i = strings.push(text) - 1
      index.set(text, i)
    }
    return i
  }
  // Stored at the digits the board shows (formatNumber's), so the block stays small and shows no invented digit.
  const n = (x: number | undefined): number | null => (x === undefined || !Number.isFinite(x) ? null : displayedValue(x))
  const data = boards.map((b) => [
    s(b.model),
    s(b.quantization),
    s(b.suite),
    s(b.modelHash),
    s(b.suiteSha),
    b.tests.tg ? s(b.tests.tg) : -1,
    b.tests.pp ? s(b.tests.pp) : -1,
    b.tests.ttft ? s(b.tests.ttft) : -1,
    b.groups.some((g) => g.entries.some((e) => e.pareto)) ? 1 : 0,
    b.groups.map((g) => [
      g.id,
      s(g.hardware),
      s(g.backend),
      g.entries.length,
      g.partial,
      n(g.tg),
      n(g.pp),
      n(g.ttftMs),
      n(g.energy?.jPerToken),
      g.energy || g.energyMissing ? s(groupEnergyNote(g)) : -1,
      n(g.cost?.perMtok),
      g.cost ? s(`${g.cost.basis}; ${g.cost.money}`) : -1,
      s(g.latest),
      s(g.settings),
      g.short,
      n(g.bandwidthPercent),
    ]),
  ])
  const json = JSON.stringify({s: strings, b: data}).replace(/</g, '\\u003c')
  const groups = boards.reduce((k, b) => k + b.groups.length, 0)
  const canonical = meta.baseUrl ? `\n<link rel="canonical" href="${esc(meta.baseUrl)}index.html">` : ''
  const body = `<h1>owbench results</h1>
<p>${meta.results} results in ${boards.length} boards (${groups} hardware groups). A board is one model file (by its sha256), or one model name as endpoints serve it, under one exact suite version: only results of the same suite version are ranked together. A row is one hardware and backend, with the median over its results; its page lists every result.</p>
<div id="filters"><input id="q" type="search" placeholder="filter: hardware, backend, model, suite" aria-label="filter">
<select id="f-model" aria-label="model"><option value="">all models</option></select>
<select id="f-suite" aria-label="suite"><option value="">all suites</option></select>
<select id="f-backend" aria-label="backend"><option value="">all backends</option></select>
<span id="count" class="muted"></span></div>
<noscript><p>The leaderboard table needs JavaScript. Every figure is also in <a href="results.json">results.json</a>.</p></noscript>
<main id="boards"></main>
${comparisons.length > 0 ? `<h2>Comparisons</h2><ul>${comparisons.map((c) => `<li><a href="${esc(c.href)}">${esc(c.title)}</a></li>`).join('')}</ul>` : ''}
<h2>What the columns mean</h2>
<ul>
<li>A row (group) is one hardware, backend and every setting that changes speed (threads, batch, context, flash attention, GPU layers, llama.cpp release, load level), shown under the hardware.</li>
<li>TG, PP: tokens per second of the board's first tg and pp tests at one request at a time (or the lightest load measured), named in the header. ${esc(DEFINITIONS.tps)} A result whose tg outputs stopped short of the test's length has no TG figure and is counted as "short". ${esc(DEFINITIONS.short)}</li>
<li>% BW: the TG test's share of the memory bandwidth that bounds decode (${esc('bytes read per generated token × tokens/s over the STREAM triad probe of a CPU run, or the published peak of the GPUs a fully offloaded run used')}); above 100% is implausible and not published unless --allow-implausible.</li>
<li>TTFT: median over requests of the first prompt+generation or chat test, ms. ${esc(DEFINITIONS.latency)}</li>
<li>J/token of the tg test: ${esc(DEFINITIONS.energy)} ${esc(DEFINITIONS.scope)} Medians only over results whose energy was obtained the same way. ${esc(DEFINITIONS.validity)} A group's results with a missing figure are counted beside the median, with their codes.</li>
<li>cost/Mtok: the cost per million generated tokens stored with the result (owned hardware, rental or hosted price) in the money basis named; blank when the run had no cost inputs.</li>
<li>Machine-readable: <a href="results.json">results.json</a> (<a href="schema/site-index.schema.json">schema</a>); each result's raw file (<a href="schema/result.schema.json">schema</a>) is linked from its page. Hostnames, user names, paths, private addresses and keys are redacted before publishing.</li>
</ul>
<p class="muted">Published with owbench ${esc(meta.owbenchVersion)}.</p>
<script type="application/json" id="site-data">${json}</script>
<script>${INDEX_SCRIPT}</script>`
  return page('owbench results', body, 0, canonical)
}

// Plain browser JavaScript (no build step, no library): draws, sorts and filters the boards.
const INDEX_SCRIPT = `
const D = JSON.parse(document.getElementById('site-data').textContent)
const S = D.s
const COLS = ${JSON.stringify(COLUMNS)}
const LIMIT = 200
const boards = D.b.map((b, i) => ({i, model: S[b[0]], quant: S[b[1]], suite: S[b[2]], modelHash: S[b[3]], suiteSha: S[b[4]], tg: S[b[5]], pp: S[b[6]], ttft: S[b[7]], frontier: b[8],
  rows: b[9].map((r) => ({id: r[0], hw: S[r[1]], backend: S[r[2]], n: r[3], partial: r[4], tg: r[5], pp: r[6], ttft: r[7], j: r[8], jNote: S[r[9]], usd: r[10], usdNote: S[r[11]], date: S[r[12]], settings: S[r[13]], short: r[14], bw: r[15]})),
  sort: {col: 'TG', dir: -1}, all: false}))
const KEY = {'#': null, hardware: 'hw', backend: 'backend', settings: 'settings', results: 'n', TG: 'tg', '% BW': 'bw', PP: 'pp', TTFT: 'ttft', 'J/token': 'j', 'cost/Mtok': 'usd', latest: 'date'}
const fill = (id, values) => { const el = document.getElementById(id); for (const v of [...new Set(values)].sort()) el.add(new Option(v, v)) }
fill('f-model', boards.map((b) => b.model + ' ' + b.quant))
fill('f-suite', boards.map((b) => b.suite))
fill('f-backend', boards.flatMap((b) => b.rows.map((r) => r.backend)))
const fmt = ${FORMAT_NUMBER_SOURCE}
const num = (x) => x === null ? '' : fmt(x)
const esc = (t) => String(t).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
function visible(b) {
  const q = document.getElementById('q').value.trim().toLowerCase()
  const m = document.getElementById('f-model').value, su = document.getElementById('f-suite').value, be = document.getElementById('f-backend').value
  if (m && b.model + ' ' + b.quant !== m) return []
  if (su && b.suite !== su) return []
  return b.rows.filter((r) => (!be || r.backend === be) && (!q || (r.hw + ' ' + r.backend + ' ' + b.model + ' ' + b.quant + ' ' + b.suite).toLowerCase().includes(q)))
}
function sorted(b, rows) {
  const k = KEY[b.sort.col], dir = b.sort.dir
  return rows.slice().sort((x, y) => {
    const a = x[k], c = y[k]
    if (a === null && c === null) return 0
    if (a === null) return 1
    if (c === null) return -1
    return (typeof a === 'number' ? a - c : String(a).localeCompare(String(c))) * dir
  })
}
function drawBoard(b) {
  const rows = sorted(b, visible(b))
  let section = document.getElementById('board-' + b.i)
  if (rows.length === 0) { if (section) section.hidden = true; return 0 }
  if (!section) { section = document.createElement('section'); section.id = 'board-' + b.i; section.className = 'board'; document.getElementById('boards').append(section) }
  section.hidden = false
  const head = {TG: b.tg ? 'TG t/s (' + b.tg + ')' : 'TG t/s', PP: b.pp ? 'PP t/s (' + b.pp + ')' : 'PP t/s', TTFT: b.ttft ? 'TTFT ms (' + b.ttft + ')' : 'TTFT ms'}
  const shown = b.all ? rows : rows.slice(0, LIMIT)
  section.innerHTML = '<h2>' + esc(b.model) + ' <span class="muted">' + esc(b.quant) + ' · ' + esc(b.modelHash === 'api' ? 'by name, at an endpoint: no file hash' : 'sha256 ' + b.modelHash) + '</span> — suite ' + esc(b.suite) + ' <span class="muted">' + esc(b.suiteSha) + '</span>' + (b.frontier ? ' <a class="frontier" href="frontiers/' + b.i + '.html">frontier</a>' : '') + '</h2>' +
    '<table><thead><tr>' + COLS.map((c) => '<th class="' + (KEY[c] ? 'sortable' : '') + '" data-col="' + esc(c) + '"' + (KEY[c] ? ' aria-sort="' + (b.sort.col === c ? (b.sort.dir > 0 ? 'ascending' : 'descending') : 'none') + '"' : '') + '>' + esc(head[c] || c) + '</th>').join('') + '</tr></thead><tbody>' +
    shown.map((r, i) => '<tr data-group="' + r.id + '"><td class="num">' + (i + 1) + '</td><td><a href="groups/' + r.id + '.html">' + esc(r.hw) + '</a></td><td>' + esc(r.backend) + '</td><td class="muted">' + esc(r.settings) + '</td><td class="num">' + r.n + (r.partial ? ' <span class="partial">(' + r.partial + ' partial)</span>' : '') + (r.short ? ' <span class="partial">(' + r.short + ' short: no TG)</span>' : '') + '</td><td class="num">' + num(r.tg) + '</td><td class="num">' + (r.bw === null ? '' : num(r.bw) + '%') + '</td><td class="num">' + num(r.pp) + '</td><td class="num">' + num(r.ttft) + '</td><td class="num">' + (r.j === null ? (r.jNote ? '<span class="warn">' + esc(r.jNote) + '</span>' : '') : num(r.j) + ' <span class="muted">' + esc(r.jNote) + '</span>') + '</td><td class="num">' + (r.usd === null ? '' : num(r.usd) + ' <span class="muted">(' + esc(r.usdNote) + ')</span>') + '</td><td>' + esc(r.date) + '</td></tr>').join('') +
    '</tbody></table>' + (shown.length < rows.length ? '<button class="more">show all ' + rows.length + ' rows</button>' : '')
  for (const th of section.querySelectorAll('th.sortable')) th.addEventListener('click', () => {
    const c = th.dataset.col
    b.sort = b.sort.col === c ? {col: c, dir: -b.sort.dir} : {col: c, dir: (c === 'hardware' || c === 'backend' || c === 'settings' || c === 'TTFT' || c === 'J/token' || c === 'cost/Mtok') ? 1 : -1}
    drawBoard(b)
  })
  const more = section.querySelector('button.more')
  if (more) more.addEventListener('click', () => { b.all = true; drawBoard(b) })
  return rows.length
}
function drawAll() {
  let rows = 0, shown = 0
  for (const b of boards) { const k = drawBoard(b); rows += k; if (k) shown++ }
  document.getElementById('count').textContent = rows + ' rows in ' + shown + ' boards'
}
for (const id of ['q', 'f-model', 'f-suite', 'f-backend']) document.getElementById(id).addEventListener('input', drawAll)
drawAll()
`

/**
 * A board's frontier: tokens/s per user against total tokens/s of every hardware group of one
 * model and suite version, each group's load levels with its Pareto frontier drawn (the points no
 * other level of the group beats on both); undefined when no result of the board has such points.
 */
export function frontierPage(board: Board): string | undefined {
  const series = board.groups.flatMap((g) => {
    const points = g.entries.flatMap((e) => (e.pareto?.points ?? []).flatMap((p) => {
      const load = parseLoadLabel(p.load)
      return load ? [{load, perUserTps: p.perUserTps, totalTps: p.totalTps}] : []
    }))
    // Named without the group's load level: its points span every level measured, which the chart's legend names.
    return points.length > 0 ? [{name: [g.hardware, g.backend, g.entries[0]!.configuration].filter(Boolean).join(' · '), kind: g.entries[0]!.modelHash === 'api' ? ('endpoint' as const) : ('local' as const), points}] : []
  })
  const spec = throughputFrontierChart(series.map((s, i) => ({...s, color: COLORS[i % COLORS.length]!})), 'frontier')
  if (!spec) return undefined
  const tests = [...new Set(board.groups.flatMap((g) => g.entries.flatMap((e) => (e.pareto ? [e.pareto.test] : []))))]
  const body = `<h1>${esc(board.model)} <span class="muted">${esc(board.quantization)}</span>: the frontier</h1>
<p>Suite ${esc(board.suite)} (sha256 ${esc(board.suiteSha)}), test ${esc(tests.join(', '))}: every hardware group's load levels, tokens/s each user sees (1 / TPOT, median over requests) against the total output tokens/s; a line joins the levels of a group that no other level of it beats on both. Move right for throughput, up for each user's speed.</p>
<figure><canvas id="frontier" width="1100" height="560"></canvas></figure>
<script type="application/json" id="frontier-chart">${JSON.stringify(spec).replace(/</g, '\\u003c')}</script>
<script>
const spec = JSON.parse(document.getElementById('frontier-chart').textContent)
spec.config.options.plugins.title = {display: true, text: spec.title}
new Chart(document.getElementById('frontier'), spec.config)
</script>`
  return page(`${board.model}: frontier — owbench`, body, 1, '\n<script src="../assets/chart.umd.min.js"></script>')
}

/** A group's page: every result of one model, suite version, hardware and backend, and how much they vary. */
export function groupPage(board: Board, group: Group): string {
  const es = group.entries
  const metric = (name: string, unit: string, pick: (e: SiteEntry) => number | undefined): string => {
    const v = es.map(pick).filter((x): x is number => x !== undefined)
    if (v.length === 0) return ''
    const sd = v.length > 1 ? sampleStandardDeviation(v) : undefined
    const m = mean(v)
    return `<tr><td>${esc(name)}</td><td class="num">${v.length}</td><td class="num">${formatNumber(m)}</td><td class="num">${sd === undefined ? '-' : formatNumber(sd)}</td><td class="num">${sd === undefined ? '-' : `${((sd / m) * 100).toFixed(1)}%`}</td><td class="num">${formatNumber(Math.min(...v))} – ${formatNumber(Math.max(...v))}</td><td>${esc(unit)}</td></tr>`
  }
  const spread = [
    metric(`TG${board.tests.tg ? ` (${board.tests.tg})` : ''}`, 'tokens/s', (e) => e.tg),
    metric(`PP${board.tests.pp ? ` (${board.tests.pp})` : ''}`, 'tokens/s', (e) => e.pp),
    metric(`TTFT${board.tests.ttft ? ` (${board.tests.ttft})` : ''}`, 'ms', (e) => e.ttftMs),
    group.energy && group.energy.high === undefined ? metric('J/token', `J per generated token (${group.energy.boundary}, ${group.energy.method})`, (e) => (e.energy?.boundary === group.energy!.boundary && e.energy.method === group.energy!.method ? e.energy.jPerToken : undefined)) : '',
  ].join('')
  const rows = es
    .slice()
    .sort((a, b) => b.date.localeCompare(a.date) || a.resultId.localeCompare(b.resultId))
    .map(
      (e) =>
        `<tr><td><a href="../results/${esc(e.resultId)}.html">${esc(e.date)} ${esc(e.resultId.slice(0, 8))}</a>${e.state === 'completed' ? '' : ` <span class="partial">${esc(e.state.toUpperCase())}</span>`}</td><td>${esc(e.host)}</td><td>${esc(e.target)}</td><td class="num">${e.tgShort ? `<span class="partial">${esc(e.tgShort)}</span>` : fmt(e.tg)}</td><td class="num">${fmt(e.pp)}</td><td class="num">${fmt(e.ttftMs)}</td><td class="num">${entryEnergy(e)}</td><td class="num">${e.cost ? `${formatNumber(e.cost.perMtok)} (${esc(e.cost.basis)}; ${esc(e.cost.money)})` : ''}</td><td><a href="../results/${esc(e.resultId)}.json">JSON</a></td></tr>`,
    )
    .join('')
  const body = `<h1>${esc(board.model)} <span class="muted">${esc(board.quantization)}</span> on ${esc(group.hardware)}</h1>
<p>${groupIdentity(board, group)} · suite ${esc(board.suite)} (sha256 ${esc(board.suiteSha)}) · ${es.length} result${es.length === 1 ? '' : 's'}</p>
${spread ? `<h2>Across results</h2><table><thead><tr><th>figure</th><th>results</th><th>mean</th><th>sd</th><th>CV</th><th>range</th><th>unit</th></tr></thead><tbody>${spread}</tbody></table>` : ''}
<h2>Results</h2>
<table><thead><tr><th>result</th><th>host</th><th>target</th><th>TG t/s</th><th>PP t/s</th><th>TTFT ms</th><th>J/token</th><th>cost/Mtok</th><th>raw</th></tr></thead><tbody>${rows}</tbody></table>`
  return page(`${board.model} on ${group.hardware} — owbench`, body, 1)
}

/**
 * What a group ran: a local model's backend, settings and file hash; an endpoint's model as the
 * server names it, the API its tests used, its host (redacted as everywhere on the site), the
 * server software when /v1/models said, and the load level. An endpoint has no file to hash.
 */
export function groupIdentity(board: Board, group: Group): string {
  const endpoint = group.entries[0]?.endpoint
  if (!endpoint) return `Backend ${esc(group.backend)} · ${esc(group.settings)} · model sha256 ${esc(board.modelHash)}`
  const servers = [...new Set(group.entries.flatMap((e) => (e.endpoint?.server ? [e.endpoint.server] : [])))]
  const api = endpoint.api === 'chat' ? 'OpenAI-compatible /chat/completions API' : 'OpenAI-compatible /completions API'
  const server = servers.length > 0 ? `server ${esc(servers.join(', '))} (its /v1/models owned_by)` : 'server software not named by its /v1/models'
  return `Endpoint at ${esc(endpoint.host)} · model "${esc(board.model)}" as the server names it (the weights behind it are the server's: no file hash) · ${api} · ${server} · ${esc(group.settings)}`
}

export interface CompareSide {
  resultId: string
  label: string
  target: string
  load: string
}

/** A chosen pair: each metric compared with its 95% CI and Welch's t-test, or the reason it could not be. */
export function comparePage(a: CompareSide, b: CompareSide, comparisons: readonly ({metric: string; comparison: Comparison} | {metric: string; refused: string})[]): string {
  const rows = comparisons
    .map((c) => {
      if ('refused' in c) return `<tr><td>${esc(c.metric)}</td><td colspan="4" class="warn">not compared: ${esc(c.refused)}</td></tr>`
      const cmp = c.comparison
      const side = (s: Comparison['a']) => `${s.n} repetitions, mean ${formatNumber(s.mean)} ± ${formatNumber(s.sd)}`
      return `<tr><td>${esc(c.metric)} <span class="muted">${esc(cmp.test)}, ${esc(cmp.unit)}, ${esc(cmp.better)} is better</span></td><td class="num">${side(cmp.a)}</td><td class="num">${side(cmp.b)}</td><td class="verdict">${esc(cmp.verdict)}</td><td class="warn">${cmp.warnings.map(esc).join('<br>')}</td></tr>`
    })
    .join('')
  const body = `<h1>Comparison</h1>
<p>A: <a href="../results/${esc(a.resultId)}.html">${esc(a.label)}</a>, target ${esc(a.target)} at ${esc(a.load)}<br>B: <a href="../results/${esc(b.resultId)}.html">${esc(b.label)}</a>, target ${esc(b.target)} at ${esc(b.load)}</p>
<table><thead><tr><th>metric</th><th>A</th><th>B</th><th>verdict (B vs A)</th><th>warnings</th></tr></thead><tbody>${rows}</tbody></table>
<p class="muted">Difference of means with its 95% confidence interval and Welch's t-test over repetitions (one value per repetition: the mean of its requests, or its energy per token), one target and one load level a side. "No significant difference" means p ≥ 0.05: the data cannot tell them apart, not that they are equal.</p>`
  return page(`Comparison: ${a.label} vs ${b.label} — owbench`, body, 1)
}

/**
 * A leaderboard row's J/token note: `(wall, counter)`, `to 0.2 (facility, estimated: hosted model)`,
 * `(gpu-board, sampled, partial)`, with `; 1 missing (counter-stuck)` when some of the group's
 * results have no valid figure, or `missing (counter-stuck)` alone when none has.
 */
function groupEnergyNote(g: Group): string {
  const missing = g.energyMissing ? `${g.energyMissing.n} missing (${g.energyMissing.codes.join(', ')})` : ''
  if (!g.energy) return missing ? `missing (${g.energyMissing!.codes.join(', ')})` : ''
  return `${g.energy.high === undefined ? '' : `to ${formatNumber(g.energy.high)} `}(${g.energy.boundary}, ${g.energy.method}${g.energy.partial ? ', partial' : ''}${missing ? `; ${missing}` : ''})`
}

/** A result's J/token in a group page, or why it is missing (the reason on hover) and which devices a partial one leaves out. */
function entryEnergy(e: SiteEntry): string {
  if (e.energy) {
    const partial = e.energy.partial ? `, <span title="${esc(e.energy.partial)}">partial</span>` : ''
    return `${formatNumber(e.energy.jPerToken)}${e.energy.high === undefined ? '' : `–${formatNumber(e.energy.high)}`} (${esc(e.energy.boundary)}, ${esc(e.energy.method)}${partial})`
  }
  if (e.energyMissing) return `<span class="warn" title="${esc(e.energyMissing.reason)}">missing (${esc(e.energyMissing.code)})</span>`
  return ''
}

function fmt(x: number | undefined): string {
  return x === undefined ? '' : formatNumber(x)
}
