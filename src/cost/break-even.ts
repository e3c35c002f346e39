import {UserError} from '../errors/errors.js'
import {basisLabel} from './measurements.js'
import {assertSameMoney, money} from './money.js'
import {HOURS_PER_YEAR} from './owned-hardware.js'
import type {BreakEven, HostedCost, OwnedHardwareCost} from '../results/cost-schema.js'
export type {BreakEven, Payback} from '../results/cost-schema.js'

export const HOURS_PER_MONTH = HOURS_PER_YEAR / 12



/**
 * Compares owning (fixed amortization + per-token energy) with a hosted price on the same token
 * basis. Payback counts the upfront purchase price, not the net of resale, because that is the
 * money out of pocket the savings must return.
 */
export function breakEven(owned: OwnedHardwareCost, hosted: HostedCost, tokensPerMonth?: number): BreakEven {
  const hostedPerMtok = owned.per === 'total' ? hosted.perMtokTotal : hosted.perMtokOutput
  if (!hostedPerMtok) throw new UserError('the hosted workload has no output tokens, so there is no price per output token', 'compare per token of input + output instead')
  assertSameMoney(owned.netPrice, hostedPerMtok, 'break-even')
  const {currency, base} = owned.netPrice
  const amortizationPerMonth = owned.netPrice.amount / (owned.lifetimeYears * 12)
  const energyPerMtok = owned.electricity?.perMtok.amount ?? 0
  const marginPerToken = (hostedPerMtok.amount - energyPerMtok) / 1e6
  const breakEvenTokensPerMonth = marginPerToken > 0 ? amortizationPerMonth / marginPerToken : null
  const capacityTokensPerMonth = owned.throughput.tokensPerSecond * 3600 * owned.hoursPerDay * (HOURS_PER_MONTH / 24)
  const result: BreakEven = {
    per: owned.per,
    basis: basisLabel(owned.per),
    amortizationPerMonth: money(amortizationPerMonth, currency, base),
    energyPerMtok: money(energyPerMtok, currency, base),
    hostedPerMtok,
    breakEvenTokensPerMonth,
    capacityTokensPerMonth,
    reachable: breakEvenTokensPerMonth !== null && breakEvenTokensPerMonth <= capacityTokensPerMonth,
  }
  if (tokensPerMonth !== undefined) {
    if (!(tokensPerMonth > 0) || !Number.isFinite(tokensPerMonth)) throw new UserError(`tokens per month must be a positive number, not ${tokensPerMonth}`, 'pass the monthly token volume you expect, e.g. 50000000')
    const savings = tokensPerMonth * marginPerToken
    const months = savings > 0 ? owned.purchase.result.amount / savings : null
    result.payback = {
      tokensPerMonth,
      savingsPerMonth: money(savings, currency, base),
      months,
      withinLifetime: months !== null && months <= owned.lifetimeYears * 12,
      exceedsCapacity: tokensPerMonth > capacityTokensPerMonth,
    }
  }
  return result
}
