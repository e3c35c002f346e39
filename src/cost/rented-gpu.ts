import {z} from 'zod'
import {UserError} from '../errors/errors.js'
import {type CpiSeries, convertPrice, defaultBase, nearestCovered, type Period, parsePeriod} from './cpi.js'
import {assertThroughput, basisLabel, type Throughput} from './measurements.js'
import {closeMatches, choiceHint} from '../errors/close-matches.js'
import {DECIMAL, dataFile, loadCsvRows} from './reference-data.js'
import type {RentedGpuCost} from '../results/cost-schema.js'
export type {RentedGpuCost} from '../results/cost-schema.js'

const RentalRow = z.object({
  provider: z.string().min(1),
  gpu: z.string().min(1),
  instance_type: z.string().min(1),
  gpu_count: z.string().regex(/^\d+$/, 'expected a whole number').transform(Number).pipe(z.number().int().positive()),
  usd_per_hour: z.string().regex(DECIMAL, 'expected a number').transform(Number).pipe(z.number().positive()),
  usd_per_gpu_hour: z.string().regex(DECIMAL, 'expected a number').transform(Number).pipe(z.number().positive()),
  pricing: z.string().min(1),
  date: z.string().min(1),
  source: z.string().min(1),
})
export type GpuRentalRow = z.output<typeof RentalRow> & {line: number}

export function loadGpuRentalPrices(): Promise<GpuRentalRow[]> {
  return loadCsvRows('gpu-rental-prices.csv', RentalRow)
}

export interface RentalPrice {
  /** Price per hour of what was measured (per GPU-hour x GPUs), in the money of `period`. */
  perHour: number
  /** The date of the price (`2026-05`), or undefined when the source is undated. */
  period?: string
  source: string
  gpus: number
  /** A row of data/: a date past the CPI series' end falls back to its newest index (with a note). */
  reference: boolean
}

/** A price the user states; `period` defaults to the base (a price paid today). */
export function givenRentalPrice(perHour: number, period?: string): RentalPrice {
  return {perHour, period, source: 'given', gpus: 1, reference: false}
}

/**
 * A reference row by provider and GPU, e.g. `Lambda` + `H100 80GB PCIe`: dated rows win over
 * undated catalog rows (the catalog predates a price change), then the newest date; on-demand
 * wins over spot unless `pricing` says otherwise.
 */
export function referenceRentalPrice(rows: readonly GpuRentalRow[], query: {provider: string; gpu: string; pricing?: string; gpus?: number}): RentalPrice {
  const gpus = query.gpus ?? 1
  if (!(Number.isInteger(gpus) && gpus > 0)) throw new UserError(`GPU count must be a whole number above 0, not ${gpus}`, 'pass how many GPUs the measurement used')
  const same = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase()
  const byProvider = rows.filter((r) => same(r.provider, query.provider))
  if (byProvider.length === 0) {
    const providers = [...new Set(rows.map((r) => r.provider))]
    throw new UserError(`no rental prices for provider "${query.provider}"`, `${choiceHint(closeMatches(query.provider, providers, (p) => [p]), providers, dataFile('gpu-rental-prices.csv'))}, or pass a price per hour`)
  }
  let matches = byProvider.filter((r) => same(r.gpu, query.gpu))
  if (matches.length === 0) {
    const gpus = [...new Set(byProvider.map((r) => r.gpu))]
    throw new UserError(`no ${byProvider[0]!.provider} rental price for GPU "${query.gpu}"`, `${choiceHint(closeMatches(query.gpu, gpus, (g) => [g]), gpus, dataFile('gpu-rental-prices.csv'))}, or pass a price per hour`)
  }
  const wanted = query.pricing?.toLowerCase() ?? 'on-demand'
  const priced = matches.filter((r) => r.pricing.toLowerCase().startsWith(wanted))
  if (priced.length === 0) throw new UserError(`no ${query.pricing} price for ${matches[0]!.provider} ${matches[0]!.gpu}`, `use one of ${[...new Set(matches.map((r) => r.pricing))].join('; ')}`)
  matches = priced
  const dated = matches.filter((r) => /^\d{4}-\d{2}-\d{2}$/.test(r.date)).sort((a, b) => b.date.localeCompare(a.date))
  const row = dated[0] ?? matches[0]!
  const isDated = row === dated[0]
  return {
    perHour: row.usd_per_gpu_hour * gpus,
    period: isDated ? row.date.slice(0, 7) : undefined,
    source: `data/gpu-rental-prices.csv line ${row.line}: ${row.provider} ${row.gpu} ${row.pricing}, $${row.usd_per_gpu_hour}/GPU-hour x ${gpus} GPU, ${isDated ? `dated ${row.date}` : row.date}; ${row.source}`,
    gpus,
    reference: true,
  }
}

export interface RentedGpuInput {
  /** Given by the user, or from `referenceRentalPrice`. */
  price: RentalPrice
  /** Currency of the price: rental reference rows are in USD. */
  currency?: string
  throughput: Throughput
}


/** `$/Mtok = ($/h) / (tok/s x 3600 / 1e6)`, with the hourly price in base-period money. */
export function rentedGpuCost(input: RentedGpuInput, series: CpiSeries, base: Period = defaultBase(series)): RentedGpuCost {
  if (!(input.price.perHour > 0) || !Number.isFinite(input.price.perHour)) throw new UserError(`rental price must be a positive price per hour, not ${input.price.perHour}`, 'pass the hourly price of the GPU(s) measured, e.g. 2.49')
  assertThroughput(input.throughput)
  const currency = input.currency ?? series.currency
  if (currency !== series.currency) throw new UserError(`the rental price is in ${currency} but ${series.name} is in ${series.currency}`, `pass the price in ${series.currency}, or a CPI series in ${currency} with --cpi`)
  const notes: string[] = []
  let period = base
  if (input.price.period === undefined) {
    if (input.price.reference) notes.push(`undated price: taken as ${base.text} money`)
  } else {
    const stated = parsePeriod(input.price.period, 'rental price date')
    const covered = input.price.reference ? nearestCovered(series, stated) : {period: stated}
    period = covered.period
    if (covered.note) notes.push(covered.note)
  }
  const conversion = convertPrice(input.price.perHour, period, series, base)
  const tokensPerHour = input.throughput.tokensPerSecond * 3600
  const perMtok = conversion.result.amount / (tokensPerHour / 1e6)
  return {
    perHour: conversion.result,
    nominalPerHour: input.price.perHour,
    tokensPerHour,
    perMtok: {...conversion.result, amount: perMtok},
    per: input.throughput.per,
    basis: basisLabel(input.throughput.per),
    source: input.price.source,
    notes,
  }
}
