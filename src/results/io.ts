import {mkdir, readFile, rename, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {UserError} from '../errors/errors.js'
import {describeZodError} from '../suite/zod-issue.js'
import {migrateResult} from './migrate.js'
import {type ResultFile, ResultFileSchema, SCHEMA_VERSION} from './schema.js'

/** Write atomically: a reader (or a crash) never sees half a file. */
export async function writeResult(file: string, result: ResultFile): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), {recursive: true})
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, serializeResult(result))
  await rename(tmp, file)
}

/**
 * Numbers of 1 and more keep three decimals (times to the microsecond: enough for token arrivals,
 * and half the size of full doubles); smaller ones keep six significant digits (J/token, Wh).
 */
export function serializeResult(result: ResultFile | readonly ResultFile[]): string {
  return `${JSON.stringify(result, (_key, value) => (typeof value === 'number' && !Number.isInteger(value) ? compactNumber(value) : value))}\n`
}

function compactNumber(value: number): number {
  return Math.abs(value) >= 1 ? Math.round(value * 1000) / 1000 : Number(value.toPrecision(6))
}

export async function readResult(file: string): Promise<ResultFile> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new UserError(`cannot read result file ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, 'check the path')
  }
  return parseResult(text, file)
}

/** A result file's text, validated and migrated to the current schema version; a UserError naming the file and the fix otherwise. */
export function parseResult(text: string, origin: string): ResultFile {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    throw new UserError(`result file ${origin} is not valid JSON (truncated or corrupt)`, 'use a file written by `owbench run`; a run that was killed leaves its last checkpoint, marked partial')
  }
  const version = (raw as {schemaVersion?: unknown} | null)?.schemaVersion
  if (typeof version !== 'number') throw new UserError(`${origin} is not an owbench result file (no schemaVersion)`, 'pass a file written by `owbench run`')
  if (version > SCHEMA_VERSION) throw new UserError(`${origin} has schemaVersion ${version}, newer than this owbench understands (${SCHEMA_VERSION})`, 'upgrade owbench')
  if (version < 1) throw new UserError(`${origin} has schemaVersion ${version}, which no owbench wrote`, 'pass a file written by `owbench run`')
  const migrated = migrateResult(raw, SCHEMA_VERSION)
  let parsed = ResultFileSchema.safeParse(migrated)
  if (!parsed.success && parsed.error.issues.some((issue) => issue.path[0] === 'summary')) {
    // A summary cache in the shape of another derivation version: never read, so dropped (derived
    // again from the raw data); what is left must hold, and its errors are the ones to name.
    const {summary: _stale, ...rest} = migrated as Record<string, unknown>
    parsed = ResultFileSchema.safeParse(rest)
  }
  if (!parsed.success) throw new UserError(`result file ${origin} is invalid: ${describeZodError(parsed.error)}`, 'the file was edited or is corrupt; re-run `owbench run`')
  return parsed.data
}

/** ./owbench-results/<timestamp>-<host>-<model>.json, with characters that break paths removed. */
export function defaultResultPath(result: ResultFile, dir = 'owbench-results'): string {
  const stamp = result.createdAt.replace(/\.\d+Z$/, 'Z').replace(/[:]/g, '-')
  const first = result.targets[0]
  const model = first?.kind === 'local' ? first.model.fileName.replace(/\.gguf$/i, '') : (first?.endpoint.model ?? 'none')
  return path.join(dir, `${[stamp, safe(result.host.hostname), safe(model)].join('-')}.json`)
}

function safe(part: string): string {
  return part.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60) || 'unknown'
}
