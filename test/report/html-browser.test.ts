import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {loadImage} from '@napi-rs/canvas'
import {chromium} from 'playwright-core'
import {beforeAll, describe, expect, it} from 'vitest'
import {chartSpecs} from '../../src/report/charts.js'
import {exportHtml} from '../../src/report/html.js'
import {renderChartPng} from '../../src/report/png.js'
import {readResult} from '../../src/results/io.js'
import type {ResultFile} from '../../src/results/schema.js'
import {repoRoot} from '../helpers/cli.js'
import {answerOf, loadAnswerReferences} from '../../src/cost/answer.js'
import {costsOfResults} from '../../src/cost/report-costs.js'
import {wattsResult} from '../helpers/report-fixture.js'

// Debian's chromium (.ci/run installs it); the report must work offline: every request is refused.
const CHROMIUM = process.env.OWBENCH_CHROMIUM ?? '/usr/bin/chromium'
let result: ResultFile

beforeAll(async () => {
  result = await wattsResult()
})

describe('charts', () => {
  it('render to PNGs of the asked size with a white background and real content, at 1x and 2x', async () => {
    const specs = chartSpecs([result])
    expect(specs.map((s) => s.id.replace(/-[0-9a-f]{8}$/, ''))).toEqual(['throughput', 'latency', 'pareto-throughput', 'pareto-energy', 'energy', 'power'])
    for (const scale of [1, 2]) {
      const image = await loadImage(renderChartPng(specs[0]!, {width: 600, height: 300, scale}))
      expect([image.width, image.height]).toEqual([600 * scale, 300 * scale])
      const {createCanvas} = await import('@napi-rs/canvas')
      const canvas = createCanvas(image.width, image.height)
      const ctx = canvas.getContext('2d')
      ctx.drawImage(image, 0, 0)
      const pixels = ctx.getImageData(0, 0, image.width, image.height).data
      expect([pixels[0], pixels[1], pixels[2], pixels[3]]).toEqual([255, 255, 255, 255])
      const colors = new Set<number>()
      for (let i = 0; i < pixels.length; i += 4 * 97) colors.add((pixels[i]! << 16) | (pixels[i + 1]! << 8) | pixels[i + 2]!)
      expect(colors.size).toBeGreaterThan(10)
    }
  })
})

describe.skipIf(!existsSync(CHROMIUM))('HTML report in headless Chromium', () => {
  it('loads offline with no console error or failed request, and every chart canvas is drawn', async () => {
    const html = exportHtml([result], {png: (spec) => renderChartPng(spec)})
    expect(exportHtml([result], {png: (spec) => renderChartPng(spec)})).toBe(html)
    const dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-html-'))
    const file = path.join(dir, 'report.html')
    await writeFile(file, html)
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
    try {
      const context = await browser.newContext({offline: true, viewport: {width: 1200, height: 900}})
      const page = await context.newPage()
      const problems: string[] = []
      page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`))
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`))
      await context.route('**/*', (route) => (route.request().url().startsWith('file:') || route.request().url().startsWith('data:') ? route.continue() : route.abort()))
      await page.goto(`file://${file}`)
      await page.waitForLoadState('load')
      const drawn = await page.$$eval('canvas', (canvases) =>
        canvases.map((element) => {
          const c = element as unknown as {width: number; height: number; getContext(kind: '2d'): {getImageData(x: number, y: number, w: number, h: number): {data: Uint8ClampedArray}}}
          const {data} = c.getContext('2d').getImageData(0, 0, c.width, c.height)
          let painted = 0
          for (let i = 3; i < data.length; i += 4 * 13) if (data[i]! > 0) painted++
          return painted
        }),
      )
      expect(problems).toEqual([])
      expect(drawn).toHaveLength(6)
      for (const painted of drawn) expect(painted).toBeGreaterThan(500)
      expect(await page.textContent('table')).toContain('tg64')
      const artifacts = path.join(repoRoot, 'test-artifacts')
      await mkdir(artifacts, {recursive: true})
      await page.screenshot({path: path.join(artifacts, 'report.png'), fullPage: true})
    } finally {
      await browser.close()
    }
  })

  it('shows an endpoint run as derived: short rows marked, TTFA and reasoning, ITL per chunk, and the server table beside owbench', async () => {
    const endpoint = await readResult(path.join(repoRoot, 'fixtures', 'results', 'endpoint', 'endpoint-quirks-c1-c2.json'))
    const dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-html-'))
    const file = path.join(dir, 'report.html')
    await writeFile(file, exportHtml([endpoint]))
    const browser = await chromium.launch({executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking']})
    try {
      const page = await (await browser.newContext({offline: true})).newPage()
      await page.goto(`file://${file}`)
      const tables = await page.$$eval('table', (list) => list.map((t) => [...t.querySelectorAll('tr')].map((tr) => [...tr.querySelectorAll('th,td')].map((c) => (c.textContent ?? '').trim()))))
      const [main, server] = tables as [string[][], string[][]]
      const header = main[0]!
      const col = (name: string) => header.indexOf(name)
      const row = (target: string, test: string, load: string) => main.find((r) => r[0]!.startsWith(target) && r[3] === test && r[4] === load)!
      // The replayed Ollama stopped at 3 of 12 tokens: marked, and no t/s, TPOT or J/token as a tg12 figure.
      const short = row('llama3.2:1b', 'tg12 (short)', 'c1')
      expect(short[col('t/s mean ± sd (repetitions)')]).toBe('short: 3 of 12 tokens, finish_reason stop')
      expect(short[col('TPOT p50 ms (requests)')]).toBe('-')
      expect(short[col('J/token (boundary, method)')]).toMatch(/^missing \(outputs stopped before the tg12 length/)
      // The replayed reasoning model: 6 reasoning tokens of 8, the answer about 62 ms after the first token (the recording: 79.9 and 143.2 ms).
      const reasoning = row('gpt-oss-20b', 'chat8', 'c1')
      expect(Number(reasoning[col('TTFA p50 ms (requests)')]) - Number(reasoning[col('TTFT p50 / p95 ms (requests)')]!.split(' / ')[0])).toBeGreaterThan(50)
      expect(reasoning[col('reasoning tokens')]).toBe('75.00% (6.00 per request, usage)')
      expect(row('gpt-oss-20b', 'tg12', 'c1')[col('ITL p50 / p95 ms (gaps)')]).toMatch(/ \(ITL per chunk\)$/)
      // llama-server --metrics: its tokens predicted beside the tokens owbench received.
      expect(server[0]).toContain('generated tokens (server / owbench)')
      for (const r of server.slice(1)) {
        const [own, theirs] = r[server[0]!.indexOf('generated tokens (server / owbench)')]!.split(' / ')
        expect(own).toBe(theirs)
      }
      expect(await page.textContent('body')).toContain('ollama-replay: accepted ignore_eos but did not honour it (3 of 12 tokens, finish_reason "stop")')
    } finally {
      await browser.close()
    }
  })

  it('draws the Pareto charts of a sweep, a goodput search and a local run on the same axes, each with its legend, and opens with the answer', async () => {
    const dir = path.join(repoRoot, 'fixtures', 'results', 'sweep')
    // Home: a local run at 30 W with the machine's price; served: llama-server -np 8 swept, at a declared 30 W and rental price.
    const home = await readResult(path.join(repoRoot, 'fixtures', 'results', 'quick-tiny-30w.json'))
    const results = [await readResult(path.join(dir, 'llama-server-np8-concurrency-sweep.json')), await readResult(path.join(dir, 'llama-server-np8-rate-goodput.json')), home]
    const {costs} = await costsOfResults(results)
    const references = await loadAnswerReferences()
    const answers = results.map((r, i) => answerOf(r, costs[i], references))
    const out = await mkdtemp(path.join(os.tmpdir(), 'owbench-html-'))
    const file = path.join(out, 'report.html')
    await writeFile(file, exportHtml(results, {costs, energyReference: references.energyReference, answers}))
    const browser = await chromium.launch({executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking']})
    try {
      const page = await (await browser.newContext({offline: true, viewport: {width: 1200, height: 900}})).newPage()
      const problems: string[] = []
      page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`))
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
      await page.goto(`file://${file}`)
      await page.waitForLoadState('load')
      const charts = await page.$$eval('canvas[id^="chart-pareto"]', (canvases) =>
        canvases.map((element) => {
          const c = element as unknown as {id: string; width: number; height: number; getContext(kind: '2d'): {getImageData(x: number, y: number, w: number, h: number): {data: Uint8ClampedArray}}}
          const {data} = c.getContext('2d').getImageData(0, 0, c.width, c.height)
          let painted = 0
          for (let i = 3; i < data.length; i += 4 * 13) if (data[i]! > 0) painted++
          // Chart.js keeps the legend it drew on the chart object.
          const chart = (globalThis as unknown as {Chart: {getChart(el: unknown): {legend: {legendItems: {text: string}[]}}}}).Chart.getChart(element)
          return {id: c.id, painted, legend: chart.legend.legendItems.map((item) => item.text)}
        }),
      )
      expect(problems).toEqual([])
      expect(charts.map((c) => c.id)).toEqual(['chart-pareto-throughput', 'chart-pareto-energy', 'chart-pareto-cost'])
      for (const chart of charts) expect(chart.painted).toBeGreaterThan(500)
      const [speed, energy, cost] = charts
      // Home (the local run) and the server on the same axes, each named with its test.
      expect(speed!.legend).toEqual(expect.arrayContaining([expect.stringMatching(/^owbench-synthetic-tiny @ 127\.0\.0\.1:\d+ tg32 \(/), expect.stringMatching(/^owbench-synthetic-tiny tg64 \(/)]))
      // The published datacenter figures, their boundary in the legend.
      expect(energy!.legend).toContain('published: Llama-3.1-8B, 1x H100 by batch [gpu-board; ML.ENERGY leaderboard v3 data]')
      expect(energy!.legend.some((l) => l.includes('[wall, estimated]'))).toBe(true)
      expect(cost!.legend.some((l) => l.endsWith('[rental]'))).toBe(true)
      expect(cost!.legend.some((l) => /^owbench-synthetic-tiny tg64 .*\[owned: hardware \+ electricity\]$/.test(l))).toBe(true)
      const answer = await page.textContent('p.answer')
      expect(answer).toMatch(/^The answer first\. owbench-synthetic-tiny @ 127\.0\.0\.1:\d+ on tg32: generates [\d.]+ tokens\/s, [\d.]+ J per generated token \[wall, estimated\], [\d.]+ per million generated tokens \[USD, \d{4} dollars; rented by the hour\]/)
      await mkdir(path.join(repoRoot, 'test-artifacts'), {recursive: true})
      await page.screenshot({path: path.join(repoRoot, 'test-artifacts', 'pareto-report.png'), fullPage: true})
      // The sweep alone (its suite is not the home run's, so the mixed report has no concurrency chart):
      // requests in flight drawn as the levels measured, whole numbers only.
      const sweepFile = path.join(out, 'sweep.html')
      await writeFile(sweepFile, exportHtml([results[0]!]))
      await page.goto(`file://${sweepFile}`)
      await page.waitForLoadState('load')
      const ticks = await page.$eval('canvas#chart-concurrency', (element) => (globalThis as unknown as {Chart: {getChart(el: unknown): {scales: {x: {ticks: {label: string}[]}}}}}).Chart.getChart(element).scales.x.ticks.map((t) => String(t.label)))
      expect(ticks).toEqual(['1', '2', '4', '6', '8', '12', '16'])
      expect(problems).toEqual([])
    } finally {
      await browser.close()
    }
  })
})
