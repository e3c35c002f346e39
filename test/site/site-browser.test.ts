import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, readFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {type Browser, chromium, type Page} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {publishSite} from '../../src/site/publish.js'
import {repoRoot} from '../helpers/cli.js'
import {fixtureResult, resultDir, variantOf} from '../helpers/site-fixture.js'
import type {ResultFile} from '../../src/results/schema.js'
import type {SiteIndex} from '../../src/site/site-index.js'
import {formatNumber} from '../../src/report/format.js'

// Debian's chromium (.ci/run installs it). The site must work offline from file://: every other request is refused.
const CHROMIUM = process.env.OWBENCH_CHROMIUM ?? '/usr/bin/chromium'
let browser: Browser
let site: string

beforeAll(async () => {
  const [slow, fast] = await Promise.all([fixtureResult('quick-default-45w.json'), fixtureResult('quick-tiny-30w.json')])
  const dir = await resultDir({
    'slow.json': slow,
    'fast.json': fast,
    'slow-zen.json': withSpeedOfLight(variantOf(slow, {n: 1, cpuBrand: 'Ryzen 9 7950X', tgFactor: 3})),
    'slow-xeon.json': variantOf(slow, {n: 2, cpuBrand: 'Xeon w5-3435X', tgFactor: 0.5}),
    'slow-again.json': variantOf(slow, {n: 3, tgFactor: 1.1}),
    'broken.json': '{"schemaVersion": 1',
  })
  site = path.join(await mkdtemp(path.join(os.tmpdir(), 'owbench-site-browser-')), 'site')
  await publishSite({inputs: [dir], out: site, compare: [[{file: path.join(dir, 'slow.json')}, {file: path.join(dir, 'fast.json')}]]})
  if (existsSync(CHROMIUM)) browser = await chromium.launch({executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']})
}, 120_000)

/** The default model's bytes per token (test/model/bytes-per-token.test.ts) and an 80 GB/s probe: the result gets a % BW figure. */
function withSpeedOfLight(result: ResultFile): ResultFile {
  const target = result.targets[0] as Extract<ResultFile['targets'][number], {kind: 'local'}>
  return {
    ...result,
    host: {...result.host, memoryBandwidth: {probe: {triadGBs: 80, threads: 16, arrayMiB: 512, passes: 10, method: 'STREAM triad, Float64Array per worker thread, best pass'}, published: []}},
    targets: [{...target, model: {...target.model, bytesPerToken: {weightBytes: 29_559_328, tensorBytes: 31_787_008, kvBytesPerPosition: 16_384, layers: 8, method: 'every matrix once, one row per embedding table; KV cache F16'}}}],
  }
}

afterAll(async () => {
  await browser?.close()
})

async function open(url: string): Promise<{page: Page; problems: string[]}> {
  const context = await browser.newContext({offline: true, viewport: {width: 1300, height: 900}})
  await context.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()))
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`))
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`))
  await page.goto(url)
  await page.waitForLoadState('load')
  return {page, problems}
}

const column = (page: Page, board: string, col: number) => page.$$eval(`${board} tbody tr td:nth-child(${col})`, (cells) => cells.map((c) => c.textContent ?? ''))

describe.skipIf(!existsSync(CHROMIUM))('published site in headless Chromium', () => {
  it('the index loads offline, sorts by any column and filters', async () => {
    const {page, problems} = await open(pathToFileURL(path.join(site, 'index.html')).href)
    expect(await page.$$eval('section.board', (s) => s.length)).toBe(2)
    const board = 'section.board:has(h2:text("owbench-synthetic-default"))'
    // Ranked by generation speed, fastest first.
    const tg = async () => (await column(page, board, 6)).map(Number)
    expect((await tg()).length).toBe(3)
    expect(await tg()).toEqual([...(await tg())].sort((a, b) => b - a))
    expect(await column(page, board, 2)).toEqual(['AMD Ryzen 9 7950X (2 cores)', 'AMD EPYC (2 cores)', 'AMD Xeon w5-3435X (2 cores)'])
    await page.click(`${board} th[data-col="TG"]`)
    expect(await page.getAttribute(`${board} th[data-col="TG"]`, 'aria-sort')).toBe('ascending')
    expect(await tg()).toEqual([...(await tg())].sort((a, b) => a - b))
    await page.click(`${board} th[data-col="hardware"]`)
    expect(await column(page, board, 2)).toEqual(['AMD EPYC (2 cores)', 'AMD Ryzen 9 7950X (2 cores)', 'AMD Xeon w5-3435X (2 cores)'])
    expect(await column(page, board, 5)).toEqual(['2', '1', '1'])
    expect(await column(page, board, 4)).toEqual(Array(3).fill('threads 1, batch 512, ctx 512, fa off, ngl 0, llama.cpp v0.4.0, c1'))

    await page.fill('#q', 'ryzen')
    expect(await page.$$eval('section.board:not([hidden])', (s) => s.length)).toBe(1)
    expect(await column(page, board, 2)).toEqual(['AMD Ryzen 9 7950X (2 cores)'])
    expect(await page.textContent('#count')).toBe('1 rows in 1 boards')
    await page.fill('#q', '')
    await page.selectOption('#f-model', {label: 'owbench-synthetic-tiny F32'})
    expect(await page.$$eval('section.board:not([hidden]) h2', (h) => h.map((x) => x.textContent))).toEqual([expect.stringContaining('owbench-synthetic-tiny')])
    expect(problems).toEqual([])
    await page.selectOption('#f-model', '')
    // Every figure as the data says it, formatted as the report formats it: the full-precision
    // medians of results.json, never a rounded copy padded with zeros (4962.27, not 4962.00).
    const index = JSON.parse(await readFile(path.join(site, 'results.json'), 'utf8')) as SiteIndex
    const groups = index.boards.find((b) => b.model === 'owbench-synthetic-default')!.groups
    const shown = async (col: number) => page.$$eval(`${board} tbody tr`, (rows, c) => rows.map((r) => [r.getAttribute('data-group'), r.querySelector(`td:nth-child(${c})`)!.textContent] as [string | null, string | null]), col)
    const want = (pick: (g: (typeof groups)[number]) => number | undefined) => groups.map((g): [string, string] => [g.id, pick(g) === undefined ? '' : formatNumber(pick(g)!)])
    for (const [col, pick] of [[6, (g) => g.tg], [8, (g) => g.pp], [9, (g) => g.ttftMs]] as [number, (g: (typeof groups)[number]) => number | undefined][]) {
      expect(new Map(await shown(col))).toEqual(new Map(want(pick)))
    }
    expect(groups.map((g) => formatNumber(g.tg!))).not.toEqual(groups.map((g) => formatNumber(Number(g.tg!.toPrecision(4)))))
    const artifacts = path.join(repoRoot, 'test-artifacts')
    await mkdir(artifacts, {recursive: true})
    await page.selectOption('#f-model', '')
    await page.screenshot({path: path.join(artifacts, 'site-index.png'), fullPage: true})
  })

  it('every link from the index leads to a page that loads without error, and every result page is reachable', async () => {
    const start = pathToFileURL(path.join(site, 'index.html')).href
    const seen = new Set<string>([start])
    const queue = [start]
    const broken: string[] = []
    while (queue.length > 0) {
      const url = queue.shift()!
      if (!url.endsWith('.html')) {
        if (!existsSync(fileURLToPath(url))) broken.push(url)
        continue
      }
      if (!existsSync(fileURLToPath(url))) {
        broken.push(url)
        continue
      }
      const {page, problems} = await open(url)
      expect(problems, url).toEqual([])
      const links = await page.$$eval('a[href]', (as) => as.map((a) => (a as unknown as {href: string}).href))
      await page.context().close()
      for (const link of links) {
        const clean = link.split('#')[0]!
        expect(clean.startsWith('file://'), `${url} links outside the site: ${link}`).toBe(true)
        if (!seen.has(clean)) {
          seen.add(clean)
          queue.push(clean)
        }
      }
    }
    expect(broken).toEqual([])
    const pages = [...seen].map((u) => path.relative(site, fileURLToPath(u)))
    expect(pages.filter((p) => p.startsWith('results/') && p.endsWith('.html'))).toHaveLength(5)
    expect(pages.filter((p) => p.startsWith('groups/'))).toHaveLength(4)
    expect(pages.filter((p) => p.startsWith('compare/'))).toHaveLength(1)
    expect(pages.filter((p) => p.startsWith('frontiers/'))).toHaveLength(2)
    expect(pages).toContain('results.json')
  }, 180_000)

  it('shows % BW where a result has it, and each board links its frontier: a chart drawn with one legend entry per hardware group', async () => {
    const index = JSON.parse(await readFile(path.join(site, 'results.json'), 'utf8')) as SiteIndex
    const zen = index.results.flatMap((r) => r.targets).find((t) => t.hardware.includes('Ryzen'))!
    // tg64 of the default model at 3x the recorded speed: its bytes per token x t/s over 80 GB/s.
    expect(zen.bandwidth).toMatchObject({limitGBs: 80, limit: 'STREAM triad probe on 16 threads, measured', implausible: false})
    const {page, problems} = await open(pathToFileURL(path.join(site, 'index.html')).href)
    const board = 'section.board:has(h2:text("owbench-synthetic-default"))'
    expect(await page.textContent(`${board} th[data-col="% BW"]`)).toBe('% BW')
    expect(await column(page, board, 7)).toEqual([`${formatNumber(zen.bandwidth!.percent)}%`, '', ''])
    await page.click(`${board} h2 a.frontier`)
    await page.waitForLoadState('load')
    const chart = await page.$eval('canvas#frontier', (element) => {
      const c = element as unknown as {width: number; height: number; getContext(kind: '2d'): {getImageData(x: number, y: number, w: number, h: number): {data: Uint8ClampedArray}}}
      const {data} = c.getContext('2d').getImageData(0, 0, c.width, c.height)
      let painted = 0
      for (let i = 3; i < data.length; i += 4 * 13) if (data[i]! > 0) painted++
      const drawn = (globalThis as unknown as {Chart: {getChart(el: unknown): {legend: {legendItems: {text: string}[]}}}}).Chart.getChart(element)
      return {painted, legend: drawn.legend.legendItems.map((item) => item.text)}
    })
    expect(problems).toEqual([])
    expect(chart.painted).toBeGreaterThan(500)
    // One frontier per group; the EPYC group's two results at c1: the slower is off its frontier.
    expect(chart.legend.filter((l) => !l.endsWith(': off its frontier'))).toHaveLength(3)
    expect(chart.legend.filter((l) => l.endsWith(': off its frontier'))).toEqual([expect.stringMatching(/^AMD EPYC \(2 cores\) .* · c1: off its frontier$/)])
    // These results were measured at c1 alone: the series names that level, once, after its settings.
    expect(chart.legend).toEqual(expect.arrayContaining(['AMD Ryzen 9 7950X (2 cores) · CPU (local build) · threads 1, batch 512, ctx 512, fa off, ngl 0, llama.cpp v0.4.0 · c1']))
    await page.screenshot({path: path.join(repoRoot, 'test-artifacts', 'site-frontier.png'), fullPage: true})
  })
})
