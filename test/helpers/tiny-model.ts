import os from 'node:os'
import path from 'node:path'
import {writeGguf} from '../../src/model/gguf-writer.js'
import {ensureSyntheticModel, SYNTHETIC_MODELS, syntheticModelFile} from '../../src/model/synthetic-model.js'

/** The tiny synthetic model, generated once per machine into a test cache (never the user's). */
export const testCacheDir = process.env.OWBENCH_TEST_CACHE_DIR ?? path.join(os.tmpdir(), 'owbench-test-cache')

export async function tinyModelPath(): Promise<string> {
  return (await ensureSyntheticModel('tiny', {dir: path.join(testCacheDir, 'models')})).path
}

/**
 * The tiny model with 3 key/value heads for its 4 query heads: every tensor has the shape its
 * metadata asks for, so the file loads, and llama.cpp aborts (GGML_ASSERT(ggml_can_mul_mat(a, b)),
 * SIGABRT) when it builds the attention graph, which it does while creating a context.
 */
export async function abortingModelPath(dir: string): Promise<string> {
  const file = path.join(dir, 'aborting-gqa.gguf')
  const tiny = syntheticModelFile(SYNTHETIC_MODELS.tiny)
  const kvDim = (SYNTHETIC_MODELS.tiny.nEmbd / SYNTHETIC_MODELS.tiny.nHead) * 3
  await writeGguf(file, {
    metadata: tiny.metadata.map(([key, value]) => (key === 'llama.attention.head_count_kv' ? [key, {type: 'uint32', value: 3}] : [key, value])),
    tensors: tiny.tensors.map((t) => (/attn_[kv]\.weight$/.test(t.name) ? {...t, dims: [SYNTHETIC_MODELS.tiny.nEmbd, kvDim], data: new Float32Array(SYNTHETIC_MODELS.tiny.nEmbd * kvDim).fill(0.01)} : t)),
  })
  return file
}
