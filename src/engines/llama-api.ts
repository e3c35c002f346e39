import {readdirSync} from 'node:fs'
import path from 'node:path'
import koffi from 'koffi'
type TypeSpec = Parameters<typeof koffi.sizeof>[0]

/**
 * The few functions of libllama's C API (include/llama.h of the llama.cpp release node-llama-cpp
 * bundles) that owbench's timed path calls directly, through koffi. They run synchronously on the
 * calling thread, like llama-bench: no thread-pool hop and no event-loop turn per decoded token.
 * Only the engine's own child process loads this, where blocking the event loop is harmless.
 *
 * The struct layouts below copy llama.h of that release field by field; `checkLayouts` compares
 * what llama.cpp returns as defaults with the header's documented defaults, so a release that
 * changed a struct fails loudly instead of passing garbage.
 */

// Opaque handles: koffi keeps them as external pointers.
const Pointer = 'void *'

const ModelParams = koffi.struct('owbench_llama_model_params', {
  devices: Pointer,
  tensor_buft_overrides: Pointer,
  n_gpu_layers: 'int32_t',
  split_mode: 'int',
  load_mode: 'int',
  lazy_mode: 'int',
  main_gpu: 'int32_t',
  tensor_split: Pointer,
  progress_callback: Pointer,
  progress_callback_user_data: Pointer,
  kv_overrides: Pointer,
  vocab_only: 'bool',
  check_tensors: 'bool',
  use_extra_bufts: 'bool',
  no_host: 'bool',
  no_alloc: 'bool',
  load_mtp: 'bool',
})

const ContextParams = koffi.struct('owbench_llama_context_params', {
  n_ctx: 'uint32_t',
  n_batch: 'uint32_t',
  n_ubatch: 'uint32_t',
  n_seq_max: 'uint32_t',
  n_rs_seq: 'uint32_t',
  n_outputs_max: 'uint32_t',
  n_outputs_max_per_seq: 'uint32_t',
  n_threads: 'int32_t',
  n_threads_batch: 'int32_t',
  ctx_type: 'int',
  rope_scaling_type: 'int',
  pooling_type: 'int',
  attention_type: 'int',
  flash_attn_type: 'int',
  rope_freq_base: 'float',
  rope_freq_scale: 'float',
  yarn_ext_factor: 'float',
  yarn_attn_factor: 'float',
  yarn_beta_fast: 'float',
  yarn_beta_slow: 'float',
  yarn_orig_ctx: 'uint32_t',
  defrag_thold: 'float',
  cb_eval: Pointer,
  cb_eval_user_data: Pointer,
  type_k: 'int',
  type_v: 'int',
  abort_callback: Pointer,
  abort_callback_data: Pointer,
  embeddings: 'bool',
  offload_kqv: 'bool',
  no_perf: 'bool',
  op_offload: 'bool',
  swa_full: 'bool',
  kv_unified: 'bool',
  samplers: Pointer,
  n_samplers: 'size_t',
  ctx_other: Pointer,
})

const Batch = koffi.struct('owbench_llama_batch', {
  n_tokens: 'int32_t',
  token: Pointer,
  embd: Pointer,
  pos: Pointer,
  n_seq_id: Pointer,
  seq_id: Pointer,
  logits: Pointer,
})

// ggml.h: GGML_MAX_N_THREADS = 512.
const ThreadpoolParams = koffi.struct('owbench_ggml_threadpool_params', {
  cpumask: koffi.array('bool', 512),
  n_threads: 'int',
  prio: 'int',
  poll: 'uint32_t',
  strict_cpu: 'bool',
  paused: 'bool',
})
const ThreadpoolNew = koffi.proto('void *owbench_ggml_threadpool_new(owbench_ggml_threadpool_params *params)')
const ThreadpoolFree = koffi.proto('void owbench_ggml_threadpool_free(void *threadpool)')

export type Handle = unknown

/**
 * A llama_batch of explicit tokens, positions and sequences in native memory, reused for every
 * decode of a batched request (llama-batched-bench's common_batch_add): `capacity` entries, each of
 * one sequence. Fill the views, then decode `n` entries.
 */
export interface NativeBatch {
  readonly capacity: number
  token: Int32Array
  pos: Int32Array
  /** The sequence of each entry (its seq_id pointer is set from it by `setSeq`). */
  setSeq(index: number, seq: number): void
  logits: Int8Array
  /** Native pointers of the arrays, for llama_decode. */
  readonly pointers: {token: Handle; pos: Handle; nSeqId: Handle; seqId: Handle; logits: Handle}
  free(): void
}

export interface ModelParamsValue {
  n_gpu_layers: number
  load_mode: number
  vocab_only: boolean
  use_extra_bufts: boolean
  [field: string]: unknown
}

export interface ContextParamsValue {
  n_ctx: number
  n_batch: number
  n_ubatch: number
  n_seq_max: number
  n_threads: number
  n_threads_batch: number
  flash_attn_type: number
  no_perf: boolean
  swa_full: boolean
  kv_unified: boolean
  [field: string]: unknown
}

/** llama.h's enum llama_flash_attn_type. */
export const FLASH_ATTN = {auto: -1, disabled: 0, enabled: 1} as const

export interface LlamaApi {
  readonly libraryPath: string
  modelDefaultParams(): ModelParamsValue
  contextDefaultParams(): ContextParamsValue
  modelLoadFromFile(file: string, params: ModelParamsValue): Handle | null
  modelFree(model: Handle): void
  initFromModel(model: Handle, params: ContextParamsValue): Handle | null
  free(ctx: Handle): void
  modelGetVocab(model: Handle): Handle
  modelNParams(model: Handle): bigint | number
  modelNCtxTrain(model: Handle): number
  vocabIsEog(vocab: Handle, token: number): boolean
  nCtx(ctx: Handle): number
  nBatch(ctx: Handle): number
  nUbatch(ctx: Handle): number
  nThreads(ctx: Handle): number
  getMemory(ctx: Handle): Handle
  memoryClear(memory: Handle, data: boolean): void
  /** Decodes `n` tokens from `tokens` (a native int32 buffer) at the next positions of sequence 0; logits for the last one. */
  decode(ctx: Handle, tokens: Handle, n: number): number
  /** Decodes the first `n` entries of an explicit batch (tokens, positions, sequences, which entries get logits). */
  decodeBatch(ctx: Handle, batch: NativeBatch, n: number): number
  /** An explicit batch of `capacity` entries (each of one sequence, at most `maxSequences` sequences). */
  nativeBatch(capacity: number, maxSequences: number): NativeBatch
  /** llama.cpp's limit on sequences in one context (LLAMA_MAX_SEQ; n_seq_max may not exceed it). */
  maxParallelSequences(): number
  nSeqMax(ctx: Handle): number
  synchronize(ctx: Handle): void
  samplerInitGreedy(): Handle
  samplerSample(sampler: Handle, ctx: Handle, index: number): number
  samplerFree(sampler: Handle): void
  /**
   * A CPU thread pool of `threads` threads attached to `ctx` for decoding and prompts, made as
   * llama-bench makes its own (ggml's defaults: hybrid polling 50, normal priority, no CPU mask).
   * Without one, ggml makes a throw-away pool for every graph, which starts threads per token.
   * Returns a function that detaches and frees it.
   */
  attachThreadpool(ctx: Handle, threads: number): () => void
  /** ggml's buffer types by name (`CPU`, `CUDA0`, ...): each device's default, as llama-bench -ot looks them up. */
  bufferTypes(): Map<string, Handle>
  /**
   * llama_model_params.tensor_buft_overrides in native memory: {pattern, buffer type} pairs ending
   * with {NULL, NULL}, patterns as C strings kept alive until `free` (after the model is loaded).
   */
  tensorOverrides(overrides: readonly {pattern: string; buft: Handle}[]): {pointer: Handle; free(): void}
  /** Sends llama.cpp's and ggml's log to stderr (llama.cpp's default logger), unbuffered, so it survives an abort. */
  logToStderr(): void
  /** A native int32 buffer of `length` tokens and a typed view on it. */
  tokenBuffer(length: number): {pointer: Handle; view: Int32Array}
  freeBuffer(pointer: Handle): void
}

/**
 * Binds libllama at `libraryPath`: the very file node-llama-cpp's addon loaded, so both share one
 * copy of llama.cpp and its registered backends.
 */
export function openLlamaApi(libraryPath: string): LlamaApi {
  // ggml runs single-threaded graphs on the calling thread, here koffi's stack for synchronous calls:
  // give it what a main thread has (8 MiB) rather than koffi's default 2 MiB.
  // koffi fixes its configuration once a library is loaded; the engine process opens one API.
  if (koffi.config().sync_stack_size! < 8 << 20) koffi.config({...koffi.config(), sync_stack_size: 8 << 20})
  const lib = koffi.load(libraryPath)
  const fn = (name: string, result: TypeSpec, args: TypeSpec[]) => lib.func(name, result, args)
  const modelDefaultParams = fn('llama_model_default_params', ModelParams, [])
  const contextDefaultParams = fn('llama_context_default_params', ContextParams, [])
  const modelLoadFromFile = fn('llama_model_load_from_file', Pointer, ['const char *', ModelParams])
  const modelFree = fn('llama_model_free', 'void', [Pointer])
  const initFromModel = fn('llama_init_from_model', Pointer, [Pointer, ContextParams])
  const free = fn('llama_free', 'void', [Pointer])
  const modelGetVocab = fn('llama_model_get_vocab', Pointer, [Pointer])
  const modelNParams = fn('llama_model_n_params', 'uint64_t', [Pointer])
  const modelNCtxTrain = fn('llama_model_n_ctx_train', 'int32_t', [Pointer])
  const vocabIsEog = fn('llama_vocab_is_eog', 'bool', [Pointer, 'int32_t'])
  const nCtx = fn('llama_n_ctx', 'uint32_t', [Pointer])
  const nBatch = fn('llama_n_batch', 'uint32_t', [Pointer])
  const nUbatch = fn('llama_n_ubatch', 'uint32_t', [Pointer])
  const nThreads = fn('llama_n_threads', 'int32_t', [Pointer])
  const getMemory = fn('llama_get_memory', Pointer, [Pointer])
  const memoryClear = fn('llama_memory_clear', 'void', [Pointer, 'bool'])
  const decode = fn('llama_decode', 'int32_t', [Pointer, Batch])
  const maxParallelSequences = fn('llama_max_parallel_sequences', 'size_t', [])
  const nSeqMax = fn('llama_n_seq_max', 'uint32_t', [Pointer])
  const synchronize = fn('llama_synchronize', 'void', [Pointer])
  const samplerInitGreedy = fn('llama_sampler_init_greedy', Pointer, [])
  const samplerSample = fn('llama_sampler_sample', 'int32_t', [Pointer, Pointer, 'int32_t'])
  const samplerFree = fn('llama_sampler_free', 'void', [Pointer])
  const logSet = fn('llama_log_set', 'void', [Pointer, Pointer])
  const attachThreadpool = fn('llama_attach_threadpool', 'void', [Pointer, Pointer, Pointer])
  const detachThreadpool = fn('llama_detach_threadpool', 'void', [Pointer])
  // ggml's, found through libllama's own dependencies (libggml, libggml-base), as llama-bench finds them.
  const devByType = fn('ggml_backend_dev_by_type', Pointer, ['int'])
  const devBackendReg = fn('ggml_backend_dev_backend_reg', Pointer, [Pointer])
  const regProcAddress = fn('ggml_backend_reg_get_proc_address', Pointer, [Pointer, 'const char *'])
  const threadpoolParamsDefault = fn('ggml_threadpool_params_default', ThreadpoolParams, ['int'])
  const devCount = fn('ggml_backend_dev_count', 'size_t', [])
  const devGet = fn('ggml_backend_dev_get', Pointer, ['size_t'])
  const devBufferType = fn('ggml_backend_dev_buffer_type', Pointer, [Pointer])
  const buftName = fn('ggml_backend_buft_name', 'const char *', [Pointer])
  // One batch object reused for every decode: what llama_batch_get_one returns (positions and
  // outputs left to llama.cpp: next positions, logits of the last token), without a call to make it.
  const batch = {n_tokens: 0, token: null as unknown, embd: null, pos: null, n_seq_id: null, seq_id: null, logits: null}
  return {
    libraryPath,
    modelDefaultParams: () => modelDefaultParams() as ModelParamsValue,
    contextDefaultParams: () => contextDefaultParams() as ContextParamsValue,
    modelLoadFromFile: (file, params) => modelLoadFromFile(file, params) as Handle | null,
    modelFree: (model) => modelFree(model),
    initFromModel: (model, params) => initFromModel(model, params) as Handle | null,
    free: (ctx) => free(ctx),
    modelGetVocab: (model) => modelGetVocab(model) as Handle,
    modelNParams: (model) => modelNParams(model) as bigint | number,
    modelNCtxTrain: (model) => modelNCtxTrain(model) as number,
    vocabIsEog: (vocab, token) => vocabIsEog(vocab, token) as boolean,
    nCtx: (ctx) => nCtx(ctx) as number,
    nBatch: (ctx) => nBatch(ctx) as number,
    nUbatch: (ctx) => nUbatch(ctx) as number,
    nThreads: (ctx) => nThreads(ctx) as number,
    getMemory: (ctx) => getMemory(ctx) as Handle,
    memoryClear: (memory, data) => memoryClear(memory, data),
    decode: (ctx, tokens, n) => {
      batch.n_tokens = n
      batch.token = tokens
      return decode(ctx, batch) as number
    },
    decodeBatch: (ctx, native, n) => {
      const p = native.pointers
      return decode(ctx, {n_tokens: n, token: p.token, embd: null, pos: p.pos, n_seq_id: p.nSeqId, seq_id: p.seqId, logits: p.logits}) as number
    },
    nativeBatch: (capacity, maxSequences) => {
      const token = koffi.alloc('int32_t', capacity) as Handle
      const pos = koffi.alloc('int32_t', capacity) as Handle
      const nSeqId = koffi.alloc('int32_t', capacity) as Handle
      const seqId = koffi.alloc('void *', capacity) as Handle
      const logits = koffi.alloc('int8_t', capacity) as Handle
      // One int32 per sequence id: seq_id[i] points at the id of entry i's one sequence.
      const ids = koffi.alloc('int32_t', maxSequences) as Handle
      new Int32Array(koffi.view(ids, maxSequences * 4)).forEach((_, j, a) => (a[j] = j))
      new Int32Array(koffi.view(nSeqId, capacity * 4)).fill(1)
      if (koffi.sizeof('void *') !== 8) throw new Error('batched decoding needs 64-bit pointers')
      const idsAt = koffi.address(ids)
      const seqPointers = new BigUint64Array(koffi.view(seqId, capacity * 8))
      return {
        capacity,
        token: new Int32Array(koffi.view(token, capacity * 4)),
        pos: new Int32Array(koffi.view(pos, capacity * 4)),
        logits: new Int8Array(koffi.view(logits, capacity)),
        setSeq: (index, seq) => {
          if (seq < 0 || seq >= maxSequences) throw new Error(`sequence ${seq} outside 0..${maxSequences - 1}`)
          seqPointers[index] = idsAt + BigInt(seq * 4)
        },
        pointers: {token, pos, nSeqId, seqId, logits},
        free: () => {
          for (const pointer of [token, pos, nSeqId, seqId, logits, ids]) koffi.free(pointer)
        },
      }
    },
    maxParallelSequences: () => Number(maxParallelSequences()),
    nSeqMax: (ctx) => nSeqMax(ctx) as number,
    synchronize: (ctx) => synchronize(ctx),
    samplerInitGreedy: () => samplerInitGreedy() as Handle,
    samplerSample: (sampler, ctx, index) => samplerSample(sampler, ctx, index) as number,
    samplerFree: (sampler) => samplerFree(sampler),
    attachThreadpool: (ctx, threads) => {
      // GGML_BACKEND_DEVICE_TYPE_CPU = 0; the CPU backend's own library exports the pool functions.
      const device = devByType(0)
      if (!device) throw new Error('llama.cpp has no CPU backend loaded')
      const reg = devBackendReg(device)
      const create = regProcAddress(reg, 'ggml_threadpool_new')
      const destroy = regProcAddress(reg, 'ggml_threadpool_free')
      if (!create || !destroy) throw new Error('the CPU backend does not export ggml_threadpool_new')
      const pool = koffi.call(create, ThreadpoolNew, threadpoolParamsDefault(threads)) as Handle
      if (!pool) throw new Error(`ggml could not create a thread pool of ${threads} threads`)
      attachThreadpool(ctx, pool, null)
      return () => {
        detachThreadpool(ctx)
        koffi.call(destroy, ThreadpoolFree, pool)
      }
    },
    bufferTypes: () => {
      const types = new Map<string, Handle>()
      for (let i = 0; i < Number(devCount()); i++) {
        const buft = devBufferType(devGet(i)) as Handle
        if (buft) types.set(buftName(buft) as string, buft)
      }
      return types
    },
    tensorOverrides: (overrides) => {
      const strings = overrides.map(({pattern}) => {
        const bytes = Buffer.from(`${pattern}\0`, 'utf8')
        const pointer = koffi.alloc('uint8_t', bytes.length) as Handle
        new Uint8Array(koffi.view(pointer, bytes.length)).set(bytes)
        return pointer
      })
      // struct llama_model_tensor_buft_override {const char * pattern; ggml_backend_buffer_type_t buft;}: two pointers each, then the NULL pair.
      const pointer = koffi.alloc('uint64_t', (overrides.length + 1) * 2) as Handle
      const words = new BigUint64Array(koffi.view(pointer, (overrides.length + 1) * 16))
      overrides.forEach(({buft}, i) => {
        words[2 * i] = koffi.address(strings[i])
        words[2 * i + 1] = koffi.address(buft)
      })
      return {
        pointer,
        free: () => {
          for (const p of [...strings, pointer]) koffi.free(p)
        },
      }
    },
    logToStderr: () => logSet(null, null),
    tokenBuffer: (length) => {
      const pointer = koffi.alloc('int32_t', length) as Handle
      return {pointer, view: new Int32Array(koffi.view(pointer, length * 4))}
    },
    freeBuffer: (pointer) => koffi.free(pointer),
  }
}

/**
 * Checks the struct layouts against the defaults llama.cpp's llama_context_default_params and
 * llama_model_default_params return in this release (fields spread over the whole struct: a
 * shifted field reads another's value). Throws naming the library when they differ.
 */
export function checkLayouts(api: LlamaApi): void {
  const c = api.contextDefaultParams()
  const m = api.modelDefaultParams()
  const expected: [string, unknown, unknown][] = [
    ['n_batch', c.n_batch, 2048],
    ['n_ubatch', c.n_ubatch, 512],
    ['n_seq_max', c.n_seq_max, 1],
    ['n_outputs_max_per_seq', c.n_outputs_max_per_seq, 1],
    ['flash_attn_type', c.flash_attn_type, FLASH_ATTN.auto],
    ['yarn_attn_factor', c.yarn_attn_factor, -1],
    ['defrag_thold', c.defrag_thold, -1],
    ['type_k', c.type_k, 1],
    ['type_v', c.type_v, 1],
    ['offload_kqv', c.offload_kqv, true],
    ['op_offload', c.op_offload, true],
    ['swa_full', c.swa_full, true],
    ['kv_unified', c.kv_unified, false],
    ['n_samplers', Number(c.n_samplers), 0],
    ['ctx_other', c.ctx_other, null],
    ['n_gpu_layers', m.n_gpu_layers, -1],
    ['split_mode', m.split_mode, 1],
    ['load_mode', m.load_mode, -1],
    ['kv_overrides', m.kv_overrides, null],
    ['use_extra_bufts', m.use_extra_bufts, true],
    ['load_mtp', m.load_mtp, false],
  ]
  const wrong = expected.filter(([, actual, want]) => actual !== want).map(([name, actual, want]) => `${name} ${String(actual)}, expected ${String(want)}`)
  if (wrong.length > 0) throw new Error(`libllama at ${api.libraryPath} does not have the struct layout owbench was written for (${wrong.join('; ')}): node-llama-cpp bundles a different llama.cpp release than owbench expects`)
}

/**
 * libllama next to a node-llama-cpp addon binary (llama-addon.node): `libllama.v0.4.0.so`,
 * `libllama.cuda.v0.4.0.so`, `libllama.so`, `libllama.dylib` or `llama.dll`, never libllama-common.
 */
export function libllamaBeside(addonPath: string): string {
  const dir = path.dirname(addonPath)
  const names = readdirSync(dir).filter((name) => /^(lib)?llama(\.[a-z0-9]+)*\.(so|dylib|dll)$/i.test(name))
  if (names.length === 0) throw new Error(`no libllama library beside ${addonPath}`)
  // A folder holds one build; of several names (a versioned file and its unversioned link), any is the same library.
  return path.join(dir, names.sort((a, b) => b.length - a.length)[0]!)
}
