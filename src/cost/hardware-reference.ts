import {z} from 'zod'
import {UserError} from '../errors/errors.js'
import {DECIMAL, loadCsvRows} from './reference-data.js'

const HardwareRow = z.object({
  name: z.string().min(1),
  launch_year: z.string().regex(/^\d{4}$/, 'expected a year').transform(Number),
  launch_price_usd: z.string().regex(DECIMAL, 'expected a number').transform(Number).pipe(z.number().positive()),
  tdp_watts: z.string().regex(/^(\d+(\.\d+)?)?$/, 'expected a number or nothing').transform((s) => (s === '' ? undefined : Number(s))),
  source: z.string().min(1),
})
/** Launch prices are nominal US MSRP; `tdp_watts` means different things per row (see data/SOURCES.md). */
export type HardwareReferenceRow = z.output<typeof HardwareRow> & {line: number}

export function loadHardwareReference(): Promise<HardwareReferenceRow[]> {
  return loadCsvRows('hardware-reference.csv', HardwareRow)
}

/** A row by name, case-insensitive, matching the start of the name (`rtx 4090` finds `NVIDIA GeForce RTX 4090` too). */
export function findHardware(rows: readonly HardwareReferenceRow[], name: string): HardwareReferenceRow {
  const wanted = name.trim().toLowerCase()
  const row = rows.find((r) => r.name.toLowerCase() === wanted) ?? rows.find((r) => r.name.toLowerCase().includes(wanted))
  if (!row) throw new UserError(`no reference hardware named "${name}"`, `use one of ${rows.map((r) => r.name).join('; ')}`)
  return row
}
