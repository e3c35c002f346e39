import {mkdir, readFile, rename, stat, unlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {UserError} from '../errors/errors.js'
import {describeZodError} from '../suite/zod-issue.js'
import {migrateResult} from './migrate.js'
import {type ResultFile, ResultFileSchema, SCHEMA_VERSION} from './schema.js'

/**
 * Write atomically: a reader (or a crash) never sees half a file. The parent directory is created
 * when missing (the default ./owbench-results). A failed write removes its temporary file and
 * throws a UserError naming the file and the system's error code (ENOSPC, EISDIR, EACCES, ...).
 */
export async function writeResult(file: string, result: ResultFile): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  try {
    await mkdir(path.dirname(path.resolve(file)), {recursive: true})
    await writeFile(tmp, serializeResult(result))
    await rename(tmp, file)
  } catch (error) {
    await unlink(tmp).catch(() => undefined)
    throw new UserError(`cannot write result file ${file} (${errorCode(error)})`, 'free disk space or pass a writable --out path')
  }
}

/**
 * Where a result that cannot be written to its own path is saved instead, so no measurement is
 * lost: the system's temporary directory, under the same file name.
 */
export function fallbackResultPath(file: string): string {
  return path.join(os.tmpdir(), `owbench-${path.basename(file)}`)
}

/**
 * Checks, before anything runs, that a result can be written at `file` (`--out`): not a directory,
 * in a directory that exists and where a file can be created (a probe file is written and
 * removed, which also catches read-only file systems). Throws a one-line UserError naming the path
 * and the fix. With `createParent`, a missing parent directory is created first (the default
 * ./owbench-results); `--out` must name an existing directory, so a typo creates nothing.
 */
export async function checkResultPath(file: string, {createParent = false}: {createParent?: boolean} = {}): Promise<void> {
  const existing = await stat(file).catch(() => undefined)
  if (existing?.isDirectory()) {
    throw new UserError(`--out ${file} is a directory; a result is one file`, `pass a file path, e.g. --out ${path.join(file, 'result.json')}`)
  }
  if (existing && !existing.isFile()) throw new UserError(`--out ${file} exists and is not a regular file`, 'pass the path of a new or existing .json file')
  const dir = path.dirname(path.resolve(file))
  if (createParent) await mkdir(dir, {recursive: true}).catch(() => undefined)
  const parent = await stat(dir).catch(() => undefined)
  if (!parent) throw new UserError(`cannot write result file ${file}: the directory ${dir} does not exist`, `create it first (mkdir -p ${dir}) or pass a path in an existing directory`)
  if (!parent.isDirectory()) throw new UserError(`cannot write result file ${file}: ${dir} is not a directory`, 'pass a path in an existing directory')
  const probe = `${file}.${process.pid}.tmp`
  try {
    await writeFile(probe, '')
  } catch (error) {
    throw new UserError(`cannot write result file ${file}: the directory ${dir} is not writable (${errorCode(error)})`, 'pass a path in a directory you can write to')
  }
  await unlink(probe).catch(() => undefined)
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? (error instanceof Error ? error.message : String(error))
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

export const DEFAULT_RESULT_DIR = 'owbench-results'

/** ./owbench-results/<timestamp>-<host>-<model>.json, with characters that break paths removed. */
export function defaultResultPath(result: ResultFile, dir = DEFAULT_RESULT_DIR): string {
  const stamp = result.createdAt.replace(/\.\d+Z$/, 'Z').replace(/[:]/g, '-')
  const first = result.targets[0]
  const model = first?.kind === 'local' ? first.model.fileName.replace(/\.gguf$/i, '') : (first?.endpoint.model ?? 'none')
  return path.join(dir, `${[stamp, safe(result.host.hostname), safe(model)].join('-')}.json`)
}

function safe(part: string): string {
  return part.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60) || 'unknown'
}
