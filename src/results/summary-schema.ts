import {z} from 'zod'
import {EnergySummarySchema, TOKEN_BASES} from '../energy/schema.js'
import {InvalidSchema, VALIDITY_CODES} from '../energy/validity.js'
import {HostedRequestSchema} from '../energy/hosted-estimate.js'
import {ServerPhaseFiguresSchema} from '../metrics/server-metrics.js'
import {SAMPLE_UNITS, StatsSchema} from '../metrics/statistics.js'
import {METHODS} from '../power/power-source.js'
import {LoadSchema} from './load.js'
import {BandwidthLimitSchema, SpeedOfLightSchema} from './speed-of-light-schema.js'
import {SweepSummarySchema} from './sweep-schema.js'

/**
 * The derived figures a result file carries as `summary`: a cache of what src/derive computes
 * from the raw runs and power record, stamped with the derivation's version. owbench never shows
 * it: every figure it prints is derived again from the raw data, and the summary is rewritten
 * whenever its stamp differs from the running derivation.
 */
const finite = z.number().refine(Number.isFinite, 'must be a finite number')
const count = z.number().int().min(0)

/**
 * `ttfa_ms`: send to the first answer token (content or tool-call arguments); a reasoning model's think time is TTFA − TTFT.
 * `s_pp_tps`, `s_tg_tps`, `s_tps`: llama-batched-bench's S_PP, S_TG and S t/s of the local engine (derive/batched-bench.ts).
 */
export const METRIC_NAMES = ['tokens_per_second', 'prefill_tps', 'generation_tps', 'decode_tps', 'ttft_ms', 'ttfa_ms', 'tpot_ms', 'itl_ms', 'e2e_ms', 'aggregate_tps', 'request_throughput', 'goodput_rps', 's_pp_tps', 's_tg_tps', 's_tps'] as const
export type MetricName = (typeof METRIC_NAMES)[number]

/** One metric's statistics, by sample unit (repetition means, pooled requests, pooled gaps): each names what it is over. */
export const MetricStatsSchema = z.partialRecord(z.enum(SAMPLE_UNITS), StatsSchema)

/**
 * Why an energy figure is missing. `no-power`: the run sampled no power; `not-covered`: the
 * chosen boundary has no figure for the cell's windows; `no-tokens`: nothing to divide by;
 * `no-estimate`: an endpoint without a meter on its server whose requests do not support the
 * hosted estimate; `short-outputs`: the outputs stopped before the length the test asks for, so a
 * per-token figure would not be the test's. The rest are the validity codes of energy/validity.ts
 * (the readings are not good enough: a gap, a stuck counter, 0 W under load, a window too short
 * for the meter): the first series' code, with every series' code and reason in `invalid`.
 */
export const MISSING_CODES = ['no-power', 'not-covered', 'no-tokens', 'no-estimate', 'short-outputs', ...VALIDITY_CODES] as const
export type MissingCode = (typeof MISSING_CODES)[number]

export const MissingEnergySchema = z.strictObject({
  status: z.literal('missing'),
  code: z.enum(MISSING_CODES),
  reason: z.string(),
  invalid: z.array(InvalidSchema).optional().describe('a figure whose readings failed their validity checks: every series\' code and reason'),
})

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
  /** The boundary covers only some of its devices: which ones are left out and why ('covers 1 of 2 GPUs; not ...'). */
  partial: z.string().optional(),
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

/**
 * Measured requests of a fixed-length test (tg, pg, chat with ignore_eos) that stopped before the
 * length asked for (n_out < n_asked): the cell is not an N-token figure, so the derivation withholds
 * its figures of an N-token output (t/s, TPOT, E2E, throughput, J/token).
 */
export const ShortOutputsSchema = z.strictObject({
  /** Short requests, of the measured requests. */
  requests: count,
  of: count,
  /** Tokens asked for, and the fewest and most the short requests generated. */
  nAsked: count,
  nOutMin: count,
  nOutMax: count,
  /** The server's finish_reason of the short requests, counted ('unknown' where none was sent). */
  finishReasons: z.record(z.string(), count),
})

/** Reasoning tokens of a cell's measured requests (reasoning models), and where the counts come from. */
export const ReasoningSchema = z.strictObject({
  /** Requests with reasoning tokens, and all reasoning tokens among their generated ones. */
  requests: count,
  tokens: count,
  /** Reasoning tokens over every generated token of the measured requests, 0..1. */
  share: finite,
  /** usage: the server's completion_tokens_details.reasoning_tokens; stream: counted from reasoning chunks; mixed: both. */
  source: z.enum(['usage', 'stream', 'mixed']),
  /** Reasoning tokens the server counted but never streamed (OpenAI's reasoning models): inside TTFT, out of TPOT. */
  hidden: count,
})

/** The server's own Prometheus figures over a cell's measured phases (merged), beside what owbench itself sent and received in them. */
export const ServerCellSchema = z.strictObject({
  /** Phases with server metrics. */
  phases: count,
  figures: ServerPhaseFiguresSchema,
  /** owbench's side of the same phases: requests sent, prompt tokens sent (absent when a request's count is unknown: counted from the stream), tokens received. */
  client: z.strictObject({requests: count, promptTokens: count.optional(), generatedTokens: count}),
  /** Failed scrapes and dropped series (a counter went down). */
  failures: z.array(z.string()).optional(),
})

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
  /** Repetitions stopped by Ctrl-C (kept out of every statistic), and the first one's reason; absent when none. */
  interrupted: count.optional(),
  interruptReason: z.string().optional(),
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
  /** token: every gap is between tokens (each chunk's count known); chunk: one gap per chunk, since some chunks held several tokens or their count is unconfirmed. */
  itlBasis: z.enum(['token', 'chunk']),
  /** The requests ran as this many parallel sequences of one context (the local engine's batches); absent otherwise. */
  sequences: z.number().int().min(2).optional(),
  /** Requests whose server count exceeds their token-bearing chunks: chunks held several tokens (speculative decoding, batching servers). */
  multiTokenChunkRequests: count,
  shortOutputs: ShortOutputsSchema.optional(),
  reasoning: ReasoningSchema.optional(),
  server: ServerCellSchema.optional(),
  /**
   * Requests each completed repetition ran back to back so its energy window spanned enough meter
   * updates (in order; absent when none did). Each stretched repetition is still one repetition:
   * its repetition values are the whole burst's.
   */
  backToBack: z.array(z.number().int().positive()).optional(),
  /** Why the cell's figures should not be trusted (a busy machine, a t/s spread, throttling; metrics/reliability.ts). */
  warnings: z.array(z.string()).optional(),
  /** tg and pg cells: bytes read per generated token x tokens/s as a share of the bandwidth limit, or why it is missing. */
  speedOfLight: SpeedOfLightSchema.optional(),
  /** With --slo: requests meeting every objective, of all requests (a failed request misses), with the 95% Wilson score interval of the fraction. */
  sloAttainment: z.strictObject({met: count, of: count, fraction: finite, low: finite, high: finite}).optional(),
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
  /** What a reader must know about how the target was measured: protocol fallbacks, ignore_eos not sent or not honoured. */
  notes: z.array(z.string()),
  /** Absent when the target completed no generation test. */
  cost: CostBasisFiguresSchema.optional(),
  /** The memory bandwidth its decode is bound by (the speed-of-light column's denominator), or why it has none. */
  bandwidth: z.discriminatedUnion('status', [z.strictObject({status: z.literal('ok'), limit: BandwidthLimitSchema}), z.strictObject({status: z.literal('missing'), reason: z.string()})]),
})

export const DerivedSummarySchema = z.strictObject({
  derivation: z.strictObject({version: z.number().int().positive()}),
  cells: z.array(CellSchema),
  targets: z.array(TargetFiguresSchema),
  /** Warnings about the run as a whole (an idle baseline too noisy for net energy). */
  warnings: z.array(z.string()).optional(),
  /** Each load sweep or goodput search of the run, summarized from its cells. */
  sweeps: z.array(SweepSummarySchema).optional(),
})

export type MetricStats = z.infer<typeof MetricStatsSchema>
export type EnergyFigure = z.infer<typeof EnergyFigureSchema>
export type Cell = z.infer<typeof CellSchema>
export type ShortOutputs = z.infer<typeof ShortOutputsSchema>
export type EnergyChoice = z.infer<typeof EnergyChoiceSchema>
export type CostBasisFigures = z.infer<typeof CostBasisFiguresSchema>
export type TargetFigures = z.infer<typeof TargetFiguresSchema>
export type DerivedSummary = z.infer<typeof DerivedSummarySchema>
