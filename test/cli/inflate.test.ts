import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import type {Inflation} from '../../src/cost/inflation.js'
import {owbench} from '../helpers/cli.js'

// Runs the built CLI: `npm test` builds first (pretest); alone, run `npx tsc -p tsconfig.build.json`.
describe('owbench inflate (built CLI)', () => {
  it('prints the one line: $1,000 in 1995 in 2025 dollars', async () => {
    // 1000 x 321.943 / 152.4 = 2112.49
    const run = await owbench(['inflate', '1000', '--from', '1995'])
    expect(run.code).toBe(0)
    expect(run.stdout).toBe('$1,000.00 in 1995 = $2,112.49 in 2025 dollars (US CPI-U: 152.4 -> 321.943)\n')
    expect(run.stderr).toBe('')
  })

  it('--json returns the conversion with its CPI readings, currency and base year', async () => {
    const run = await owbench(['inflate', '595', '--from', '1982', '--to', '2025', '--json'])
    expect(run.code).toBe(0)
    const result = JSON.parse(run.stdout) as Inflation
    // 595 x 321.943 / 96.5 = 1985.04
    expect(result.result.amount.toFixed(2)).toBe('1985.04')
    expect(result).toMatchObject({
      amount: 595,
      from: {period: {year: 1982, text: '1982'}, value: 96.5, precision: 'annual'},
      to: {period: {year: 2025, text: '2025'}, value: 321.943, precision: 'annual'},
      result: {currency: 'USD', base: '2025', label: 'USD, 2025 dollars'},
      series: {id: 'us', name: 'US CPI-U'},
      line: '$595.00 in 1982 = $1,985.04 in 2025 dollars (US CPI-U: 96.5 -> 321.943)',
    })
  })

  it('uses a month, the UK series and a user CSV', async () => {
    const monthly = await owbench(['inflate', '595', '--from', '1982-08'])
    expect(monthly.stdout).toBe('$595.00 in 1982-08 = $1,960.66 in 2025 dollars (US CPI-U: 97.7 (1982-08) -> 321.943 (2025))\n')
    const uk = await owbench(['inflate', '500', '--from', '2000', '--cpi', 'uk'])
    expect(uk.stdout).toBe('£500.00 in 2000 = £897.52 in 2023 pounds (UK CPI: 72.7 -> 130.5)\n')
    const dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-inflate-'))
    const file = path.join(dir, 'cpi.csv')
    await writeFile(file, 'year,index\n2000,100\n2001,110\n')
    const mine = await owbench(['inflate', '50', '--from', '2000', '--cpi', file, '--currency', 'CAD'])
    expect(mine.stdout).toBe('CA$50.00 in 2000 = CA$55.00 in 2001 Canadian dollars (cpi.csv: 100 -> 110)\n')
  })

  it.each([
    [['1000', '--from', '1900'], /^ +› +Error: 1900 is outside US CPI-U \(years 1913-2025, months 1913-01 to 2026-05\) — pick a period within years 1913-2025/],
    [['1000', '--from', '1995', '--to', '2030'], /^ +› +Error: 2030 is outside US CPI-U/],
    [['lots', '--from', '1995'], /^ +› +Error: amount "lots" is not a positive number — write it like 1000/],
    [['1000', '--from', '1995', '--cpi', 'eu'], /^ +› +Error: unknown CPI series "eu" — use us or uk/],
    [['1000', '--from', '95'], /^ +› +Error: --from "95" is not a year or a month — write a year like 1995/],
  ])('fails with one line and exit 2 for %j', async (args, message) => {
    const run = await owbench(['inflate', ...args])
    expect(run.code).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toMatch(message)
  })
})
