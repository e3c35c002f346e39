import {z} from 'zod'
import {HostedEnergyEstimateSchema} from '../energy/hosted-estimate.js'
import {LoadSchema} from './load.js'
import {EnergyFigureSchema} from './summary-schema.js'

/**
 * The shapes of the cost section a result file carries (`owbench run` with a config "cost"
 * section) and `owbench cost --json` prints: every figure with its money (currency and base
 * period), its token basis and where each input came from. The cost library (src/cost) computes
 * them; their types are these schemas' z.infer.
 */
const finite = z.number().refine(Number.isFinite, 'must be a finite number')

/** An amount in one currency, in the money of one base period; figures of different currencies or periods are never added. */
export const MoneySchema = z.strictObject({
  amount: finite,
  currency: z.string(),
  /** The period whose prices the amount is expressed in: `2025` or `2026-05`. */
  base: z.string(),
  /** `USD, 2025 dollars`: printed next to every money figure. */
  label: z.string(),
})

/** A year (`1995`) or a month (`1995-08`) whose prices a figure is in. */
export const PeriodSchema = z.strictObject({year: z.number().int(), month: z.number().int().min(1).max(12).optional(), text: z.string()})

export const CpiReadingSchema = z.strictObject({
  /** The period whose index was used: a month asked of an annual-only series reads its year. */
  period: PeriodSchema,
  value: finite,
  precision: z.enum(['annual', 'monthly']),
  /** Set when the reading is not exactly the period asked for. */
  note: z.string().optional(),
})

/** `amount x CPI(to) / CPI(from)`. */
export const ConversionSchema = z.strictObject({
  amount: finite,
  from: CpiReadingSchema,
  to: CpiReadingSchema,
  /** CPI(to) / CPI(from): above 1 inflates, below 1 deflates. */
  factor: finite,
  result: MoneySchema,
  series: z.strictObject({id: z.string(), name: z.string(), source: z.string()}),
})

/** `output`: per generated token; `total`: per prompt + generated token. Throughput and energy must count the same tokens. */
export const COST_BASES = ['output', 'total'] as const
export const CostBasisSchema = z.enum(COST_BASES)

export const ThroughputSchema = z.strictObject({tokensPerSecond: finite, per: CostBasisSchema})
export const TokenCountsSchema = z.strictObject({input: finite, output: finite})

/** Energy per token as cost reads it: one figure at one boundary, measured or estimated. */
export const EnergyPerTokenSchema = z.strictObject({
  joulesPerToken: finite,
  per: CostBasisSchema,
  /** `wall`, `gpu-board`, `cpu-package`, `soc`, `facility`, ... as the power source declared it. */
  boundary: z.string(),
  method: z.enum(['measured', 'estimated']),
})

export const TariffSchema = z.strictObject({
  /** Per kWh, in base-period money. */
  perKwh: MoneySchema,
  /** As given or as published, before CPI adjustment. */
  nominal: z.strictObject({pricePerKwh: finite, currency: z.string(), period: z.string()}),
  source: z.string(),
  /** CPI(base) / CPI(period of the price); 1 when the price is already in base money. */
  cpiFactor: finite,
})

export const ElectricityCostSchema = z.strictObject({kwhPerMtok: finite, perMtok: MoneySchema, energy: EnergyPerTokenSchema, tariff: TariffSchema})

export const OwnedHardwareCostSchema = z.strictObject({
  purchase: ConversionSchema,
  resale: ConversionSchema.optional(),
  /** price_base - resale_base: what the machine costs over its lifetime. */
  netPrice: MoneySchema,
  lifetimeYears: finite,
  hoursPerDay: finite,
  /** hoursPerDay / 24 */
  utilization: finite,
  /** years x 8760 x utilization: the hours the price is spread over. */
  generatingHours: finite,
  perHour: MoneySchema,
  tokensPerHour: finite,
  amortizationPerMtok: MoneySchema,
  electricity: ElectricityCostSchema.optional(),
  /** Amortization + electricity, or amortization alone when no energy was given. */
  totalPerMtok: MoneySchema,
  per: CostBasisSchema,
  basis: z.string(),
  throughput: ThroughputSchema,
  notes: z.array(z.string()),
})

export const RentedGpuCostSchema = z.strictObject({
  perHour: MoneySchema,
  nominalPerHour: finite,
  tokensPerHour: finite,
  perMtok: MoneySchema,
  per: CostBasisSchema,
  basis: z.string(),
  source: z.string(),
  notes: z.array(z.string()),
})

export const HostedCostSchema = z.strictObject({
  input: MoneySchema,
  output: MoneySchema,
  tokens: TokenCountsSchema,
  /** (in x p_in + out x p_out) / (in + out): per million tokens of input and output together. */
  perMtokTotal: MoneySchema,
  /** (in x p_in + out x p_out) / out: what a million generated tokens cost with their prompts; absent without output. */
  perMtokOutput: MoneySchema.optional(),
  bases: z.strictObject({total: z.string(), output: z.string()}),
  source: z.string(),
  notes: z.array(z.string()),
})

export const GridIntensitySchema = z.strictObject({
  gramsPerKwh: finite,
  /** `FRA (France)` or `gcp:europe-west9 (France)`. */
  where: z.string(),
  year: z.number().int().optional(),
  source: z.string(),
})

export const CarbonPerMtokSchema = z.strictObject({kwhPerMtok: finite, gramsPerMtok: finite, grid: GridIntensitySchema, energy: EnergyPerTokenSchema})

export const PaybackSchema = z.strictObject({
  tokensPerMonth: finite,
  /** Hosted minus electricity, for that volume. */
  savingsPerMonth: MoneySchema,
  /** Purchase price (base money) / savings per month; null when there are no savings. */
  months: finite.nullable(),
  /** Whether the payback comes before the end of the machine's lifetime. */
  withinLifetime: z.boolean(),
  /** The volume is above what the machine can produce at the stated hours a day. */
  exceedsCapacity: z.boolean(),
})

export const BreakEvenSchema = z.strictObject({
  per: CostBasisSchema,
  basis: z.string(),
  /** Net price / (lifetime x 12): owned hardware costs this each month whether it runs or not. */
  amortizationPerMonth: MoneySchema,
  /** Electricity per Mtok (zero when no energy was measured). */
  energyPerMtok: MoneySchema,
  hostedPerMtok: MoneySchema,
  /** amortization per month / (hosted - energy) per token; null when energy alone costs as much as hosted. */
  breakEvenTokensPerMonth: finite.nullable(),
  /** What the machine can produce in a month at the stated hours a day. */
  capacityTokensPerMonth: finite,
  /** Whether the break-even volume fits in that capacity. */
  reachable: z.boolean(),
  payback: PaybackSchema.optional(),
})

/** A published figure (data/energy-reference.csv) the hosted estimate is set beside. */
export const EnergyReferenceRowSchema = z.strictObject({
  setting: z.string(),
  model: z.string(),
  hardware: z.string(),
  batch: z.number().optional(),
  boundary: z.string(),
  published_figure: finite,
  published_unit: z.string(),
  j_per_output_token: finite.optional(),
  /** The speed each user saw at that figure (1000 / median ITL for ML.ENERGY rows; the measured tok/s at batch 1 for home rows). */
  tokens_per_s_per_user: finite.optional(),
  derived: z.string(),
  source: z.string(),
  line: z.number().int(),
})

export const RangeSchema = z.strictObject({low: finite, high: finite})

export const ReferenceComparisonSchema = z.strictObject({
  row: EnergyReferenceRowSchema,
  /** What is compared: J per output token where the row derives it, else Wh per request. */
  unit: z.enum(['J/output token', 'Wh/request']),
  theirs: finite,
  ours: RangeSchema,
  /** ours / theirs. */
  ratio: RangeSchema,
  caveat: z.string().optional(),
})

/** The measured side of one target as cost reads it (from the derivation: src/derive). */
export const CostMeasurementSchema = z.strictObject({
  target: z.string(),
  kind: z.enum(['local', 'endpoint']),
  /** Generated tokens per second over the generation tests (tg, pg, chat) at the load level named. */
  throughput: ThroughputSchema,
  /** The load level the figures are from: the highest measured. */
  load: LoadSchema,
  tokens: TokenCountsSchema,
  /** Per generated token, prompts included: metered at the target's headline boundary, the hosted model's range, or missing with the reason. */
  energy: EnergyFigureSchema,
})

export const TargetCostSchema = z.strictObject({
  measurement: CostMeasurementSchema,
  owned: OwnedHardwareCostSchema.optional(),
  rental: RentedGpuCostSchema.optional(),
  hosted: HostedCostSchema.optional(),
  carbon: CarbonPerMtokSchema.optional(),
  breakEven: BreakEvenSchema.optional(),
  /** Endpoints without a meter on their server: energy estimated from an infrastructure model, low and high. */
  hostedEnergy: z.strictObject({estimate: HostedEnergyEstimateSchema, comparisons: z.array(ReferenceComparisonSchema)}).optional(),
})

/** Every money figure of one result, in one currency and base period. */
export const ResultCostsSchema = z.strictObject({
  /** "USD, 2025 dollars" */
  money: z.string(),
  currency: z.string(),
  /** The base period every amount is in. */
  base: z.string(),
  /** The CPI series conversions used: `us`, `uk` or a file's path. */
  cpi: z.string(),
  basis: z.string(),
  targets: z.array(TargetCostSchema),
  notes: z.array(z.string()),
})

export type Money = z.infer<typeof MoneySchema>
export type Period = z.infer<typeof PeriodSchema>
export type CpiReading = z.infer<typeof CpiReadingSchema>
export type Conversion = z.infer<typeof ConversionSchema>
export type CostBasis = z.infer<typeof CostBasisSchema>
export type Throughput = z.infer<typeof ThroughputSchema>
export type TokenCounts = z.infer<typeof TokenCountsSchema>
export type EnergyPerToken = z.infer<typeof EnergyPerTokenSchema>
export type Tariff = z.infer<typeof TariffSchema>
export type ElectricityCost = z.infer<typeof ElectricityCostSchema>
export type OwnedHardwareCost = z.infer<typeof OwnedHardwareCostSchema>
export type RentedGpuCost = z.infer<typeof RentedGpuCostSchema>
export type HostedCost = z.infer<typeof HostedCostSchema>
export type GridIntensity = z.infer<typeof GridIntensitySchema>
export type CarbonPerMtok = z.infer<typeof CarbonPerMtokSchema>
export type Payback = z.infer<typeof PaybackSchema>
export type BreakEven = z.infer<typeof BreakEvenSchema>
export type EnergyReferenceRow = z.infer<typeof EnergyReferenceRowSchema>
export type Range = z.infer<typeof RangeSchema>
export type ReferenceComparison = z.infer<typeof ReferenceComparisonSchema>
export type CostMeasurement = z.infer<typeof CostMeasurementSchema>
export type TargetCost = z.infer<typeof TargetCostSchema>
export type ResultCosts = z.infer<typeof ResultCostsSchema>
