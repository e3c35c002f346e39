import type {Method} from '../power/power-source.js'
import {idleWatts, netJoules, type IdleWatts} from './baseline.js'
import {boundaryGroups} from './boundary.js'
import {perToken, type PerToken} from './per-token.js'
import {overlapLength, totalLength, unionIntervals, type Interval, type RequestPhases} from './phases.js'
import {peakWatts, prepareSeries, seriesEnergy, type EnergyInput, type PreparedSeries} from './series-energy.js'

export type PhaseName = 'prefill' | 'decode' | 'total'

/** One series over one phase: for showing each meter and the parts (core, uncore) on their own. */
export interface SeriesFigure {
  sourceId: string
  boundary: string
  method: Method
  part?: string
  grossJ: number | null
  netJ: number | null
  avgW: number | null
  peakW: number | null
  missing?: string
}

/** One boundary over one phase: the figure a report prints, always with its boundary and method. */
export interface BoundaryFigure {
  boundary: string
  method: Method
  sourceIds: string[]
  /** Series covering the same thing that were left out (never added). */
  alternatives: string[]
  grossJ: number | null
  /** Gross minus idle watts x window length; null without an idle baseline. */
  netJ: number | null
  avgW: number | null
  peakW: number | null
  gross: PerToken | null
  net: PerToken | null
  /** Why the window is not covered (a source failed, a gap): then every number is null. */
  missing?: string
}

export interface PhaseEnergy {
  phase: PhaseName
  /** Length of the union of the phase's windows (ms). */
  windowMs: number
  /** The per-token denominator: prompt tokens (prefill), tokens generated in decode windows, all generated tokens (total). */
  tokens: number
  tokenKind: 'prompt' | 'generated'
  /** Time this phase shares with the other phase (concurrent requests): its energy is counted in both. */
  overlapMs: number
  boundaries: BoundaryFigure[]
  /** The widest boundary whose figure is not missing, or null. */
  widest: string | null
  series: SeriesFigure[]
}

export interface EnergySummary {
  idle: {t0: number; t1: number; series: IdleWatts[]} | null
  phases: PhaseEnergy[]
}

export interface EnergyOptions {
  /** Longest allowed gap between readings inside a window, per series (default: defaultMaxGapMs). */
  maxGapMs?: (sourceId: string) => number | undefined
}

/**
 * Energy of one run's requests, per phase and boundary. Windows of the same phase are merged
 * first (concurrent requests), so the energy of a window is divided by all tokens produced in it.
 */
export function computeEnergy(input: EnergyInput, requests: readonly RequestPhases[], options: EnergyOptions = {}): EnergySummary {
  const prepared = prepareSeries(input)
  const idle = input.idle ? {t0: input.idle.t0, t1: input.idle.t1, series: [...prepared.values()].map((s) => idleWatts(s, input.idle!))} : null
  const idleBySource = new Map(idle?.series.map((w) => [w.sourceId, w.watts]) ?? [])

  const prefill = unionIntervals(requests.flatMap((r) => (r.prefill ? [r.prefill] : [])))
  const decode = unionIntervals(requests.flatMap((r) => (r.decode ? [r.decode] : [])))
  const total = unionIntervals([...prefill, ...decode])
  const promptTokens = sum(requests.filter((r) => r.prefill).map((r) => r.promptTokens))
  const decodeTokens = sum(requests.filter((r) => r.decode).map((r) => Math.max(0, r.outputTokens - 1)))
  const outputTokens = sum(requests.map((r) => r.outputTokens))
  const overlap = overlapLength(prefill, decode)

  const phase = (name: PhaseName, intervals: Interval[], tokens: number, tokenKind: 'prompt' | 'generated', overlapMs: number): PhaseEnergy =>
    phaseEnergy(name, intervals, tokens, tokenKind, overlapMs, prepared, idleBySource, options)
  return {
    idle,
    phases: [
      phase('prefill', prefill, promptTokens, 'prompt', overlap),
      phase('decode', decode, decodeTokens, 'generated', overlap),
      outputTokens > 0 ? phase('total', total, outputTokens, 'generated', 0) : phase('total', total, promptTokens, 'prompt', 0),
    ],
  }
}

function phaseEnergy(
  name: PhaseName,
  intervals: Interval[],
  tokens: number,
  tokenKind: 'prompt' | 'generated',
  overlapMs: number,
  prepared: Map<string, PreparedSeries>,
  idleBySource: Map<string, number | null>,
  options: EnergyOptions,
): PhaseEnergy {
  const windowMs = totalLength(intervals)
  const energies = new Map<string, {joules: number} | {missing: string}>()
  const series: SeriesFigure[] = []
  for (const s of prepared.values()) {
    const energy = windowMs > 0 ? seriesEnergy(s, intervals, options.maxGapMs?.(s.info.id)) : {joules: 0}
    energies.set(s.info.id, energy)
    const base = {sourceId: s.info.id, boundary: s.info.boundary, method: s.info.method, ...(s.info.part ? {part: s.info.part} : {})}
    if ('missing' in energy) {
      series.push({...base, grossJ: null, netJ: null, avgW: null, peakW: null, missing: energy.missing})
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
    const base = {boundary: group.boundary, method: group.method, sourceIds: group.sourceIds, alternatives: group.alternatives}
    const missing = group.sourceIds.map((id) => energies.get(id)).flatMap((e) => (e && 'missing' in e ? [e.missing] : []))
    if (missing.length > 0) return {...base, grossJ: null, netJ: null, avgW: null, peakW: null, gross: null, net: null, missing: missing.join('; ')}
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

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0)
}
