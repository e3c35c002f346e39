import type {EnergySummary} from './schema.js'

/**
 * Why `--require-power` fails a run: every measured test must have an energy figure at each
 * boundary measured, over its whole window (the total phase, which J/token tables show), and
 * none may be invalid. Prefill and decode figures are not required: with a meter refreshing every
 * 100 ms to 1 s, a 5 ms prefill can never be measured on its own, and saying so is their validity
 * code. Returns one line per problem; empty when every required figure is valid.
 */
export function requiredPowerProblems(rows: readonly {target: string; test: string; completed: number; energy?: EnergySummary}[]): string[] {
  const problems: string[] = []
  for (const row of rows) {
    if (row.completed === 0) continue
    const total = row.energy?.phases.find((p) => p.phase === 'total')
    if (!total || total.boundaries.length === 0) {
      problems.push(`${row.target} ${row.test}: no energy figure (no power source covered it)`)
      continue
    }
    for (const b of total.boundaries) {
      if (b.invalid) problems.push(`${row.target} ${row.test} at ${b.boundary}: ${[...new Set(b.invalid.map((i) => i.code))].join(', ')} (${b.invalid[0]!.reason})`)
      else if (b.missing) problems.push(`${row.target} ${row.test} at ${b.boundary}: ${b.missing}`)
    }
  }
  return problems
}
