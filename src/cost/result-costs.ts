import {UserError} from '../errors/errors.js'
import {deriveResult} from '../derive/derive.js'
import {invalidCodes} from '../derive/energy.js'
import {estimateHostedEnergy} from '../energy/hosted-estimate.js'
import type {CostMeasurement, EnergyPerToken, EnergyReferenceRow, ResultCosts, TargetCost} from '../results/cost-schema.js'
import type {ResultFile} from '../results/schema.js'
import type {EnergyFigure} from '../results/summary-schema.js'
import {breakEven} from './break-even.js'
import {compareWithReference, estimateRange} from './hosted-energy.js'
import {carbonPerMtok, type GridIntensity} from './carbon.js'
import {type CpiSeries, defaultBase, type Period} from './cpi.js'
import {type Tariff} from './electricity.js'
import {hostedCost, type HostedPrice, givenHostedPrice} from './hosted-price.js'
import {moneyLabel} from './money.js'
import {ownedHardwareCost} from './owned-hardware.js'
import {rentedGpuCost, type RentalPrice} from './rented-gpu.js'

export type {ResultCosts, TargetCost} from '../results/cost-schema.js'

/** What the user says about money: none of it is in a result file. */
export interface CostInputs {
  series: CpiSeries
  base?: Period
  owned?: {price: number; purchased: string; lifetimeYears: number; hoursPerDay: number; resale?: number}
  tariff?: Tariff
  rental?: RentalPrice
  /** A hosted price to compare local targets with (break-even); endpoint targets use their own pricing. */
  hosted?: HostedPrice
  grid?: GridIntensity
  tokensPerMonth?: number
  /** Published per-token or per-query figures to set hosted estimates beside (data/energy-reference.csv). */
  energyReference?: readonly EnergyReferenceRow[]
}

/**
 * The measured side of each target, from the derivation (src/derive): generated tokens/s over
 * the generation tests at the highest load measured, their token mix, and energy per generated
 * token (prompts included) as the derivation chose it for the target.
 */
function measureTargets(result: ResultFile): CostMeasurement[] {
  const derived = deriveResult(result)
  return result.targets.map((target) => {
    const figures = derived.targets.find((t) => t.target === target.id)?.cost
    if (!figures) throw new UserError(`result ${result.id} has no completed generation test (tg, pg or chat) for target "${target.id}"`, 'run a suite with generation tests, e.g. --suite quick')
    return {target: target.id, kind: target.kind, throughput: {tokensPerSecond: figures.outputTokensPerSecond, per: 'output'}, load: figures.load, tokens: figures.tokens, energy: figures.energy}
  })
}

/** A metered figure as electricity and carbon read it; undefined for a modelled or missing one. */
function meteredPerToken(energy: EnergyFigure): EnergyPerToken | undefined {
  if (energy.status !== 'metered') return undefined
  return {joulesPerToken: energy.jPerToken, per: 'output', boundary: energy.boundary, method: energy.method === 'estimated' ? 'estimated' : 'measured'}
}

/**
 * Cost per million generated tokens of every target of a result: owned hardware (amortization +
 * electricity) and rental for local targets, the hosted price for endpoints with pricing (or the
 * one given), carbon where energy was metered in scope, break-even against the hosted price. An
 * endpoint without a meter on its server gets the hosted energy estimate, never this machine's draw.
 */
export function costOfResult(result: ResultFile, inputs: CostInputs): ResultCosts {
  const base = inputs.base ?? defaultBase(inputs.series)
  const notes: string[] = []
  const targets = measureTargets(result).map((measurement): TargetCost => {
    const cost: TargetCost = {measurement}
    const target = result.targets.find((t) => t.id === measurement.target)!
    const energy = meteredPerToken(measurement.energy)
    if (target.kind === 'local') {
      if (inputs.owned) {
        cost.owned = ownedHardwareCost({...inputs.owned, throughput: measurement.throughput, energy, tariff: energy ? inputs.tariff : undefined}, inputs.series, base)
      }
      if (inputs.rental) cost.rental = rentedGpuCost({price: inputs.rental, throughput: measurement.throughput}, inputs.series, base)
    }
    const pricing = target.kind === 'endpoint' ? target.pricing : undefined
    const hostedPrice = pricing?.inputPerMtok !== undefined && pricing.outputPerMtok !== undefined ? {...givenHostedPrice(pricing.inputPerMtok, pricing.outputPerMtok), source: `pricing of target ${target.id}`} : target.kind === 'local' ? inputs.hosted : undefined
    if (hostedPrice) cost.hosted = hostedCost(hostedPrice, measurement.tokens, inputs.series, base)
    if (target.kind === 'endpoint' && pricing?.perHour !== undefined) {
      cost.rental = rentedGpuCost({price: {perHour: pricing.perHour, source: `pricing of target ${target.id}`, gpus: 1, reference: false}, throughput: measurement.throughput}, inputs.series, base)
    }
    if (measurement.energy.status === 'modelled') {
      const estimate = estimateHostedEnergy(measurement.energy.request)
      cost.hostedEnergy = {estimate, comparisons: inputs.energyReference ? compareWithReference(estimateRange(estimate), inputs.energyReference) : []}
    }
    if (inputs.grid && energy) cost.carbon = carbonPerMtok(energy, inputs.grid)
    if (cost.owned && cost.hosted) cost.breakEven = breakEven(cost.owned, cost.hosted, inputs.tokensPerMonth)
    if (measurement.energy.status === 'missing') {
      const codes = invalidCodes(measurement.energy)
      notes.push(`${measurement.target}: no energy figure${codes.length > 0 ? ` (${codes.join(', ')})` : ''}: ${measurement.energy.reason}; so no electricity or carbon figure`)
    }
    if (measurement.energy.status === 'metered' && measurement.energy.partial) notes.push(`${measurement.target}: J/token covers part of ${measurement.energy.boundary} (${measurement.energy.partial}), so electricity and carbon count only the devices it covers`)
    if (measurement.energy.status === 'modelled' && inputs.grid) notes.push(`${measurement.target}: no carbon figure: its energy is a hosted estimate and the grid of the provider's datacenter is unknown`)
    const missing = missingCostReasons(cost, target, inputs)
    if (missing.length > 0) notes.push(`${measurement.target}: ${missing.join('; ')}`)
    return cost
  })
  return {money: moneyLabel(inputs.series.currency, base.text), currency: inputs.series.currency, base: base.text, cpi: inputs.series.id, basis: 'per million generated tokens', targets, notes}
}

/**
 * Why each money column of a target stays empty ("-"), in the words of the input that would fill
 * it: every missing figure carries its reason. Missing energy (and so electricity and carbon) is
 * said by the energy note; a cell left empty for that reason alone is not repeated here.
 */
export function missingCostReasons(cost: TargetCost, target: ResultFile['targets'][number], inputs: CostInputs): string[] {
  const reasons: string[] = []
  const metered = cost.measurement.energy.status === 'metered'
  if (target.kind === 'endpoint') {
    reasons.push(`no hardware, electricity or owned total: ${inputs.owned ? '--price and --purchased price the local machine, and this target is an endpoint' : 'an endpoint is not owned hardware'}`)
    if (!cost.rental) reasons.push(`no rental: ${inputs.rental ? '--rent-per-hour and --rent price the local machine; ' : ''}give this endpoint's price per hour as pricing.perHour of its target in owbench.config.json`)
    if (!cost.hosted) reasons.push('no hosted price: give its pricing.inputPerMtok and pricing.outputPerMtok in owbench.config.json')
    reasons.push('no break-even or payback: they weigh an owned machine against a hosted price')
    if (cost.measurement.energy.status === 'modelled' && !inputs.grid) reasons.push('no gCO2e/Mtok: its energy is a hosted estimate and the provider\'s grid is unknown')
  } else {
    if (!cost.owned) reasons.push(`no hardware, electricity or owned total: no purchase price (pass --price and --purchased${metered ? `; electricity is then ${tariffText(inputs)}` : ''})`)
    else if (!cost.owned.electricity && metered) reasons.push('no electricity: no tariff')
    if (!cost.rental) reasons.push('no rental: pass --rent-per-hour or --rent PROVIDER:GPU')
    if (!cost.hosted) reasons.push('no hosted price to compare with: pass --hosted')
    if (!cost.breakEven) reasons.push('no break-even or payback: they need both an owned cost and a hosted price')
    else if (!cost.breakEven.payback) reasons.push('no payback months: pass --tokens-per-month')
  }
  if (!cost.carbon && metered && !inputs.grid) reasons.push('no gCO2e/Mtok: pass --grid (a country or cloud region)')
  return reasons
}

function tariffText(inputs: CostInputs): string {
  const tariff = inputs.tariff
  if (!tariff) return 'priced at --tariff or --region'
  return `priced at ${tariff.source === 'given' ? 'the --tariff given' : tariff.source.replace(/^data\/electricity-prices\.csv line \d+: /, 'the ').replace(/,.*$/, ' tariff')} (--tariff or --region to change it)`
}
