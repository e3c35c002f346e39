import path from 'node:path'
import {UserError} from '../errors/errors.js'
import {parseCsv} from './csv-table.js'
import {money, parseCurrency} from './money.js'
import {DECIMAL, readDataText} from './reference-data.js'
import type {Conversion, CpiReading, Period} from '../results/cost-schema.js'
export type {Conversion, CpiReading, Period} from '../results/cost-schema.js'


export interface CpiSeries {
  /** `us`, `uk`, or the resolved path of the user's file. */
  id: string
  /** Short name printed next to results: `US CPI-U`. */
  name: string
  currency: string
  source: string
  annual: ReadonlyMap<number, number>
  years: {first: number; last: number}
  /** Only where a monthly series exists (US CPI-U). */
  monthly?: ReadonlyMap<string, number>
  months?: {first: string; last: string}
  /** Months inside the monthly range that were never published, with the reason. */
  missingMonths: ReadonlyMap<string, string>
}



interface BuiltinSeries {
  name: string
  currency: string
  source: string
  annualFile: string
  monthlyFile?: string
  missingMonths?: Record<string, string>
}

export const BUILTIN_CPI: Record<string, BuiltinSeries> = {
  us: {
    name: 'US CPI-U',
    currency: 'USD',
    source: 'BLS CPI-U, U.S. city average, all items, NSA (CUUR0000SA0), 1982-84=100; data/cpi-u-annual.csv, data/cpi-u-monthly.csv',
    annualFile: 'cpi-u-annual.csv',
    monthlyFile: 'cpi-u-monthly.csv',
    missingMonths: {'2025-10': 'BLS did not collect October 2025 CPI data (2025 lapse in appropriations)'},
  },
  uk: {
    name: 'UK CPI',
    currency: 'GBP',
    source: 'ONS CPI INDEX 00: ALL ITEMS (D7BT), 2015=100, annual; data/cpi-uk-annual.csv',
    annualFile: 'cpi-uk-annual.csv',
  },
}

const PERIOD = /^(\d{4})(?:-(\d{2}))?$/

/** `1995` or `1995-08`; `what` names the flag or field in the error. */
export function parsePeriod(input: string | number, what = 'year'): Period {
  const text = String(input).trim()
  const match = PERIOD.exec(text)
  const month = match?.[2] === undefined ? undefined : Number(match[2])
  if (!match || (month !== undefined && (month < 1 || month > 12))) {
    throw new UserError(`${what} "${text}" is not a year or a month`, 'write a year like 1995 or a month like 1995-08')
  }
  return month === undefined ? {year: Number(match[1]), text} : {year: Number(match[1]), month, text}
}

/**
 * `us`, `uk`, or the path of an annual CSV (`year,index`). A user file's currency defaults to USD;
 * pass `currency` for another.
 */
export async function loadCpiSeries(selector: string, options: {currency?: string} = {}): Promise<CpiSeries> {
  const currency = options.currency === undefined ? undefined : parseCurrency(options.currency)
  const builtin = BUILTIN_CPI[selector.toLowerCase()]
  if (builtin) {
    if (currency !== undefined && currency !== builtin.currency) {
      throw new UserError(`${builtin.name} measures prices in ${builtin.currency}, not ${currency}`, `drop the currency, or pass --cpi with a CPI file for ${currency}`)
    }
    const series = parseAnnualCpi(await readDataText(builtin.annualFile), `data/${builtin.annualFile}`)
    const result: CpiSeries = {id: selector.toLowerCase(), name: builtin.name, currency: builtin.currency, source: builtin.source, ...series, missingMonths: new Map(Object.entries(builtin.missingMonths ?? {}))}
    if (builtin.monthlyFile) {
      const monthly = parseMonthlyCpi(await readDataText(builtin.monthlyFile), `data/${builtin.monthlyFile}`, result.missingMonths)
      result.monthly = monthly.monthly
      result.months = monthly.months
    }
    return result
  }
  if (!/[/\\]|\.csv$/i.test(selector)) {
    throw new UserError(`unknown CPI series "${selector}"`, `use ${Object.keys(BUILTIN_CPI).join(' or ')}, or the path of a CSV file with year,index rows`)
  }
  const file = path.resolve(selector)
  const series = parseAnnualCpi(await readDataText(file, 'check the path passed to --cpi'), file)
  return {id: file, name: path.basename(file), currency: currency ?? 'USD', source: file, ...series, missingMonths: new Map()}
}

/**
 * An annual series: a header, then `year,index` rows. Rows may come in any order, but every year
 * from the first to the last must appear exactly once, since a missing year would silently make
 * a conversion impossible and a duplicate would make it ambiguous.
 */
export function parseAnnualCpi(text: string, origin: string): {annual: Map<number, number>; years: {first: number; last: number}} {
  const headerless = /^\uFEFF?\s*\d{4}\s*,/.test(text)
  const table = parseCsv(headerless ? `year,index\n${text}` : text, origin)
  if (table.header.length !== 2) throw new UserError(`${origin}: expected 2 columns (year,index), found ${table.header.length}`, 'write one "year,index" row per year')
  const lineOffset = headerless ? -1 : 0
  const rows = table.rows.map((row) => {
    const line = row.line + lineOffset
    const [yearText, valueText] = table.header.map((h) => row.cells[h]!.trim()) as [string, string]
    if (!/^\d{4}$/.test(yearText)) {
      const hint = /^\d{4}-\d{2}$/.test(yearText) ? 'CPI files passed with --cpi are annual: one "year,index" row per year' : 'the first column must be a four-digit year'
      throw new UserError(`${origin} line ${line}: "${yearText}" is not a year`, hint)
    }
    if (!DECIMAL.test(valueText)) throw new UserError(`${origin} line ${line}: CPI "${valueText}" for ${yearText} is not a number`, 'write the index as a plain decimal number, like 152.4')
    const value = Number(valueText)
    if (!(value > 0)) throw new UserError(`${origin} line ${line}: CPI for ${yearText} must be positive, not ${valueText}`, 'write the index value for that year')
    return {line, year: Number(yearText), value}
  })
  if (rows.length === 0) throw new UserError(`${origin} has no rows`, 'add one "year,index" row per year')
  const sorted = [...rows].sort((a, b) => a.year - b.year)
  const annual = new Map<number, number>()
  for (let i = 0; i < sorted.length; i++) {
    const row = sorted[i]!
    const before = sorted[i - 1]
    if (before && before.year === row.year) throw new UserError(`${origin} line ${row.line}: ${row.year} appears twice (also line ${before.line})`, 'keep one row per year')
    if (before && row.year !== before.year + 1) {
      const missing = before.year + 1 === row.year - 1 ? `${before.year + 1} is` : `${before.year + 1}-${row.year - 1} are`
      throw new UserError(`${origin} line ${row.line}: ${missing} missing between ${before.year} (line ${before.line}) and ${row.year}`, 'a CPI series needs every year from its first to its last')
    }
    annual.set(row.year, row.value)
  }
  return {annual, years: {first: sorted[0]!.year, last: sorted[sorted.length - 1]!.year}}
}

function parseMonthlyCpi(text: string, origin: string, missing: ReadonlyMap<string, string>): {monthly: Map<string, number>; months: {first: string; last: string}} {
  const table = parseCsv(text, origin)
  const monthly = new Map<string, number>()
  let previous: {key: string; index: number} | undefined
  for (const row of table.rows) {
    const [key, valueText] = table.header.map((h) => row.cells[h]!.trim()) as [string, string]
    const period = PERIOD.exec(key)
    if (!period?.[2] || !DECIMAL.test(valueText) || !(Number(valueText) > 0)) throw new UserError(`${origin} line ${row.line}: expected "YYYY-MM,index", got "${key},${valueText}"`, `restore ${origin} from the package`)
    const index = Number(period[1]) * 12 + Number(period[2]) - 1
    if (previous) {
      for (let gap = previous.index + 1; gap < index; gap++) {
        const gapKey = monthKey(Math.floor(gap / 12), (gap % 12) + 1)
        if (!missing.has(gapKey)) throw new UserError(`${origin} line ${row.line}: ${gapKey} is missing between ${previous.key} and ${key}`, `restore ${origin} from the package`)
      }
      if (index <= previous.index) throw new UserError(`${origin} line ${row.line}: ${key} is out of order or repeated`, `restore ${origin} from the package`)
    }
    monthly.set(key, Number(valueText))
    previous = {key, index}
  }
  const keys = [...monthly.keys()]
  if (keys.length === 0) throw new UserError(`${origin} has no rows`, `restore ${origin} from the package`)
  return {monthly, months: {first: keys[0]!, last: keys[keys.length - 1]!}}
}

function monthKey(year: number, month: number): string {
  return `${year}-${String(month).padStart(2, '0')}`
}

function rangeText(series: CpiSeries): string {
  const annual = `${series.years.first}-${series.years.last}`
  return series.months ? `years ${annual}, months ${series.months.first} to ${series.months.last}` : annual
}

/**
 * The index for a year (annual average) or a month. A month uses the monthly series where one
 * exists; otherwise it falls back to its year's average, and the reading says so.
 */
export function cpiFor(series: CpiSeries, period: Period): CpiReading {
  if (period.month !== undefined && series.monthly) {
    const value = series.monthly.get(period.text)
    if (value !== undefined) return {period, value, precision: 'monthly'}
    const reason = series.missingMonths.get(period.text)
    if (reason) throw new UserError(`${series.name} has no index for ${period.text}: ${reason}`, `use the year (${period.year}) for its annual average, or a neighbouring month`)
    throw outOfRange(series, period)
  }
  const value = series.annual.get(period.year)
  if (value === undefined) throw outOfRange(series, period)
  if (period.month === undefined) return {period, value, precision: 'annual'}
  return {period: {year: period.year, text: String(period.year)}, value, precision: 'annual', note: `${series.name} is annual: ${period.text} uses ${period.year}'s average`}
}

function outOfRange(series: CpiSeries, period: Period): UserError {
  return new UserError(`${period.text} is outside ${series.name} (${rangeText(series)})`, `pick a period within ${rangeText(series)}, or pass --cpi with a longer series`)
}

/** The default base: the newest year with an annual average. */
export function defaultBase(series: CpiSeries): Period {
  return {year: series.years.last, text: String(series.years.last)}
}

/**
 * `amount x CPI(to) / CPI(from)`: a price from one period in another period's money. `to` may be
 * before `from` (deflation). `to` defaults to the series' newest year.
 */
export function convertPrice(amount: number, from: Period, series: CpiSeries, to: Period = defaultBase(series)): Conversion {
  if (!Number.isFinite(amount)) throw new UserError(`amount ${amount} is not a number`, 'pass a plain number like 1000')
  const fromReading = cpiFor(series, from)
  const toReading = cpiFor(series, to)
  const factor = toReading.value / fromReading.value
  return {
    amount,
    from: fromReading,
    to: toReading,
    factor,
    // In the formula's order, so exact cases stay exact (50 x 110 / 100 = 55, not 55.00000000000001).
    result: money((amount * toReading.value) / fromReading.value, series.currency, toReading.period.text),
    series: {id: series.id, name: series.name, source: series.source},
  }
}

/**
 * For a dated reference price (a rental or API price list) newer than the series' last month: the
 * newest index stands in for it, and the note says so. User-given periods never get this.
 */
export function nearestCovered(series: CpiSeries, period: Period): {period: Period; note?: string} {
  const lastMonth = series.months?.last
  if (period.month !== undefined && lastMonth && period.text > lastMonth) {
    const [y, m] = lastMonth.split('-').map(Number) as [number, number]
    return {period: {year: y, month: m, text: lastMonth}, note: `${series.name} has no index for ${period.text} yet; the newest (${lastMonth}) stands in for it`}
  }
  if (period.month === undefined && period.year > series.years.last) {
    return {period: {year: series.years.last, text: String(series.years.last)}, note: `${series.name} has no annual average for ${period.year} yet; ${series.years.last}'s stands in for it`}
  }
  if (period.month !== undefined && !series.monthly && period.year > series.years.last) {
    return {period: {year: series.years.last, text: String(series.years.last)}, note: `${series.name} has no index for ${period.text} yet; ${series.years.last}'s annual average stands in for it`}
  }
  return {period}
}
