import {deriveResult} from '../derive/derive.js'
import {compareLoads} from '../results/load.js'
import type {EnergyReferenceRow, ResultCosts} from '../results/cost-schema.js'
import type {ResultFile, Target} from '../results/schema.js'
import type {Cell} from '../results/summary-schema.js'
import {loadEnergyReference} from './hosted-energy.js'
import {type HostedPriceRow, loadHostedPrices} from './hosted-price.js'
import {type LoadCost, loadCost} from './load-costs.js'

/**
 * "The answer first": what a reader asked, for the headline test of every target of a result:
 * J/token (boundary and method) and $/Mtok (money basis) at that test, beside the hosted price and
 * the published datacenter figure for a model of the same size, and the share of the bandwidth
 * limit. Every number comes from the derivation, the result's cost or the reference data; each
 * missing one says why. Renderers only word it (src/report/answer-text.ts).
 */
export interface TargetAnswer {
  target: string
  kind: Target['kind']
  /** The headline cell: the suite's first tg test one request at a time (else its lightest load; else the first pg, then chat test). */
  cell?: Cell
  /** Why there is no headline cell. */
  noCell?: string
  /** Parameters of the model, and where the count comes from. */
  parameters?: {count: number; from: 'model file' | 'model name'}
  cost: LoadCost | {missing: string}
  hosted: {rows: HostedPriceRow[]; size: string} | {missing: string}
  datacenter: {rows: EnergyReferenceRow[]; size: string} | {missing: string}
}

export interface ResultAnswer {
  resultId: string
  targets: TargetAnswer[]
}

/** The reference data an answer compares with (data/hosted-prices.csv, data/energy-reference.csv). */
export interface AnswerReferences {
  hostedPrices: readonly HostedPriceRow[]
  energyReference: readonly EnergyReferenceRow[]
}

export async function loadAnswerReferences(): Promise<AnswerReferences> {
  const [hostedPrices, energyReference] = await Promise.all([loadHostedPrices(), loadEnergyReference()])
  return {hostedPrices, energyReference}
}

/** "Same size": parameters within a quarter of each other (7 B and 8 B are; 8 B and 14 B are not). */
export const SAME_SIZE = {low: 0.75, high: 1 / 0.75} as const

/**
 * Total parameters from a model name (`Llama 3.1 8B Instruct`, `gpt-oss-120b`, `Qwen3 235B A22B`:
 * the first `<n>B` or `<n>M`); undefined for a name without one or a mixture written `8x7B`,
 * whose total the name does not give.
 */
export function parametersFromName(name: string): number | undefined {
  if (/\d+\s*x\s*\d+(\.\d+)?\s*b\b/i.test(name)) return undefined
  const m = /(?:^|[^a-z0-9.])(\d+(?:\.\d+)?)\s*([bm])\b/i.exec(name)
  if (!m) return undefined
  return Number(m[1]) * (m[2]!.toLowerCase() === 'b' ? 1e9 : 1e6)
}

function sameSize(a: number, b: number): boolean {
  const ratio = a / b
  return ratio >= SAME_SIZE.low && ratio <= SAME_SIZE.high
}

/** `8 B`, `29.9 M`, `172 K`. */
export function sizeText(n: number): string {
  const [unit, scale] = n >= 1e9 ? ['B', 1e9] : n >= 1e6 ? ['M', 1e6] : ['K', 1e3]
  return `${Number((n / scale).toPrecision(3))} ${unit}`
}

function headline(cells: readonly Cell[], target: string, result: ResultFile): Cell | undefined {
  const own = cells.filter((c) => c.target === target && c.completed > 0)
  for (const kind of ['tg', 'pg', 'chat'] as const) {
    const test = result.suite.definition.tests.find((t) => t.kind === kind && own.some((c) => c.test === t.id))
    if (test) return own.filter((c) => c.test === test.id).sort((a, b) => compareLoads(a.load, b.load))[0]
  }
  return undefined
}

/** The answer for each target of a result (its cost: costsOfResults; undefined when it had no cost inputs). */
export function answerOf(result: ResultFile, costs: ResultCosts | undefined, references: AnswerReferences): ResultAnswer {
  const derived = deriveResult(result)
  const targets = result.targets.map((target): TargetAnswer => {
    const cell = headline(derived.cells, target.id, result)
    const parameters = target.kind === 'local' ? (target.model.parameters ? {count: target.model.parameters, from: 'model file' as const} : undefined) : fromName(target.endpoint.model)
    const answer: TargetAnswer = {
      target: target.id,
      kind: target.kind,
      ...(cell ? {cell} : {noCell: 'no generation test (tg, pg or chat) completed'}),
      ...(parameters ? {parameters} : {}),
      cost: cell ? (loadCost(costs, result, cell) ?? {missing: costs ? 'no money basis for this target (no hardware price, rental or hosted price was given)' : 'the run had no cost inputs (a "cost" section in owbench.config.json; owbench cost computes it from flags)'}) : {missing: 'nothing to price'},
      hosted: compared(parameters, references.hostedPrices.map((r) => ({row: r, name: r.model})), 'data/hosted-prices.csv'),
      datacenter: compared(parameters, references.energyReference.filter((r) => r.setting === 'datacenter' && r.j_per_output_token !== undefined).map((r) => ({row: r, name: r.model})), 'data/energy-reference.csv'),
    }
    return answer
  })
  return {resultId: result.id, targets}
}

function fromName(name: string): TargetAnswer['parameters'] {
  const count = parametersFromName(name)
  return count === undefined ? undefined : {count, from: 'model name'}
}

/** The reference rows of a model of the same size, or why there are none (the sizes the table has). */
function compared<R>(parameters: TargetAnswer['parameters'], rows: readonly {row: R; name: string}[], table: string): {rows: R[]; size: string} | {missing: string} {
  if (!parameters) return {missing: 'the model\'s size is not known (no parameter count in the file or the name)'}
  const sized = rows.flatMap((r) => {
    const n = parametersFromName(r.name)
    return n === undefined ? [] : [{...r, n}]
  })
  const same = sized.filter((r) => sameSize(r.n, parameters.count))
  if (same.length > 0) return {rows: same.map((r) => r.row), size: sizeText(parameters.count)}
  const sizes = [...new Set(sized.map((r) => r.n))].sort((a, b) => a - b)
  return {missing: `${table} has no model of about ${sizeText(parameters.count)} parameters (its sizes run from ${sizeText(sizes[0]!)} to ${sizeText(sizes.at(-1)!)})`}
}
