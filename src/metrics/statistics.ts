import tQuantile from '@stdlib/stats-base-dists-t-quantile'
import {max, mean, median, min, quantile, sampleStandardDeviation} from 'simple-statistics'
import {z} from 'zod'

/**
 * What one value of a sample is. `repetitions`: one value per measured repetition (the mean of
 * its requests, or the phase's own figure such as aggregate throughput), the independent unit
 * llama-bench reports over; `requests`: every request at one load level pooled (latency
 * percentiles, as vLLM's benchmark reports them; at concurrency > 1 its requests are not
 * independent, so its confidence interval is narrower than the truth); `gaps`: every inter-token gap pooled (ITL).
 */
export const SAMPLE_UNITS = ['repetitions', 'requests', 'gaps'] as const
export type SampleUnit = (typeof SAMPLE_UNITS)[number]

const finite = z.number().refine(Number.isFinite, 'must be a finite number')

/** Distribution of one metric over its sample, which it names. */
export const StatsSchema = z.strictObject({
  sample: z.enum(SAMPLE_UNITS),
  n: z.number().int().positive(),
  mean: finite,
  /** Sample standard deviation (n - 1); null when n = 1 (one value has no spread to measure: shown as "-", never "± 0"). */
  sd: finite.nullable(),
  median: finite,
  p90: finite,
  p95: finite,
  p99: finite,
  min: finite,
  max: finite,
  /** 95% confidence interval of the mean (Student's t, n - 1 degrees of freedom); null when n < 2. */
  ci95: z.tuple([finite, finite]).nullable(),
})
export type Stats = z.infer<typeof StatsSchema>

/**
 * Summary statistics of a sample (quantiles by linear interpolation between order statistics,
 * numpy's default), or undefined for an empty sample (nothing measured is not zero).
 */
export function summarize(values: readonly number[], sample: SampleUnit): Stats | undefined {
  const xs = values.filter((v) => Number.isFinite(v))
  if (xs.length === 0) return undefined
  const n = xs.length
  const m = mean(xs)
  const sd = n > 1 ? sampleStandardDeviation(xs) : null
  let ci95: [number, number] | null = null
  if (n > 1) {
    const half = tQuantile(0.975, n - 1) * (sd! / Math.sqrt(n))
    ci95 = [m - half, m + half]
  }
  return {
    sample,
    n,
    mean: m,
    sd,
    median: median(xs),
    p90: quantile(xs, 0.9),
    p95: quantile(xs, 0.95),
    p99: quantile(xs, 0.99),
    min: min(xs),
    max: max(xs),
    ci95,
  }
}

/** The standard normal's 97.5th percentile: a two-sided 95% interval. */
const Z95 = 1.959963984540054

/**
 * The 95% Wilson score interval of a proportion `successes / trials` (Wilson 1927; what GuideLLM's
 * goodput search uses for SLO attainment, since near 1.0 the normal interval passes 1 and
 * understates the uncertainty of few requests). [0, 1] for no trials.
 */
export function wilsonInterval(successes: number, trials: number): [number, number] {
  if (trials <= 0) return [0, 1]
  const p = successes / trials
  const z2 = Z95 * Z95
  const denominator = 1 + z2 / trials
  const center = (p + z2 / (2 * trials)) / denominator
  const spread = (Z95 * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator
  return [Math.max(0, center - spread), Math.min(1, center + spread)]
}
