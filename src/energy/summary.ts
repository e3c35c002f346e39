import type {UncoveredDevice} from '../power/power-source.js'
import {idleWatts, netJoules} from './baseline.js'
import {boundaryGroups} from './boundary.js'
import {perToken} from './per-token.js'
import type {BoundaryFigure, EnergySummary, PhaseEnergy, PhaseName, SeriesFigure, TokenBasis} from './schema.js'
import {overlapLength, totalLength, unionIntervals, type Interval, type RequestPhases} from './phases.js'
import {peakWatts, prepareSeries, seriesEnergy, siblingsOf, type EnergyInput, type PreparedSeries, type SeriesEnergy} from './series-energy.js'
import type {ValidityCode} from './validity.js'

/** Codes that say a series' readings are not readings at all (as opposed to not covering a window). */
const IMPLAUSIBLE: readonly ValidityCode[] = ['zero-under-load', 'negative-reading', 'counter-stuck']

export interface EnergyOptions {
  /** Longest allowed gap between readings inside a window, per series (default: defaultMaxGapMs). */
  maxGapMs?: (sourceId: string) => number | undefined
  /**
   * What the total phase's per-token figures divide by: the test kind's own tokens (prompt for pp,
   * generated for tg, both for pg and chat). Default: generated tokens when any were, else prompt tokens.
   */
  totalBasis?: TokenBasis
  /** Meter updates a window must span (default: the input's minUpdates, else 10). */
  minUpdates?: number
}

/**
 * Energy of requests, per phase and boundary. Windows of the same phase are merged first
 * (concurrent requests), so the energy of a window is divided by all tokens produced in it:
 * prefill per prompt token, decode per token generated after the first, total per `totalBasis`.
 */
export function computeEnergy(input: EnergyInput, requests: readonly RequestPhases[], options: EnergyOptions = {}): EnergySummary {
  const prepared = prepareSeries(input)
  const idle = input.idle ? {t0: input.idle.t0, t1: input.idle.t1, series: [...prepared.values()].map((s) => idleWatts(s, input.idle!))} : null
  const idleBySource = new Map(idle?.series.map((w) => [w.sourceId, w.watts]) ?? [])

  const prefill = unionIntervals(requests.flatMap((r) => (r.prefill ? [r.prefill] : [])))
  const decode = unionIntervals(requests.flatMap((r) => (r.decode ? [r.decode] : [])))
  const total = totalWindows(requests)
  const promptTokens = sum(requests.filter((r) => r.prefill).map((r) => r.promptTokens))
  const decodeTokens = sum(requests.filter((r) => r.decode).map((r) => Math.max(0, r.outputTokens - 1)))
  const outputTokens = sum(requests.map((r) => r.outputTokens))
  const overlap = overlapLength(prefill, decode)

  const settings = {...options, minUpdates: options.minUpdates ?? input.minUpdates, uncovered: input.uncovered ?? []}
  const phase = (name: PhaseName, intervals: Interval[], tokens: number, tokenKind: TokenBasis, overlapMs: number): PhaseEnergy =>
    phaseEnergy(name, intervals, tokens, tokenKind, overlapMs, prepared, idleBySource, settings)
  const totalBasis = options.totalBasis ?? (outputTokens > 0 ? 'generated' : 'prompt')
  const totalTokens = basisTokens(requests, totalBasis)
  return {
    idle,
    phases: [phase('prefill', prefill, promptTokens, 'prompt', overlap), phase('decode', decode, decodeTokens, 'generated', overlap), phase('total', total, totalTokens, totalBasis, 0)],
  }
}

function phaseEnergy(
  name: PhaseName,
  intervals: Interval[],
  tokens: number,
  tokenKind: TokenBasis,
  overlapMs: number,
  prepared: Map<string, PreparedSeries>,
  idleBySource: Map<string, number | null>,
  options: EnergyOptions & {uncovered: readonly UncoveredDevice[]},
): PhaseEnergy {
  const windowMs = totalLength(intervals)
  const series: SeriesFigure[] = []
  const energies = seriesEnergies(prepared, [...prepared.keys()], intervals, options)
  for (const s of prepared.values()) {
    const energy = energies.get(s.info.id)!
    const base = {sourceId: s.info.id, boundary: s.info.boundary, method: s.info.method, ...(s.info.part ? {part: s.info.part} : {})}
    if ('missing' in energy) {
      series.push({...base, grossJ: null, netJ: null, avgW: null, peakW: null, missing: energy.missing, invalid: [energy.invalid]})
      continue
    }
    const idleW = idleBySource.get(s.info.id)
    series.push({
      ...base,
      grossJ: energy.joules,
      netJ: idleW === undefined || idleW === null ? null : netJoules(energy.joules, idleW, windowMs),
      avgW: windowMs > 0 ? (energy.joules * 1000) / windowMs : null,
      peakW: windowMs > 0 ? (peakWatts([s], intervals) ?? null) : null,
    })
  }

  const boundaries = boundaryGroups([...prepared.values()].map((s) => s.info)).map((group): BoundaryFigure => {
    const partial = partialCoverage(group.boundary, group.sourceIds.map((id) => prepared.get(id)!), options.uncovered)
    const base = {boundary: group.boundary, method: group.method, sourceIds: group.sourceIds, alternatives: group.alternatives, ...(partial ? {partial} : {})}
    const invalid = group.sourceIds.map((id) => energies.get(id)).flatMap((e) => (e && 'invalid' in e ? [e.invalid] : []))
    if (invalid.length > 0) return {...base, grossJ: null, netJ: null, avgW: null, peakW: null, gross: null, net: null, missing: invalid.map((i) => i.reason).join('; '), invalid}
    const grossJ = sum(group.sourceIds.map((id) => (energies.get(id) as {joules: number}).joules))
    const idleWs = group.sourceIds.map((id) => idleBySource.get(id))
    const netJ = idleWs.every((w): w is number => typeof w === 'number') ? netJoules(grossJ, sum(idleWs), windowMs) : null
    return {
      ...base,
      grossJ,
      netJ,
      avgW: windowMs > 0 ? (grossJ * 1000) / windowMs : null,
      peakW: windowMs > 0 ? (peakWatts(group.sourceIds.map((id) => prepared.get(id)!), intervals) ?? null) : null,
      gross: perToken(grossJ, tokens),
      net: netJ === null ? null : perToken(netJ, tokens),
    }
  })
  return {phase: name, windowMs, tokens, tokenKind, overlapMs, boundaries, widest: boundaries.find((b) => !b.missing)?.boundary ?? null, series}
}

/**
 * 'covers 1 of 2 GPUs; not NVIDIA ... (GPU 0): power.draw [Not Supported]' when a source of one of
 * the group's boundaries knows devices it could not read; undefined when it covers them all.
 */
function partialCoverage(boundary: string, series: readonly PreparedSeries[], uncovered: readonly UncoveredDevice[]): string | undefined {
  const parts = boundary.split('+')
  const missing = uncovered.filter((u) => parts.includes(u.boundary))
  if (missing.length === 0) return undefined
  return [...new Set(missing.map((u) => u.boundary))]
    .map((b) => {
      const here = missing.filter((u) => u.boundary === b)
      const covered = series.filter((s) => s.info.boundary === b).length
      const noun = b === 'gpu-board' ? 'GPUs' : 'devices'
      return `covers ${covered} of ${covered + here.length} ${noun}; not ${here.map((u) => `${u.device}: ${u.reason}`).join(', ')}`
    })
    .join('; ')
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0)
}

/** The tokens a total-phase figure divides by: every request's prompt tokens, generated tokens, or both. */
export function basisTokens(requests: readonly RequestPhases[], basis: TokenBasis): number {
  const prompt = basis === 'generated' ? 0 : sum(requests.map((r) => r.promptTokens))
  const generated = basis === 'prompt' ? 0 : sum(requests.map((r) => r.outputTokens))
  return prompt + generated
}

/**
 * The windows of the total phase: prefill and decode merged, and for requests run back to back
 * their repetition's whole span (the meter sees the burst as one window, gaps between requests included).
 */
function totalWindows(requests: readonly RequestPhases[]): Interval[] {
  return unionIntervals(requests.flatMap((r) => [r.prefill, r.decode, r.window].filter((w): w is Interval => w !== undefined)))
}

/**
 * Joules of each series in `ids` over merged intervals of a benchmark window, or why not (a
 * validity code; energy/validity.ts): each series judged with its source's siblings, then a series
 * that includes one whose readings are not readings (Combined Power with CPU Power at 0 W) is
 * invalid too. An empty window is 0 J.
 */
function seriesEnergies(prepared: ReadonlyMap<string, PreparedSeries>, ids: readonly string[], intervals: readonly Interval[], options: Pick<EnergyOptions, 'maxGapMs' | 'minUpdates'>): Map<string, SeriesEnergy> {
  const windowMs = totalLength(intervals)
  const energies = new Map<string, SeriesEnergy>()
  const wanted = [...new Set(ids.flatMap((id) => [id, ...(prepared.get(id)?.info.includes ?? [])]))]
  for (const id of wanted) {
    const s = prepared.get(id)
    if (!s) continue
    energies.set(id, windowMs > 0 ? seriesEnergy(s, intervals, {maxGapMs: options.maxGapMs?.(id), minUpdates: options.minUpdates, siblings: siblingsOf(s, prepared.values()), underLoad: true}) : {joules: 0})
  }
  for (const id of ids) {
    const own = energies.get(id)
    if (!own || 'invalid' in own) continue
    const bad = (prepared.get(id)!.info.includes ?? []).map((i) => energies.get(i)).find((e): e is Extract<SeriesEnergy, {invalid: unknown}> => !!e && 'invalid' in e && IMPLAUSIBLE.includes(e.invalid.code))
    if (bad) {
      const invalid = {code: bad.invalid.code, sourceId: id, reason: `${id}: includes ${bad.invalid.reason}`}
      energies.set(id, {missing: invalid.reason, invalid})
    }
  }
  return energies
}

/**
 * Gross joules of the total windows (totalWindows) of some requests, summed over the series that
 * stand for one boundary, or why they cannot be given (the validity checks of computeEnergy, with
 * `minUpdates` meter updates per window): the cheap figure a comparison needs for every repetition
 * (computeEnergy gives every phase, boundary and peak).
 */
export function totalJoules(prepared: ReadonlyMap<string, PreparedSeries>, sourceIds: readonly string[], requests: readonly RequestPhases[], options: {minUpdates?: number} = {}): {joules: number} | {missing: string} {
  const energies = seriesEnergies(prepared, sourceIds, totalWindows(requests), options)
  let joules = 0
  for (const id of sourceIds) {
    const energy = energies.get(id)
    if (!energy) return {missing: `no series ${id}`}
    if ('missing' in energy) return energy
    joules += energy.joules
  }
  return {joules}
}
