import {z} from 'zod'
import {METHODS} from '../power/power-source.js'
import {InvalidSchema} from './validity.js'

/**
 * The energy summary a result file carries next to the raw power record. It is derived
 * (computeEnergy) and can be rebuilt from the record and the request timelines.
 */
/** The tokens a per-token energy figure divides by. */
export const TOKEN_BASES = ['prompt', 'generated', 'prompt+generated'] as const
export type TokenBasis = (typeof TOKEN_BASES)[number]

const finite = z.number().refine(Number.isFinite, 'must be a finite number')
const joules = finite.nullable()

export const PerTokenSchema = z.strictObject({
  jPerToken: finite,
  whPer1kTokens: finite,
  tokensPerKwh: finite.nullable(),
})

export const BoundaryFigureSchema = z.strictObject({
  boundary: z.string().describe("a boundary or a sum of non-overlapping ones: 'wall', 'cpu-package+gpu-board'"),
  method: z.enum(METHODS).describe('the weakest method among the series: estimated if any series is'),
  sourceIds: z.array(z.string()),
  alternatives: z.array(z.string()),
  grossJ: joules,
  netJ: joules,
  avgW: joules,
  peakW: joules,
  gross: PerTokenSchema.nullable(),
  net: PerTokenSchema.nullable(),
  missing: z.string().optional(),
  invalid: z.array(InvalidSchema).optional().describe('validity codes of the series that failed their checks; the figure is then missing'),
  partial: z.string().optional().describe('the boundary covers only some of its devices (a GPU without a power reading)'),
})

export const SeriesFigureSchema = z.strictObject({
  sourceId: z.string(),
  boundary: z.string(),
  method: z.enum(METHODS),
  part: z.string().optional(),
  grossJ: joules,
  netJ: joules,
  avgW: joules,
  peakW: joules,
  missing: z.string().optional(),
  invalid: z.array(InvalidSchema).optional(),
})

export const PhaseEnergySchema = z.strictObject({
  phase: z.enum(['prefill', 'decode', 'total']),
  windowMs: finite,
  tokens: z.number().int().min(0),
  /** What `tokens` counts: prompt tokens (prefill; the total of pp tests), generated tokens (decode; the total of tg tests), or both (the total of pg and chat tests). */
  tokenKind: z.enum(TOKEN_BASES),
  overlapMs: finite,
  boundaries: z.array(BoundaryFigureSchema),
  widest: z.string().nullable(),
  series: z.array(SeriesFigureSchema),
})

export const IdleWattsSchema = z.union([
  z.strictObject({sourceId: z.string(), watts: finite, sdW: finite.optional().describe('sample sd of the readings in the idle window')}),
  z.strictObject({sourceId: z.string(), watts: z.null(), missing: z.string()}),
])

export const EnergySummarySchema = z.strictObject({
  idle: z.strictObject({t0: finite, t1: finite, series: z.array(IdleWattsSchema)}).nullable(),
  phases: z.array(PhaseEnergySchema),
})

export type PerToken = z.infer<typeof PerTokenSchema>
export type BoundaryFigure = z.infer<typeof BoundaryFigureSchema>
export type SeriesFigure = z.infer<typeof SeriesFigureSchema>
export type PhaseEnergy = z.infer<typeof PhaseEnergySchema>
export type IdleWatts = z.infer<typeof IdleWattsSchema>
export type EnergySummary = z.infer<typeof EnergySummarySchema>
export type PhaseName = PhaseEnergy['phase']
