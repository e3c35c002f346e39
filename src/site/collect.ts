import {readdir, stat} from 'node:fs/promises'
import path from 'node:path'
import {UserError} from '../errors/errors.js'

/**
 * Every result file under the inputs: files as given, directories searched recursively for
 * *.json (hidden directories and node_modules skipped). A path that does not exist is the user's
 * typo and stops the publish; whether each file is a usable result is decided when it is read.
 */
export async function listResultFiles(inputs: readonly string[], options: {exclude?: readonly string[]} = {}): Promise<string[]> {
  const exclude = (options.exclude ?? []).map((p) => path.resolve(p))
  const files: string[] = []
  for (const input of inputs) {
    let info
    try {
      info = await stat(input)
    } catch {
      throw new UserError(`no such result file or directory: ${input}`, 'pass result files or directories written by `owbench run`')
    }
    if (info.isDirectory()) files.push(...(await jsonFilesUnder(input, exclude)))
    else files.push(input)
  }
  const byPath = new Map<string, string>()
  for (const f of files) if (!byPath.has(path.resolve(f))) byPath.set(path.resolve(f), f)
  return [...byPath.values()]
}

async function jsonFilesUnder(dir: string, exclude: readonly string[]): Promise<string[]> {
  const out: string[] = []
  const walk = async (current: string): Promise<void> => {
    if (exclude.includes(path.resolve(current))) return
    const entries = await readdir(current, {withFileTypes: true})
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      const full = path.join(current, entry.name)
      if (entry.isDirectory()) {
        if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue
        await walk(full)
      } else if (entry.isFile() && entry.name.endsWith('.json')) {
        out.push(full)
      }
    }
  }
  await walk(dir)
  return out
}

/** What dedup needs of a result that was read. */
export interface Identified {
  file: string
  /** sha256 of the file's bytes: exact copies have the same one. */
  contentHash: string
  runId: string
  state: 'completed' | 'partial' | 'errored'
  runs: number
}

export interface Duplicate {
  file: string
  keptFile: string
  why: string
}

/**
 * Drops exact copies (same bytes), then keeps one file per run id: a run's checkpoints and its
 * finished file share the id, and the most complete one (completed, then most runs) is kept.
 */
export function dropDuplicates<T extends Identified>(items: readonly T[]): {kept: T[]; dropped: T[]; duplicates: Duplicate[]} {
  const duplicates: Duplicate[] = []
  const dropped: T[] = []
  const byHash = new Map<string, T>()
  const byRun = new Map<string, T>()
  for (const item of items) {
    const copy = byHash.get(item.contentHash)
    if (copy) {
      duplicates.push({file: item.file, keptFile: copy.file, why: 'an exact copy'})
      dropped.push(item)
      continue
    }
    byHash.set(item.contentHash, item)
    const other = byRun.get(item.runId)
    if (other) {
      const [keep, drop] = completeness(item) > completeness(other) ? [item, other] : [other, item]
      byRun.set(item.runId, keep)
      duplicates.push({file: drop.file, keptFile: keep.file, why: `an earlier checkpoint of the same run (${drop.state}, ${drop.runs} runs)`})
      dropped.push(drop)
      continue
    }
    byRun.set(item.runId, item)
  }
  return {kept: [...byRun.values()], dropped, duplicates}
}

function completeness(item: Identified): number {
  return (item.state === 'completed' ? 1e9 : 0) + item.runs
}
