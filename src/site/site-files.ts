import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, renameSync, statSync, writeFileSync} from 'node:fs'
import {readdir, readFile, unlink} from 'node:fs/promises'
import path from 'node:path'
import {threadId} from 'node:worker_threads'
import {z} from 'zod'
import {UserError} from '../errors/errors.js'

/**
 * The files of a published site and the manifest that makes re-publishing incremental: for each
 * file, the sha256 of what was written and the key of what it was rendered from. A page whose key
 * has not changed is neither rendered nor written again; one whose bytes are the same is not
 * rewritten; a file an earlier publish wrote that is no longer produced is removed. Files owbench
 * did not write are never touched.
 */
export const MANIFEST = 'owbench-site.json'

const ManifestSchema = z.strictObject({
  generator: z.literal('owbench publish'),
  manifestVersion: z.literal(1),
  files: z.record(z.string(), z.strictObject({sha256: z.string(), key: z.string().optional()})),
})
export type Manifest = z.infer<typeof ManifestSchema>

/**
 * A file of the site. With a key, the content may be left out when the previous site wrote this
 * path from the same key (the caller checked that the file is there). With `writtenSha256` the
 * caller already wrote it (writePage) and only the manifest is kept here.
 */
export interface SiteFile {
  path: string
  content?: string | Buffer
  key?: string
  writtenSha256?: string
}

export interface WriteSummary {
  written: number
  unchanged: number
  removed: number
  files: number
}

/**
 * The previous site's manifest, or undefined for an empty or new directory. A directory with other
 * files and no manifest is not a site owbench made: refused unless forced, since publishing would
 * mix its files into someone else's.
 */
export async function openSiteDir(dir: string, force: boolean): Promise<Manifest | undefined> {
  let entries: string[]
  try {
    entries = await readdir(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    if (code === 'ENOTDIR') throw new UserError(`--out ${dir} is a file, not a directory`, 'give a directory for the site')
    throw new UserError(`cannot read the output directory ${dir} (${code})`, 'check its permissions')
  }
  if (entries.length === 0) return undefined
  let text: string | undefined
  try {
    text = await readFile(path.join(dir, MANIFEST), 'utf8')
  } catch {
    text = undefined
  }
  if (text === undefined) {
    if (force) return undefined
    throw new UserError(`--out ${dir} is not empty and is not a site owbench published (no ${MANIFEST})`, 'choose an empty or new directory, or pass --force to publish into it anyway')
  }
  let parsed
  try {
    parsed = ManifestSchema.safeParse(JSON.parse(text))
  } catch {
    parsed = undefined
  }
  if (!parsed?.success) {
    if (force) return undefined
    throw new UserError(`${path.join(dir, MANIFEST)} is corrupt`, 'pass --force to publish over it (every page is rewritten)')
  }
  return parsed.data
}

export async function writeSite(dir: string, files: readonly SiteFile[], previous: Manifest | undefined): Promise<WriteSummary> {
  const manifest: Manifest = {generator: 'owbench publish', manifestVersion: 1, files: {}}
  const summary: WriteSummary = {written: 0, unchanged: 0, removed: 0, files: files.length}
  for (const d of new Set(files.map((f) => path.dirname(path.join(dir, f.path))))) mkdirSync(d, {recursive: true})
  // Synchronous on purpose: thousands of small files write about four times faster than through
  // the thread pool, and nothing else runs meanwhile.
  for (const file of files) {
    const target = path.join(dir, file.path)
    const before = previous?.files[file.path]
    if (file.writtenSha256 !== undefined) {
      manifest.files[file.path] = file.key === undefined ? {sha256: file.writtenSha256} : {sha256: file.writtenSha256, key: file.key}
      if (before?.sha256 === file.writtenSha256) summary.unchanged++
      else summary.written++
      continue
    }
    if (file.key !== undefined && before?.key === file.key && (file.content === undefined || isFile(target))) {
      manifest.files[file.path] = before
      summary.unchanged++
      continue
    }
    const content = file.content
    if (content === undefined) throw new Error(`${file.path}: no content and no previous file for key ${file.key}`)
    const sha256 = createHash('sha256').update(content).digest('hex')
    manifest.files[file.path] = file.key === undefined ? {sha256} : {sha256, key: file.key}
    if (before?.sha256 === sha256 && existsSync(target)) {
      summary.unchanged++
      continue
    }
    replaceFile(target, content)
    summary.written++
  }
  for (const old of Object.keys(previous?.files ?? {})) {
    if (manifest.files[old] || old === MANIFEST) continue
    try {
      await unlink(path.join(dir, old))
      summary.removed++
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
  // The manifest goes last: until it is written, the previous one still describes what is on disk.
  const sorted: Manifest = {...manifest, files: Object.fromEntries(Object.entries(manifest.files).sort(([a], [b]) => (a < b ? -1 : 1)))}
  const text = `${JSON.stringify(sorted)}\n`
  const manifestPath = path.join(dir, MANIFEST)
  const old = await readFile(manifestPath, 'utf8').catch(() => undefined)
  if (old !== text) replaceFile(manifestPath, text)
  return summary
}

/** Writes a page of the site (from any thread) and returns its sha256. */
export function writePage(dir: string, file: string, content: string): string {
  const target = path.join(dir, file)
  mkdirSync(path.dirname(target), {recursive: true})
  replaceFile(target, content)
  return createHash('sha256').update(content).digest('hex')
}

function replaceFile(target: string, content: string | Buffer): void {
  if (existsSync(target)) {
    // Replaced by rename, so a server never sends half of a page; a new file has no reader yet.
    const tmp = `${target}.${process.pid}-${threadId}.tmp`
    writeFileSync(tmp, content)
    renameSync(tmp, target)
  } else {
    writeFileSync(target, content)
  }
}

export function isFile(file: string): boolean {
  try {
    return statSync(file).isFile()
  } catch {
    return false
  }
}
