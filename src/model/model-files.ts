import {stat} from 'node:fs/promises'
import path from 'node:path'
import {UserError} from '../errors/errors.js'
import {modelFilesHash} from './file-hash.js'

/** llama.cpp's split file names (llama_split_path): `<prefix>-00001-of-00003.gguf`. */
const SPLIT_NAME = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/

/** One model as measured: every file it is made of, their summed size and one hash over all of them. */
export interface ModelIdentity {
  /** The files in order: one, or every shard of a split model, the first shard first. */
  files: string[]
  bytes: number
  /** sha256 of the files' bytes one after the other: for a single file, the file's own sha256. */
  sha256: string
  shards: number
}

/**
 * The files of the model at `file`: the file itself, or, for a split model named as llama.cpp
 * names shards (`model-00001-of-00003.gguf`), every shard in order. Throws a UserError when
 * `file` is a later shard or a shard is missing.
 */
export async function modelFiles(file: string): Promise<string[]> {
  const match = SPLIT_NAME.exec(path.basename(file))
  if (!match) return [file]
  const [, prefix, index, count] = match
  const shards = Array.from({length: Number(count)}, (_, i) => path.join(path.dirname(file), `${prefix}-${String(i + 1).padStart(5, '0')}-of-${count}.gguf`))
  if (Number(index) !== 1) {
    throw new UserError(`${file} is shard ${Number(index)} of a split model`, `pass its first shard with --model: ${shards[0]}`)
  }
  for (const shard of shards) {
    try {
      if (!(await stat(shard)).isFile()) throw new Error('not a file')
    } catch {
      throw new UserError(`split model ${file}: shard ${shard} is missing`, `download every shard of the model (all ${shards.length}) into ${path.dirname(file)}`)
    }
  }
  return shards
}

/** Size, hash and shard count of the model at `file` (its first shard for a split model). */
export async function modelIdentity(file: string): Promise<ModelIdentity> {
  const files = await modelFiles(file)
  let bytes = 0
  for (const f of files) bytes += (await stat(f)).size
  return {files, bytes, sha256: await modelFilesHash(files), shards: files.length}
}
