import {z} from 'zod'
import {UserError} from '../errors/errors.js'
import {type CpiSeries, convertPrice, type Period, parsePeriod} from './cpi.js'
import {money} from './money.js'
import type {EnergyPerToken} from './measurements.js'
import {DECIMAL, loadCsvRows} from './reference-data.js'
import type {ElectricityCost, Tariff} from '../results/cost-schema.js'
export type {ElectricityCost, Tariff} from '../results/cost-schema.js'

const ElectricityRow = z.object({
  region: z.string().min(1),
  year: z.string().regex(/^\d{4}$/, 'expected a year').transform(Number),
  price_per_kwh: z.string().regex(DECIMAL, 'expected a number').transform(Number).pipe(z.number().positive()),
  currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code'),
  source: z.string().min(1),
})
export type ElectricityPriceRow = z.output<typeof ElectricityRow> & {line: number}

export function loadElectricityPrices(): Promise<ElectricityPriceRow[]> {
  return loadCsvRows('electricity-prices.csv', ElectricityRow)
}

/** A tariff either given by the user or taken from data/, with where it came from. */
export interface TariffInput {
  /** Price per kWh in the series' currency. */
  pricePerKwh?: number
  /** The year or month the given price is from; default: the base period (today's tariff). */
  period?: string
  /** A region of data/electricity-prices.csv (`US`, `DE`, ...): its newest year is used. */
  region?: string
}


/**
 * A user-given price, or a region's newest published residential price, CPI-adjusted to the base.
 * A regional price in another currency than the CPI series is refused: owbench ships no exchange
 * rates, and a silent conversion would put a guess into every figure after it.
 */
export function resolveTariff(input: TariffInput, series: CpiSeries, base: Period, rows: readonly ElectricityPriceRow[]): Tariff {
  if (input.pricePerKwh !== undefined) {
    if (!(input.pricePerKwh > 0) || !Number.isFinite(input.pricePerKwh)) throw new UserError(`electricity tariff must be a positive price per kWh, not ${input.pricePerKwh}`, 'pass the price of one kWh, e.g. 0.16')
    const period = input.period === undefined ? base : parsePeriod(input.period, 'tariff period')
    const conversion = convertPrice(input.pricePerKwh, period, series, base)
    return {perKwh: conversion.result, nominal: {pricePerKwh: input.pricePerKwh, currency: series.currency, period: period.text}, source: 'given', cpiFactor: conversion.factor}
  }
  const regions = [...new Set(rows.map((r) => r.region))]
  const region = input.region?.trim().toUpperCase()
  if (!region) throw new UserError('no electricity tariff given', `pass a price per kWh, or a region of data/electricity-prices.csv: ${regions.join(', ')}`)
  const candidates = rows.filter((r) => r.region.toUpperCase() === region)
  if (candidates.length === 0) throw new UserError(`unknown electricity region "${input.region}"`, `use one of ${regions.join(', ')}, or pass a price per kWh`)
  const newest = candidates.reduce((a, b) => (b.year > a.year ? b : a))
  if (newest.currency !== series.currency) {
    throw new UserError(`the ${newest.region} tariff is in ${newest.currency}, but costs are computed in ${series.currency} (${series.name})`, `pass a tariff in ${series.currency}, or a CPI series in ${newest.currency} with --cpi`)
  }
  const conversion = convertPrice(newest.price_per_kwh, {year: newest.year, text: String(newest.year)}, series, base)
  return {
    perKwh: conversion.result,
    nominal: {pricePerKwh: newest.price_per_kwh, currency: newest.currency, period: String(newest.year)},
    source: `data/electricity-prices.csv line ${newest.line}: ${newest.region} ${newest.year}, ${newest.source}`,
    cpiFactor: conversion.factor,
  }
}

/** kWh per million tokens = J/token x 1e6 / 3.6e6. */
export function kwhPerMtok(joulesPerToken: number): number {
  if (!(joulesPerToken >= 0) || !Number.isFinite(joulesPerToken)) throw new UserError(`energy per token must be zero or more joules, not ${joulesPerToken}`, 'pass the measured J/token')
  return (joulesPerToken * 1e6) / 3.6e6
}


export function electricityCost(energy: EnergyPerToken, tariff: Tariff): ElectricityCost {
  const kwh = kwhPerMtok(energy.joulesPerToken)
  return {kwhPerMtok: kwh, perMtok: money(kwh * tariff.perKwh.amount, tariff.perKwh.currency, tariff.perKwh.base), energy, tariff}
}
