import {mkdtemp, readdir, readFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {compareResults} from '../../src/compare/compare.js'
import {parseCsv} from '../../src/cost/csv-table.js'
import {costsOfResults} from '../../src/cost/report-costs.js'
import {deriveResult} from '../../src/derive/derive.js'
import {chartSpecs} from '../../src/report/charts.js'
import {renderCostTable} from '../../src/report/cost-table.js'
import {exportCsv} from '../../src/report/csv.js'
import {formatNumber, formatTokens} from '../../src/report/format.js'
import {esc as escHtml, exportHtml} from '../../src/report/html.js'
import {cellLabel, energyText, reasoningText, shortText, testLabel} from '../../src/report/labels.js'
import {exportMarkdown} from '../../src/report/markdown.js'
import {renderRunTable} from '../../src/report/terminal-table.js'
import {loadLabel} from '../../src/results/load.js'
import {readResult} from '../../src/results/io.js'
import type {ResultCosts} from '../../src/results/cost-schema.js'
import type {ResultFile} from '../../src/results/schema.js'
import {publishSite} from '../../src/site/publish.js'
import type {SiteIndex} from '../../src/site/site-index.js'
import {repoRoot} from '../helpers/cli.js'

/**
 * Every figure of the committed example results is derived once, and every renderer shows that
 * same number for that figure: the terminal table, Markdown, CSV, HTML, compare, cost and the
 * site's results.json. Two sets, each rendered together as in its example report:
 * fixtures/results/*.json (reports/example; a version 1 file among them) and
 * fixtures/results/endpoint/*.json (reports/example-endpoint: a reasoning model, short outputs,
 * multi-token chunks and a llama-server's own /metrics). A figure whose meter readings failed
 * their checks (the meter of quick-tiny-meter-gap.json stopped answering for 1.5 s) is missing
 * everywhere with the same code and reason, and every run-condition warning is shown wherever the
 * result's table is.
 */
const dir = path.join(repoRoot, 'fixtures', 'results')
const EXAMPLE_SETS = [dir, path.join(dir, 'endpoint')]
/** A table cell holding exactly this text, however it is padded. */
const cellPattern = (text: string) => new RegExp(`\\|\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\|`)
/** One example set, rendered by each exporter once as its example report is. */
interface ExampleSet {
  results: ResultFile[]
  costs: (ResultCosts | undefined)[]
  md: string
  html: string
  csv: Record<string, string>[]
}
let sets: ExampleSet[]
let versions: number[]
let site: SiteIndex
let siteDir: string

/** Whether a terminal-table line is a row of this target (endpoint rows name the model, not the target id). */
function tableRowOf(result: ResultFile, target: string, line: string): boolean {
  const t = result.targets.find((x) => x.id === target)!
  const model = t.kind === 'local' ? (t.model.name ?? t.model.fileName) : t.endpoint.model
  return line.startsWith(`| ${model} `) && (t.kind === 'local' || line.includes(new URL(t.endpoint.baseUrl).host))
}

beforeAll(async () => {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()
  versions = await Promise.all(files.map(async (f) => (JSON.parse(await readFile(path.join(dir, f), 'utf8')) as {schemaVersion: number}).schemaVersion))
  sets = await Promise.all(
    EXAMPLE_SETS.map(async (set) => {
      const results = await Promise.all((await readdir(set)).filter((f) => f.endsWith('.json')).sort().map((f) => readResult(path.join(set, f))))
      const {costs} = await costsOfResults(results)
      return {results, costs, md: exportMarkdown(results), html: exportHtml(results, {costs}), csv: parseCsv(exportCsv(results), 'export.csv').rows.map((r) => r.cells)}
    }),
  )
  siteDir = path.join(await mkdtemp(path.join(os.tmpdir(), 'owbench-consistency-')), 'site')
  await publishSite({inputs: [dir], out: siteDir, env: {}})
  site = JSON.parse(await readFile(path.join(siteDir, 'results.json'), 'utf8')) as SiteIndex
}, 120_000)

describe('one figure, one number, everywhere', () => {
  it('the examples hold a version 1 file and one of the current version', () => {
    expect(versions).toContain(1)
    expect(versions).toContain(2)
  })

  it('throughput, TTFT and J/token of every cell: table, Markdown, CSV, HTML and compare agree with the derivation', () => {
    for (const set of sets) throughputAgrees(set)
  })

  function throughputAgrees({results, md, html, csv}: ExampleSet): void {
    let checked = 0
    for (const result of results) {
      const table = renderRunTable(result)
      for (const cell of deriveResult(result).cells) {
        const tps = cell.metrics.tokens_per_second?.repetitions
        if (!tps) continue
        const shown = `${formatNumber(tps.mean)} ± ${tps.sd === null ? '-' : formatNumber(tps.sd)}`
        const line = table.split('\n').find((l) => l.includes(`| ${cellLabel(cell)} `) && l.includes(shown))
        expect(line, `${result.id} ${cell.target} ${cellLabel(cell)} in the terminal table`).toBeDefined()
        expect(md).toContain(shown)
        expect(html).toContain(shown)
        const row = csv.find((r) => r.result_id === result.id && r.target === cell.target && r.test === cell.test && r.load === loadLabel(cell.load))!
        expect(Number(row.tps_mean)).toBe(tps.mean)
        expect(Number(row.tps_sd)).toBe(tps.sd)
        const ttft = cell.metrics.ttft_ms?.requests
        if (ttft) {
          expect(line).toMatch(cellPattern(formatNumber(ttft.median)))
          expect(Number(row.ttft_ms_median)).toBe(ttft.median)
        }
        if (cell.energy.status !== 'missing') {
          expect(line).toContain(energyText(cell.energy))
          expect(md).toContain(energyText(cell.energy))
          expect(html).toContain(energyText(cell.energy))
          expect(Number(row.j_per_token)).toBe(cell.energy.status === 'metered' ? cell.energy.jPerToken : cell.energy.low)
        }
        // compare: the same result against itself on this cell, over repetitions.
        if (cell.completed >= 2 && (cell.kind === 'tg' || cell.kind === 'pp')) {
          const side = {target: cell.target, load: loadLabel(cell.load)}
          const c = compareResults(result, result, {metric: cell.kind, test: cell.test, sides: [side, side]})
          expect(c.a.mean).toBeCloseTo(tps.mean, 9)
          expect(c.a.n).toBe(tps.n)
          if (cell.energy.status === 'metered' && cell.repetitionValues.j_per_token) {
            const e = compareResults(result, result, {metric: 'j_per_token', test: cell.test, sides: [side, side]})
            // Equal tokens in every repetition: the mean of per-repetition J/token is the pooled figure.
            if (new Set(result.runs.filter((r) => r.test === cell.test && r.target === cell.target && !r.warmup).map((r) => r.requests.reduce((n, q) => n + q.nOut + q.nPrompt, 0))).size === 1) expect(e.a.mean).toBeCloseTo(cell.energy.jPerToken, 9)
          }
        }
        checked++
      }
    }
    expect(checked).toBeGreaterThanOrEqual(4 * results.length)
  }

  it('a figure whose readings failed their checks: the same code and reason in the table, Markdown, CSV, HTML, compare and the site', async () => {
    let invalid = 0
    for (const {results, md, html, csv} of sets) {
      for (const result of results) {
        const table = renderRunTable(result)
        const published = site.results.find((r) => r.runId === result.id)!
        const page = await readFile(path.join(siteDir, published.page), 'utf8')
        for (const cell of deriveResult(result).cells) {
          const codes = cell.energy.status === 'missing' && cell.energy.invalid ? [...new Set(cell.energy.invalid.map((i) => i.code))].join(', ') : undefined
          if (!codes || cell.energy.status !== 'missing') continue
          invalid++
          const {reason} = cell.energy
          const note = `${cell.target} ${cellLabel(cell)}: J/token missing (${codes}): ${reason}`
          expect(table.split('\n').find((l) => tableRowOf(result, cell.target, l) && l.includes(`| ${testLabel(cell)} `))).toMatch(cellPattern(`missing (${codes})`))
          expect(table).toContain(`- ${note}`)
          expect(md).toContain(`- ${note}`)
          expect(html).toContain(`missing (${codes}: ${reason})`)
          expect(page).toContain(note)
          const row = csv.find((r) => r.result_id === result.id && r.target === cell.target && r.test === cell.test && r.load === loadLabel(cell.load))!
          expect([row.j_per_token, row.energy_invalid, row.energy_missing]).toEqual(['', codes.replace(/, /g, '; '), reason])
          if (cell.completed >= 2) {
            const side = {target: cell.target, load: loadLabel(cell.load)}
            expect(() => compareResults(result, result, {metric: 'j_per_token', test: cell.test, sides: [side, side]})).toThrow(`A's energy for ${cellLabel(cell)} is not a measurement (${codes}): ${reason}`)
          }
          const boardTg = published.targets.find((t) => t.id === cell.target)
          if (boardTg && cell.kind === 'tg' && cell.load.mode === 'concurrency' && cell.load.level === 1) {
            expect(boardTg.energy).toBeUndefined()
            expect(boardTg.energyMissing).toEqual({code: cell.energy.code, reason})
          }
        }
      }
    }
    // The examples hold such a figure (quick-tiny-meter-gap.json), so this test checks something.
    expect(invalid).toBeGreaterThan(0)
  })

  it('run-condition warnings: the same lines under the table, in Markdown, HTML and the site\'s result page', async () => {
    let warned = 0
    for (const {results, md, html} of sets) {
      for (const result of results) {
        const derived = deriveResult(result)
        const table = renderRunTable(result)
        const page = await readFile(path.join(siteDir, site.results.find((r) => r.runId === result.id)!.page), 'utf8')
        // A result of several targets names the target of each test's warning.
        const several = new Set(derived.cells.map((c) => c.target)).size > 1
        const lines = [...derived.cells.flatMap((c) => (c.warnings ?? []).map((w) => `warning: ${several ? `${c.target}: ` : ''}${w}`)), ...(derived.warnings ?? []).map((w) => `warning: ${w}`)]
        for (const line of lines) {
          warned++
          expect(table).toContain(`- ${line}`)
          expect(md).toContain(`- ${line}`)
          expect(html).toContain(`<li class="warn">${escHtml(line)}</li>`)
          expect(page).toContain(`<li class="warn">${escHtml(line)}</li>`)
        }
      }
    }
    // quick-tiny-meter-gap.json ran on a shared machine: its conditions recorded the other load.
    expect(warned).toBeGreaterThan(0)
  })

  it('the site\'s results.json shows the same tg, pp, TTFT and J/token', () => {
    for (const result of sets.flatMap((set) => set.results)) {
      const published = site.results.find((r) => r.runId === result.id)!
      for (const target of published.targets) {
        const cells = deriveResult(result).cells.filter((c) => c.target === target.id && c.load.mode === 'concurrency' && c.load.level === 1)
        const tg = cells.find((c) => c.kind === 'tg')!
        // A tg of short outputs is no tg figure: absent, and the site says why.
        expect(target.tg).toBe(tg.metrics.tokens_per_second?.repetitions?.mean)
        expect(target.tgShort).toBe(tg.shortOutputs ? shortText(tg.shortOutputs) : undefined)
        expect(target.pp).toBe(cells.find((c) => c.kind === 'pp')?.metrics.tokens_per_second!.repetitions!.mean)
        expect(target.notes).toEqual(deriveResult(result).targets.find((t) => t.target === target.id)!.notes.length > 0 ? deriveResult(result).targets.find((t) => t.target === target.id)!.notes : undefined)
        const ttftCell = cells.find((c) => (c.kind === 'pg' || c.kind === 'chat') && c.metrics.ttft_ms?.requests)
        expect(target.ttftMs).toBe(ttftCell?.metrics.ttft_ms?.requests?.median)
        if (tg.energy.status === 'metered') expect(target.energy).toEqual({jPerToken: tg.energy.jPerToken, boundary: tg.energy.boundary, method: tg.energy.method, ...(tg.energy.partial ? {partial: tg.energy.partial} : {})})
        if (tg.energy.status === 'modelled') expect(target.energy).toMatchObject({jPerToken: tg.energy.low, high: tg.energy.high})
      }
    }
  })

  it('endpoint figures: TTFA, reasoning, short rows, ITL per chunk, the server\'s /metrics and protocol notes show as derived in the table, Markdown, CSV and HTML', () => {
    const seen = {ttfa: 0, short: 0, chunk: 0, server: 0, notes: 0}
    for (const set of sets) endpointFiguresAgree(set, seen)
    // The examples hold each case: a reasoning model, short outputs, multi-token chunks, a scraped server, a flagged target.
    expect(Object.values(seen).every((n) => n > 0), JSON.stringify(seen)).toBe(true)
  })

  function endpointFiguresAgree({results, md, html, csv}: ExampleSet, seen: Record<'ttfa' | 'short' | 'chunk' | 'server' | 'notes', number>): void {
    for (const result of results) {
      const table = renderRunTable(result)
      const derived = deriveResult(result)
      for (const cell of derived.cells) {
        const row = csv.find((r) => r.result_id === result.id && r.target === cell.target && r.test === cell.test && r.load === loadLabel(cell.load))!
        const line = table.split('\n').find((l) => l.includes(`| ${testLabel(cell)} `) && tableRowOf(result, cell.target, l))
        if (cell.reasoning) {
          const ttfa = cell.metrics.ttfa_ms!.requests!.median
          expect(ttfa).toBeGreaterThan(cell.metrics.ttft_ms!.requests!.median)
          expect(line).toMatch(cellPattern(formatNumber(ttfa)))
          expect(line).toContain(reasoningText(cell.reasoning))
          expect(html).toContain(reasoningText(cell.reasoning))
          expect(md).toContain(reasoningText(cell.reasoning))
          expect(Number(row.ttfa_ms_median)).toBe(ttfa)
          expect(Number(row.reasoning_tokens)).toBe(cell.reasoning.tokens)
          expect(Number(row.reasoning_share)).toBe(cell.reasoning.share)
          seen.ttfa++
        }
        if (cell.shortOutputs) {
          // Marked with n_out of n_asked and the finish reason; no t/s, TPOT or J/token as an N-token figure anywhere.
          const mark = shortText(cell.shortOutputs)
          expect(line).toContain(`| ${testLabel(cell)} `)
          expect(line).toMatch(cellPattern(mark))
          expect(md).toContain(mark)
          expect(html).toContain(mark)
          expect(row.tps_mean).toBe('')
          expect(row.tpot_ms_median).toBe('')
          expect(row.j_per_token).toBe('')
          expect(row.energy_missing).toBe(cell.energy.status === 'missing' ? cell.energy.reason : '')
          expect([Number(row.short_requests), Number(row.n_asked), Number(row.n_out_min), row.finish_reasons]).toEqual([cell.shortOutputs.requests, cell.shortOutputs.nAsked, cell.shortOutputs.nOutMin, Object.entries(cell.shortOutputs.finishReasons).map(([k, n]) => `${k}:${n}`).join(' ')])
          seen.short++
        }
        if (cell.metrics.itl_ms) expect(row.itl_basis).toBe(cell.itlBasis)
        if (cell.itlBasis === 'chunk' && cell.multiTokenChunkRequests > 0) {
          expect(table).toContain(`${cell.target} ${cellLabel(cell)}: ITL per chunk: the server counted more tokens than token-bearing chunks in ${cell.multiTokenChunkRequests} requests`)
          expect(html).toContain(`${formatNumber(cell.metrics.itl_ms!.gaps!.median)} / ${formatNumber(cell.metrics.itl_ms!.gaps!.p95)} (ITL per chunk)`)
          seen.chunk++
        }
        if (cell.server) {
          const f = cell.server.figures
          // The server's own count beside owbench's, in the same cell of the server table.
          const pair = `${formatTokens(f.generatedTokens!)} / ${formatTokens(cell.server.client.generatedTokens)}`
          expect(md).toMatch(new RegExp(`\\| ${cell.target} +\\| ${testLabel(cell).replace(/[()@]/g, '\\$&')} +\\|[^\\n]*\\| +${pair} \\|`))
          expect(html).toContain(`<td class="num">${pair}</td>`)
          expect(Number(row.server_generated_tokens)).toBe(f.generatedTokens)
          expect(Number(row.client_generated_tokens)).toBe(cell.server.client.generatedTokens)
          seen.server++
        }
      }
      for (const t of derived.targets) {
        for (const note of t.notes) {
          expect(table).toContain(`- ${note}`)
          expect(html).toContain(note.replace(/"/g, '&quot;'))
          expect(csv.filter((r) => r.result_id === result.id && r.target === t.target).every((r) => r.target_notes!.includes(note))).toBe(true)
          seen.notes++
        }
      }
    }
  }

  it('cost: owbench cost, the HTML cost chart and the site show the same cost per Mtok, from the same measured tokens/s', () => {
    for (const {results, costs} of sets) costsAgree(results, costs)
  })

  function costsAgree(results: ResultFile[], costs: (ResultCosts | undefined)[]): void {
    const priced = results.map((r, i) => ({result: r, costs: costs[i]})).filter((p) => p.costs)
    for (const {result, costs: c} of priced) {
      const table = renderCostTable(c!)
      const derived = deriveResult(result)
      for (const t of c!.targets) {
        const basis = derived.targets.find((x) => x.target === t.measurement.target)!.cost!
        expect(t.measurement.throughput.tokensPerSecond).toBe(basis.outputTokensPerSecond)
        expect(table).toMatch(cellPattern(formatNumber(basis.outputTokensPerSecond)))
        if (basis.energy.status !== 'missing') expect(table).toContain(energyText(basis.energy))
        const published = site.results.find((r) => r.runId === result.id)!.targets.find((x) => x.id === t.measurement.target)!
        const perMtok = t.owned?.totalPerMtok.amount ?? t.rental?.perMtok.amount ?? (t.hosted?.perMtokOutput ?? t.hosted?.perMtokTotal)?.amount
        expect(published.cost?.perMtok).toBe(perMtok)
        if (t.owned) {
          const chart = chartSpecs(results, {costs}).find((s) => s.id.startsWith('cost') && s.title.includes(c!.money))!
          const hardware = chart.config.data.datasets.find((d) => d.label === 'hardware (owned)')!.data as (number | null)[]
          expect(hardware).toContain(t.owned.amortizationPerMtok.amount)
        }
      }
    }
  }
})
