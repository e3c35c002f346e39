import {beforeAll, describe, expect, it} from 'vitest'
import {breakEven} from '../../src/cost/break-even.js'
import {type CpiSeries, loadCpiSeries, parsePeriod} from '../../src/cost/cpi.js'
import {type ElectricityPriceRow, electricityCost, kwhPerMtok, loadElectricityPrices, resolveTariff} from '../../src/cost/electricity.js'
import {givenHostedPrice, hostedCost, type HostedPriceRow, loadHostedPrices, referenceHostedPrice} from '../../src/cost/hosted-price.js'
import {type EnergyPerToken, workloadThroughput} from '../../src/cost/measurements.js'
import {type OwnedHardwareInput, ownedHardwareCost} from '../../src/cost/owned-hardware.js'
import {givenRentalPrice, type GpuRentalRow, loadGpuRentalPrices, referenceRentalPrice, rentedGpuCost} from '../../src/cost/rented-gpu.js'
import {thrownUserError} from '../helpers/user-error.js'


let us: CpiSeries
let tariffs: ElectricityPriceRow[]
let rentals: GpuRentalRow[]
let hosted: HostedPriceRow[]
const base = parsePeriod(2025)

beforeAll(async () => {
  us = await loadCpiSeries('us')
  tariffs = await loadElectricityPrices()
  rentals = await loadGpuRentalPrices()
  hosted = await loadHostedPrices()
})

// 3.6 J per output token, measured at the wall: 3.6 x 1e6 / 3.6e6 = 1 kWh per Mtok.
const wall: EnergyPerToken = {joulesPerToken: 3.6, per: 'output', boundary: 'wall', method: 'measured'}

function simpleBox(): OwnedHardwareInput {
  return {
    price: 2000,
    purchased: 2025,
    lifetimeYears: 4,
    hoursPerDay: 12,
    throughput: {tokensPerSecond: 50, per: 'output'},
    energy: wall,
    tariff: resolveTariff({pricePerKwh: 0.2}, us, base, tariffs),
  }
}

describe('electricity', () => {
  it('kWh per Mtok = J/token x 1e6 / 3.6e6', () => {
    expect(kwhPerMtok(3.6)).toBe(1)
    expect(kwhPerMtok(1.8)).toBe(0.5)
  })

  it('a regional default is the newest year, CPI-adjusted to the base', () => {
    // US 2024: 0.1648 $/kWh x 321.943 / 313.689 = 0.169136... 2025 dollars
    const tariff = resolveTariff({region: 'us'}, us, base, tariffs)
    expect(tariff.nominal).toEqual({pricePerKwh: 0.1648, currency: 'USD', period: '2024'})
    expect(tariff.perKwh.amount).toBeCloseTo(0.169136, 6)
    expect(tariff.perKwh.label).toBe('USD, 2025 dollars')
    expect(tariff.source).toMatch(/^data\/electricity-prices\.csv line 10: US 2024, EIA/)
    // 1.8 J/token = 0.5 kWh/Mtok x 0.169136 = 0.084568 $/Mtok
    expect(electricityCost({...wall, joulesPerToken: 1.8}, tariff).perMtok.amount).toBeCloseTo(0.084568, 6)
  })

  it('a given tariff with a year is CPI-adjusted; without one it is base-year money', () => {
    // 0.15 in 2022 -> 0.15 x 321.943 / 292.655 = 0.1650115
    expect(resolveTariff({pricePerKwh: 0.15, period: '2022'}, us, base, tariffs).perKwh.amount).toBeCloseTo(0.1650115, 7)
    expect(resolveTariff({pricePerKwh: 0.15}, us, base, tariffs).cpiFactor).toBe(1)
  })

  it('an unknown region lists the valid ones; a EUR tariff is refused under US CPI', () => {
    const unknown = thrownUserError(() => resolveTariff({region: 'XX'}, us, base, tariffs))
    expect(unknown.message).toBe('unknown electricity region "XX"')
    expect(unknown.hint).toBe('use one of US, DE, FR, IT, EU27, or pass a price per kWh')
    expect(thrownUserError(() => resolveTariff({region: 'DE'}, us, base, tariffs)).message).toBe('the DE tariff is in EUR, but costs are computed in USD (US CPI-U)')
    expect(thrownUserError(() => resolveTariff({pricePerKwh: 0}, us, base, tariffs)).message).toMatch(/^electricity tariff must be a positive price per kWh/)
    expect(thrownUserError(() => resolveTariff({}, us, base, tariffs)).hint).toMatch(/US, DE, FR, IT, EU27/)
  })
})

describe('owned hardware', () => {
  it('amortizes over generating hours and adds electricity', () => {
    // $2,000 bought in 2025, base 2025: no CPI change.
    // hours = 4 years x 8760 x 12/24 = 17,520; $/h = 2000 / 17520 = 0.114155
    // tokens/h = 50 x 3600 = 180,000 = 0.18 Mtok; amortization = 0.114155 / 0.18 = 0.634196 $/Mtok
    // electricity = 1 kWh/Mtok x 0.20 = 0.20 $/Mtok; total 0.834196 $/Mtok
    const cost = ownedHardwareCost(simpleBox(), us, base)
    expect(cost.generatingHours).toBe(17_520)
    expect(cost.perHour.amount).toBeCloseTo(0.114155, 6)
    expect(cost.tokensPerHour).toBe(180_000)
    expect(cost.amortizationPerMtok.amount).toBeCloseTo(0.634196, 6)
    expect(cost.electricity?.perMtok.amount).toBeCloseTo(0.2, 10)
    expect(cost.totalPerMtok.amount).toBeCloseTo(0.834196, 6)
    expect(cost.totalPerMtok.label).toBe('USD, 2025 dollars')
    expect(cost.basis).toBe('per million output tokens')
    expect(cost.electricity?.energy).toEqual(wall)
  })

  it('converts an older purchase and a resale value to the base year', () => {
    // RTX 4090, $1,599 in 2022: 1599 x 321.943 / 292.655 = 1759.02 (2025 dollars); resale $400 (2025)
    // net 1359.02 over 4 x 8760 x 8/24 = 11,680 h = 0.116355 $/h
    // 100 tok/s = 0.36 Mtok/h -> 0.116355 / 0.36 = 0.323208 $/Mtok
    const cost = ownedHardwareCost({price: 1599, purchased: 2022, lifetimeYears: 4, hoursPerDay: 8, resale: 400, throughput: {tokensPerSecond: 100, per: 'output'}}, us)
    expect(cost.purchase.result.amount).toBeCloseTo(1759.0229, 4)
    expect(cost.netPrice.amount).toBeCloseTo(1359.0229, 4)
    expect(cost.perHour.amount).toBeCloseTo(0.116355, 6)
    expect(cost.amortizationPerMtok.amount).toBeCloseTo(0.323208, 6)
    expect(cost.totalPerMtok.amount).toBe(cost.amortizationPerMtok.amount)
    expect(cost.notes).toEqual(['no energy measurement: electricity is not included'])
  })

  it('a base year before the purchase deflates the price', () => {
    // $1,599 in 2022 in 2020 dollars: 1599 x 258.811 / 292.655 = 1414.08
    const cost = ownedHardwareCost({price: 1599, purchased: 2022, lifetimeYears: 4, hoursPerDay: 24, throughput: {tokensPerSecond: 100, per: 'output'}}, us, parsePeriod(2020))
    expect(cost.purchase.factor).toBeLessThan(1)
    expect(cost.netPrice.amount.toFixed(2)).toBe('1414.08')
    expect(cost.netPrice.label).toBe('USD, 2020 dollars')
  })

  it.each([
    [{price: -1}, 'purchase price must be a positive number, not -1'],
    [{price: 0}, 'purchase price must be a positive number, not 0'],
    [{lifetimeYears: 0}, 'lifetime must be a positive number, not 0'],
    [{lifetimeYears: -2}, 'lifetime must be a positive number, not -2'],
    [{hoursPerDay: 25}, 'utilization must be more than 0 and at most 24 hours a day, not 25'],
    [{hoursPerDay: 0}, 'utilization must be more than 0 and at most 24 hours a day, not 0'],
    [{resale: 2500}, 'resale value (2500.00) is not below the purchase price (2000.00, USD, 2025 dollars)'],
    [{resale: -5}, 'resale value must be zero or more, not -5'],
    [{throughput: {tokensPerSecond: 0, per: 'output' as const}}, 'throughput must be a positive number of tokens per second, not 0'],
    [{energy: {...wall, per: 'total' as const}}, 'throughput is per output token but energy is per total token'],
    [{purchased: 1900}, '1900 is outside US CPI-U (years 1913-2025, months 1913-01 to 2026-05)'],
  ])('refuses %o', (change, message) => {
    expect(thrownUserError(() => ownedHardwareCost({...simpleBox(), ...change}, us, base)).message).toBe(message)
  })

  it('refuses a tariff in other money than the hardware', () => {
    const tariff = resolveTariff({pricePerKwh: 0.2}, us, parsePeriod(2024), tariffs)
    expect(thrownUserError(() => ownedHardwareCost({...simpleBox(), tariff}, us, base)).message).toBe('the tariff is in USD, 2024 dollars but the hardware cost is in USD, 2025 dollars')
  })
})

describe('rented GPU', () => {
  it('$/Mtok = ($/h) / (tok/s x 3600 / 1e6)', () => {
    // $2.00/h at 500 tok/s: 1.8 Mtok/h -> 2 / 1.8 = 1.1111 $/Mtok
    const cost = rentedGpuCost({price: givenRentalPrice(2), throughput: {tokensPerSecond: 500, per: 'output'}}, us)
    expect(cost.perMtok.amount).toBeCloseTo(1.111111, 6)
    expect(cost.perMtok.label).toBe('USD, 2025 dollars')
    expect(cost.notes).toEqual([])
  })

  it('a reference row: the dated Lambda price wins over the older catalog one, deflated to 2025', () => {
    // Lambda H100 PCIe, $2.86/h dated 2026-05-07: 2.86 x 321.943 (2025) / 335.123 (2026-05) = 2.747520
    // at 1000 tok/s = 3.6 Mtok/h -> 2.747520 / 3.6 = 0.763200 $/Mtok
    const price = referenceRentalPrice(rentals, {provider: 'lambda', gpu: 'H100 80GB PCIe'})
    expect(price).toMatchObject({perHour: 2.86, period: '2026-05', gpus: 1, reference: true})
    const cost = rentedGpuCost({price, currency: 'USD', throughput: {tokensPerSecond: 1000, per: 'output'}}, us)
    expect(cost.perHour.amount).toBeCloseTo(2.74752, 5)
    expect(cost.perMtok.amount).toBeCloseTo(0.7632, 5)
    expect(cost.source).toMatch(/^data\/gpu-rental-prices\.csv line 8: Lambda H100 80GB PCIe on-demand, \$2\.86\/GPU-hour x 1 GPU, dated 2026-05-07/)
  })

  it('an undated catalog row is taken as base-year money and says so; spot on request', () => {
    const price = referenceRentalPrice(rentals, {provider: 'RunPod', gpu: 'A100 80GB PCIe', pricing: 'spot'})
    expect(price.perHour).toBe(1.19)
    expect(rentedGpuCost({price, throughput: {tokensPerSecond: 100, per: 'output'}}, us).notes).toEqual(['undated price: taken as 2025 money'])
    expect(referenceRentalPrice(rentals, {provider: 'RunPod', gpu: 'A100 80GB PCIe'}).perHour).toBe(1.64)
  })

  it('refuses unknown providers and GPUs with the valid ones, and bad prices', () => {
    expect(thrownUserError(() => referenceRentalPrice(rentals, {provider: 'vast', gpu: 'x'})).hint).toBe('use one of Lambda, RunPod, or pass a price per hour')
    expect(thrownUserError(() => referenceRentalPrice(rentals, {provider: 'RunPod', gpu: 'B200'})).hint).toMatch(/^use one of A100 80GB PCIe, A100 80GB SXM, RTX 4090 24GB/)
    expect(thrownUserError(() => rentedGpuCost({price: givenRentalPrice(-1), throughput: {tokensPerSecond: 1, per: 'output'}}, us)).message).toMatch(/^rental price must be a positive price per hour/)
    expect(thrownUserError(() => rentedGpuCost({price: givenRentalPrice(1), currency: 'EUR', throughput: {tokensPerSecond: 1, per: 'output'}}, us)).message).toBe('the rental price is in EUR but US CPI-U is in USD')
    // A user-stated date past the series is an error, not a silent stand-in.
    expect(thrownUserError(() => rentedGpuCost({price: givenRentalPrice(1, '2027-01'), throughput: {tokensPerSecond: 1, per: 'output'}}, us)).message).toMatch(/^2027-01 is outside US CPI-U/)
  })
})

describe('hosted API', () => {
  it('blends input and output prices by the token counts, on both bases', () => {
    // $0.60 in / $1.70 out per Mtok; 3,000 in + 1,000 out:
    // spent = 3000 x 0.60 + 1000 x 1.70 = 3500 (per 1e6) -> per Mtok total = 3500 / 4000 = 0.875
    // per Mtok of output = 3500 / 1000 = 3.50
    const cost = hostedCost(givenHostedPrice(0.6, 1.7), {input: 3000, output: 1000}, us)
    expect(cost.perMtokTotal.amount).toBeCloseTo(0.875, 10)
    expect(cost.perMtokOutput?.amount).toBeCloseTo(3.5, 10)
    expect(cost.perMtokTotal.label).toBe('USD, 2025 dollars')
    expect(cost.bases).toEqual({total: 'per million tokens (input + output)', output: 'per million output tokens, input cost included'})
    expect(hostedCost(givenHostedPrice(0.6, 1.7), {input: 10, output: 0}, us).perMtokOutput).toBeUndefined()
  })

  it('a reference row is deflated from its date, the newest CPI standing in past the series', () => {
    // together_ai DeepSeek V3.1 as of 2026-07-24; CPI stops at 2026-05 (335.123):
    // input 0.60 x 321.943 / 335.123 = 0.576403
    const price = referenceHostedPrice(hosted, 'together_ai/deepseek-ai/DeepSeek-V3.1')
    const cost = hostedCost(price, {input: 1, output: 1}, us)
    expect(cost.input.amount).toBeCloseTo(0.576403, 6)
    expect(cost.notes).toEqual(['US CPI-U has no index for 2026-07 yet; the newest (2026-05) stands in for it'])
    expect(cost.source).toMatch(/^data\/hosted-prices\.csv line \d+: Together AI DeepSeek V3\.1, as of 2026-07-24/)
  })

  it('refuses unknown models, negative prices and empty workloads', () => {
    expect(thrownUserError(() => referenceHostedPrice(hosted, 'acme/gpt-9')).hint).toMatch(/^(did you mean .*|no close match;) all \d+ are in .*data\/hosted-prices\.csv$/)
    expect(thrownUserError(() => hostedCost(givenHostedPrice(-1, 1), {input: 1, output: 1}, us)).message).toMatch(/^hosted input price must be zero or more/)
    expect(thrownUserError(() => hostedCost(givenHostedPrice(1, 1), {input: 0, output: 0}, us)).message).toMatch(/^token counts must be zero or more with at least one token/)
  })
})

describe('break-even', () => {
  it('the monthly volume where owning equals hosted, and the payback at a stated volume', () => {
    // amortization per month = 2000 / (4 x 12) = 41.6667
    // hosted per output Mtok = 3.50 (above); energy 0.20 -> margin 3.30 $/Mtok
    // break-even = 41.6667 / (3.30 / 1e6) = 12,626,263 tokens a month
    // capacity = 50 tok/s x 3600 x 12 h x (730 / 24) days = 65,700,000 tokens a month
    // payback at 30 Mtok/month: savings 30 x 3.30 = 99 $/month -> 2000 / 99 = 20.2 months
    const owned = ownedHardwareCost(simpleBox(), us, base)
    const result = breakEven(owned, hostedCost(givenHostedPrice(0.6, 1.7), {input: 3000, output: 1000}, us), 30e6)
    expect(result.amortizationPerMonth.amount).toBeCloseTo(41.666667, 6)
    expect(result.hostedPerMtok.amount).toBeCloseTo(3.5, 10)
    expect(result.breakEvenTokensPerMonth).toBeCloseTo(12_626_262.6, 0)
    expect(result.capacityTokensPerMonth).toBeCloseTo(65_700_000, 3)
    expect(result.reachable).toBe(true)
    expect(result.payback?.savingsPerMonth.amount).toBeCloseTo(99, 8)
    expect(result.payback?.months).toBeCloseTo(20.20202, 5)
    expect(result.payback).toMatchObject({withinLifetime: true, exceedsCapacity: false})
  })

  it('never breaks even when electricity alone costs more than hosted', () => {
    // hosted $0.10/Mtok flat, electricity $0.20/Mtok
    const result = breakEven(ownedHardwareCost(simpleBox(), us, base), hostedCost(givenHostedPrice(0.1, 0.1), {input: 1, output: 1}, us), 1e6)
    expect(result.breakEvenTokensPerMonth).toBeNull()
    expect(result.reachable).toBe(false)
    expect(result.payback?.months).toBeNull()
  })

  it('flags a break-even beyond what the machine can produce', () => {
    // output-only workload at $0.21/Mtok: margin 0.21 - 0.20 = 0.01 $/Mtok
    // 41.6667 / 1e-8 = 4.17e9 tokens a month > 65.7e6 capacity
    const result = breakEven(ownedHardwareCost(simpleBox(), us, base), hostedCost(givenHostedPrice(0.21, 0.21), {input: 0, output: 1}, us))
    expect(result.breakEvenTokensPerMonth).toBeCloseTo(4_166_666_667, -1)
    expect(result.reachable).toBe(false)
  })
})

describe('workload throughput', () => {
  it('combines prefill and decode rates into both token bases', () => {
    // 1000 in at 500 tok/s = 2 s, 200 out at 50 tok/s = 4 s: 6 s for 1200 tokens
    const t = workloadThroughput({input: 1000, output: 200}, {prefillTokensPerSecond: 500, decodeTokensPerSecond: 50})
    expect(t.seconds).toBe(6)
    expect(t.total.tokensPerSecond).toBe(200)
    expect(t.output.tokensPerSecond).toBeCloseTo(33.3333, 4)
  })
})
