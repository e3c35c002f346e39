import tCdf from '@stdlib/stats-base-dists-t-cdf'
import tQuantile from '@stdlib/stats-base-dists-t-quantile'
import {mean, sampleVariance} from 'simple-statistics'

export interface WelchResult {
  /** mean(b) - mean(a) */
  difference: number
  /** 95% confidence interval of the difference (Welch–Satterthwaite degrees of freedom). */
  ci95: [number, number]
  t: number
  df: number
  /** Two-sided p-value. */
  p: number
}

/** Welch's unequal-variance t-test of b against a; both samples need at least 2 values. */
export function welchTest(a: readonly number[], b: readonly number[]): WelchResult {
  if (a.length < 2 || b.length < 2) throw new Error('Welch\'s t-test needs at least 2 values in each sample')
  const va = sampleVariance([...a]) / a.length
  const vb = sampleVariance([...b]) / b.length
  const difference = mean([...b]) - mean([...a])
  const se = Math.sqrt(va + vb)
  if (se === 0) return {difference, ci95: [difference, difference], t: difference === 0 ? 0 : Number.POSITIVE_INFINITY, df: a.length + b.length - 2, p: difference === 0 ? 1 : 0}
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1))
  const t = difference / se
  const half = tQuantile(0.975, df) * se
  return {difference, ci95: [difference - half, difference + half], t, df, p: 2 * (1 - tCdf(Math.abs(t), df))}
}
