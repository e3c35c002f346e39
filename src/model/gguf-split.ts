import path from 'node:path'
import {type GgufFile, meta, writeGguf} from './gguf-writer.js'

/**
 * Writes a model as llama.cpp's split GGUF (what `llama-gguf-split --split` makes): `shards`
 * files named `<prefix>-00001-of-0000N.gguf`, the tensors divided between them in order, every
 * shard carrying `split.no` (u16, from 0), `split.count` (u16) and `split.tensors.count` (i32),
 * the first shard all other metadata. llama.cpp loads the model from the first shard.
 * Returns the shard paths in order.
 */
export async function writeGgufSplit(prefix: string, file: GgufFile, shards: number): Promise<string[]> {
  if (!Number.isInteger(shards) || shards < 2 || shards > file.tensors.length) {
    throw new Error(`a split needs 2 to ${file.tensors.length} shards (one tensor at least in each), got ${shards}`)
  }
  const count = String(shards).padStart(5, '0')
  const paths: string[] = []
  for (let i = 0; i < shards; i++) {
    const first = Math.floor((i * file.tensors.length) / shards)
    const end = Math.floor(((i + 1) * file.tensors.length) / shards)
    const split = [
      ['split.no', meta.u16(i)],
      ['split.count', meta.u16(shards)],
      ['split.tensors.count', meta.i32(file.tensors.length)],
    ] as const
    const shardPath = `${prefix}-${String(i + 1).padStart(5, '0')}-of-${count}.gguf`
    await writeGguf(shardPath, {metadata: i === 0 ? [...file.metadata, ...split] : split, tensors: file.tensors.slice(first, end)})
    paths.push(path.resolve(shardPath))
  }
  return paths
}
