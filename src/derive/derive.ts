import {compareLoads} from '../results/load.js'
import type {TokenBasis} from '../energy/schema.js'
import type {RequestRecord, ResultFile, Target} from '../results/schema.js'
import type {Cell, CostBasisFigures, DerivedSummary, EnergyChoice, EnergyFigure, TargetFigures} from '../results/summary-schema.js'
import {cellFigures, type CellRuns, groupCells, measuredRequests, phaseSpanMs} from './cells.js'
import {chooseEnergy, meteredFigure, modelledFigure, powerInScope, repetitionJPerToken, tokenBasis} from './energy.js'
import {protocolNotes} from './protocol-notes.js'
import {cellServerFigures} from './server-figures.js'

/**
 * The version of the derivation: bump it whenever a formula, a selection or a shape below
 * changes, so a result's stored summary (a cache stamped with it) is recomputed.
 */
export const DERIVATION_VERSION = 2

const derived = new WeakMap<ResultFile, DerivedSummary>()

/**
 * Every figure of a result, from its raw runs and power record: statistics per target x test x
 * load level with their sample unit, energy per phase with the test kind's token basis, the
 * headline energy figure chosen once per target (boundary, gross, method; an endpoint's hosted
 * estimate unless its server is metered), and the measured side of cost. The one place figures
 * are computed: the table, reports, compare, cost and the site read this. The stored summary is
 * never read: it is a cache for other programs (memoized here per result object).
 */
export function deriveResult(result: ResultFile): DerivedSummary {
  const held = derived.get(result)
  if (held) return held
  const slo = result.load?.slo
  const choices = new Map(result.targets.map((t) => [t.id, chooseEnergy(result, t)]))
  const cells = groupCells(result.runs).map((group): Cell => {
    const target = result.targets.find((t) => t.id === group.target)
    const figures = cellFigures(group, slo, {fixedLength: fixedLength(result, group)})
    const energy = figures.shortOutputs ? shortEnergy(result, target, choices.get(group.target), group) : cellEnergy(result, target, choices.get(group.target), group)
    const server = cellServerFigures(group.runs)
    return {...figures, energy: energy.energy, phases: energy.phases, repetitionValues: {...figures.repetitionValues, ...energy.repetitionValues}, ...(server ? {server} : {})}
  })
  const targets = result.targets.map((t): TargetFigures => {
    const cost = costBasis(result, t, choices.get(t.id)!)
    return {target: t.id, energy: choices.get(t.id)!, notes: protocolNotes(t), ...(cost ? {cost} : {})}
  })
  const summary: DerivedSummary = {derivation: {version: DERIVATION_VERSION}, cells, targets}
  derived.set(result, summary)
  return summary
}

/** A cell's energy at its target's chosen boundary, per token of its test kind. */
function cellEnergy(result: ResultFile, target: Target | undefined, choice: EnergyChoice | undefined, group: CellRuns): EnergyOf {
  if (!target || !choice) return {energy: {status: 'missing', code: 'no-power', reason: `target ${group.target} is not described in the result`}, phases: null}
  const repetitions = group.runs.map(measuredRequests).filter((r) => r.length > 0)
  return energyOf(result, target, choice, repetitions.flat(), tokenBasis(group.kind), repetitions)
}

/** Whether a test asks for outputs of one length: tg and pg always, chat when it sets ignore_eos. */
function fixedLength(result: ResultFile, group: CellRuns): boolean {
  if (group.kind === 'tg' || group.kind === 'pg') return true
  const test = result.suite.definition.tests.find((t) => t.id === group.test)
  return test?.kind === 'chat' && test.ignoreEos
}

/** A cell of short outputs: its energy per phase stays, its J/token is withheld (it would be another length's). */
function shortEnergy(result: ResultFile, target: Target | undefined, choice: EnergyChoice | undefined, group: CellRuns): EnergyOf {
  const {phases} = cellEnergy(result, target, choice, group)
  return {energy: {status: 'missing', code: 'short-outputs', reason: `outputs stopped before the ${group.test} length asked for: a J/token over them is not ${group.test}'s`}, phases}
}

interface EnergyOf {
  energy: EnergyFigure
  phases: Cell['phases']
  repetitionValues?: Cell['repetitionValues']
}

/** The figure for some requests, and with a meter the figure of each repetition (for comparisons). */
function energyOf(result: ResultFile, target: Target, choice: EnergyChoice, requests: RequestRecord[], basis: TokenBasis, repetitions: RequestRecord[][]): EnergyOf {
  if (choice.source === 'none') return {energy: {status: 'missing', code: 'no-power', reason: choice.reason}, phases: null}
  if (choice.source === 'hosted-model') return {energy: modelledFigure(requests, basis), phases: null}
  if (requests.length === 0) return {energy: {status: 'missing', code: 'no-tokens', reason: 'no request completed'}, phases: null}
  const input = powerInScope(result, target)!
  const {figure, phases} = meteredFigure(input, choice, requests, basis)
  const values = repetitionJPerToken(input, choice, repetitions, basis)
  return {energy: figure, phases, ...(values ? {repetitionValues: {j_per_token: values}} : {})}
}

const GENERATION = new Set(['tg', 'pg', 'chat'])

/**
 * The measured side of cost for one target: the generation tests (tg, pg, chat) at the highest
 * load level measured; generated tokens over the summed spans of their phases (at concurrency c,
 * what a server delivers), and energy per generated token with the prompts' energy included.
 */
function costBasis(result: ResultFile, target: Target, choice: EnergyChoice): CostBasisFigures | undefined {
  const runs = result.runs.filter((r) => r.target === target.id && !r.warmup && r.state === 'completed' && GENERATION.has(r.kind))
  if (runs.length === 0) return undefined
  const cells = groupCells(runs)
  const top = cells.map((c) => c.load).sort(compareLoads).at(-1)!
  const chosen = cells.filter((c) => compareLoads(c.load, top) === 0).flatMap((c) => c.runs)
  const requests = chosen.flatMap(measuredRequests)
  const output = requests.reduce((n, q) => n + q.nOut, 0)
  const input = requests.reduce((n, q) => n + q.nPrompt, 0)
  const seconds = chosen.reduce((s, run) => s + phaseSpanMs(measuredRequests(run)) / 1000, 0)
  if (!(seconds > 0) || output === 0) return undefined
  const energy = energyOf(result, target, choice, requests, 'generated', []).energy
  return {load: top, outputTokensPerSecond: output / seconds, tokens: {input, output}, energy}
}
