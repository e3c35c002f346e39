import {isUserError, formatUserError} from '../errors/errors.js'
import type {ResultCosts} from '../results/cost-schema.js'
import type {ResultFile} from '../results/schema.js'
import {type CostFlags, resolveCostInputs} from './cost-inputs.js'
import {costOfResult} from './result-costs.js'

/**
 * The cost of each result that stored cost inputs (`owbench run` with a config "cost" section) or
 * has an endpoint with its own pricing (then in the default money basis), derived again from the file, for reports and the site that show several results at once. Within
 * a currency every result is expressed in one base period, the latest any of them uses, by its own
 * CPI series; different currencies stay apart (owbench ships no exchange rates). A result whose
 * inputs no longer resolve gets no cost and a note saying why.
 */
export async function costsOfResults(results: readonly ResultFile[], override: CostFlags = {}): Promise<{costs: (ResultCosts | undefined)[]; notes: string[]}> {
  const notes: string[] = []
  const attempt = async (result: ResultFile, flags: CostFlags): Promise<ResultCosts | undefined> => {
    try {
      return costOfResult(result, await resolveCostInputs(flags))
    } catch (error) {
      if (!isUserError(error)) throw error
      notes.push(`${result.id}: no cost: ${formatUserError(error)}`)
      return undefined
    }
  }
  // A result is priced from its stored cost inputs, or, without them, from its endpoints' own pricing
  // (owbench.config.json's `pricing`, stored with each target) in the default money basis, as `owbench cost` prices it.
  const priced = (r: ResultFile) => r.costInputs !== undefined || r.targets.some((t) => t.kind === 'endpoint' && t.pricing !== undefined)
  const first = await Promise.all(results.map((r) => (priced(r) ? attempt(r, {...r.costInputs, ...override}) : undefined)))
  const latest = new Map<string, string>()
  for (const c of first) if (c && periodAfter(c.base, latest.get(c.currency))) latest.set(c.currency, c.base)
  const costs = await Promise.all(
    results.map((r, i) => {
      const c = first[i]
      if (!c || c.base === latest.get(c.currency)) return c
      return attempt(r, {...r.costInputs, ...override, baseYear: latest.get(c.currency)!})
    }),
  )
  return {costs, notes}
}

/** `2025-03` after `2024`, `2025` after `2025-03` (an annual average counts as the year's end). */
function periodAfter(a: string, b: string | undefined): boolean {
  if (b === undefined) return true
  const key = (p: string) => (p.length === 4 ? `${p}-13` : p)
  return key(a) > key(b)
}
