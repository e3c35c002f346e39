import type {Comparison} from './compare.js'
import {formatNumber} from '../report/format.js'

/** `owbench compare`'s text: what each side is (target, load level, values over repetitions), the verdict and warnings. */
export function renderComparison(c: Comparison): string {
  const line = (s: Comparison['a']) => `  ${s.label} (${s.target} @${s.load}): ${s.n} repetitions, mean ${formatNumber(s.mean)} ${c.unit}, sd ${formatNumber(s.sd)}`
  return [`${c.metric} on ${c.test}, over repetitions (${c.better} is better)`, line(c.a), line(c.b), c.verdict, ...c.warnings.map((w) => `warning: ${w}`)].join('\n')
}
