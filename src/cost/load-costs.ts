import type {ResultCosts} from '../results/cost-schema.js'
import type {ResultFile} from '../results/schema.js'
import type {Cell} from '../results/summary-schema.js'

/** Money per million generated tokens at one load level, and what it is made of. */
export interface LoadCost {
  perMtok: number
  /** owned: the machine's price spread over its generating hours (+ electricity); rental: the hourly price; hosted: the list price. */
  basis: 'owned' | 'rental' | 'hosted'
  /** Whether electricity is in an owned figure (a metered J per generated token), else the hardware alone. */
  withElectricity: boolean
  money: string
}

/**
 * $/Mtok of a target at one load level (for the cost Pareto chart), from the result's cost
 * (src/cost/result-costs.ts, one money basis) and the cell's own throughput and energy: hourly
 * money (owned hardware's amortization per hour, or a rental's price) over the cell's generated
 * tokens per hour (aggregate output tokens/s x 3600), plus owned electricity (the cell's metered
 * J per generated token x the tariff, for tg cells, whose J/token is per generated token); an
 * endpoint's hosted price does not depend on the load. Undefined without a cost or a throughput.
 */
export function loadCost(costs: ResultCosts | undefined, result: ResultFile, cell: Pick<Cell, 'target' | 'kind' | 'metrics' | 'energy'>): LoadCost | undefined {
  const cost = costs?.targets.find((t) => t.measurement.target === cell.target)
  if (!cost) return undefined
  const target = result.targets.find((t) => t.id === cell.target)
  const tps = cell.metrics.aggregate_tps?.repetitions?.mean
  const perHour = (usd: number) => (tps && tps > 0 ? usd / ((tps * 3600) / 1e6) : undefined)
  if (target?.kind === 'local' && cost.owned) {
    const hardware = perHour(cost.owned.perHour.amount)
    if (hardware === undefined) return undefined
    const tariff = cost.owned.electricity?.tariff.perKwh.amount
    const e = cell.energy
    const electricity = tariff !== undefined && cell.kind === 'tg' && e.status === 'metered' ? ((e.jPerToken * 1e6) / 3.6e6) * tariff : undefined
    return {perMtok: hardware + (electricity ?? 0), basis: 'owned', withElectricity: electricity !== undefined, money: costs!.money}
  }
  // A rented machine's price per hour is spread over what it delivers at this load.
  if (cost.rental) {
    const rental = perHour(cost.rental.perHour.amount)
    return rental === undefined ? undefined : {perMtok: rental, basis: 'rental', withElectricity: false, money: costs!.money}
  }
  // A local target's hosted price is only the comparison it is set against, not its own cost.
  if (target?.kind === 'endpoint' && cost.hosted) return {perMtok: (cost.hosted.perMtokOutput ?? cost.hosted.perMtokTotal).amount, basis: 'hosted', withElectricity: false, money: costs!.money}
  return undefined
}
