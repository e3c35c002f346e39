import {
  type ChatHistoryItem,
  type ChatWrapper,
  getLlama,
  getModuleVersion,
  GgufFileType,
  type Llama,
  LlamaLogLevel,
  type LlamaModel,
  resolveChatWrapper,
  type Token,
} from 'node-llama-cpp'
import type {ChatMessage} from '../suite/schema.js'
import type {EngineInfo, RequestRecord} from '../results/schema.js'
import {freemem} from 'node:os'
import {CapacityError, type EngineRequest, INTERRUPTED_ERROR} from './engine.js'
import type {EngineBinary} from './engine-build.js'
import {checkLayouts, type ContextParamsValue, FLASH_ATTN, type Handle, type LlamaApi, libllamaBeside, type NativeBatch, openLlamaApi} from './llama-api.js'
import {monotonicMs} from './monotonic-clock.js'
import {PromptTokens} from './prompt-tokens.js'

export type GpuChoice = 'auto' | 'cpu' | 'cuda' | 'metal' | 'vulkan'

/** What the engine process needs to load a model; a CLI flag's value where one exists. */
export interface SessionOptions {
  /** The model file; for a split model, its first shard (llama.cpp finds the others). */
  modelPath: string
  threads: number
  gpu: GpuChoice
  /** Layers to offload; 'max' offloads all that exist, 'auto' lets node-llama-cpp fit them in VRAM. */
  gpuLayers: number | 'auto' | 'max'
  /** The largest context a request may use. */
  contextSize: number
  /** Size the context per test (EngineRequest.testContext), as llama-bench does; else one context of contextSize. */
  contextPerTest?: boolean
  batchSize: number
  flashAttention: boolean
  /**
   * --n-cpu-moe: keep the expert tensors of the first N layers in CPU memory (llama-bench's
   * -ncmoe: pattern blk\.i\.ffn_(up|down|gate|gate_up)_(ch|)exps, i < N, to the CPU buffer type).
   */
  nCpuMoe?: number
  /** --override-tensor: `pattern=BUFFER_TYPE` (llama-bench -ot), in order, before the --n-cpu-moe patterns. */
  tensorOverrides?: string[]
  /** The llama.cpp binary to load, chosen (and its local build checked) by owbench's own process. */
  binary: EngineBinary
}

/** What the engine process reports about the model it loaded and how it runs it. */
export interface SessionInfo {
  engine: EngineInfo
  /** llama.cpp's limit on sequences in one context (LLAMA_MAX_SEQ). */
  maxSequences: number
  model: {name?: string; architecture?: string; quantization?: string; parameters?: number; trainContext?: number}
  settings: {threads: number; gpuLayers: number; contextSize: number; contextPerTest: boolean; batchSize: number; flashAttention: boolean; nCpuMoe?: number; tensorOverrides?: string[]}
}

/** Said by the session when a stage fails in a way llama.cpp explains only in its log (on stderr). */
export class SessionLoadError extends Error {
  constructor(
    readonly stage: 'engine' | 'model' | 'context' | 'overrides' | 'train-context',
    message: string,
  ) {
    super(message)
  }
}

/** The hooks a request uses between tokens, at most every YIELD_MS: never per token. */
export interface SessionHooks {
  progress(nOut: number): void
  aborted(): boolean
}

/** How often a generation loop lets the process's event loop run (abort messages, progress). */
export const YIELD_MS = 100

/**
 * A GGUF model run through libllama's C API on this (the engine's) process's main thread, with
 * llama-bench's semantics and loop: pp decodes the prompt in batches of n_batch, tg decodes one
 * token per llama_decode call, each followed by llama_synchronize, the next input token random
 * (seeded) rather than sampled, as llama-bench's test_gen does; pg decodes the prompt, then one
 * token per call; chat formats messages with the model's chat template and samples greedily.
 * Every request starts from an empty KV cache. Times are monotonicMs() readings.
 *
 * node-llama-cpp supplies the llama.cpp binary (prebuilt or local build), GGUF metadata, the
 * tokenizer (a vocabulary-only load) and chat templates; the weights are loaded once, by libllama.
 */
export class NativeSession {
  private readonly buffer: {pointer: Handle; view: Int32Array}
  private readonly vocab: Handle
  private readonly promptTokens: PromptTokens
  private sampler?: Handle
  // Resolving the chat template takes about 1.5 s (Jinja analysis): once per session, never per request.
  private chatWrapper?: ChatWrapper
  // The depth the current request started at (tokens already in the KV cache).
  private depth = 0
  private context: LiveContext
  // The context asked for (before llama.cpp rounds it up): the whole one, for chat and without per-test contexts.
  private readonly fullContext: number
  private batch?: NativeBatch

  private constructor(
    private readonly api: LlamaApi,
    private readonly model: Handle,
    private readonly contextParams: ContextParamsValue,
    context: LiveContext,
    private readonly tokenizerModel: LlamaModel,
    readonly info: SessionInfo,
    private readonly llama: Llama,
  ) {
    this.context = context
    this.fullContext = context.requested
    this.buffer = api.tokenBuffer(info.settings.batchSize)
    this.vocab = api.modelGetVocab(model)
    this.promptTokens = new PromptTokens(tokenizerModel)
  }

  private get ctx(): Handle {
    return this.context.ctx
  }

  static async open(options: SessionOptions): Promise<NativeSession> {
    const {llama, addonPath} = await loadLlama(options.gpu, options.binary)
    const api = openLlamaApi(libllamaBeside(addonPath))
    checkLayouts(api)
    // From here llama.cpp and ggml log to stderr unbuffered: the parent keeps the last lines, and
    // they survive an abort, which a log callback into JavaScript would not.
    api.logToStderr()
    let tokenizerModel: LlamaModel
    try {
      tokenizerModel = await llama.loadModel({modelPath: options.modelPath, vocabOnly: true})
    } catch (error) {
      throw new SessionLoadError('model', (error as Error).message)
    }
    const gpuLayers = llama.gpu === false ? 0 : await resolveGpuLayers(tokenizerModel, options)
    const modelParams = api.modelDefaultParams()
    modelParams.n_gpu_layers = gpuLayers
    const overrides = tensorOverrides(api, options)
    if (overrides) modelParams.tensor_buft_overrides = overrides.pointer
    const model = api.modelLoadFromFile(options.modelPath, modelParams)
    // llama.cpp copies what it needs of the patterns while loading.
    overrides?.free()
    if (!model) throw new SessionLoadError('model', 'llama_model_load_from_file failed')
    const trainContext = api.modelNCtxTrain(model)
    // A --ctx beyond what the model was trained for is refused, not quietly made smaller (the message is the limit).
    if (!options.contextPerTest && trainContext > 0 && options.contextSize > trainContext) {
      api.modelFree(model)
      throw new SessionLoadError('train-context', String(trainContext))
    }
    // Per-test contexts stop at the training context; a test that needs more is skipped with the reason.
    const contextSize = Math.min(options.contextSize, trainContext > 0 ? trainContext : options.contextSize)
    const batchSize = Math.min(options.batchSize, contextSize)
    // llama-bench's context: its defaults, with n_batch = n_ubatch = --batch and no full-size SWA
    // cache; one thread count for decoding and prompts, on a thread pool attached as llama-bench does.
    const contextParams = api.contextDefaultParams()
    Object.assign(contextParams, {
      n_ctx: contextSize,
      n_batch: batchSize,
      n_ubatch: batchSize,
      n_threads: options.threads,
      n_threads_batch: options.threads,
      flash_attn_type: options.flashAttention ? FLASH_ATTN.enabled : FLASH_ATTN.disabled,
      swa_full: false,
    })
    let context: LiveContext
    try {
      context = createContext(api, model, contextParams, contextSize)
    } catch (error) {
      api.modelFree(model)
      throw error
    }
    const info = await describe(llama, api, model, context.ctx, tokenizerModel, {gpuLayers, flashAttention: options.flashAttention, contextPerTest: options.contextPerTest === true, nCpuMoe: options.nCpuMoe, tensorOverrides: options.tensorOverrides})
    return new NativeSession(api, model, contextParams, context, tokenizerModel, info, llama)
  }

  get contextLimit(): number {
    return this.info.settings.contextSize
  }

  /** Runs one request; a failure it can describe is returned in `error` with what was measured. */
  async execute(request: EngineRequest, hooks: SessionHooks): Promise<RequestRecord> {
    this.useContext(this.info.settings.contextPerTest && request.testContext ? Math.min(request.testContext, this.fullContext) : this.fullContext, 1)
    this.api.memoryClear(this.context.memory, false)
    const depth = request.kind === 'chat' ? 0 : (request.depth ?? 0)
    if (depth > 0) {
      if (depth + 1 > this.context.size) throw new Error(`a depth of ${depth} tokens exceeds the context of ${this.context.size} tokens (raise --ctx)`)
      // llama-bench -d: the depth is a prompt decoded before the clock starts; the test continues at the next positions.
      const code = this.decodeBatches(Int32Array.from(this.promptTokens.random(depth, request.seed ^ 0x5eed)), depth)
      this.api.synchronize(this.ctx)
      if (code !== 0) throw new Error(`filling a depth of ${depth} tokens failed: ${decodeError(code)}`)
    }
    this.depth = depth
    switch (request.kind) {
      case 'pp': {
        const prompt = Int32Array.from(this.promptTokens.random(request.nPrompt, request.seed))
        const tSend = monotonicMs()
        const code = this.decodeBatches(prompt, prompt.length)
        this.api.synchronize(this.ctx)
        const tEnd = monotonicMs()
        const record: RequestRecord = {tSend, tPrefillEnd: tEnd, chunks: [], tEnd, nPrompt: prompt.length, nOut: 0, promptSeed: request.seed, countSource: 'engine'}
        if (code !== 0) record.error = decodeError(code)
        return record
      }
      case 'tg':
        // llama-bench's test_gen: the first input is BOS (when the model adds one), then random tokens.
        return this.decodeTokens(Int32Array.from(this.promptTokens.random(request.nGen, request.seed)), 1, request.nGen, hooks, request.seed)
      case 'pg':
        return this.decodeTokens(Int32Array.from(this.promptTokens.random(request.nPrompt + request.nGen - 1, request.seed)), request.nPrompt, request.nGen, hooks, request.seed)
      case 'chat':
        return this.chat(this.chatPrompt(request.messages), request.maxTokens, request.ignoreEos, hooks)
    }
  }

  /**
   * Runs requests of one pp, tg or pg test as parallel sequences of one context, with
   * llama-batched-bench's semantics (tools/batched-bench, prompts not shared): a context of
   * n_seq x tokens per sequence (each test's own, or --ctx) with n_seq_max = n_seq; the KV cache
   * cleared; each sequence's depth filled untimed; then, timed, every sequence's prompt in one
   * batch (decoded n_batch at a time, logits of each sequence's last prompt token, one
   * synchronize at the end), then generation: each step one decode of one token per sequence,
   * followed by llama_synchronize. A sequence's first token arrives when the whole batch's
   * prompts are done (no sequence generates before), each later token at the end of its step.
   * tg is a one-token prompt, as llama-bench's test_gen. Throws a CapacityError when the
   * sequences exceed llama.cpp's limit, --ctx, or (node-llama-cpp's estimate) free memory.
   */
  async executeBatch(requests: readonly EngineRequest[], hooks: SessionHooks): Promise<RequestRecord[]> {
    const n = requests.length
    const first = requests[0]
    if (!first) return []
    if (first.kind === 'chat') throw new CapacityError('the local engine runs chat tests one sequence at a time (greedy sampling per sequence is not batched)')
    if (n > this.info.maxSequences) throw new CapacityError(`${n} sequences exceed llama.cpp's limit of ${this.info.maxSequences} in one context`)
    const perSequence = first.testContext ?? this.fullContext
    const size = this.info.settings.contextPerTest ? n * perSequence : this.fullContext
    if (n * perSequence > size) throw new CapacityError(`${n} sequences x ${perSequence} tokens exceed the context of ${size} tokens (raise --ctx)`)
    if (size !== this.context.requested || n !== this.context.sequences) await this.assertMemory(size, n)
    this.useContext(size, n)
    const {api, ctx} = this
    api.memoryClear(this.context.memory, false)
    const depth = first.depth ?? 0
    const nPrompt = first.kind === 'tg' ? 1 : first.nPrompt
    const nGen = first.kind === 'pp' ? 0 : first.nGen
    const tokens = requests.map((r) => Int32Array.from(this.promptTokens.random(nPrompt + Math.max(nGen - 1, 0), r.seed)))
    const batch = this.nativeBatch(Math.max(this.context.batch, n))
    const entries = (count: number, fill: (index: number) => [token: number, pos: number, seq: number, logits: boolean]) => ({count, fill})
    if (depth > 0) {
      const fills = requests.map((r) => Int32Array.from(this.promptTokens.random(depth, r.seed ^ 0x5eed)))
      const code = this.decodeEntries(batch, entries(n * depth, (k) => [fills[Math.floor(k / depth)]![k % depth]!, k % depth, Math.floor(k / depth), false]), false)
      api.synchronize(ctx)
      if (code !== 0) throw new Error(`filling a depth of ${depth} tokens in ${n} sequences failed: ${decodeError(code)}`)
    }
    const times = new Float64Array(nGen)
    let error: string | undefined
    let steps = 0
    const tSend = monotonicMs()
    let code = this.decodeEntries(batch, entries(n * nPrompt, (k) => {
      const seq = Math.floor(k / nPrompt)
      const i = k % nPrompt
      return [tokens[seq]![i]!, depth + i, seq, i === nPrompt - 1]
    }), false)
    api.synchronize(ctx)
    const tPrefillEnd = monotonicMs()
    if (code === 0 && nGen > 0) {
      let lastYield = (times[steps++] = tPrefillEnd)
      while (steps < nGen) {
        if (times[steps - 1]! - lastYield >= YIELD_MS) {
          lastYield = times[steps - 1]!
          if (await this.between(steps, hooks)) {
            error = INTERRUPTED_ERROR
            break
          }
        }
        const at = nPrompt + steps - 1
        code = this.decodeEntries(batch, entries(n, (seq) => [tokens[seq]![at]!, depth + at, seq, true]), true)
        if (code !== 0) break
        times[steps++] = monotonicMs()
      }
    }
    if (code !== 0) error = decodeError(code)
    return requests.map((request) => {
      if (nGen === 0) {
        const record: RequestRecord = {tSend, tPrefillEnd, chunks: [], tEnd: tPrefillEnd, nPrompt, nOut: 0, promptSeed: request.seed, countSource: 'engine'}
        if (error) record.error = error
        return record
      }
      return generationRecord(tSend, times, steps, nPrompt, error, request.seed)
    })
  }

  /**
   * Decodes `count` batch entries n_batch at a time (llama-batched-bench's decode_helper), each
   * filled by `fill(k)`; `synchronize` after each decode (generation) or not (prompts). Returns
   * llama_decode's first non-zero code, else 0.
   */
  private decodeEntries(batch: NativeBatch, entries: {count: number; fill: (k: number) => [number, number, number, boolean]}, synchronize: boolean): number {
    const step = Math.min(this.context.batch, batch.capacity)
    for (let at = 0; at < entries.count; at += step) {
      const n = Math.min(step, entries.count - at)
      for (let i = 0; i < n; i++) {
        const [token, pos, seq, logits] = entries.fill(at + i)
        batch.token[i] = token
        batch.pos[i] = pos
        batch.setSeq(i, seq)
        batch.logits[i] = logits ? 1 : 0
      }
      const code = this.api.decodeBatch(this.ctx, batch, n)
      if (code !== 0) return code
      if (synchronize) this.api.synchronize(this.ctx)
    }
    return 0
  }

  /** The explicit batch, grown to `capacity` entries when needed. */
  private nativeBatch(capacity: number): NativeBatch {
    if (this.batch && this.batch.capacity >= capacity) return this.batch
    this.batch?.free()
    this.batch = this.api.nativeBatch(capacity, this.info.maxSequences)
    return this.batch
  }

  /**
   * Refuses a context that node-llama-cpp estimates will not fit (its GGUF-based estimate of the
   * KV cache and compute buffers, against free RAM and VRAM): llama.cpp would otherwise allocate
   * it and the kernel might kill the engine mid-run.
   */
  private async assertMemory(size: number, sequences: number): Promise<void> {
    const {settings} = this.info
    const needed = await this.tokenizerModel.fileInsights.estimateContextResourceRequirements({contextSize: size, modelGpuLayers: settings.gpuLayers, batchSize: settings.batchSize, sequences, flashAttention: settings.flashAttention})
    const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`
    if (needed.cpuRam > freemem()) throw new CapacityError(`${sequences} sequences in a context of ${size} tokens need about ${gib(needed.cpuRam)} of RAM (node-llama-cpp's estimate), ${gib(freemem())} is free`)
    if (needed.gpuVram > 0 && this.llama.gpu !== false) {
      const {free} = await this.llama.getVramState()
      if (needed.gpuVram > free) throw new CapacityError(`${sequences} sequences in a context of ${size} tokens need about ${gib(needed.gpuVram)} of VRAM (node-llama-cpp's estimate), ${gib(free)} is free`)
    }
  }

  /**
   * Decodes `nPrompt` tokens as the prompt, then the rest one per llama_decode call. A token
   * "arrives" when the decode that produced its logits has finished: nGen arrivals, the first at
   * the end of the prompt. The loop body is a decode, a synchronize and a clock read.
   */
  private async decodeTokens(tokens: Int32Array, nPrompt: number, nGen: number, hooks: SessionHooks, promptSeed: number): Promise<RequestRecord> {
    this.assertFits(nPrompt, nGen)
    const times = new Float64Array(nGen)
    const view = this.buffer.view
    const pointer = this.buffer.pointer
    const {api, ctx} = this
    let error: string | undefined
    let n = 0
    const tSend = monotonicMs()
    let code = this.decodeBatches(tokens, nPrompt)
    if (code === 0) {
      api.synchronize(ctx)
      let lastYield = (times[n++] = monotonicMs())
      while (n < nGen) {
        if (times[n - 1]! - lastYield >= YIELD_MS) {
          lastYield = times[n - 1]!
          if (await this.between(n, hooks)) {
            error = INTERRUPTED_ERROR
            break
          }
        }
        view[0] = tokens[nPrompt + n - 1]!
        code = api.decode(ctx, pointer, 1)
        if (code !== 0) break
        api.synchronize(ctx)
        times[n++] = monotonicMs()
      }
    }
    if (code !== 0) error = decodeError(code)
    return generationRecord(tSend, times, n, nPrompt, error, promptSeed)
  }

  /** Chat: the formatted prompt, then greedy sampling until maxTokens (or an end-of-generation token unless ignored). */
  private async chat(prompt: Int32Array, maxTokens: number, ignoreEos: boolean, hooks: SessionHooks): Promise<RequestRecord> {
    this.assertFits(prompt.length, maxTokens)
    this.sampler ??= this.api.samplerInitGreedy()
    const {api, ctx, sampler} = this
    const times = new Float64Array(maxTokens)
    let error: string | undefined
    let n = 0
    const tSend = monotonicMs()
    let code = this.decodeBatches(prompt, prompt.length)
    let lastYield = tSend
    while (code === 0) {
      const token = api.samplerSample(sampler, ctx, -1)
      if (!ignoreEos && api.vocabIsEog(this.vocab, token)) break
      const t = (times[n++] = monotonicMs())
      if (n >= maxTokens) break
      if (t - lastYield >= YIELD_MS) {
        lastYield = t
        if (await this.between(n, hooks)) {
          error = INTERRUPTED_ERROR
          break
        }
      }
      this.buffer.view[0] = token
      code = api.decode(ctx, this.buffer.pointer, 1)
    }
    if (code !== 0) error = decodeError(code)
    return generationRecord(tSend, times, n, prompt.length, error)
  }

  /** Decodes tokens[0, count) in batches of n_batch (logits of each batch's last token, as llama_batch_get_one). */
  private decodeBatches(tokens: Int32Array, count: number): number {
    const batch = this.context.batch
    for (let at = 0; at < count; at += batch) {
      const n = Math.min(batch, count - at)
      this.buffer.view.set(tokens.subarray(at, at + n))
      const code = this.api.decode(this.ctx, this.buffer.pointer, n)
      if (code !== 0) return code
    }
    return 0
  }

  /** Lets the event loop run (abort and dispose messages arrive), reports progress; true when aborted. */
  private async between(nOut: number, hooks: SessionHooks): Promise<boolean> {
    hooks.progress(nOut)
    await new Promise((resolve) => setImmediate(resolve))
    return hooks.aborted()
  }

  /**
   * Makes the context `size` tokens if it is not (a new test's, before its warm-up): like
   * llama-bench, whose context per test holds n_prompt + n_gen tokens. The size matters to speed,
   * not only memory: tg128 of the synthetic default model ran 11-17% slower in a 768-token
   * context than in its own (likely because, without flash attention, llama.cpp keeps the V cache
   * transposed, a row of context-size cells per dimension, so a larger context spreads what
   * attention reads).
   */
  private useContext(size: number, sequences: number): void {
    if (size === this.context.requested && sequences === this.context.sequences) return
    this.context.free()
    this.context = createContext(this.api, this.model, this.contextParams, size, sequences)
  }

  private assertFits(nPrompt: number, nGen: number): void {
    if (this.depth + nPrompt + nGen > this.context.size) {
      const at = this.depth > 0 ? ` at a depth of ${this.depth}` : ''
      throw new Error(`prompt of ${nPrompt} tokens + ${nGen} generated${at} exceeds the context of ${this.context.size} tokens (raise --ctx)`)
    }
  }

  private chatPrompt(messages: ChatMessage[]): Int32Array {
    this.chatWrapper ??= resolveChatWrapper(this.tokenizerModel)
    const history: ChatHistoryItem[] = []
    for (const m of messages) {
      if (m.role === 'system') history.push({type: 'system', text: m.content})
      else if (m.role === 'user') history.push({type: 'user', text: m.content})
      else history.push({type: 'model', response: [m.content]})
    }
    history.push({type: 'model', response: []})
    const {contextText} = this.chatWrapper.generateContextState({chatHistory: history})
    return Int32Array.from(contextText.tokenize(this.tokenizerModel.tokenizer) as Token[])
  }

  async dispose(): Promise<void> {
    this.batch?.free()
    if (this.sampler) this.api.samplerFree(this.sampler)
    this.api.freeBuffer(this.buffer.pointer)
    this.context.free()
    this.api.modelFree(this.model)
    await this.tokenizerModel.dispose()
  }
}

/** A llama_context with its thread pool: what a test runs in. */
interface LiveContext {
  ctx: Handle
  memory: Handle
  /** The size asked for, and n_ctx and n_batch as llama.cpp made them (it may round n_ctx up). */
  requested: number
  sequences: number
  size: number
  batch: number
  free(): void
}

/**
 * A context of `size` tokens for `sequences` parallel sequences: llama.cpp's default KV layout
 * (not unified: one stream per sequence of size / sequences cells, rounded up to 256), as
 * llama-batched-bench makes its context (n_seq_max = its largest -npl).
 */
function createContext(api: LlamaApi, model: Handle, params: ContextParamsValue, size: number, sequences = 1): LiveContext {
  const ctx = api.initFromModel(model, {...params, n_ctx: size, n_seq_max: sequences, n_batch: Math.min(params.n_batch, size), n_ubatch: Math.min(params.n_ubatch, size)})
  if (!ctx) throw new SessionLoadError('context', `cannot create a context of ${size} tokens${sequences > 1 ? ` for ${sequences} sequences` : ''}`)
  const freeThreadpool = api.attachThreadpool(ctx, params.n_threads)
  return {
    ctx,
    requested: size,
    sequences,
    memory: api.getMemory(ctx),
    size: api.nCtx(ctx),
    batch: api.nBatch(ctx),
    free: () => {
      freeThreadpool()
      api.free(ctx)
    },
  }
}

function generationRecord(tSend: number, times: Float64Array, n: number, nPrompt: number, error: string | undefined, promptSeed?: number): RequestRecord {
  const chunks: [number, number][] = []
  for (let i = 0; i < n; i++) chunks.push([times[i]!, 1])
  const record: RequestRecord = {tSend, chunks, tEnd: n > 0 ? times[n - 1]! : monotonicMs(), nPrompt, nOut: n, countSource: 'engine'}
  if (promptSeed !== undefined) record.promptSeed = promptSeed
  if (error) record.error = error
  return record
}

/** llama_decode's return codes (llama.h). */
function decodeError(code: number): string {
  if (code === 1) return 'llama_decode found no KV cache slot for the batch (raise --ctx)'
  if (code === 2) return 'llama_decode was aborted'
  return `llama_decode failed (code ${code})`
}

async function resolveGpuLayers(model: LlamaModel, options: SessionOptions): Promise<number> {
  if (typeof options.gpuLayers === 'number') return options.gpuLayers
  const resolved = await model.fileInsights.configurationResolver.resolveModelGpuLayersV2(options.gpuLayers, {defaultContextFlashAttention: options.flashAttention})
  return resolved.gpuLayers
}

/**
 * node-llama-cpp's Llama for the chosen binary, and the path of the addon binary it loaded (its
 * libllama sits beside it). node-llama-cpp always prefers a local build: one made with other cmake
 * options than those given is skipped, and prebuilt binaries load regardless of cmake options, so
 * an option no local build has (OWBENCH_REQUIRE_PREBUILT) selects the prebuilt binary.
 */
async function loadLlama(gpu: GpuChoice, binary: EngineBinary): Promise<{llama: Llama; addonPath: string}> {
  const loaded: string[] = []
  // The addon is loaded with require(); process.dlopen is where its path shows.
  const dlopen = process.dlopen
  process.dlopen = function (this: unknown, module: {exports: unknown}, filename: string, ...rest: unknown[]) {
    loaded.push(filename)
    return (dlopen as (...args: unknown[]) => void).call(this, module, filename, ...rest)
  } as typeof process.dlopen
  const base = {
    gpu: gpu === 'cpu' ? (false as const) : gpu,
    build: 'never' as const,
    logLevel: LlamaLogLevel.error,
    logger: (_level: LlamaLogLevel, message: string) => process.stderr.write(message.endsWith('\n') ? message : `${message}\n`),
    // 0 = no cap, so the thread count a user asks for is the one that runs.
    maxThreads: 0,
    progressLogs: false as const,
  }
  let llama: Llama
  try {
    llama = await getLlama(
      binary.kind === 'prebuilt'
        ? {...base, cmakeOptions: {OWBENCH_REQUIRE_PREBUILT: '1'}}
        : {...base, usePrebuiltBinaries: binary.prebuiltFallback, cmakeOptions: binary.cmakeOptions},
    )
  } catch (error) {
    throw new SessionLoadError('engine', (error as Error).message)
  } finally {
    process.dlopen = dlopen
  }
  const addonPath = loaded.filter((file) => /llama-addon\.node$/.test(file)).at(-1)
  if (!addonPath) throw new Error('node-llama-cpp loaded no llama-addon.node binary that owbench could see')
  return {llama, addonPath}
}

/** llama-bench's LLM_FFN_EXPS_REGEX (common/common.h): a layer's expert FFN tensors. */
const FFN_EXPS_REGEX = '\\.ffn_(up|down|gate|gate_up)_(ch|)exps'

/**
 * The tensor buffer overrides of --override-tensor and --n-cpu-moe, as llama-bench builds them:
 * the user's `pattern=BUFFER_TYPE` pairs first (buffer types by name, each device's default), then
 * `blk\.i<FFN_EXPS_REGEX>` to CPU for i < nCpuMoe. Undefined when there are none.
 */
function tensorOverrides(api: LlamaApi, options: SessionOptions): ReturnType<LlamaApi['tensorOverrides']> | undefined {
  const given = options.tensorOverrides ?? []
  const nCpuMoe = options.nCpuMoe ?? 0
  if (given.length === 0 && nCpuMoe <= 0) return undefined
  const types = api.bufferTypes()
  const pairs: {pattern: string; buft: Handle}[] = given.map((text) => {
    const at = text.lastIndexOf('=')
    const pattern = text.slice(0, at)
    const buft = at > 0 ? types.get(text.slice(at + 1)) : undefined
    if (!buft) throw new SessionLoadError('overrides', `"${text}" is not PATTERN=BUFFER_TYPE with a buffer type of this engine (${[...types.keys()].join(', ')})`)
    return {pattern, buft}
  })
  const cpu = types.get('CPU')
  if (nCpuMoe > 0 && !cpu) throw new SessionLoadError('overrides', 'this engine has no CPU buffer type to keep expert tensors in')
  for (let i = 0; i < nCpuMoe; i++) pairs.push({pattern: `blk\\.${i}${FFN_EXPS_REGEX}`, buft: cpu})
  return api.tensorOverrides(pairs)
}

async function describe(llama: Llama, api: LlamaApi, model: Handle, ctx: Handle, tokenizerModel: LlamaModel, resolved: {gpuLayers: number; flashAttention: boolean; contextPerTest: boolean; nCpuMoe?: number; tensorOverrides?: string[]}): Promise<SessionInfo> {
  const general = tokenizerModel.fileInfo.metadata.general as {name?: string; architecture?: string; file_type?: number}
  const engine: EngineInfo = {
    name: 'node-llama-cpp',
    version: await getModuleVersion(),
    llamaCpp: {repo: llama.llamaCppRelease.repo, release: llama.llamaCppRelease.release},
    build: llama.buildType,
    backend: llama.gpu === false ? 'cpu' : llama.gpu,
    gpuDevices: llama.gpu === false ? [] : await llama.getGpuDeviceNames(),
    systemInfo: llama.systemInfo.trim(),
    cmakeOptions: {...llama.cmakeOptions},
  }
  return {
    engine,
    maxSequences: api.maxParallelSequences(),
    model: {
      name: general.name,
      architecture: general.architecture,
      quantization: general.file_type !== undefined ? quantizationName(general.file_type) : undefined,
      parameters: Number(api.modelNParams(model)) || undefined,
      trainContext: api.modelNCtxTrain(model),
    },
    settings: {
      // What llama.cpp runs with, read back from the context.
      threads: api.nThreads(ctx),
      gpuLayers: resolved.gpuLayers,
      contextSize: api.nCtx(ctx),
      contextPerTest: resolved.contextPerTest,
      batchSize: api.nBatch(ctx),
      flashAttention: resolved.flashAttention,
      ...(resolved.nCpuMoe ? {nCpuMoe: resolved.nCpuMoe} : {}),
      ...(resolved.tensorOverrides?.length ? {tensorOverrides: resolved.tensorOverrides} : {}),
    },
  }
}

/** llama.cpp's name for a file type: 7 -> "Q8_0", 1 -> "F16". */
function quantizationName(fileType: number): string {
  const name = (GgufFileType as unknown as Record<number, string | undefined>)[fileType]
  return name ? name.replace(/^(MOSTLY|ALL)_/, '') : `file_type ${fileType}`
}
