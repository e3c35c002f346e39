import {createHash, randomBytes} from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import {z} from 'zod'
import {cacheDir} from '../paths/paths.js'
import {type GgmlTensorType, type GgufFile, type GgufMetadata, type GgufTensor, meta, writeGguf} from './gguf-writer.js'
import {seededRandom} from './seeded-random.js'
import {buildSyntheticVocab, type SyntheticVocab, TOKEN_TYPE} from './synthetic-vocab.js'

/**
 * Random-weights llama models generated on this machine, so a benchmark runs without downloading anything. They
 * measure the machine (matmul throughput, memory bandwidth, engine overhead), never a real model's quality.
 */

/** Bump whenever the bytes a spec produces change, so cached files from an older generator are not reused. */
export const SYNTHETIC_GENERATOR_VERSION = 1

export const SYNTHETIC_MODEL_DESCRIPTION = 'synthetic model: measures this machine, not a real model\'s quality'

export type SyntheticModelId = 'tiny' | 'default' | 'check-q8_0' | 'check-q4_k'

export interface SyntheticModelSpec {
  id: SyntheticModelId
  seed: number
  nVocab: number
  nEmbd: number
  nLayer: number
  nHead: number
  nHeadKv: number
  nFf: number
  nCtxTrain: number
  weightType: GgmlTensorType
}

// Frozen: the cache file name is derived from these values, so nothing may change them at run time.
export const SYNTHETIC_MODELS: Readonly<Record<SyntheticModelId, Readonly<SyntheticModelSpec>>> = Object.freeze({
  // 0.7 MB, 172k parameters: loads in milliseconds, for tests.
  tiny: Object.freeze({
    id: 'tiny', seed: 0x5eed0001, nVocab: 512, nEmbd: 64, nLayer: 2, nHead: 4, nHeadKv: 4, nFf: 192,
    nCtxTrain: 4096, weightType: 'F32',
  }),
  // 29.9M parameters, 31.9 MB as Q8_0: big enough that generation is compute-bound on a CPU, and a 16k training
  // context so long-prompt suites fit.
  default: Object.freeze({
    id: 'default', seed: 0x5eed0002, nVocab: 4096, nEmbd: 512, nLayer: 8, nHead: 8, nHeadKv: 8, nFf: 1408,
    nCtxTrain: 16384, weightType: 'Q8_0',
  }),
  // 1.3M parameters each, for checking an engine build before trusting it (a build for the wrong instruction set
  // dies with SIGILL in the quantized matmul kernels): every matrix row is a multiple of 256 values, so ggml's
  // accelerated kernels for these types (AMX, repacking) take them as they take a real model's.
  'check-q8_0': Object.freeze({
    id: 'check-q8_0', seed: 0x5eed0003, nVocab: 512, nEmbd: 256, nLayer: 1, nHead: 4, nHeadKv: 4, nFf: 512,
    nCtxTrain: 512, weightType: 'Q8_0',
  }),
  'check-q4_k': Object.freeze({
    id: 'check-q4_k', seed: 0x5eed0004, nVocab: 512, nEmbd: 256, nLayer: 1, nHead: 4, nHeadKv: 4, nFf: 512,
    nCtxTrain: 512, weightType: 'Q4_K',
  }),
})

export interface SyntheticModelInfo {
  id: SyntheticModelId
  path: string
  sha256: string
  bytes: number
  /** Number of weights, norms included (what llama.cpp reports as the parameter count). */
  parameters: number
  spec: SyntheticModelSpec
}

export function isSyntheticModelId(s: string): s is SyntheticModelId {
  return Object.hasOwn(SYNTHETIC_MODELS, s)
}

// llama_ftype: MOSTLY_Q8_0 = 7, MOSTLY_Q4_K_S = 14 (every matrix Q4_K).
const FILE_TYPE: Record<GgmlTensorType, number> = {F32: 0, F16: 1, Q8_0: 7, Q4_K: 14}

const CHAT_TEMPLATE = '{% for message in messages %}{{ message[\'role\'] }}: {{ message[\'content\'] }}\n{% endfor %}' +
  '{% if add_generation_prompt %}assistant:{% endif %}'

// Residual dimension 0 carries this constant for every token: no layer writes to it, so after the final RMS norm it
// is reliably positive and the output head can use it as a bias (see suppressedRow).
const ANCHOR = 4
// Logit penalty (times the normalized anchor) on the tokens suppressedTokenIds lists.
const SUPPRESS = 32
const CHUNK_ELEMENTS = 1 << 16

export function syntheticParameterCount(spec: SyntheticModelSpec): number {
  return tensorShapes(spec).reduce((sum, t) => sum + t.dims.reduce((a, b) => a * b, 1), 0)
}

/** File name that changes whenever the spec or the generator does, so a stale cached file is never picked up. */
export function syntheticModelFileName(spec: SyntheticModelSpec): string {
  return `owbench-synthetic-${spec.id}-${specHash(spec)}.gguf`
}

/** Writes the model for `spec` to `filePath` (atomically); the same spec always gives the same bytes. */
export async function writeSyntheticModel(spec: SyntheticModelSpec, filePath: string): Promise<SyntheticModelInfo> {
  const {bytes, sha256} = await writeGguf(filePath, syntheticModelFile(spec))
  return {id: spec.id, path: filePath, sha256, bytes, parameters: syntheticParameterCount(spec), spec: {...spec}}
}

/**
 * The metadata and tensors of the model for `spec`, to write as one file or as split shards; with
 * the generated vocabulary, or a real one of `spec.nVocab` tokens in the same SentencePiece form
 * (such as llama.cpp's models/ggml-vocab-llama-spm.gguf, for a benchmark on a real tokenizer).
 * Tensor data is generated lazily, while it is written.
 */
export function syntheticModelFile(spec: SyntheticModelSpec, vocab: SyntheticVocab = buildSyntheticVocab(spec.nVocab)): GgufFile {
  validateSpec(spec)
  if (vocab.tokens.length !== spec.nVocab) throw new Error(`the vocabulary has ${vocab.tokens.length} tokens, the spec ${spec.nVocab}`)
  return {metadata: metadataFor(spec, vocab), tensors: tensorsFor(spec, vocab)}
}

export interface EnsureSyntheticModelOptions {
  /** Defaults to `<cacheDir()>/models`. */
  dir?: string
  onProgress?: (message: string) => void
}

const inFlight = new Map<string, Promise<SyntheticModelInfo>>()

/**
 * The cached model file for `id`, generated on first use. Safe against concurrent callers, in this process or
 * others: each writer renames its own complete temp file into place, and all writers produce identical bytes.
 */
export async function ensureSyntheticModel(id: SyntheticModelId, options: EnsureSyntheticModelOptions = {}): Promise<SyntheticModelInfo> {
  if (!isSyntheticModelId(id)) throw new Error(`unknown synthetic model ${String(id)}; expected one of ${Object.keys(SYNTHETIC_MODELS).join(', ')}`)
  const spec = SYNTHETIC_MODELS[id]
  const filePath = path.join(options.dir ?? path.join(cacheDir(), 'models'), syntheticModelFileName(spec))
  const cached = await readCachedInfo(spec, filePath)
  if (cached) return cached
  let pending = inFlight.get(filePath)
  if (!pending) {
    pending = generateAndRecord(spec, filePath, options.onProgress).finally(() => inFlight.delete(filePath))
    inFlight.set(filePath, pending)
  }
  return pending
}

const sidecarSchema = z.object({
  generatorVersion: z.literal(SYNTHETIC_GENERATOR_VERSION),
  id: z.enum(Object.keys(SYNTHETIC_MODELS) as [SyntheticModelId, ...SyntheticModelId[]]),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().positive(),
  parameters: z.number().int().positive(),
})

function sidecarPath(filePath: string): string {
  return filePath.replace(/\.gguf$/, '') + '.json'
}

async function readCachedInfo(spec: SyntheticModelSpec, filePath: string): Promise<SyntheticModelInfo | undefined> {
  try {
    const [stat, raw] = await Promise.all([fs.stat(filePath), fs.readFile(sidecarPath(filePath), 'utf8')])
    const sidecar = sidecarSchema.safeParse(JSON.parse(raw))
    if (!sidecar.success) return undefined
    const {id, sha256, bytes, parameters} = sidecar.data
    // A size mismatch means the file was truncated or replaced; re-hashing 30 MB on every run to catch subtler
    // damage is not worth it.
    if (id !== spec.id || bytes !== stat.size || parameters !== syntheticParameterCount(spec)) return undefined
    return {id: spec.id, path: filePath, sha256, bytes, parameters, spec: {...spec}}
  } catch {
    return undefined
  }
}

async function generateAndRecord(spec: SyntheticModelSpec, filePath: string, onProgress?: (message: string) => void): Promise<SyntheticModelInfo> {
  const millions = (syntheticParameterCount(spec) / 1e6).toFixed(1)
  onProgress?.(`generating synthetic model '${spec.id}' (${millions}M parameters, ${spec.weightType}) at ${filePath}`)
  const started = performance.now()
  const info = await writeSyntheticModel(spec, filePath)
  const sidecar = {generatorVersion: SYNTHETIC_GENERATOR_VERSION, id: info.id, sha256: info.sha256, bytes: info.bytes, parameters: info.parameters, spec}
  const target = sidecarPath(filePath)
  const temp = `${target}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`
  try {
    await fs.writeFile(temp, JSON.stringify(sidecar, null, 2) + '\n', {flag: 'wx'})
    await fs.rename(temp, target)
  } catch (error) {
    await fs.rm(temp, {force: true})
    throw error
  }
  onProgress?.(`generated synthetic model '${spec.id}' (${(info.bytes / 1e6).toFixed(1)} MB) in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return info
}

function specHash(spec: SyntheticModelSpec): string {
  // Explicit field order: the hash must not depend on how an object literal happened to be written.
  const fields = [SYNTHETIC_GENERATOR_VERSION, spec.id, spec.seed, spec.nVocab, spec.nEmbd, spec.nLayer, spec.nHead,
    spec.nHeadKv, spec.nFf, spec.nCtxTrain, spec.weightType]
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 12)
}

function validateSpec(spec: SyntheticModelSpec): void {
  const positive = ['nVocab', 'nEmbd', 'nLayer', 'nHead', 'nHeadKv', 'nFf', 'nCtxTrain'] as const
  for (const key of positive) {
    if (!Number.isSafeInteger(spec[key]) || spec[key] < 1) throw new Error(`synthetic spec ${key} must be a positive integer, got ${spec[key]}`)
  }
  // Stored as owbench.synthetic.seed, a uint32.
  if (!Number.isInteger(spec.seed) || spec.seed < 0 || spec.seed > 0xffffffff) throw new Error(`synthetic spec seed must be a uint32, got ${spec.seed}`)
  if (spec.nEmbd % spec.nHead !== 0) throw new Error(`nEmbd ${spec.nEmbd} is not a multiple of nHead ${spec.nHead}`)
  if (spec.nHead % spec.nHeadKv !== 0) throw new Error(`nHead ${spec.nHead} is not a multiple of nHeadKv ${spec.nHeadKv}`)
  if ((spec.nEmbd / spec.nHead) % 2 !== 0) throw new Error('head dimension must be even for RoPE')
}

function metadataFor(spec: SyntheticModelSpec, vocab: SyntheticVocab): GgufMetadata {
  return [
    ['general.architecture', meta.str('llama')],
    ['general.name', meta.str(`owbench-synthetic-${spec.id}`)],
    ['general.description', meta.str(SYNTHETIC_MODEL_DESCRIPTION)],
    ['general.file_type', meta.u32(FILE_TYPE[spec.weightType])],
    ['general.quantization_version', meta.u32(2)],
    ['llama.context_length', meta.u32(spec.nCtxTrain)],
    ['llama.embedding_length', meta.u32(spec.nEmbd)],
    ['llama.block_count', meta.u32(spec.nLayer)],
    ['llama.feed_forward_length', meta.u32(spec.nFf)],
    ['llama.attention.head_count', meta.u32(spec.nHead)],
    ['llama.attention.head_count_kv', meta.u32(spec.nHeadKv)],
    ['llama.rope.dimension_count', meta.u32(spec.nEmbd / spec.nHead)],
    ['llama.rope.freq_base', meta.f32(10000)],
    ['llama.attention.layer_norm_rms_epsilon', meta.f32(1e-5)],
    ['llama.vocab_size', meta.u32(spec.nVocab)],
    ['tokenizer.ggml.model', meta.str('llama')],
    ['tokenizer.ggml.tokens', meta.arr('string', vocab.tokens)],
    ['tokenizer.ggml.scores', meta.arr('float32', vocab.scores)],
    ['tokenizer.ggml.token_type', meta.arr('int32', vocab.tokenTypes)],
    ['tokenizer.ggml.bos_token_id', meta.u32(vocab.bosId)],
    ['tokenizer.ggml.eos_token_id', meta.u32(vocab.eosId)],
    ['tokenizer.ggml.unknown_token_id', meta.u32(vocab.unkId)],
    ['tokenizer.ggml.add_bos_token', meta.bool(true)],
    ['tokenizer.ggml.add_eos_token', meta.bool(false)],
    ['tokenizer.chat_template', meta.str(CHAT_TEMPLATE)],
    ['owbench.synthetic.seed', meta.u32(spec.seed)],
    ['owbench.synthetic.generator_version', meta.u32(SYNTHETIC_GENERATOR_VERSION)],
  ]
}

interface TensorShape {
  name: string
  dims: [number, number] | [number]
}

function tensorShapes(spec: SyntheticModelSpec): TensorShape[] {
  const kvDim = (spec.nEmbd / spec.nHead) * spec.nHeadKv
  const shapes: TensorShape[] = [
    {name: 'token_embd.weight', dims: [spec.nEmbd, spec.nVocab]},
    {name: 'output_norm.weight', dims: [spec.nEmbd]},
    {name: 'output.weight', dims: [spec.nEmbd, spec.nVocab]},
  ]
  for (let i = 0; i < spec.nLayer; i++) {
    shapes.push(
      {name: `blk.${i}.attn_norm.weight`, dims: [spec.nEmbd]},
      {name: `blk.${i}.attn_q.weight`, dims: [spec.nEmbd, spec.nEmbd]},
      {name: `blk.${i}.attn_k.weight`, dims: [spec.nEmbd, kvDim]},
      {name: `blk.${i}.attn_v.weight`, dims: [spec.nEmbd, kvDim]},
      {name: `blk.${i}.attn_output.weight`, dims: [spec.nEmbd, spec.nEmbd]},
      {name: `blk.${i}.ffn_norm.weight`, dims: [spec.nEmbd]},
      {name: `blk.${i}.ffn_gate.weight`, dims: [spec.nEmbd, spec.nFf]},
      {name: `blk.${i}.ffn_up.weight`, dims: [spec.nEmbd, spec.nFf]},
      {name: `blk.${i}.ffn_down.weight`, dims: [spec.nFf, spec.nEmbd]},
    )
  }
  return shapes
}

type RowEdit = (row: number, values: Float32Array) => void

/**
 * Tokens the output head never picks: the specials (a random </s> would end a benchmark's generation early), the
 * UNUSED non-ASCII byte placeholders (they print nothing) and ASCII control bytes other than tab and newline (NULs
 * and escape sequences in a completion upset terminals and clients).
 */
export function suppressedTokenIds(vocab: SyntheticVocab): Set<number> {
  const ids = new Set<number>()
  vocab.tokenTypes.forEach((type, id) => {
    if (type === TOKEN_TYPE.NORMAL) return
    const byte = /^<0x([0-9A-F]{2})>$/.exec(vocab.tokens[id] ?? '')?.[1]
    const value = byte === undefined ? -1 : parseInt(byte, 16)
    if (type === TOKEN_TYPE.BYTE && (value === 0x09 || value === 0x0a || (value >= 0x20 && value < 0x7f))) return
    ids.add(id)
  })
  return ids
}

function tensorsFor(spec: SyntheticModelSpec, vocab: SyntheticVocab): GgufTensor[] {
  const suppressed = suppressedTokenIds(vocab)
  return tensorShapes(spec).map(({name, dims}): GgufTensor => {
    const [rowLength, rows = 1] = dims
    if (dims.length === 1) return {name, dims, type: 'F32', data: new Float32Array(rowLength).fill(1)}
    let scale = Math.sqrt(3 / rowLength) // uniform in [-scale, scale) has std 1/sqrt(fan_in): activations stay O(1)
    let edit: RowEdit | undefined
    if (name === 'token_embd.weight') {
      scale = Math.sqrt(3)
      edit = (_row, values) => { values[0] = ANCHOR }
    } else if (name === 'output.weight') {
      edit = (row, values) => {
        if (!suppressed.has(row)) return
        values.fill(0)
        values[0] = -SUPPRESS
      }
    } else if (name.endsWith('.attn_output.weight') || name.endsWith('.ffn_down.weight')) {
      // Output row 0 writes residual dimension 0, which must keep holding ANCHOR.
      edit = (row, values) => { if (row === 0) values.fill(0) }
    }
    return {name, dims, type: spec.weightType, data: () => randomRows(spec.seed, name, rowLength, rows, scale, edit)}
  })
}

function* randomRows(seed: number, name: string, rowLength: number, rows: number, scale: number, edit?: RowEdit): Generator<Float32Array> {
  const next = seededRandom(seed, name)
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_ELEMENTS / rowLength))
  for (let first = 0; first < rows; first += rowsPerChunk) {
    const count = Math.min(rowsPerChunk, rows - first)
    const chunk = new Float32Array(count * rowLength)
    for (let i = 0; i < chunk.length; i++) chunk[i] = ((next() / 0x100000000) * 2 - 1) * scale
    if (edit) {
      for (let r = 0; r < count; r++) edit(first + r, chunk.subarray(r * rowLength, (r + 1) * rowLength))
    }
    yield chunk
  }
}
