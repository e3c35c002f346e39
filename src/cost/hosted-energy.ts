import {z} from 'zod'
import type {HostedEnergyEstimate} from '../energy/hosted-estimate.js'
import type {EnergyReferenceRow, Range, ReferenceComparison} from '../results/cost-schema.js'
import {DECIMAL, loadCsvRows} from './reference-data.js'

const EnergyRow = z.object({
  setting: z.string().min(1),
  model: z.string().min(1),
  hardware: z.string().min(1),
  batch: z.string().regex(/^(\d+)?$/, 'expected a whole number or nothing').transform((s) => (s === '' ? undefined : Number(s))),
  boundary: z.string().min(1),
  published_figure: z.string().regex(DECIMAL, 'expected a number').transform(Number),
  published_unit: z.string().min(1),
  j_per_output_token: z.string().regex(/^(-?\d+(\.\d+)?)?$/, 'expected a number or nothing').transform((s) => (s === '' ? undefined : Number(s))),
  tokens_per_s_per_user: z.string().regex(/^(\d+(\.\d+)?)?$/, 'expected a number or nothing').transform((s) => (s === '' ? undefined : Number(s))),
  derived: z.string(),
  source: z.string().min(1),
})

export function loadEnergyReference(): Promise<EnergyReferenceRow[]> {
  return loadCsvRows('energy-reference.csv', EnergyRow)
}

/**
 * Published figures of the same boundary only: a facility figure includes datacenter overhead a
 * GPU-board one leaves out, so comparing across boundaries would mislead by the overhead.
 */
export function compareWithReference(ours: {boundary: string; joulesPerOutputToken: Range; whPerRequest?: Range}, rows: readonly EnergyReferenceRow[]): ReferenceComparison[] {
  const out: ReferenceComparison[] = []
  for (const row of rows.filter((r) => r.boundary === ours.boundary)) {
    if (row.j_per_output_token !== undefined) {
      out.push({row, unit: 'J/output token', theirs: row.j_per_output_token, ours: ours.joulesPerOutputToken, ratio: ratioOf(ours.joulesPerOutputToken, row.j_per_output_token)})
    } else if (ours.whPerRequest && /^Wh per (prompt|query)$/i.test(row.published_unit)) {
      out.push({row, unit: 'Wh/request', theirs: row.published_figure, ours: ours.whPerRequest, ratio: ratioOf(ours.whPerRequest, row.published_figure), caveat: `per ${row.published_unit.slice(7)} of undisclosed length: a longer request costs more`})
    }
  }
  return out
}

function ratioOf(ours: Range, theirs: number): Range {
  return {low: ours.low / theirs, high: ours.high / theirs}
}

/** A hosted estimate in the shape compareWithReference takes. */
export function estimateRange(estimate: HostedEnergyEstimate): {boundary: string; joulesPerOutputToken: Range; whPerRequest: Range} {
  return {
    boundary: estimate.boundary,
    joulesPerOutputToken: {low: estimate.low.joulesPerOutputToken, high: estimate.high.joulesPerOutputToken},
    whPerRequest: {low: estimate.low.whPerRequest, high: estimate.high.whPerRequest},
  }
}
