import {UserError} from '../errors/errors.js'
import type {ResultFile, RunRecord, Target} from '../results/schema.js'
import {median} from 'simple-statistics'
import {requestMetrics} from '../metrics/request-metrics.js'
import {breakEven, type BreakEven} from './break-even.js'
import {compareWithReference, type EnergyReferenceRow, estimateHostedEnergy, estimateRange, type HostedEnergyEstimate, type HostedRequest, type ReferenceComparison} from './hosted-energy.js'
import {carbonPerMtok, type CarbonPerMtok, type GridIntensity} from './carbon.js'
import {type CpiSeries, defaultBase, type Period} from './cpi.js'
import {type Tariff} from './electricity.js'
import {type HostedCost, hostedCost, type HostedPrice, givenHostedPrice} from './hosted-price.js'
import type {EnergyPerToken, Throughput, TokenCounts} from './measurements.js'
import {moneyLabel} from './money.js'
import {ownedHardwareCost, type OwnedHardwareCost} from './owned-hardware.js'
import {rentedGpuCost, type RentedGpuCost, type RentalPrice} from './rented-gpu.js'

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

/** The measured side of one target, on the basis of generated tokens. */
export interface TargetMeasurement {
  target: string
  kind: Target['kind']
  /** Generated tokens per second over the generation tests (tg, pg, chat), at the highest load measured. */
  throughput: Throughput
  concurrency: number
  tokens: TokenCounts
  energy?: EnergyPerToken & {sourceIds: string[]}
}

export interface TargetCost {
  measurement: TargetMeasurement
  owned?: OwnedHardwareCost
  rental?: RentedGpuCost
  hosted?: HostedCost
  carbon?: CarbonPerMtok
  breakEven?: BreakEven
  /** Endpoints have no meter: their energy is estimated from an infrastructure model, low and high. */
  hostedEnergy?: {estimate: HostedEnergyEstimate; request: HostedRequest; comparisons: ReferenceComparison[]}
}

export interface ResultCosts {
  /** "USD, 2025 dollars" */
  money: string
  basis: string
  targets: TargetCost[]
  notes: string[]
}

const GENERATION = new Set(['tg', 'pg', 'chat'])

/**
 * Throughput, token mix and energy of each target, recomputed from the raw runs: generated tokens
 * over the spans of the measured phases of the generation tests (so at concurrency c it is the
 * aggregate a server delivers), energy per generated token at the widest boundary measured.
 */
export function measureTargets(result: ResultFile): TargetMeasurement[] {
  return result.targets.map((target) => {
    const runs = result.runs.filter((r) => r.target === target.id && !r.warmup && r.state === 'completed' && GENERATION.has(r.kind))
    if (runs.length === 0) throw new UserError(`result ${result.id} has no completed generation test (tg, pg or chat) for target "${target.id}"`, 'run a suite with generation tests, e.g. --suite quick')
    const concurrency = Math.max(...runs.map((r) => r.concurrency))
    const top = runs.filter((r) => r.concurrency === concurrency && r.rate === undefined)
    const chosen = top.length > 0 ? top : runs
    let outTokens = 0
    let inTokens = 0
    let seconds = 0
    for (const run of chosen) {
      const ok = run.requests.filter((q) => !q.error)
      outTokens += ok.reduce((n, q) => n + q.nOut, 0)
      inTokens += ok.reduce((n, q) => n + q.nPrompt, 0)
      seconds += spanSeconds(run)
    }
    const measurement: TargetMeasurement = {
      target: target.id,
      kind: target.kind,
      throughput: {tokensPerSecond: outTokens / seconds, per: 'output'},
      concurrency,
      tokens: {input: inTokens, output: outTokens},
    }
    const energy = energyPerOutputToken(result, target.id, concurrency)
    if (energy) measurement.energy = energy
    return measurement
  })
}

function spanSeconds(run: RunRecord): number {
  const ok = run.requests.filter((q) => !q.error)
  return (Math.max(...ok.map((q) => q.tEnd)) - Math.min(...ok.map((q) => q.tSend))) / 1000
}

/** Gross energy of the generation tests' windows over their generated tokens, at one boundary. */
function energyPerOutputToken(result: ResultFile, target: string, concurrency: number): (EnergyPerToken & {sourceIds: string[]}) | undefined {
  const rows = result.summary.filter((s) => s.target === target && s.concurrency === concurrency && GENERATION.has(s.kind) && s.energy)
  const totals = rows.map((s) => s.energy!.phases.find((p) => p.phase === 'total')).filter((p) => p !== undefined)
  const boundary = totals[0]?.widest
  if (!boundary) return undefined
  let joules = 0
  let tokens = 0
  let method: EnergyPerToken['method'] = 'measured'
  const sourceIds = new Set<string>()
  for (const phase of totals) {
    const figure = phase.boundaries.find((b) => b.boundary === boundary)
    if (!figure || figure.grossJ === null) return undefined
    joules += figure.grossJ
    tokens += phase.tokens
    if (figure.method === 'estimated') method = 'estimated'
    figure.sourceIds.forEach((id) => sourceIds.add(id))
  }
  if (tokens === 0) return undefined
  return {joulesPerToken: joules / tokens, per: 'output', boundary, method, sourceIds: [...sourceIds]}
}

/** The median generation request of an endpoint: its output length, decode rate and TTFT. */
function typicalRequest(result: ResultFile, target: string, concurrency: number): HostedRequest | undefined {
  const requests = result.runs
    .filter((r) => r.target === target && !r.warmup && r.concurrency === concurrency && GENERATION.has(r.kind))
    .flatMap((r) => r.requests.filter((q) => !q.error))
    .map(requestMetrics)
  const decode = requests.flatMap((m) => (m.decodeTps === undefined ? [] : [m.decodeTps]))
  const ttft = requests.flatMap((m) => (m.ttftMs === undefined ? [] : [m.ttftMs]))
  const out = result.runs.filter((r) => r.target === target && !r.warmup && r.concurrency === concurrency && GENERATION.has(r.kind)).flatMap((r) => r.requests.filter((q) => !q.error).map((q) => q.nOut))
  if (decode.length === 0 || ttft.length === 0 || out.length === 0) return undefined
  return {outputTokens: median(out), outputTokensPerSecond: median(decode), ttftSeconds: median(ttft) / 1000}
}

/**
 * Cost per million generated tokens of every target of a result: owned hardware (amortization +
 * electricity) and rental for local targets, the hosted price for endpoints with pricing (or the
 * one given), carbon where energy was measured, break-even against the hosted price.
 */
export function costOfResult(result: ResultFile, inputs: CostInputs): ResultCosts {
  const base = inputs.base ?? defaultBase(inputs.series)
  const notes: string[] = []
  const targets = measureTargets(result).map((measurement): TargetCost => {
    const cost: TargetCost = {measurement}
    const target = result.targets.find((t) => t.id === measurement.target)!
    if (target.kind === 'local') {
      if (inputs.owned) {
        cost.owned = ownedHardwareCost({...inputs.owned, throughput: measurement.throughput, energy: measurement.energy, tariff: measurement.energy ? inputs.tariff : undefined}, inputs.series, base)
      }
      if (inputs.rental) cost.rental = rentedGpuCost({price: inputs.rental, throughput: measurement.throughput}, inputs.series, base)
    }
    const pricing = target.kind === 'endpoint' ? target.pricing : undefined
    const hostedPrice = pricing?.inputPerMtok !== undefined && pricing.outputPerMtok !== undefined ? {...givenHostedPrice(pricing.inputPerMtok, pricing.outputPerMtok), source: `pricing of target ${target.id}`} : target.kind === 'local' ? inputs.hosted : undefined
    if (hostedPrice) cost.hosted = hostedCost(hostedPrice, measurement.tokens, inputs.series, base)
    if (target.kind === 'endpoint' && pricing?.perHour !== undefined) {
      cost.rental = rentedGpuCost({price: {perHour: pricing.perHour, source: `pricing of target ${target.id}`, gpus: 1, reference: false}, throughput: measurement.throughput}, inputs.series, base)
    }
    if (target.kind === 'endpoint') {
      const request = typicalRequest(result, target.id, measurement.concurrency)
      if (request) {
        const estimate = estimateHostedEnergy(request)
        cost.hostedEnergy = {estimate, request, comparisons: inputs.energyReference ? compareWithReference(estimateRange(estimate), inputs.energyReference) : []}
      }
    }
    if (inputs.grid && measurement.energy) cost.carbon = carbonPerMtok(measurement.energy, inputs.grid)
    if (cost.owned && cost.hosted) cost.breakEven = breakEven(cost.owned, cost.hosted, inputs.tokensPerMonth)
    if (!measurement.energy) notes.push(`${measurement.target}: no energy measured (run with a meter or --watts), so no electricity or carbon figure`)
    return cost
  })
  return {money: moneyLabel(inputs.series.currency, base.text), basis: 'per million generated tokens', targets, notes}
}
