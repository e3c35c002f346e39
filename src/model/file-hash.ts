import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {mkdir, readFile, rename, stat, writeFile} from 'node:fs/promises'
import {pipeline} from 'node:stream/promises'
import path from 'node:path'
import {cacheDir} from '../paths/paths.js'

/**
 * sha256 of a model's files read one after the other (one file: that file's sha256; a split
 * model: all its shards in order), remembered by path + size + mtime of each: hashing a 20 GB
 * model takes minutes, and the hash is what groups results of the same model across machines.
 */
export async function modelFilesHash(files: readonly string[]): Promise<string> {
  const keys = await Promise.all(files.map(async (file) => {
    const info = await stat(file)
    return `${path.resolve(file)}\u0000${info.size}\u0000${info.mtimeMs}`
  }))
  const key = keys.join('\n')
  const indexFile = path.join(cacheDir(), 'model-hashes.json')
  const index = await readIndex(indexFile)
  const known = index[key]
  if (known) return known
  const hash = createHash('sha256')
  for (const file of files) await pipeline(createReadStream(file), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) hash.update(chunk)
  })
  const digest = hash.digest('hex')
  // Read again: another process may have added hashes meanwhile.
  const latest = await readIndex(indexFile)
  latest[key] = digest
  await mkdir(path.dirname(indexFile), {recursive: true})
  const tmp = `${indexFile}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(latest))
  await rename(tmp, indexFile)
  return digest
}

async function readIndex(file: string): Promise<Record<string, string>> {
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'))
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {}
  } catch {
    return {}
  }
}
