import {readFile} from 'node:fs/promises'
import path from 'node:path'
import type {z} from 'zod'
import {UserError} from '../errors/errors.js'
import {describeZodError} from '../suite/zod-issue.js'
import {packageRoot} from '../paths/paths.js'
import {type CsvRow, parseCsv} from './csv-table.js'

/** data/ ships with the package (package.json "files"), next to dist/ and src/. */
export const dataDir = path.join(packageRoot, 'data')

/** The full path of a reference data file, for errors that point to the full list of choices. */
export function dataFile(name: string): string {
  return path.join(dataDir, name)
}

export async function readDataText(file: string, hint = 'restore the package\'s data/ folder'): Promise<string> {
  const full = path.isAbsolute(file) ? file : path.join(dataDir, file)
  try {
    return await readFile(full, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new UserError(`cannot read ${full} (${code ?? String(error)})`, hint)
  }
}

/** A CSV whose every row must satisfy `schema`; the error names the file, line and column. */
export function parseCsvRows<S extends z.ZodType>(text: string, origin: string, schema: S): (z.output<S> & {line: number})[] {
  return parseCsv(text, origin).rows.map((row) => parseRow(row, origin, schema))
}

export function parseRow<S extends z.ZodType>(row: CsvRow, origin: string, schema: S): z.output<S> & {line: number} {
  const parsed = schema.safeParse(row.cells)
  if (!parsed.success) throw new UserError(`${origin} line ${row.line}: ${describeZodError(parsed.error)}`, `fix that row of ${origin}`)
  return {...(parsed.data as object), line: row.line} as z.output<S> & {line: number}
}

export async function loadCsvRows<S extends z.ZodType>(file: string, schema: S): Promise<(z.output<S> & {line: number})[]> {
  return parseCsvRows(await readDataText(file), `data/${file}`, schema)
}

/** A decimal number in a CSV cell ("0.1648", "321.943"); anything else is an error naming the cell. */
export const DECIMAL = /^-?\d+(\.\d+)?$/
