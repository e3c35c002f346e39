import {existsSync} from 'node:fs'
import {mkdir, mkdtemp} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {type Browser, chromium, type Page} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {publishSite} from '../../src/site/publish.js'
import {repoRoot} from '../helpers/cli.js'
import {fixtureResult, resultDir, variantOf} from '../helpers/site-fixture.js'

// Debian's chromium (.ci/run installs it). The site must work offline from file://: every other request is refused.
const CHROMIUM = process.env.OWBENCH_CHROMIUM ?? '/usr/bin/chromium'
let browser: Browser
let site: string

beforeAll(async () => {
  const [slow, fast] = await Promise.all([fixtureResult('quick-default-45w.json'), fixtureResult('quick-tiny-30w.json')])
  const dir = await resultDir({
    'slow.json': slow,
    'fast.json': fast,
    'slow-zen.json': variantOf(slow, {n: 1, cpuBrand: 'Ryzen 9 7950X', tgFactor: 3}),
    'slow-xeon.json': variantOf(slow, {n: 2, cpuBrand: 'Xeon w5-3435X', tgFactor: 0.5}),
    'slow-again.json': variantOf(slow, {n: 3, tgFactor: 1.1}),
    'broken.json': '{"schemaVersion": 1',
  })
  site = path.join(await mkdtemp(path.join(os.tmpdir(), 'owbench-site-browser-')), 'site')
  await publishSite({inputs: [dir], out: site, compare: [[{file: path.join(dir, 'slow.json')}, {file: path.join(dir, 'fast.json')}]]})
  if (existsSync(CHROMIUM)) browser = await chromium.launch({executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']})
}, 120_000)

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
    expect(pages).toContain('results.json')
  }, 180_000)
})
