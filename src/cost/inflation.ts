import {UserError} from '../errors/errors.js'
import {type Conversion, type CpiReading, convertPrice, loadCpiSeries, parsePeriod} from './cpi.js'
import {formatMoney, unitName} from './money.js'

export interface InflateOptions {
  from: string
  /** Default: the series' newest year. */
  to?: string
  /** `us` (default), `uk`, or a CSV path. */
  cpi?: string
  /** For a CSV series; default USD. */
  currency?: string
}

export interface Inflation extends Conversion {
  /** `$1,000.00 in 1995 = $2,112.49 in 2025 dollars (US CPI-U: 152.4 -> 321.943)` */
  line: string
  notes: string[]
}

/** `1000`, `1,000`, `1999.99`: a positive amount of money. */
export function parseAmount(text: string): number {
  const trimmed = text.trim()
  if (!/^(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$/.test(trimmed)) throw new UserError(`amount "${text}" is not a positive number`, 'write it like 1000, 1,000 or 1999.99')
  const amount = Number(trimmed.replaceAll(',', ''))
  if (!(amount > 0)) throw new UserError(`amount must be positive, not ${text}`, 'pass the price to convert, like 1000')
  return amount
}

export async function inflate(amount: number, options: InflateOptions): Promise<Inflation> {
  const series = await loadCpiSeries(options.cpi ?? 'us', {currency: options.currency})
  const from = parsePeriod(options.from, '--from')
  const to = options.to === undefined ? undefined : parsePeriod(options.to, '--to')
  const conversion = convertPrice(amount, from, series, to)
  const notes = [conversion.from.note, conversion.to.note].filter((n): n is string => n !== undefined)
  return {...conversion, line: inflationLine(conversion, from.text), notes}
}

export function inflationLine(conversion: Conversion, asked: string = conversion.from.period.text): string {
  const {currency} = conversion.result
  const annual = conversion.from.precision === 'annual' && conversion.to.precision === 'annual'
  const reading = (r: CpiReading) => (annual ? String(r.value) : `${r.value} (${r.period.text})`)
  return `${formatMoney(conversion.amount, currency)} in ${asked} = ${formatMoney(conversion.result.amount, currency)} in ${conversion.result.base} ${unitName(currency)} (${conversion.series.name}: ${reading(conversion.from)} -> ${reading(conversion.to)})`
}
