import {z} from 'zod'
import {LoadSchema} from './load.js'

const finite = z.number().refine(Number.isFinite, 'must be a finite number')
const count = z.number().int().min(0)

/**
 * Why a sweep stopped. saturated: throughput gained less than the threshold from a doubling;
 * over-saturated: TTFT rose without throughput, or (open loop) the server completed requests
 * slower than they arrived; errors: too many requests failed at a level; target-limit: the target
 * serves no more requests at once (Engine.maxConcurrency); max-level: the highest level allowed;
 * time-budget, request-budget: the sweep's bounds; interrupted: Ctrl-C or a crash; converged: a
 * goodput search narrowed the highest passing level to its tolerance; objectives-unmet: even the
 * lowest level missed the goodput target; no-throughput: a level gave no throughput to decide on (outputs stopped short).
 */
export const SWEEP_STOPS = ['saturated', 'over-saturated', 'errors', 'target-limit', 'max-level', 'time-budget', 'request-budget', 'interrupted', 'converged', 'objectives-unmet', 'no-throughput'] as const
export type SweepStop = (typeof SWEEP_STOPS)[number]

/** How a sweep chose its levels and when it stops: `--concurrency sweep`, `--rate sweep`, `--goodput-target`. */
export const SweepSettingsSchema = z.strictObject({
  mode: z.enum(['concurrency', 'rate']),
  /** saturation: double until throughput stops growing, then fill in around the knee; goodput: the highest level whose SLO attainment meets the target. */
  search: z.enum(['saturation', 'goodput']),
  /** A doubling must raise throughput by more than this share (0.1: 1.1x), else the sweep is saturated. */
  minGain: finite,
  /** TTFT rising this many times from one level to the next while throughput gains under 2 x minGain is over-saturation. */
  ttftRise: finite,
  /** Open loop: completions arriving slower than this share of the arrival rate is over-saturation. */
  keepUp: finite,
  /** Share of a level's requests that may fail before the sweep stops. */
  maxErrorRate: finite,
  /** Highest concurrency (or rate, requests/s) the sweep may try. */
  maxLevel: finite,
  /** Bounds of one sweep (one target x test): seconds from its first level, and requests sent. */
  maxSeconds: finite,
  maxRequests: count,
  /**
   * Requests per measured phase (--max-requests); 'level': as many as are in flight (one batch of a
   * local engine's parallel sequences; a suite's sweep); absent: 4 x the level, at least 16 (closed
   * loop), 32 (open loop), or one batch on an engine that batches parallel sequences.
   */
  requestsPerLevel: z.union([count, z.literal('level')]).optional(),
  /** Levels measured between the last levels of the doubling, on each side of the knee. */
  fill: count,
  /** goodput: the share of requests that must meet every --slo objective. */
  goodputTarget: finite.optional(),
})
export type SweepSettings = z.infer<typeof SweepSettingsSchema>

/** start: one request at a time (an open-loop sweep starts from the rate it sustains, as GuideLLM's synchronous run); double; fill: around the knee; bisect, descend: a goodput search. */
export const SWEEP_STAGES = ['start', 'double', 'fill', 'bisect', 'descend'] as const

/** A sweep as it ran (the raw record): its settings, each level in the order it was measured, and why it stopped. */
export const SweepRecordSchema = z.strictObject({
  target: z.string(),
  test: z.string(),
  settings: SweepSettingsSchema,
  steps: z.array(z.strictObject({load: LoadSchema, stage: z.enum(SWEEP_STAGES), requests: count})),
  /** Absent while the sweep runs (a checkpoint). */
  stop: z.strictObject({code: z.enum(SWEEP_STOPS), reason: z.string()}).optional(),
})
export type SweepRecord = z.infer<typeof SweepRecordSchema>

/** One level of a sweep with the figures its decisions read (from the derivation's cell). */
export const SweepPointSchema = z.strictObject({
  load: LoadSchema,
  stage: z.enum(SWEEP_STAGES),
  /** Output tokens/s over the phase, mean over repetitions. */
  aggregateTps: finite.optional(),
  /** Completed requests/s, mean over repetitions. */
  requestThroughput: finite.optional(),
  /** Median over requests. */
  ttftMs: finite.optional(),
  /** Tokens/s each user sees: the median over requests of 1 / TPOT. */
  decodeTps: finite.optional(),
  /** Open loop: completions' rate over arrivals' rate (1: the server kept up). */
  keepUp: finite.optional(),
  /** Requests/s meeting every objective (goodput), mean over repetitions. */
  goodputRps: finite.optional(),
  requests: count,
  failed: count,
  /** Share of requests meeting every objective (goodput search). */
  attainment: finite.optional(),
  /** The attainment interval lies wholly on one side of the target (enough requests to decide). */
  resolved: z.boolean().optional(),
})
export type SweepPoint = z.infer<typeof SweepPointSchema>

/** A sweep summarized by the derivation: its points, why it stopped, and where it saturated or the highest level meeting the objectives. */
export const SweepSummarySchema = z.strictObject({
  target: z.string(),
  test: z.string(),
  settings: SweepSettingsSchema,
  points: z.array(SweepPointSchema),
  stop: z.strictObject({code: z.enum(SWEEP_STOPS), reason: z.string()}).optional(),
  /** saturation: the lowest level within the gain threshold of the peak throughput (the knee), and the peak. */
  saturation: z.strictObject({load: LoadSchema, aggregateTps: finite, peakLoad: LoadSchema, peakTps: finite}).optional(),
  /** goodput: the highest level meeting the target (null: none), the lowest that missed it, and levels with too few requests to decide. */
  goodput: z.strictObject({best: LoadSchema.nullable(), bestAttainment: finite.optional(), bestGoodputRps: finite.optional(), lowestFailing: LoadSchema.nullable(), unresolved: z.array(LoadSchema)}).optional(),
})
export type SweepSummary = z.infer<typeof SweepSummarySchema>
