import {kwhPerMtok} from '../cost/electricity.js'
import {inflationLine} from '../cost/inflation.js'
import {formatMoney} from '../cost/money.js'
import type {BreakEven, ResultCosts, TargetCost} from '../results/cost-schema.js'
import {loadLabel} from '../results/load.js'
import type {EnergyFigure} from '../results/summary-schema.js'
import {formatNumber, formatTokens, markdownTable} from './format.js'
import {energyText} from './labels.js'

/** `owbench cost`'s table: one row per target, every money column in one currency and base year. */
export function renderCostTable(costs: ResultCosts): string {
  const header = ['target', 'tok/s', 'J/token', 'kWh/Mtok', 'electricity', 'hardware', 'owned total', 'rental', 'hosted', 'gCO2e/Mtok', 'break-even tok/month', 'payback months']
  const rows = costs.targets.map(row)
  const notes = [
    `Money: ${costs.money}, ${costs.basis}. tok/s: generated tokens per second over the generation tests at the highest load measured (measured).`,
    'J/token: gross energy per generated token (prompts included) at the target\'s boundary, measured or estimated as marked; an endpoint without --meter-on-server: the hosted model\'s low–high estimate, never this machine\'s draw (none for a serving engine on this machine\'s loopback). hosted: input and output prices blended by the input:output token mix of the generation tests (tg, pg, chat) at the highest load measured, the same requests the throughput is from, per generated token.',
    'payback months: purchase price / monthly savings at --tokens-per-month; marked when it comes after the machine\'s lifetime or when that volume is more than the machine makes at its hours a day.',
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
    m.load.mode === 'concurrency' && m.load.level === 1 ? m.target : `${m.target} @${loadLabel(m.load)}`,
    formatNumber(m.throughput.tokensPerSecond),
    m.energy.status === 'missing' && m.energy.code === 'no-power' ? '-' : energyText(m.energy),
    kwhCell(m.energy),
    money(owned?.electricity?.perMtok.amount, owned?.electricity?.perMtok.currency),
    money(owned?.amortizationPerMtok.amount, owned?.amortizationPerMtok.currency),
    money(owned?.totalPerMtok.amount, owned?.totalPerMtok.currency),
    money(cost.rental?.perMtok.amount, cost.rental?.perMtok.currency),
    money(hostedPerOutput?.amount, hostedPerOutput?.currency),
    cost.carbon ? formatNumber(cost.carbon.gramsPerMtok) : '-',
    breakEven ? (breakEven.breakEvenTokensPerMonth === null ? 'never' : `${formatTokens(breakEven.breakEvenTokensPerMonth)}${breakEven.reachable ? '' : ' (over capacity)'}`) : '-',
    paybackCell(breakEven, owned?.lifetimeYears),
  ]
}

function kwhCell(energy: EnergyFigure): string {
  if (energy.status === 'metered') return formatNumber(kwhPerMtok(energy.jPerToken))
  if (energy.status === 'modelled') return `${formatNumber(kwhPerMtok(energy.low))}–${formatNumber(kwhPerMtok(energy.high))}`
  return '-'
}

/** Payback months, marked when past the lifetime or at a volume the machine cannot make. */
export function paybackCell(breakEven: BreakEven | undefined, lifetimeYears: number | undefined): string {
  const payback = breakEven?.payback
  if (!payback) return '-'
  const marks = [
    ...(payback.months !== null && !payback.withinLifetime ? [`after the ${Math.round((lifetimeYears ?? 0) * 12)}-month lifetime`] : []),
    ...(payback.exceedsCapacity ? [`${formatTokens(payback.tokensPerMonth)}/month is above capacity (${formatTokens(breakEven.capacityTokensPerMonth)})`] : []),
  ]
  return `${payback.months === null ? 'never' : formatNumber(payback.months)}${marks.length > 0 ? ` (${marks.join('; ')})` : ''}`
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
    const {estimate, comparisons} = cost.hostedEnergy
    const request = estimate.request
    notes.push(
      `${t} energy (${estimate.boundary}, ${estimate.method}: no meter at a provider): ${formatNumber(estimate.low.joulesPerOutputToken)}-${formatNumber(estimate.high.joulesPerOutputToken)} J/output token, ${formatNumber(estimate.low.whPerRequest)}-${formatNumber(estimate.high.whPerRequest)} Wh per request of ${Math.round(request.outputTokens)} tokens${request.outputTokensPerSecond === undefined ? '' : ` at ${formatNumber(request.outputTokensPerSecond)} tok/s`} after ${formatNumber(request.ttftSeconds)} s TTFT (measured); ${estimate.formula}; assumptions: ${estimate.assumptions.map((a) => `${a.name} ${a.value} ${a.unit}`).join(', ')} (${estimate.source})`,
    )
    for (const c of comparisons) notes.push(`${t} vs ${c.row.source ?? 'published'}: ${c.theirs} ${c.unit}, ours ${formatNumber(c.ratio.low)}-${formatNumber(c.ratio.high)}x${c.caveat ? ` (${c.caveat})` : ''}`)
  }
  for (const n of [...(cost.owned?.notes ?? []), ...(cost.rental?.notes ?? []), ...(cost.hosted?.notes ?? [])]) notes.push(`${t}: ${n}`)
  return notes
}
