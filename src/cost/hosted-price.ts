import {z} from 'zod'
import {UserError} from '../errors/errors.js'
import {type CpiSeries, convertPrice, defaultBase, nearestCovered, type Period, parsePeriod} from './cpi.js'
import {assertTokenCounts, type TokenCounts} from './measurements.js'
import {money} from './money.js'
import {closeMatches, choiceHint} from '../errors/close-matches.js'
import {DECIMAL, dataFile, loadCsvRows} from './reference-data.js'
import type {HostedCost} from '../results/cost-schema.js'
export type {HostedCost} from '../results/cost-schema.js'

const HostedRow = z.object({
  provider: z.string().min(1),
  model: z.string().min(1),
  litellm_key: z.string().min(1),
  input_usd_per_mtok: z.string().regex(DECIMAL, 'expected a number').transform(Number).pipe(z.number().nonnegative()),
  output_usd_per_mtok: z.string().regex(DECIMAL, 'expected a number').transform(Number).pipe(z.number().nonnegative()),
  as_of: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD'),
  unchanged_since: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD'),
  source: z.string().min(1),
})
export type HostedPriceRow = z.output<typeof HostedRow> & {line: number}

export function loadHostedPrices(): Promise<HostedPriceRow[]> {
  return loadCsvRows('hosted-prices.csv', HostedRow)
}

/** List prices per million tokens, in the money of `period`. */
export interface HostedPrice {
  inputPerMtok: number
  outputPerMtok: number
  /** When the price list was read (`2026-07`); default: the base. */
  period?: string
  currency?: string
  source: string
  reference: boolean
}

export function givenHostedPrice(inputPerMtok: number, outputPerMtok: number, period?: string): HostedPrice {
  return {inputPerMtok, outputPerMtok, period, source: 'given', reference: false}
}

/** A row of data/hosted-prices.csv by its litellm key (`openrouter/openai/gpt-oss-20b`) or `provider/model`. */
export function referenceHostedPrice(rows: readonly HostedPriceRow[], key: string): HostedPrice {
  const wanted = key.trim().toLowerCase()
  const row = rows.find((r) => r.litellm_key.toLowerCase() === wanted || `${r.provider}/${r.model}`.toLowerCase() === wanted)
  if (!row) {
    const near = closeMatches(key, rows, (r) => [r.litellm_key, `${r.provider}/${r.model}`]).map((r) => r.litellm_key)
    throw new UserError(`no hosted price for "${key}"`, `${choiceHint(near, rows.map((r) => r.litellm_key), `the litellm_key column of ${dataFile('hosted-prices.csv')}`)}`)
  }
  return {
    inputPerMtok: row.input_usd_per_mtok,
    outputPerMtok: row.output_usd_per_mtok,
    period: row.as_of.slice(0, 7),
    currency: 'USD',
    source: `data/hosted-prices.csv line ${row.line}: ${row.provider} ${row.model}, as of ${row.as_of} (unchanged since ${row.unchanged_since}); ${row.source}`,
    reference: true,
  }
}


/**
 * Input and output prices blended by the workload's actual token counts. Both bases are given
 * because hosted prices are quoted per token of each kind while local throughput is usually per
 * generated token: compare like with like.
 */
export function hostedCost(price: HostedPrice, tokens: TokenCounts, series: CpiSeries, base: Period = defaultBase(series)): HostedCost {
  for (const [what, value] of [['input', price.inputPerMtok], ['output', price.outputPerMtok]] as const) {
    if (!(value >= 0) || !Number.isFinite(value)) throw new UserError(`hosted ${what} price must be zero or more per million tokens, not ${value}`, 'pass the list price per million tokens, e.g. 0.18')
  }
  assertTokenCounts(tokens)
  const currency = price.currency ?? series.currency
  if (currency !== series.currency) throw new UserError(`the hosted price is in ${currency} but ${series.name} is in ${series.currency}`, `pass the price in ${series.currency}, or a CPI series in ${currency} with --cpi`)
  const notes: string[] = []
  let period = base
  if (price.period !== undefined) {
    const stated = parsePeriod(price.period, 'hosted price date')
    const covered = price.reference ? nearestCovered(series, stated) : {period: stated}
    period = covered.period
    if (covered.note) notes.push(covered.note)
  }
  const input = convertPrice(price.inputPerMtok, period, series, base).result
  const output = convertPrice(price.outputPerMtok, period, series, base).result
  const spent = tokens.input * input.amount + tokens.output * output.amount
  return {
    input,
    output,
    tokens,
    perMtokTotal: money(spent / (tokens.input + tokens.output), currency, input.base),
    perMtokOutput: tokens.output > 0 ? money(spent / tokens.output, currency, input.base) : undefined,
    bases: {total: 'per million tokens (input + output)', output: 'per million output tokens, input cost included'},
    source: price.source,
    notes,
  }
}
