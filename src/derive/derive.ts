import {compareLoads, testAtLoad} from '../results/load.js'
import type {TokenBasis} from '../energy/schema.js'
import {idleWarnings, measuredServerNotes, testWarnings} from '../metrics/reliability.js'
import type {ResultFile, RunRecord, Target} from '../results/schema.js'
import type {Cell, CostBasisFigures, DerivedSummary, EnergyChoice, EnergyFigure, TargetFigures} from '../results/summary-schema.js'
import {cellFigures, type CellRuns, groupCells, measuredRequests, phaseSpanMs} from './cells.js'
import {loopbackPort} from './loopback.js'
import {chooseEnergy, meteredFigure, modelledFigure, powerInScope, repetitionJPerToken, repetitionPhases, tokenBasis} from './energy.js'
import {protocolNotes} from './protocol-notes.js'
import {cellServerFigures} from './server-figures.js'
import {bandwidthLimit, cellSpeedOfLight} from './speed-of-light.js'
import {summarizeSweeps} from './sweep.js'

/**
 * The version of the derivation: bump it whenever a formula, a selection or a shape below
 * changes, so a result's stored summary (a cache stamped with it) is recomputed.
 */
export const DERIVATION_VERSION = 8

const derived = new WeakMap<ResultFile, DerivedSummary>()

/**
 * Every figure of a result, from its raw runs and power record: statistics per target x test x
 * load level with their sample unit, energy per phase with the test kind's token basis, the
 * headline energy figure chosen once per target (boundary, gross, method; an endpoint's hosted
 * estimate unless its server is metered; missing with its validity code when the readings fail
 * their checks), the warnings a figure's conditions call for (a busy machine, a spread,
 * throttling, a noisy idle baseline), and the measured side of cost. The one place figures
 * are computed: the table, reports, compare, cost and the site read this. The stored summary is
 * never read: it is a cache for other programs (memoized here per result object).
 */
export function deriveResult(result: ResultFile): DerivedSummary {
  const held = derived.get(result)
  if (held) return held
  const slo = result.load?.slo
  const choices = new Map(result.targets.map((t) => [t.id, chooseEnergy(result, t)]))
  const bandwidths = new Map(result.targets.map((t) => [t.id, bandwidthLimit(result, t)]))
  const cells = groupCells(result.runs).map((group): Cell => {
    const target = result.targets.find((t) => t.id === group.target)
    const figures = cellFigures(group, slo, {fixedLength: fixedLength(result, group)})
    const energy = figures.shortOutputs ? shortEnergy(result, target, choices.get(group.target), group) : cellEnergy(result, target, choices.get(group.target), group)
    const server = cellServerFigures(group.runs)
    const completed = group.runs.filter((r) => r.state === 'completed')
    const backToBack = completed.some((r) => r.backToBack) ? completed.map((r) => r.backToBack ?? 1) : undefined
    const port = target ? loopbackPort(target) : undefined
    const warnings = testWarnings({test: testAtLoad(group.test, group.load), conditions: completed.flatMap((r) => (r.conditions ? [r.conditions] : [])), tokensPerSecond: figures.metrics.tokens_per_second?.repetitions, ...(port !== undefined ? {unrecordedLocalServerPort: port} : {})})
    const speedOfLight = target ? cellSpeedOfLight(result, target, figures, bandwidths.get(target.id)!) : undefined
    return {
      ...figures,
      energy: energy.energy,
      phases: energy.phases,
      repetitionValues: {...figures.repetitionValues, ...energy.repetitionValues},
      ...(server ? {server} : {}),
      ...(backToBack ? {backToBack} : {}),
      ...(warnings.length > 0 ? {warnings} : {}),
      ...(speedOfLight ? {speedOfLight} : {}),
    }
  })
  const targets = result.targets.map((t): TargetFigures => {
    const cost = costBasis(result, t, choices.get(t.id)!)
    const conditions = result.runs.flatMap((r) => (r.target === t.id && r.state === 'completed' && r.conditions ? [r.conditions] : []))
    return {target: t.id, energy: choices.get(t.id)!, notes: [...protocolNotes(t), ...measuredServerNotes(t.id, conditions)], ...(cost ? {cost} : {}), bandwidth: bandwidths.get(t.id)!}
  })
  // The idle baseline is one per run: its spread is judged once (any cell in scope carries it).
  const idle = idleWarnings(cells.find((c) => c.phases?.idle)?.phases?.idle?.series ?? [])
  const sweeps = summarizeSweeps(result)
  const summary: DerivedSummary = {derivation: {version: DERIVATION_VERSION}, cells, targets, ...(idle.length > 0 ? {warnings: idle} : {}), ...(sweeps.length > 0 ? {sweeps} : {})}
  derived.set(result, summary)
  return summary
}

/** A cell's energy at its target's chosen boundary, per token of its test kind. */
function cellEnergy(result: ResultFile, target: Target | undefined, choice: EnergyChoice | undefined, group: CellRuns): EnergyOf {
  if (!target || !choice) return {energy: {status: 'missing', code: 'no-power', reason: `target ${group.target} is not described in the result`}, phases: null}
  return energyOf(result, target, choice, group.runs, tokenBasis(group.kind), {perRepetition: true})
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

/**
 * The figure for the successful requests of some runs, and with a meter (when asked) the figure of
 * each repetition, for comparisons: a repetition run back to back is one value, its whole burst.
 */
function energyOf(result: ResultFile, target: Target, choice: EnergyChoice, runs: readonly RunRecord[], basis: TokenBasis, options: {perRepetition: boolean}): EnergyOf {
  if (choice.source === 'none') return {energy: {status: 'missing', code: 'no-power', reason: choice.reason}, phases: null}
  if (choice.source === 'hosted-model') return {energy: modelledFigure(runs.flatMap(measuredRequests), basis), phases: null}
  const repetitions = runs.map(repetitionPhases).filter((r) => r.length > 0)
  if (repetitions.length === 0) return {energy: {status: 'missing', code: 'no-tokens', reason: 'no request completed'}, phases: null}
  const input = powerInScope(result, target)!
  const {figure, phases} = meteredFigure(input, choice, repetitions.flat(), basis)
  const values = options.perRepetition ? repetitionJPerToken(input, choice, repetitions, basis) : undefined
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
  const energy = energyOf(result, target, choice, chosen, 'generated', {perRepetition: false}).energy
  return {load: top, outputTokensPerSecond: output / seconds, tokens: {input, output}, energy}
}
