import {z} from 'zod'
import {SERVER_KINDS} from '../metrics/server-metrics.js'

/**
 * Shapes an endpoint target adds to a result: the protocol the client settled on with the server
 * (learned once per target, never by failing the run), and the server's own Prometheus metrics
 * scraped over each measured phase. Raw facts only; figures are derived from them elsewhere.
 */

const finite = z.number().refine(Number.isFinite, 'must be a finite number')
const ms = finite.describe('milliseconds since the run started (monotonic clock)')

export const ProtocolFallbackSchema = z.strictObject({
  /** The request parameter the server rejected. */
  parameter: z.enum(['stream_options', 'ignore_eos', 'max_tokens']),
  /** What is sent instead: nothing, or max_completion_tokens for max_tokens. */
  replacement: z.enum(['none', 'max_completion_tokens', 'include_usage']),
  /** Learned on the preflight request or on a streamed request (which was re-sent). */
  learnedAt: z.enum(['preflight', 'request']),
  /** The server's answer, shortened. */
  reason: z.string(),
})
export type ProtocolFallback = z.infer<typeof ProtocolFallbackSchema>

export const EndpointProtocolSchema = z.strictObject({
  /** The parameter carrying the output length. */
  maxTokensParam: z.enum(['max_tokens', 'max_completion_tokens']),
  /** stream_options sent: usage at the end, usage in every chunk (vLLM, SGLang), or none (rejected by the server). */
  streamOptions: z.enum(['include_usage', 'continuous_usage_stats', 'none']),
  fallbacks: z.array(ProtocolFallbackSchema),
  /** ignore_eos was sent and accepted, yet outputs stopped early with finish_reason "stop": the evidence. */
  ignoreEosIgnored: z.string().optional(),
})
export type EndpointProtocol = z.infer<typeof EndpointProtocolSchema>

export const ServerMetricsSourceSchema = z.union([
  z.strictObject({
    available: z.literal(true),
    /** Without credentials or query string. */
    url: z.string(),
    /** Which server's metric names were found (vllm:, sglang:, llamacpp:). */
    server: z.enum(SERVER_KINDS),
    /** Whether the URL came from the target's metricsUrl or was found at the server's own address. */
    found: z.enum(['configured', 'discovered']),
    /** Gauges are sampled this often during a phase; counters and histograms are read at its edges. */
    intervalMs: z.number().int().positive(),
  }),
  z.strictObject({available: z.literal(false), url: z.string(), reason: z.string()}),
])
export type ServerMetricsSource = z.infer<typeof ServerMetricsSourceSchema>

/** A Prometheus histogram's increase over a phase: cumulative bucket counts at finite upper bounds (the +Inf bucket is `count`). */
export const HistogramDeltaSchema = z.strictObject({
  le: z.array(finite),
  counts: z.array(finite),
  sum: finite,
  count: finite,
})

/**
 * The server's metrics over one measured phase, keyed by series as exposed (`name{label="v",...}`,
 * labels sorted): counters and histograms as their increase from the scrape at the phase's start
 * to the one at its end; gauges as every sample taken in between.
 */
export const ServerMetricsPhaseSchema = z.strictObject({
  server: z.enum(SERVER_KINDS),
  /** Times of the first and last scrape. */
  window: z.tuple([ms, ms]),
  counters: z.record(z.string(), finite),
  gauges: z.record(z.string(), z.array(z.tuple([ms, finite]))),
  histograms: z.record(z.string(), HistogramDeltaSchema),
  /** Scrapes that failed, and series dropped because a counter went down (server restart). */
  failures: z.array(z.string()).optional(),
})
export type ServerMetricsPhase = z.infer<typeof ServerMetricsPhaseSchema>
