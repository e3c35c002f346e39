import {servedHere} from './loopback.js'
import {median} from 'simple-statistics'
import {boundaryGroups} from '../energy/boundary.js'
import {estimateHostedEnergy} from '../energy/hosted-estimate.js'
import {requestPhases, type RequestPhases} from '../energy/phases.js'
import type {EnergyInput} from '../energy/series-energy.js'
import type {EnergySummary, TokenBasis} from '../energy/schema.js'
import type {ValidityCode} from '../energy/validity.js'
import {prepareSeries} from '../energy/series-energy.js'
import {basisTokens, computeEnergy, totalJoules} from '../energy/summary.js'
import {requestMetrics, type RequestTimeline} from '../metrics/request-metrics.js'
import type {ResultFile, RunRecord, Target} from '../results/schema.js'
import {measuredRequests} from './cells.js'
import type {EnergyChoice, EnergyFigure} from '../results/summary-schema.js'

/** The validity codes of a figure whose readings failed their checks, each once (energy/validity.ts); empty for any other figure. */
export function invalidCodes(figure: EnergyFigure): ValidityCode[] {
  return figure.status === 'missing' && figure.invalid ? [...new Set(figure.invalid.map((i) => i.code))] : []
}

/** The token basis of a test kind: prompt tokens for pp, generated for tg, both for pg and chat. */
export function tokenBasis(kind: RunRecord['kind']): TokenBasis {
  return kind === 'pp' ? 'prompt' : kind === 'tg' ? 'generated' : 'prompt+generated'
}

/** Whether this host's meters measure a target: a local one always; an endpoint only when the user said they are on its server (--meter-on-server, meterOnServer). */
export function meteredHere(target: Target): boolean {
  return target.kind === 'local' || target.settings.meterOnServer
}

/** The power series that measure a target: every one for a local target; for an endpoint, only when the user said the meters are on its server. */
export function powerInScope(result: ResultFile, target: Target): EnergyInput | undefined {
  if (!result.power) return undefined
  if (!meteredHere(target)) return undefined
  const sources = result.power.sources.filter((s) => s.scope === 'host')
  return {...result.power, sources}
}

/**
 * How a target's energy is obtained, chosen once for all of its cells (so its rows are at one
 * boundary): the widest boundary the series in scope form (gross is the headline, net beside it);
 * for an endpoint without a meter on its server, the hosted infrastructure model; else none.
 */
export function chooseEnergy(result: ResultFile, target: Target): EnergyChoice {
  const input = powerInScope(result, target)
  if (!meteredHere(target)) {
    // A serving engine on this machine's loopback is no provider's datacenter: the hosted estimate (an 8-GPU node's
    // share) would be a figure for hardware that was never there; this machine's meters measure it when told so.
    const port = servedHere(target)
    if (port !== undefined && target.kind === 'endpoint') return {source: 'none', reason: `${target.id} is ${target.endpoint.ownedBy} on this machine (loopback port ${port}), not a provider: no hosted-datacenter estimate; measure it with this machine's meter and --meter-on-server (or --watts N --meter-on-server)`}
    return {source: 'hosted-model', reason: result.power ? `this run's meters measure the client, not ${target.id}'s server (say --meter-on-server when they do)` : `no meter on ${target.id}'s server`}
  }
  if (!input || input.sources.length === 0) return {source: 'none', reason: 'the run sampled no power (run with a meter, or --watts N for a declared draw)'}
  const widest = boundaryGroups(input.sources)[0]
  if (!widest) return {source: 'none', reason: 'no power series forms a boundary'}
  const scope = target.kind === 'local' ? 'this host (local target)' : `${target.id}'s server (meterOnServer)`
  return {source: 'meter', boundary: widest.boundary, method: widest.method, sourceIds: widest.sourceIds, scope}
}

/**
 * The energy windows of a repetition's successful requests: each request's phases and, when they
 * ran back to back (run.backToBack), the repetition's whole span as one window, so a burst
 * stretched for a slow meter is measured as the meter saw it.
 */
export function repetitionPhases(run: RunRecord): RequestPhases[] {
  const ok = measuredRequests(run)
  const phases = ok.map(requestPhases)
  if (!run.backToBack || ok.length === 0) return phases
  const window = [Math.min(...ok.map((r) => r.tSend)), Math.max(...ok.map((r) => r.tEnd))] as const
  return phases.map((p) => ({...p, window}))
}

/**
 * Energy of requests at the chosen boundary: the total phase per `basis` token; missing with the
 * validity code and every series' reason when the readings fail their checks (energy/validity.ts),
 * and marked `partial` when the boundary covers only some of its devices.
 */
export function meteredFigure(input: EnergyInput, choice: Extract<EnergyChoice, {source: 'meter'}>, requests: readonly RequestPhases[], basis: TokenBasis): {figure: EnergyFigure; phases: EnergySummary} {
  const phases = computeEnergy(input, requests, {totalBasis: basis})
  const total = phases.phases.find((p) => p.phase === 'total')!
  const at = total.boundaries.find((b) => b.boundary === choice.boundary)
  if (at?.invalid?.length) return {phases, figure: {status: 'missing', code: at.invalid[0]!.code, reason: at.missing ?? at.invalid.map((i) => i.reason).join('; '), invalid: at.invalid}}
  if (!at || at.missing) return {phases, figure: {status: 'missing', code: 'not-covered', reason: at?.missing ?? `no ${choice.boundary} figure`}}
  if (!at.gross || at.grossJ === null) return {phases, figure: {status: 'missing', code: 'no-tokens', reason: `no ${basis} tokens to divide by`}}
  return {
    phases,
    figure: {
      status: 'metered',
      boundary: at.boundary,
      method: at.method,
      basis,
      tokens: total.tokens,
      grossJ: at.grossJ,
      jPerToken: at.gross.jPerToken,
      netJPerToken: at.net?.jPerToken ?? null,
      sourceIds: at.sourceIds,
      ...(at.partial ? {partial: at.partial} : {}),
    },
  }
}

/**
 * An endpoint's energy from the hosted infrastructure model (energy/hosted-estimate.ts) for its
 * median request: output tokens, decode rate and TTFT as measured, per `basis` token of that request.
 */
export function modelledFigure(requests: readonly RequestTimeline[], basis: TokenBasis): EnergyFigure {
  const measured = requests.map((r) => ({r, m: requestMetrics(r)}))
  const ttft = measured.flatMap(({m}) => (m.ttftMs === undefined ? [] : [m.ttftMs]))
  const decode = measured.flatMap(({m}) => (m.decodeTps === undefined ? [] : [m.decodeTps]))
  if (requests.length === 0 || ttft.length === 0) return {status: 'missing', code: 'no-estimate', reason: 'no request with a first token to estimate the hosted energy from'}
  const outputTokens = median(requests.map((r) => r.nOut))
  if (outputTokens > 1 && decode.length === 0) return {status: 'missing', code: 'no-estimate', reason: 'no decode rate to estimate the hosted energy from'}
  const request = {outputTokens, ...(outputTokens > 1 ? {outputTokensPerSecond: median(decode)} : {}), ttftSeconds: median(ttft) / 1000}
  const estimate = estimateHostedEnergy(request)
  const promptTokens = median(requests.map((r) => r.nPrompt))
  const tokens = basis === 'prompt' ? promptTokens : basis === 'generated' ? outputTokens : promptTokens + outputTokens
  if (!(tokens > 0)) return {status: 'missing', code: 'no-tokens', reason: `no ${basis} tokens to divide by`}
  const perToken = (wh: number) => (wh * 3600) / tokens
  return {status: 'modelled', boundary: 'facility', method: 'estimated', basis, tokens, low: perToken(estimate.low.whPerRequest), high: perToken(estimate.high.whPerRequest), model: estimate.model, request}
}

/**
 * J per `basis` token of each repetition at the chosen boundary (gross), for comparisons over
 * repetitions (a repetition run back to back is one value: its whole burst's energy over all its
 * tokens); undefined when any repetition's windows are not covered or fail their validity checks.
 * The same integration as the cell's figure, without the phases, peaks and other boundaries a
 * cell also reports.
 */
export function repetitionJPerToken(input: EnergyInput, choice: Extract<EnergyChoice, {source: 'meter'}>, repetitions: readonly (readonly RequestPhases[])[], basis: TokenBasis): number[] | undefined {
  const prepared = prepareSeries(input)
  const values: number[] = []
  for (const phases of repetitions) {
    const energy = totalJoules(prepared, choice.sourceIds, phases, {minUpdates: input.minUpdates})
    const tokens = basisTokens(phases, basis)
    if ('missing' in energy || !(tokens > 0)) return undefined
    values.push(energy.joules / tokens)
  }
  return values
}
