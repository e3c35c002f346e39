import {describe, expect, it} from 'vitest'
import {displayedValue, formatNumber} from '../../src/report/format.js'
import type {Board} from '../../src/site/entries.js'
import {indexPage} from '../../src/site/pages.js'

/** The leaderboard's data block, as the page's script reads it. */
function siteData(html: string): {s: string[]; b: unknown[][]} {
  const json = /<script type="application\/json" id="site-data">([\s\S]*?)<\/script>/.exec(html)![1]!
  return JSON.parse(json) as {s: string[]; b: unknown[][]}
}

const board = (figures: {tg: number; pp: number; ttftMs: number; perMtok: number; bw: number}): Board => ({
  id: 'b1',
  model: 'Qwen3-0.6B',
  quantization: 'Q8_0',
  modelHash: '0123456789ab',
  suite: 'owbench-quick 1.0.0',
  suiteSha: 'abcdefabcdef',
  tests: {tg: 'tg64', pp: 'pp512', ttft: 'chat'},
  groups: [
    {
      id: 'g1',
      board: 'b1',
      hardware: 'AMD EPYC (2 cores)',
      backend: 'CPU (prebuilt)',
      settings: 'threads 2, c1',
      entries: [],
      tg: figures.tg,
      pp: figures.pp,
      ttftMs: figures.ttftMs,
      cost: {perMtok: figures.perMtok, basis: 'owned', money: 'USD, 2025 dollars', n: 1},
      bandwidthPercent: figures.bw,
      latest: '2025-06-01',
      partial: 0,
      short: 0,
    },
  ],
})

describe('leaderboard numbers', () => {
  it('keeps the digits formatNumber shows, never a 4-significant-figure copy padded with zeros', () => {
    // The walkthrough's medians: 4 significant figures printed with 2 decimals read 263.80, 409.00, 4962.00, 4327.00.
    expect(displayedValue(263.8499)).toBe(263.85)
    expect(displayedValue(409.04)).toBe(409.04)
    expect(displayedValue(4962.27)).toBe(4962.27)
    expect(displayedValue(4326.65)).toBe(4326.65)
    expect(formatNumber(displayedValue(4962.27))).toBe('4962.27')
    // Below 1: three significant figures, as formatNumber.
    expect(displayedValue(0.0123456)).toBe(0.0123)
    expect(displayedValue(0.99996)).toBe(1)
    expect(displayedValue(Number.NaN)).toBeNaN()
  })

  it('formatting the stored value again gives the text of the full value, over magnitudes from 1e-6 to 1e7', () => {
    // A fixed linear congruential sequence: the same 20,000 values every run.
    let seed = 12345
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    for (let i = 0; i < 20_000; i++) {
      const x = (next() < 0.1 ? -1 : 1) * 10 ** (next() * 13 - 6)
      expect(formatNumber(displayedValue(x)), String(x)).toBe(formatNumber(x))
    }
  })

  it("stores a row's figures in the index page at the digits the board shows", () => {
    const html = indexPage([board({tg: 263.8499, pp: 4962.27, ttftMs: 409.04, perMtok: 4326.65, bw: 61.234})], [], {owbenchVersion: '0.1.0', results: 1})
    const row = (siteData(html).b[0]![9] as unknown[][])[0]!
    // id, hardware, backend, n, partial, TG, PP, TTFT, J, J note, cost, cost note, latest, settings, short, % BW
    expect([row[5], row[6], row[7], row[8], row[10], row[15]]).toEqual([263.85, 4962.27, 409.04, null, 4326.65, 61.23])
  })
})
