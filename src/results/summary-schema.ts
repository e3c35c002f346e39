import {z} from 'zod'
import {EnergySummarySchema, TOKEN_BASES} from '../energy/schema.js'
import {HostedRequestSchema} from '../energy/hosted-estimate.js'
import {SAMPLE_UNITS, StatsSchema} from '../metrics/statistics.js'
import {METHODS} from '../power/power-source.js'
import {LoadSchema} from './load.js'

/**
 * The derived figures a result file carries as `summary`: a cache of what src/derive computes
 * from the raw runs and power record, stamped with the derivation's version. owbench never shows
 * it: every figure it prints is derived again from the raw data, and the summary is rewritten
 * whenever its stamp differs from the running derivation.
 */
const finite = z.number().refine(Number.isFinite, 'must be a finite number')
const count = z.number().int().min(0)

export const METRIC_NAMES = ['tokens_per_second', 'prefill_tps', 'generation_tps', 'decode_tps', 'ttft_ms', 'tpot_ms', 'itl_ms', 'e2e_ms', 'aggregate_tps', 'request_throughput', 'goodput_rps'] as const
export type MetricName = (typeof METRIC_NAMES)[number]

/** One metric's statistics, by sample unit (repetition means, pooled requests, pooled gaps): each names what it is over. */
export const MetricStatsSchema = z.partialRecord(z.enum(SAMPLE_UNITS), StatsSchema)

/**
 * Why an energy figure is missing. `no-power`: the run sampled no power; `not-covered`: the
 * chosen boundary's series do not cover the windows (a gap, a failed source); `no-tokens`: nothing
 * to divide by; `no-estimate`: an endpoint without a meter on its server whose requests do not
 * support the hosted estimate. Validity checks add codes here.
 */
export const MISSING_CODES = ['no-power', 'not-covered', 'no-tokens', 'no-estimate'] as const

export const MissingEnergySchema = z.strictObject({status: z.literal('missing'), code: z.enum(MISSING_CODES), reason: z.string()})

/** Energy from power series in scope, at the target's headline boundary; gross is the headline, net beside it. */
export const MeteredEnergySchema = z.strictObject({
  status: z.literal('metered'),
  boundary: z.string(),
  method: z.enum(METHODS),
  basis: z.enum(TOKEN_BASES),
  tokens: count,
  grossJ: finite,
  jPerToken: finite,
  /** Gross minus idle x window, per token; null without an idle baseline. */
  netJPerToken: finite.nullable(),
  sourceIds: z.array(z.string()),
})

/** An endpoint without a meter on its server: the hosted infrastructure model's low and high J per token (facility, estimated). */
export const ModelledEnergySchema = z.strictObject({
  status: z.literal('modelled'),
  boundary: z.literal('facility'),
  method: z.literal('estimated'),
  basis: z.enum(TOKEN_BASES),
  /** Tokens of the basis in the typical request. */
  tokens: finite,
  low: finite,
  high: finite,
  model: z.string(),
  request: HostedRequestSchema,
})

/** The one energy figure every renderer shows for a cell (or a cost measurement), with how it was obtained. */
export const EnergyFigureSchema = z.discriminatedUnion('status', [MeteredEnergySchema, ModelledEnergySchema, MissingEnergySchema])

/** One target x test x load level. */
export const CellSchema = z.strictObject({
  target: z.string(),
  test: z.string(),
  kind: z.enum(['pp', 'tg', 'pg', 'chat']),
  load: LoadSchema,
  /** Repetitions (phases) by state. */
  completed: count,
  errored: count,
  skipped: count,
  /** Why repetitions were skipped (the first reason). */
  skipReason: z.string().optional(),
  /** Measured requests, and those that failed by reason. */
  requests: count,
  failedRequests: count,
  errorReasons: z.record(z.string(), count),
  /** Token counts of the first measured request. */
  nPrompt: count,
  nOut: count,
  metrics: z.partialRecord(z.enum(METRIC_NAMES), MetricStatsSchema),
  /** One value per completed repetition, in order: what comparisons test. `j_per_token` is the headline energy's. */
  repetitionValues: z.partialRecord(z.enum([...METRIC_NAMES, 'j_per_token']), z.array(finite)),
  energy: EnergyFigureSchema,
  /** Energy per phase and boundary of the series in scope; null when none is. */
  phases: EnergySummarySchema.nullable(),
})

/** How a target's energy is obtained, chosen once for all its cells. */
export const EnergyChoiceSchema = z.discriminatedUnion('source', [
  z.strictObject({source: z.literal('meter'), boundary: z.string(), method: z.enum(METHODS), sourceIds: z.array(z.string()), scope: z.string()}),
  z.strictObject({source: z.literal('hosted-model'), reason: z.string()}),
  z.strictObject({source: z.literal('none'), reason: z.string()}),
])

/** The measured side of a target as cost reads it: generation tests at the highest load measured. */
export const CostBasisFiguresSchema = z.strictObject({
  load: LoadSchema,
  /** Generated tokens over the summed spans of the measured phases, per second. */
  outputTokensPerSecond: finite,
  tokens: z.strictObject({input: count, output: count}),
  /** Per generated token, the prompts' energy included. */
  energy: EnergyFigureSchema,
})

export const TargetFiguresSchema = z.strictObject({
  target: z.string(),
  energy: EnergyChoiceSchema,
  /** Absent when the target completed no generation test. */
  cost: CostBasisFiguresSchema.optional(),
})

export const DerivedSummarySchema = z.strictObject({
  derivation: z.strictObject({version: z.number().int().positive()}),
  cells: z.array(CellSchema),
  targets: z.array(TargetFiguresSchema),
})

export type MetricStats = z.infer<typeof MetricStatsSchema>
export type EnergyFigure = z.infer<typeof EnergyFigureSchema>
export type Cell = z.infer<typeof CellSchema>
export type EnergyChoice = z.infer<typeof EnergyChoiceSchema>
export type CostBasisFigures = z.infer<typeof CostBasisFiguresSchema>
export type TargetFigures = z.infer<typeof TargetFiguresSchema>
export type DerivedSummary = z.infer<typeof DerivedSummarySchema>
