import type {ResultCosts, TargetCost} from '../cost/result-costs.js'
import {kwhPerMtok} from '../cost/electricity.js'
import {inflationLine} from '../cost/inflation.js'
import {formatMoney} from '../cost/money.js'
import {formatNumber, markdownTable} from './format.js'

/** `owbench cost`'s table: one row per target, every money column in one currency and base year. */
export function renderCostTable(costs: ResultCosts): string {
  const header = ['target', 'tok/s', 'J/token', 'kWh/Mtok', 'electricity', 'hardware', 'owned total', 'rental', 'hosted', 'gCO2e/Mtok', 'break-even tok/month', 'payback months']
  const rows = costs.targets.map(row)
  const notes = [
    `Money: ${costs.money}, ${costs.basis}. tok/s: generated tokens per second over the generation tests at the highest load measured (measured).`,
    'J/token: gross energy per generated token at the boundary named, measured or estimated as marked; hosted: input and output prices blended by this suite\'s token mix, per generated token.',
    ...costs.targets.flatMap(sourceNotes),
    ...costs.notes,
  ]
  return [markdownTable(header, header.map((_, i) => (i === 0 ? 'l' : 'r')), rows), '', ...notes.map((n) => `- ${n}`)].join('\n')
}

function row(cost: TargetCost): string[] {
  const m = cost.measurement
  const money = (amount: number | undefined, currency?: string) => (amount === undefined ? '-' : formatMoney(amount, currency ?? 'USD'))
  const owned = cost.owned
  const hostedPerOutput = cost.hosted?.perMtokOutput ?? cost.hosted?.perMtokTotal
  const breakEven = cost.breakEven
  return [
    m.concurrency > 1 ? `${m.target} @c${m.concurrency}` : m.target,
    formatNumber(m.throughput.tokensPerSecond),
    m.energy ? `${formatNumber(m.energy.joulesPerToken)} (${m.energy.boundary}, ${m.energy.method})` : '-',
    m.energy ? formatNumber(kwhPerMtok(m.energy.joulesPerToken)) : '-',
    money(owned?.electricity?.perMtok.amount, owned?.electricity?.perMtok.currency),
    money(owned?.amortizationPerMtok.amount, owned?.amortizationPerMtok.currency),
    money(owned?.totalPerMtok.amount, owned?.totalPerMtok.currency),
    money(cost.rental?.perMtok.amount, cost.rental?.perMtok.currency),
    money(hostedPerOutput?.amount, hostedPerOutput?.currency),
    cost.carbon ? formatNumber(cost.carbon.gramsPerMtok) : '-',
    breakEven ? (breakEven.breakEvenTokensPerMonth === null ? 'never' : `${formatTokens(breakEven.breakEvenTokensPerMonth)}${breakEven.reachable ? '' : ' (over capacity)'}`) : '-',
    breakEven?.payback ? (breakEven.payback.months === null ? 'never' : formatNumber(breakEven.payback.months)) : '-',
  ]
}

function sourceNotes(cost: TargetCost): string[] {
  const notes: string[] = []
  const t = cost.measurement.target
  if (cost.owned) notes.push(`${t} hardware: ${inflationLine(cost.owned.purchase)}, amortized over ${cost.owned.lifetimeYears} years at ${cost.owned.hoursPerDay} h/day`)
  if (cost.owned?.electricity) notes.push(`${t} electricity: ${cost.owned.electricity.tariff.source}`)
  if (cost.rental) notes.push(`${t} rental: ${cost.rental.source}`)
  if (cost.hosted) notes.push(`${t} hosted price: ${cost.hosted.source}`)
  if (cost.carbon) notes.push(`${t} grid: ${cost.carbon.grid.where}, ${cost.carbon.grid.gramsPerKwh} gCO2e/kWh (${cost.carbon.grid.source})`)
  if (cost.hostedEnergy) {
    const {estimate, request, comparisons} = cost.hostedEnergy
    notes.push(
      `${t} energy (${estimate.boundary}, ${estimate.method}: no meter at a provider): ${formatNumber(estimate.low.joulesPerOutputToken)}-${formatNumber(estimate.high.joulesPerOutputToken)} J/output token, ${formatNumber(estimate.low.whPerRequest)}-${formatNumber(estimate.high.whPerRequest)} Wh per request of ${Math.round(request.outputTokens)} tokens at ${formatNumber(request.outputTokensPerSecond)} tok/s after ${formatNumber(request.ttftSeconds)} s TTFT (measured); ${estimate.formula}; assumptions: ${estimate.assumptions.map((a) => `${a.name} ${a.value} ${a.unit}`).join(', ')} (${estimate.source})`,
    )
    for (const c of comparisons) notes.push(`${t} vs ${c.row.source ?? 'published'}: ${c.theirs} ${c.unit}, ours ${formatNumber(c.ratio.low)}-${formatNumber(c.ratio.high)}x${c.caveat ? ` (${c.caveat})` : ''}`)
  }
  for (const n of [...(cost.owned?.notes ?? []), ...(cost.rental?.notes ?? []), ...(cost.hosted?.notes ?? [])]) notes.push(`${t}: ${n}`)
  return notes
}

function formatTokens(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`
  return `${Math.round(n)}`
}
