import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {type CpiSeries, convertPrice, cpiFor, loadCpiSeries, nearestCovered, parseAnnualCpi, parsePeriod} from '../../src/cost/cpi.js'
import {findHardware, loadHardwareReference} from '../../src/cost/hardware-reference.js'
import {inflate, inflationLine, parseAmount} from '../../src/cost/inflation.js'
import {formatMoney, moneyLabel, parseCurrency} from '../../src/cost/money.js'
import {UserError} from '../../src/errors/errors.js'
import {rejectedUserError, thrownUserError} from '../helpers/user-error.js'


let us: CpiSeries
let dir: string

beforeAll(async () => {
  us = await loadCpiSeries('us')
  dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-cpi-'))
})

async function csv(name: string, text: string): Promise<string> {
  const file = path.join(dir, name)
  await writeFile(file, text)
  return file
}

describe('shipped CPI series', () => {
  it('holds the BLS values the hand-computed examples use', () => {
    expect(us.annual.get(1982)).toBe(96.5)
    expect(us.annual.get(1995)).toBe(152.4)
    expect(us.annual.get(2022)).toBe(292.655)
    expect(us.annual.get(2024)).toBe(313.689)
    expect(us.annual.get(2025)).toBe(321.943)
    expect(us.years).toEqual({first: 1913, last: 2025})
    expect(us.annual.size).toBe(113)
    expect(us.months).toEqual({first: '1913-01', last: '2026-05'})
    expect(us.monthly?.get('1982-08')).toBe(97.7)
    // 2025-10 was never published (2025 shutdown); the file skips it.
    expect(us.monthly?.has('2025-10')).toBe(false)
    expect(us.monthly?.size).toBe(1360)
    expect(us.currency).toBe('USD')
  })

  it('ships the UK series 1988-2023 in GBP', async () => {
    const uk = await loadCpiSeries('uk')
    expect(uk.years).toEqual({first: 1988, last: 2023})
    expect(uk.currency).toBe('GBP')
    expect(uk.monthly).toBeUndefined()
    expect(uk.annual.get(2015)).toBe(100)
  })

  it('the Commodore 64 row of hardware-reference.csv is $595 in 1982', async () => {
    const c64 = findHardware(await loadHardwareReference(), 'commodore 64')
    expect([c64.launch_price_usd, c64.launch_year]).toEqual([595, 1982])
  })
})

describe('converting prices by CPI', () => {
  it('$1,000 in 1995 is $2,112.49 in 2025 dollars', () => {
    // 1000 x 321.943 / 152.4 = 2112.4868... -> 2112.49
    const c = convertPrice(1000, parsePeriod('1995'), us)
    expect(c.result.amount.toFixed(2)).toBe('2112.49')
    expect(c.result.label).toBe('USD, 2025 dollars')
    expect([c.from.value, c.to.value]).toEqual([152.4, 321.943])
    expect(inflationLine(c)).toBe('$1,000.00 in 1995 = $2,112.49 in 2025 dollars (US CPI-U: 152.4 -> 321.943)')
  })

  it('a $595 Commodore 64 (1982) is $1,985.04 in 2025 dollars', () => {
    // 595 x 321.943 / 96.5 = 191556.085 / 96.5 = 1985.0371... -> 1985.04
    expect(convertPrice(595, parsePeriod(1982), us).result.amount.toFixed(2)).toBe('1985.04')
  })

  it('a month uses the monthly index: $595 in August 1982 is $1,960.66', () => {
    // 595 x 321.943 / 97.7 (1982-08) = 191556.085 / 97.7 = 1960.6559... -> 1960.66
    const c = convertPrice(595, parsePeriod('1982-08'), us)
    expect(c.from).toEqual({period: {year: 1982, month: 8, text: '1982-08'}, value: 97.7, precision: 'monthly'})
    expect(c.result.amount.toFixed(2)).toBe('1960.66')
    expect(inflationLine(c)).toBe('$595.00 in 1982-08 = $1,960.66 in 2025 dollars (US CPI-U: 97.7 (1982-08) -> 321.943 (2025))')
  })

  it('converts to a month too, and to a base before the purchase (deflation)', () => {
    // 1000 x 152.4 / 321.943 = 473.375... : 2025 money in 1995 dollars
    const back = convertPrice(1000, parsePeriod(2025), us, parsePeriod(1995))
    expect(back.factor).toBeLessThan(1)
    expect(back.result.amount.toFixed(2)).toBe('473.38')
    expect(back.result.label).toBe('USD, 1995 dollars')
    // 100 x 335.123 (2026-05) / 321.943 (2025) = 104.0938...
    expect(convertPrice(100, parsePeriod(2025), us, parsePeriod('2026-05')).result.amount.toFixed(2)).toBe('104.09')
  })

  it('a year outside the series is an error naming its range', () => {
    expect(thrownUserError(() => convertPrice(1, parsePeriod(1900), us)).message).toBe('1900 is outside US CPI-U (years 1913-2025, months 1913-01 to 2026-05)')
    expect(thrownUserError(() => convertPrice(1, parsePeriod(2026), us)).message).toMatch(/^2026 is outside US CPI-U/)
    expect(thrownUserError(() => cpiFor(us, parsePeriod('2026-06'))).message).toMatch(/^2026-06 is outside US CPI-U/)
  })

  it('the unpublished October 2025 says why', () => {
    expect(thrownUserError(() => cpiFor(us, parsePeriod('2025-10'))).message).toBe('US CPI-U has no index for 2025-10: BLS did not collect October 2025 CPI data (2025 lapse in appropriations)')
  })

  it('a month of an annual-only series reads its year and says so', async () => {
    const uk = await loadCpiSeries('uk')
    const reading = cpiFor(uk, parsePeriod('2000-05'))
    expect(reading).toMatchObject({value: 72.7, precision: 'annual', period: {text: '2000'}})
    expect(reading.note).toBe("UK CPI is annual: 2000-05 uses 2000's average")
  })

  it('a reference price newer than the series falls back to the newest index, with a note', () => {
    expect(nearestCovered(us, parsePeriod('2026-07'))).toEqual({period: {year: 2026, month: 5, text: '2026-05'}, note: 'US CPI-U has no index for 2026-07 yet; the newest (2026-05) stands in for it'})
    expect(nearestCovered(us, parsePeriod('2024-03')).note).toBeUndefined()
  })

  it('rejects malformed periods', () => {
    expect(thrownUserError(() => parsePeriod('95')).message).toBe('year "95" is not a year or a month')
    expect(thrownUserError(() => parsePeriod('1995-13', '--from')).message).toBe('--from "1995-13" is not a year or a month')
  })
})

describe('inflate (the library behind `owbench inflate`)', () => {
  it('defaults to US CPI-U and the newest year', async () => {
    const result = await inflate(1000, {from: '1995'})
    expect(result.line).toBe('$1,000.00 in 1995 = $2,112.49 in 2025 dollars (US CPI-U: 152.4 -> 321.943)')
    expect(result.notes).toEqual([])
  })

  it('uses the UK series in pounds', async () => {
    // 500 x 130.5 / 72.7 = 897.524...
    const result = await inflate(500, {from: '2000', cpi: 'uk'})
    expect(result.line).toBe('£500.00 in 2000 = £897.52 in 2023 pounds (UK CPI: 72.7 -> 130.5)')
  })

  it('parses amounts people type and rejects the rest', () => {
    expect(parseAmount('1,000')).toBe(1000)
    expect(parseAmount('1999.99')).toBe(1999.99)
    for (const bad of ['-5', '0', 'abc', '1,00', '']) expect(() => parseAmount(bad)).toThrow(UserError)
  })
})

describe('currencies', () => {
  it('accepts ISO 4217 codes and lists the data currencies otherwise', () => {
    expect(parseCurrency('usd')).toBe('USD')
    expect(parseCurrency('JPY')).toBe('JPY')
    const error = thrownUserError(() => parseCurrency('XYZ'))
    expect(error.message).toBe('unknown currency "XYZ"')
    expect(error.hint).toMatch(/USD, EUR, GBP/)
  })

  it('labels and formats money with its currency and base year', () => {
    expect(moneyLabel('USD', '2025')).toBe('USD, 2025 dollars')
    expect(moneyLabel('GBP', '2023')).toBe('GBP, 2023 pounds')
    expect(formatMoney(2112.4868, 'USD')).toBe('$2,112.49')
    expect(formatMoney(0.0123456, 'USD')).toBe('$0.0123')
  })

  it('refuses a currency that contradicts a shipped series, or an unknown one for a CSV', async () => {
    expect((await rejectedUserError(loadCpiSeries('us', {currency: 'GBP'}))).message).toBe('US CPI-U measures prices in USD, not GBP')
    const file = await csv('ok.csv', 'year,index\n2000,100\n2001,102\n')
    expect((await rejectedUserError(loadCpiSeries(file, {currency: 'XYZ'}))).message).toBe('unknown currency "XYZ"')
    expect((await loadCpiSeries(file, {currency: 'cad'})).currency).toBe('CAD')
  })
})

describe('a user CPI CSV', () => {
  it('loads in any row order, with or without a header, and converts', async () => {
    const file = await csv('mine.csv', 'year,index\n2002,110\n2000,100\n2001,105\n')
    const series = await loadCpiSeries(file)
    expect(series).toMatchObject({name: 'mine.csv', currency: 'USD', years: {first: 2000, last: 2002}})
    // 50 x 110 / 100 = 55
    expect(convertPrice(50, parsePeriod(2000), series).result).toEqual({amount: 55, currency: 'USD', base: '2002', label: 'USD, 2002 dollars'})
    const headerless = await loadCpiSeries(await csv('bare.csv', '2000,100\r\n2001,105\r\n'))
    expect(headerless.annual.get(2001)).toBe(105)
  })

  it.each([
    ['gap.csv', 'year,index\n1988,50\n1989,52\n1991,55\n', /gap\.csv line 4: 1990 is missing between 1989 \(line 3\) and 1991$/],
    ['gaps.csv', 'year,index\n1988,50\n1992,55\n', /gaps\.csv line 3: 1989-1991 are missing between 1988 \(line 2\) and 1992$/],
    ['text.csv', 'year,index\n1988,50\n1989,n/a\n', /text\.csv line 3: CPI "n\/a" for 1989 is not a number$/],
    ['comma.csv', 'year,index\n1988,"1,050"\n', /comma\.csv line 2: CPI "1,050" for 1988 is not a number$/],
    ['dupe.csv', 'year,index\n1988,50\n1989,52\n1988,51\n', /dupe\.csv line 4: 1988 appears twice \(also line 2\)$/],
    ['zero.csv', 'year,index\n1988,0\n', /zero\.csv line 2: CPI for 1988 must be positive, not 0$/],
    ['month.csv', 'month,index\n1988-01,50\n', /month\.csv line 2: "1988-01" is not a year$/],
    ['cols.csv', 'year,index,note\n1988,50,x\n', /cols\.csv: expected 2 columns \(year,index\), found 3$/],
    ['short.csv', 'year,index\n1988\n', /short\.csv line 2: 1 cells where the header has 2$/],
    ['empty.csv', '', /empty\.csv is empty$/],
    ['header.csv', 'year,index\n', /header\.csv has no rows$/],
  ])('%s is refused with the row named', async (name, text, message) => {
    const error = await rejectedUserError(loadCpiSeries(await csv(name, text)))
    expect(error.message).toMatch(message)
    expect(error.hint).toBeTruthy()
  })

  it('an unknown series name lists the shipped ones', async () => {
    const error = await rejectedUserError(loadCpiSeries('eu'))
    expect(error.message).toBe('unknown CPI series "eu"')
    expect(error.hint).toMatch(/^use us or uk/)
  })

  it('parseAnnualCpi keeps full precision', () => {
    expect(parseAnnualCpi('year,v\n2007,207.342\n', 'x').annual.get(2007)).toBe(207.342)
  })
})
