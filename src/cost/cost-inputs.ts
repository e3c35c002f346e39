import type {z} from 'zod'
import {CostFlagsSchema} from '../results/schema.js'
import {UserError} from '../errors/errors.js'
import {loadGridData, gridIntensity} from './carbon.js'
import {defaultBase, loadCpiSeries, parsePeriod} from './cpi.js'
import {loadElectricityPrices, resolveTariff} from './electricity.js'
import {loadEnergyReference} from './hosted-energy.js'
import {loadHostedPrices, referenceHostedPrice} from './hosted-price.js'
import {loadGpuRentalPrices, givenRentalPrice, referenceRentalPrice} from './rented-gpu.js'
import type {CostInputs} from './result-costs.js'

export type CostFlags = z.infer<typeof CostFlagsSchema>

export const COST_DEFAULTS = {cpi: 'us', lifetime: 4, hoursPerDay: 8, region: 'US'} as const

/** Turns the flags into priced inputs: CPI series, tariff, rental, hosted and grid references. */
export async function resolveCostInputs(given: CostFlags): Promise<CostInputs> {
  const flags = {...COST_DEFAULTS, ...given}
  const series = await loadCpiSeries(flags.cpi)
  const base = flags.baseYear ? parsePeriod(flags.baseYear, '--base-year') : defaultBase(series)
  const inputs: CostInputs = {series, base}
  if (flags.price !== undefined) {
    if (!flags.purchased) throw new UserError('--price needs --purchased', 'give the year or month of purchase, e.g. --purchased 2024 or --purchased 2024-03')
    inputs.owned = {price: flags.price, purchased: flags.purchased, lifetimeYears: flags.lifetime, hoursPerDay: flags.hoursPerDay}
    if (flags.resale !== undefined) inputs.owned.resale = flags.resale
  }
  inputs.tariff = resolveTariff(flags.tariff !== undefined ? {pricePerKwh: flags.tariff, period: flags.tariffYear} : {region: flags.region}, series, base, await loadElectricityPrices())
  if (flags.rentPerHour !== undefined) inputs.rental = givenRentalPrice(flags.rentPerHour)
  else if (flags.rent) {
    const [provider, gpu] = flags.rent.split(':')
    if (!provider || !gpu) throw new UserError(`--rent "${flags.rent}" is not PROVIDER:GPU`, 'for example --rent "Lambda:H100 80GB PCIe", or give --rent-per-hour')
    inputs.rental = referenceRentalPrice(await loadGpuRentalPrices(), {provider, gpu})
  }
  if (flags.hosted) inputs.hosted = referenceHostedPrice(await loadHostedPrices(), flags.hosted)
  if (flags.grid) inputs.grid = gridIntensity(flags.grid, await loadGridData())
  if (flags.tokensPerMonth !== undefined) inputs.tokensPerMonth = flags.tokensPerMonth
  inputs.energyReference = await loadEnergyReference()
  return inputs
}
