import {readGgufFileInfo} from 'node-llama-cpp'
import type {BytesPerToken} from '../results/speed-of-light-schema.js'

/**
 * How many bytes of memory one generated token reads: the weights a decode step touches (every matrix once, one row
 * of each embedding table, only the active experts of a mixture-of-experts layer) plus the KV cache up to the
 * token's position. Decode is bound by memory bandwidth, so tokens/s x bytes per token is the bandwidth a run
 * achieved, and bandwidth / bytes per token is the speed of light no engine can beat.
 */

/** ggml's block size (values) and block bytes per tensor type id, from ggml/include/ggml.h (ids) and the
 * static_asserts on sizeof(block_*) in ggml/src/ggml-common.h (llama.cpp as bundled with node-llama-cpp 3.21.1). */
export const GGML_TYPE_SIZES: Readonly<Record<number, {name: string; block: number; bytes: number}>> = {
  0: {name: 'F32', block: 1, bytes: 4},
  1: {name: 'F16', block: 1, bytes: 2},
  2: {name: 'Q4_0', block: 32, bytes: 18},
  3: {name: 'Q4_1', block: 32, bytes: 20},
  6: {name: 'Q5_0', block: 32, bytes: 22},
  7: {name: 'Q5_1', block: 32, bytes: 24},
  8: {name: 'Q8_0', block: 32, bytes: 34},
  9: {name: 'Q8_1', block: 32, bytes: 36},
  10: {name: 'Q2_K', block: 256, bytes: 84},
  11: {name: 'Q3_K', block: 256, bytes: 110},
  12: {name: 'Q4_K', block: 256, bytes: 144},
  13: {name: 'Q5_K', block: 256, bytes: 176},
  14: {name: 'Q6_K', block: 256, bytes: 210},
  15: {name: 'Q8_K', block: 256, bytes: 292},
  16: {name: 'IQ2_XXS', block: 256, bytes: 66},
  17: {name: 'IQ2_XS', block: 256, bytes: 74},
  18: {name: 'IQ3_XXS', block: 256, bytes: 98},
  19: {name: 'IQ1_S', block: 256, bytes: 50},
  20: {name: 'IQ4_NL', block: 32, bytes: 18},
  21: {name: 'IQ3_S', block: 256, bytes: 110},
  22: {name: 'IQ2_S', block: 256, bytes: 82},
  23: {name: 'IQ4_XS', block: 256, bytes: 136},
  24: {name: 'I8', block: 1, bytes: 1},
  25: {name: 'I16', block: 1, bytes: 2},
  26: {name: 'I32', block: 1, bytes: 4},
  27: {name: 'I64', block: 1, bytes: 8},
  28: {name: 'F64', block: 1, bytes: 8},
  29: {name: 'IQ1_M', block: 256, bytes: 56},
  30: {name: 'BF16', block: 1, bytes: 2},
  34: {name: 'TQ1_0', block: 256, bytes: 54},
  35: {name: 'TQ2_0', block: 256, bytes: 66},
  39: {name: 'MXFP4', block: 32, bytes: 17},
  40: {name: 'NVFP4', block: 64, bytes: 36},
  41: {name: 'Q1_0', block: 128, bytes: 18},
  42: {name: 'Q2_0', block: 64, bytes: 18},
}

/** What a GGUF file says about its tensors (node-llama-cpp's readGgufFileInfo: metadata and tensorInfo). */
export interface GgufTensorsAndMetadata {
  metadata: Record<string, unknown>
  tensorInfo: ReadonlyArray<{name: string; dimensions: ReadonlyArray<number | bigint>; ggmlType: number}>
}

export type {BytesPerToken} from '../results/speed-of-light-schema.js'

// Tables read one row per token: the token's own embedding (and its position / type / per-layer rows where a model has them).
const ROW_LOOKUPS = /(^|\.)(token_embd|position_embd|token_types|per_layer_token_embd)\.weight$/
// Expert tensors hold every expert of a layer stacked in the last dimension; a token reads only the ones routed to.
const EXPERTS = /\.ffn_(gate|up|down|gate_up)_exps\.weight$/

/** Bytes of a tensor: its elements in blocks of its type. Throws on a type this table does not know. */
export function tensorBytes(dimensions: ReadonlyArray<number | bigint>, ggmlType: number): number {
  const size = GGML_TYPE_SIZES[ggmlType]
  if (!size) throw new Error(`unknown ggml tensor type ${ggmlType}`)
  const elements = dimensions.reduce<number>((n, d) => n * Number(d), 1)
  return Math.ceil(elements / size.block) * size.bytes
}

/**
 * Bytes read per generated token, from the tensors and metadata of a GGUF model (all shards of a split model).
 * The KV cache is modelled for plain multi-head / grouped-query attention with an F16 cache; sliding-window,
 * MLA and recurrent layers are named in `kvNote` instead of guessed.
 */
export function bytesPerToken(file: GgufTensorsAndMetadata): BytesPerToken {
  const meta = file.metadata
  const arch = String(path(meta, ['general', 'architecture']) ?? '')
  const get = (key: string): unknown => path(meta, [arch, ...key.split('.')])
  const expertCount = Number(get('expert_count') ?? 0)
  const expertUsed = Number(get('expert_used_count') ?? 0)
  const hasOutput = file.tensorInfo.some((t) => t.name === 'output.weight')
  let weightBytes = 0
  let total = 0
  for (const t of file.tensorInfo) {
    const bytes = tensorBytes(t.dimensions, t.ggmlType)
    total += bytes
    if (ROW_LOOKUPS.test(t.name)) {
      const rowBytes = tensorBytes([t.dimensions[0] ?? 0], t.ggmlType)
      // Without output.weight the output head is the token embedding itself (tied weights), read whole.
      weightBytes += t.name === 'token_embd.weight' && !hasOutput ? bytes + rowBytes : rowBytes
    } else if (EXPERTS.test(t.name) && expertCount > 0 && expertUsed > 0) {
      weightBytes += (bytes * expertUsed) / expertCount
    } else {
      weightBytes += bytes
    }
  }
  const kv = kvBytesPerPosition(get)
  const layers = Number(get('block_count') ?? 0)
  return {
    weightBytes,
    tensorBytes: total,
    ...kv,
    ...(layers > 0 ? {layers} : {}),
    ...(expertCount > 0 && expertUsed > 0 ? {experts: {used: expertUsed, total: expertCount}} : {}),
    method: `every matrix once, one row per embedding table${expertCount > 0 ? `, ${expertUsed} of ${expertCount} experts per MoE layer` : ''}; KV cache F16`,
  }
}

function kvBytesPerPosition(get: (key: string) => unknown): {kvBytesPerPosition: number | null; kvNote?: string} {
  const unsupported = [
    ['attention.sliding_window', 'sliding-window attention layers'],
    ['attention.kv_lora_rank', 'multi-head latent attention (MLA)'],
    ['ssm.state_size', 'recurrent (state-space) layers'],
  ].find(([key]) => get(key!) !== undefined)
  if (unsupported) return {kvBytesPerPosition: null, kvNote: `KV reads not modelled for ${unsupported[1]}`}
  const layers = Number(get('block_count') ?? 0)
  const heads = Number(get('attention.head_count') ?? 0)
  const embd = Number(get('embedding_length') ?? 0)
  const headsKv = get('attention.head_count_kv') ?? heads
  const keyLength = Number(get('attention.key_length') ?? (heads > 0 ? embd / heads : 0))
  const valueLength = Number(get('attention.value_length') ?? keyLength)
  const perLayer = Array.isArray(headsKv) ? headsKv.map(Number) : Array.from({length: layers}, () => Number(headsKv))
  if (!(layers > 0) || !(keyLength > 0) || perLayer.some((h) => !Number.isFinite(h))) return {kvBytesPerPosition: null, kvNote: 'KV reads not modelled: the model does not say its attention shape'}
  // F16 cache (llama.cpp's default type_k = type_v = f16): 2 bytes per element.
  return {kvBytesPerPosition: perLayer.reduce((sum, h) => sum + h * (keyLength + valueLength) * 2, 0)}
}

/** node-llama-cpp nests metadata by dotted key: {llama: {attention: {head_count: 8}}}. */
function path(meta: Record<string, unknown>, keys: readonly string[]): unknown {
  let at: unknown = meta
  for (const key of keys) {
    if (at === null || typeof at !== 'object') return undefined
    at = (at as Record<string, unknown>)[key]
  }
  return at
}

/** Bytes one generated token of a test reads on average: the derivation's formula (src/derive/speed-of-light.ts). */
export {testBytesPerToken} from '../derive/speed-of-light.js'

// The vocabulary arrays are the largest metadata and say nothing about the bytes a token reads.
const VOCABULARY_KEYS = ['tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type', 'tokenizer.ggml.merges']

/**
 * Bytes per token of the GGUF model at `file`, read from its header (node-llama-cpp's
 * readGgufFileInfo, which reads every shard of a split model `model-00001-of-0000N.gguf` and
 * splices their tensors). Throws on a file it cannot parse or a tensor type ggml does not have.
 */
export async function modelBytesPerToken(file: string): Promise<BytesPerToken> {
  const info = await readGgufFileInfo(file, {readTensorInfo: true, ignoreKeys: VOCABULARY_KEYS, logWarnings: false})
  return bytesPerToken({metadata: info.metadata as Record<string, unknown>, tensorInfo: info.fullTensorInfo ?? []})
}
