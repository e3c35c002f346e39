import {z} from 'zod'
import type {PublishedBandwidth} from '../system/host.js'
import {DECIMAL, loadCsvRows} from './reference-data.js'

const BandwidthRow = z.object({
  device: z.string().min(1),
  match: z.string().min(1).transform((pattern, ctx) => {
    try {
      return new RegExp(pattern, 'i')
    } catch (error) {
      ctx.addIssue({code: 'custom', message: `not a JavaScript regular expression: ${(error as Error).message}`})
      return z.NEVER
    }
  }),
  memory: z.string().min(1),
  bandwidth_gbs: z.string().regex(DECIMAL, 'expected a number').transform(Number).pipe(z.number().positive()),
  source: z.string().min(1),
})
/** A row of data/memory-bandwidth.csv: a device's published peak bandwidth and the pattern its reported names match (data/SOURCES.md). */
export type BandwidthRow = z.output<typeof BandwidthRow> & {line: number}

export function loadPublishedBandwidth(): Promise<BandwidthRow[]> {
  return loadCsvRows('memory-bandwidth.csv', BandwidthRow)
}

/**
 * The published peak of every name that matches a row (the pattern compiled with the `i` flag and
 * tested against the whole name, as data/SOURCES.md says), once per distinct name. A name matching
 * several rows is ambiguous and gets none: a wrong limit is worse than a missing one.
 */
export function publishedBandwidth(rows: readonly BandwidthRow[], names: readonly string[]): PublishedBandwidth[] {
  const out: PublishedBandwidth[] = []
  for (const name of new Set(names.map((n) => n.trim()).filter((n) => n !== ''))) {
    const matches = rows.filter((r) => r.match.test(name))
    if (matches.length !== 1) continue
    const row = matches[0]!
    out.push({name, device: row.device, gbs: row.bandwidth_gbs, source: `data/memory-bandwidth.csv line ${row.line}: ${row.source}`})
  }
  return out
}
