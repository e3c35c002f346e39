import tQuantile from '@stdlib/stats-base-dists-t-quantile'
import {max, mean, median, min, quantile, sampleStandardDeviation} from 'simple-statistics'

/** Distribution of one metric over repetitions (or over requests, for pooled latencies). */
export interface Stats {
  n: number
  mean: number
  /** Sample standard deviation (n - 1); 0 when n = 1. */
  sd: number
  median: number
  p90: number
  p95: number
  p99: number
  min: number
  max: number
  /** 95% confidence interval of the mean (Student's t, n - 1 degrees of freedom); null when n < 2. */
  ci95: [number, number] | null
}

/** Summary statistics, or undefined for an empty sample (nothing measured is not zero). */
export function summarize(values: readonly number[]): Stats | undefined {
  const xs = values.filter((v) => Number.isFinite(v))
  if (xs.length === 0) return undefined
  const n = xs.length
  const m = mean(xs)
  const sd = n > 1 ? sampleStandardDeviation(xs) : 0
  let ci95: [number, number] | null = null
  if (n > 1) {
    const half = tQuantile(0.975, n - 1) * (sd / Math.sqrt(n))
    ci95 = [m - half, m + half]
  }
  return {
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
