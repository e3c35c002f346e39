import {testAtLoad} from '../results/load.js'
import type {DerivedSummary} from '../results/summary-schema.js'

/**
 * Why `--require-power` fails a run, judged on the derived figures every table shows: each cell
 * that completed a repetition must have its J/token (the headline figure at its target's
 * boundary), so one that is missing (no meter, a window not covered, readings that failed their
 * validity checks) is a problem, named with its code and reason. A hosted estimate (an endpoint
 * whose server no meter of this run measures) is not judged: no meter here could measure it, and
 * it is labelled an estimate wherever it is shown. Neither is a test whose outputs stopped short
 * of its length (`short-outputs`): its energy was measured, its J/token is withheld for the
 * outputs' sake. A figure covering only some devices (`partial`) is shown, marked, and not a
 * failure. Returns one line per problem; empty when every figure is there.
 */
export function requiredPowerProblems(summary: DerivedSummary): string[] {
  return summary.cells.flatMap((cell) => {
    if (cell.completed === 0 || cell.energy.status !== 'missing' || cell.energy.code === 'short-outputs') return []
    return [`${cell.target} ${testAtLoad(cell.test, cell.load)}: ${cell.energy.code} (${cell.energy.reason})`]
  })
}
