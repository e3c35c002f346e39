import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {mkdir, readFile, rename, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {cacheDir} from '../paths/paths.js'

/**
 * sha256 of a model file, remembered by path + size + mtime: hashing a 20 GB model takes minutes,
 * and the hash is what groups results of the same model across machines.
 */
export async function modelFileHash(file: string): Promise<string> {
  const info = await stat(file)
  const key = `${path.resolve(file)}\u0000${info.size}\u0000${info.mtimeMs}`
  const indexFile = path.join(cacheDir(), 'model-hashes.json')
  const index = await readIndex(indexFile)
  const known = index[key]
  if (known) return known
  const hash = await sha256File(file)
  index[key] = hash
  await mkdir(path.dirname(indexFile), {recursive: true})
  const tmp = `${indexFile}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(index))
  await rename(tmp, indexFile)
  return hash
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')))
  })
}

async function readIndex(file: string): Promise<Record<string, string>> {
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'))
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {}
  } catch {
    return {}
  }
}
