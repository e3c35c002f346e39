import {UserError} from '../errors/errors.js'
import {type Conversion, type CpiSeries, convertPrice, defaultBase, type Period, parsePeriod} from './cpi.js'
import {type ElectricityCost, electricityCost, type Tariff} from './electricity.js'
import {assertSameBasis, assertThroughput, basisLabel, type EnergyPerToken, type Throughput} from './measurements.js'
import {money} from './money.js'
import type {OwnedHardwareCost} from '../results/cost-schema.js'
export type {OwnedHardwareCost} from '../results/cost-schema.js'

export const HOURS_PER_YEAR = 8760

export interface OwnedHardwareInput {
  /** Purchase price, in the money of `purchased`. */
  price: number
  /** Year or month of purchase: `2022` or `2022-10`. */
  purchased: string | number
  lifetimeYears: number
  /** Hours a day the machine spends generating: 0 < h <= 24. */
  hoursPerDay: number
  /** What it sells for at the end of its lifetime. */
  resale?: number
  /** The period whose money `resale` is in; default: the base (a price you would get today). */
  resalePeriod?: string | number
  throughput: Throughput
  /** Measured energy per token; omitted, the cost is amortization alone and says so. */
  energy?: EnergyPerToken
  tariff?: Tariff
}


/**
 * `$/h = (price_base - resale_base) / (years x 8760 x h/24)`, then `$/Mtok = ($/h) / (tokens per
 * hour / 1e6)`; electricity adds `kWh/Mtok x tariff`. Amortizing over generating hours alone
 * charges idle time to the tokens made, which is what owning a machine costs per token.
 */
export function ownedHardwareCost(input: OwnedHardwareInput, series: CpiSeries, base: Period = defaultBase(series)): OwnedHardwareCost {
  positive(input.price, 'purchase price', 'pass what the machine cost, e.g. 1999')
  positive(input.lifetimeYears, 'lifetime', 'pass the years you expect to use it, e.g. 4')
  if (!(input.hoursPerDay > 0 && input.hoursPerDay <= 24)) {
    throw new UserError(`utilization must be more than 0 and at most 24 hours a day, not ${input.hoursPerDay}`, 'pass the hours a day the machine spends generating, e.g. 8')
  }
  assertThroughput(input.throughput)
  const purchase = convertPrice(input.price, parsePeriod(input.purchased, 'purchase date'), series, base)
  let resale: Conversion | undefined
  if (input.resale !== undefined) {
    if (!(input.resale >= 0) || !Number.isFinite(input.resale)) throw new UserError(`resale value must be zero or more, not ${input.resale}`, 'pass what the machine will sell for, or leave it out')
    resale = convertPrice(input.resale, input.resalePeriod === undefined ? base : parsePeriod(input.resalePeriod, 'resale date'), series, base)
    if (resale.result.amount >= purchase.result.amount) {
      throw new UserError(`resale value (${resale.result.amount.toFixed(2)}) is not below the purchase price (${purchase.result.amount.toFixed(2)}, ${purchase.result.label})`, 'a machine that sells for what it cost has no cost to amortize; check both figures')
    }
  }
  const net = purchase.result.amount - (resale?.result.amount ?? 0)
  const utilization = input.hoursPerDay / 24
  const generatingHours = input.lifetimeYears * HOURS_PER_YEAR * utilization
  const perHour = net / generatingHours
  const tokensPerHour = input.throughput.tokensPerSecond * 3600
  const amortizationPerMtok = perHour / (tokensPerHour / 1e6)
  const {currency, base: baseText} = purchase.result
  const notes: string[] = []
  let electricity: ElectricityCost | undefined
  if (input.energy) {
    assertSameBasis(input.throughput, input.energy)
    if (!input.tariff) throw new UserError('energy per token was given without an electricity tariff', 'pass a price per kWh or a region')
    if (input.tariff.perKwh.currency !== currency || input.tariff.perKwh.base !== baseText) {
      throw new UserError(`the tariff is in ${input.tariff.perKwh.label} but the hardware cost is in ${purchase.result.label}`, 'convert both with the same CPI series and base year')
    }
    electricity = electricityCost(input.energy, input.tariff)
  } else {
    notes.push('no energy measurement: electricity is not included')
  }
  return {
    purchase,
    resale,
    netPrice: money(net, currency, baseText),
    lifetimeYears: input.lifetimeYears,
    hoursPerDay: input.hoursPerDay,
    utilization,
    generatingHours,
    perHour: money(perHour, currency, baseText),
    tokensPerHour,
    amortizationPerMtok: money(amortizationPerMtok, currency, baseText),
    electricity,
    totalPerMtok: money(amortizationPerMtok + (electricity?.perMtok.amount ?? 0), currency, baseText),
    per: input.throughput.per,
    basis: basisLabel(input.throughput.per),
    throughput: input.throughput,
    notes,
  }
}

function positive(value: number, what: string, hint: string): void {
  if (!(value > 0) || !Number.isFinite(value)) throw new UserError(`${what} must be a positive number, not ${value}`, hint)
}
