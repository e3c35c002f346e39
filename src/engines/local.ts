import {open, stat} from 'node:fs/promises'
import path from 'node:path'
import {
  type ChatHistoryItem,
  type ChatWrapper,
  getLlama,
  getModuleVersion,
  GgufFileType,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  LlamaLogLevel,
  type LlamaModel,
  resolveChatWrapper,
  type Token,
} from 'node-llama-cpp'
import {UserError} from '../errors/errors.js'
import {checkedLocalBuild} from './engine-build.js'
import {modelFileHash} from '../model/file-hash.js'
import type {EngineInfo, ModelInfo, RequestRecord, Target} from '../results/schema.js'
import type {Engine, EngineRequest, RequestContext} from './engine.js'
import {PromptTokens} from './prompt-tokens.js'

export type EngineBuild = 'auto' | 'prebuilt' | 'local'
export type GpuChoice = 'auto' | 'cpu' | 'cuda' | 'metal' | 'vulkan'

export interface LocalEngineOptions {
  id?: string
  modelPath: string
  /** What the user passed (path, hf: URI, URL, synthetic:<id>), recorded as given. */
  modelSource: string
  synthetic?: ModelInfo['synthetic']
  threads: number
  gpu: GpuChoice
  /** Layers to offload; 'max' offloads all that exist, 'auto' lets node-llama-cpp fit them in VRAM. */
  gpuLayers: number | 'auto' | 'max'
  contextSize: number
  batchSize: number
  flashAttention: boolean
  engineBuild: EngineBuild
  seed: number
}

/**
 * A GGUF model run in-process through node-llama-cpp, with llama-bench's semantics:
 * pp times prompt evaluation alone, tg generates exactly N tokens after a one-token prompt (EOS
 * ignored), pg evaluates the prompt then generates, chat formats messages with the model's chat
 * template. Every request starts from an empty KV cache.
 */
export async function createLocalEngine(options: LocalEngineOptions): Promise<Engine> {
  await assertGguf(options.modelPath)
  const loaded = await sharedLlama(options.gpu, options.engineBuild)
  const {llama} = loaded
  let model: LlamaModel | undefined
  llamaErrors.length = 0
  try {
    model = await llama.loadModel({modelPath: options.modelPath, gpuLayers: options.gpuLayers})
    const trainContext = model.trainContextSize
    const contextSize = Math.min(options.contextSize, trainContext > 0 ? trainContext : options.contextSize)
    const context = await model.createContext({
      contextSize,
      batchSize: Math.min(options.batchSize, contextSize),
      threads: {ideal: options.threads, min: options.threads},
      flashAttention: options.flashAttention,
      sequences: 1,
    })
    const target = await describeTarget(options, loaded, model, context)
    return new LocalEngine(target, model, context, context.getSequence())
  } catch (error) {
    await model?.dispose()
    if (error instanceof UserError) throw error
    // llama.cpp's log is delivered asynchronously; let it arrive before reading it.
    await new Promise((resolve) => setImmediate(resolve))
    // llama.cpp says why in its log ("data is not within the file bounds"); the exception only says it failed.
    const reason = llamaErrors.find((line) => /error loading model:/.test(line))?.replace(/^.*error loading model:\s*/, '') ?? (error as Error).message
    throw new UserError(`cannot load model ${options.modelPath}: ${reason}`, 'check that the file is a complete GGUF model this llama.cpp release supports, and that it fits in memory (lower --ctx or --gpu-layers)')
  }
}

class LocalEngine implements Engine {
  readonly contextLimit: number
  // One sequence: llama-bench semantics measure one request at a time.
  readonly maxConcurrency = 1
  private readonly promptTokens: PromptTokens
  // Resolving the chat template takes about 1.5 s (Jinja analysis): once per engine, never per request.
  private chatWrapper?: ChatWrapper

  constructor(
    readonly target: Target,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly sequence: LlamaContextSequence,
  ) {
    this.contextLimit = context.contextSize
    this.promptTokens = new PromptTokens(model)
  }

  async execute(request: EngineRequest, ctx: RequestContext): Promise<RequestRecord> {
    await this.sequence.clearHistory()
    switch (request.kind) {
      case 'pp': {
        const prompt = this.promptTokens.random(request.nPrompt, request.seed)
        const tSend = ctx.clock()
        await this.sequence.evaluateWithoutGeneratingNewTokens(prompt)
        const tEnd = ctx.clock()
        return {tSend, tPrefillEnd: tEnd, chunks: [], tEnd, nPrompt: prompt.length, nOut: 0, promptSeed: request.seed, countSource: 'engine'}
      }
      case 'tg':
        return this.generate(this.promptTokens.random(1, request.seed), request.nGen, true, ctx, request.seed)
      case 'pg':
        return this.generate(this.promptTokens.random(request.nPrompt, request.seed), request.nGen, true, ctx, request.seed)
      case 'chat':
        return this.generate(this.chatPrompt(request.messages), request.maxTokens, request.ignoreEos, ctx)
    }
  }

  /**
   * Evaluates the prompt and takes generated tokens one by one, timing each arrival. The loop
   * body is kept to a clock read and a push: its cost is paid once per generated token.
   */
  private async generate(prompt: Token[], maxTokens: number, ignoreEos: boolean, ctx: RequestContext, promptSeed?: number): Promise<RequestRecord> {
    if (prompt.length + maxTokens > this.contextLimit) {
      throw new Error(`prompt of ${prompt.length} tokens + ${maxTokens} generated exceeds the context of ${this.contextLimit} tokens (raise --ctx)`)
    }
    const chunks: [number, number][] = []
    const onToken = ctx.onToken
    let error: string | undefined
    const tSend = ctx.clock()
    const iterator = this.sequence.evaluate(prompt, {temperature: 0, yieldEogToken: ignoreEos})
    try {
      for await (const _token of iterator) {
        chunks.push([ctx.clock(), 1])
        onToken?.(chunks.length)
        if (chunks.length >= maxTokens) break
        if (ctx.signal?.aborted) {
          error = 'interrupted'
          break
        }
      }
    } catch (e) {
      error = (e as Error).message
    }
    const last = chunks.at(-1)
    const tEnd = last ? last[0] : ctx.clock()
    const record: RequestRecord = {tSend, chunks, tEnd, nPrompt: prompt.length, nOut: chunks.length, countSource: 'engine'}
    if (promptSeed !== undefined) record.promptSeed = promptSeed
    if (error) record.error = error
    return record
  }

  private chatPrompt(messages: EngineRequest & {kind: 'chat'} extends {messages: infer M} ? M : never): Token[] {
    this.chatWrapper ??= resolveChatWrapper(this.model)
    const wrapper = this.chatWrapper
    const history: ChatHistoryItem[] = []
    for (const m of messages) {
      if (m.role === 'system') history.push({type: 'system', text: m.content})
      else if (m.role === 'user') history.push({type: 'user', text: m.content})
      else history.push({type: 'model', response: [m.content]})
    }
    history.push({type: 'model', response: []})
    const {contextText} = wrapper.generateContextState({chatHistory: history})
    return contextText.tokenize(this.model.tokenizer)
  }

  async dispose(): Promise<void> {
    await this.context.dispose()
    await this.model.dispose()
  }
}

async function assertGguf(file: string): Promise<void> {
  let handle
  try {
    handle = await open(file, 'r')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new UserError(`model file not found: ${file}`, 'pass the path of a .gguf file with --model, or leave --model out to use the built-in synthetic model')
    throw new UserError(`cannot read model file ${file} (${code ?? String(error)})`, 'check the file permissions')
  }
  try {
    const {bytesRead, buffer} = await handle.read(Buffer.alloc(4), 0, 4, 0)
    if ((await handle.stat()).isDirectory()) throw new UserError(`${file} is a directory, not a model file`, 'pass the path of a .gguf file with --model')
    if (bytesRead < 4 || buffer.toString('latin1') !== 'GGUF') {
      throw new UserError(`${file} is not a GGUF model file (it does not start with "GGUF")`, 'pass a .gguf file; convert other formats with llama.cpp\'s convert_hf_to_gguf.py')
    }
  } catch (error) {
    if (error instanceof UserError) throw error
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EISDIR') throw new UserError(`${file} is a directory, not a model file`, 'pass the path of a .gguf file with --model')
    throw error
  } finally {
    await handle.close()
  }
}

/** llama.cpp's recent error log lines: its exceptions say "Failed to load model", its log says why. */
const llamaErrors: string[] = []
const llamas = new Map<string, Promise<LoadedLlama>>()

/** A loaded engine and what owbench knows of its build beyond node-llama-cpp's own info. */
interface LoadedLlama {
  llama: Llama
  /** Instruction sets the checked local build leaves out, and why. */
  leftOut?: {features: string[]; reason: string}
  /** Why a local build was there but not used ('auto' fell back to the prebuilt engine). */
  localBuildUnusable?: string
}

/**
 * One Llama per process and build: node-llama-cpp stops delivering llama.cpp's log to a second
 * Llama created after the first is disposed, and loading the native addon twice gains nothing.
 */
function sharedLlama(gpu: GpuChoice, build: EngineBuild): Promise<LoadedLlama> {
  const key = `${gpu}/${build}`
  let llama = llamas.get(key)
  if (!llama) {
    llama = loadLlama(gpu, build, llamaErrors)
    llama.catch(() => llamas.delete(key))
    llamas.set(key, llama)
  }
  return llama
}

async function loadLlama(gpu: GpuChoice, build: EngineBuild, errors: string[]): Promise<LoadedLlama> {
  const base = {
    gpu: gpu === 'cpu' ? (false as const) : gpu,
    build: 'never' as const,
    logLevel: LlamaLogLevel.error,
    // llama.cpp's log lines are kept for error messages instead of being printed between results.
    logger: (level: LlamaLogLevel, message: string) => {
      if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) errors.push(message.trim())
      if (errors.length > 20) errors.shift()
    },
    // 0 = no cap, so the thread count a user asks for is the one that runs.
    maxThreads: 0,
    progressLogs: false as const,
  }
  // node-llama-cpp always prefers a local build; a cmake option that no local build has makes it skip them, and
  // prebuilt binaries are still allowed to load regardless of cmake options.
  const prebuilt = () => getLlama({...base, cmakeOptions: {OWBENCH_REQUIRE_PREBUILT: '1'}})
  // A local build is loaded only once it has computed on the check models on this CPU (a -march=native build can die
  // with SIGILL where the CPU advertises instructions the system does not enable).
  const local = build === 'prebuilt' ? undefined : await checkedLocalBuild(gpu)
  try {
    if (local?.kind === 'checked') {
      const {leftOut, reason} = local.record
      const llama = await getLlama({...base, usePrebuiltBinaries: build !== 'local', cmakeOptions: local.cmakeOptions})
      return {llama, ...(leftOut.length > 0 && llama.buildType === 'localBuild' ? {leftOut: {features: leftOut, reason: reason ?? 'left out when the build was checked'}} : {})}
    }
    if (build === 'local') {
      if (local?.kind === 'unusable') throw new UserError(`the local engine build cannot run on this machine: ${local.reason}`, 'run `owbench setup` again (it rebuilds without the instructions this system does not enable), or use --engine-build prebuilt')
      throw new UserError('no local engine build was found for this machine', 'run `owbench setup` to build llama.cpp for this CPU, or use --engine-build prebuilt')
    }
    return {llama: await prebuilt(), ...(local?.kind === 'unusable' ? {localBuildUnusable: `${local.reason}; the prebuilt engine was used (run \`owbench setup\` to rebuild)`} : {})}
  } catch (error) {
    if (error instanceof UserError) throw error
    if (build === 'local') throw new UserError(`cannot load the local engine build (${(error as Error).message})`, 'run `owbench setup` to build llama.cpp for this CPU, or use --engine-build prebuilt')
    throw new UserError(`cannot load the llama.cpp engine (${(error as Error).message})`, 'reinstall with `npm ci`, or build it for this machine with `owbench setup`')
  }
}

async function describeTarget(options: LocalEngineOptions, {llama, leftOut, localBuildUnusable}: LoadedLlama, model: LlamaModel, context: LlamaContext): Promise<Target> {
  const metadata = model.fileInfo.metadata
  const general = metadata.general as {name?: string; architecture?: string; file_type?: number}
  const file = options.modelPath
  const {size} = await stat(file)
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
  if (leftOut) engine.leftOut = leftOut
  if (localBuildUnusable) engine.localBuildUnusable = localBuildUnusable
  const modelInfo: ModelInfo = {
    source: options.modelSource,
    path: path.resolve(file),
    fileName: path.basename(file),
    bytes: size,
    sha256: await modelFileHash(file),
    name: general.name,
    architecture: general.architecture,
    quantization: general.file_type !== undefined ? quantizationName(general.file_type) : undefined,
    parameters: model.fileInsights.totalParameters || undefined,
    trainContext: model.trainContextSize,
  }
  if (options.synthetic) modelInfo.synthetic = options.synthetic
  return {
    id: options.id ?? 'local',
    kind: 'local',
    model: modelInfo,
    settings: {
      // What llama.cpp runs with, which node-llama-cpp may lower below the request.
      threads: context.currentThreads,
      gpuLayers: model.gpuLayers,
      contextSize: context.contextSize,
      batchSize: context.batchSize,
      flashAttention: context.flashAttention === true,
      seed: options.seed,
    },
    engine,
  }
}

/** llama.cpp's name for a file type: 7 -> "Q8_0", 1 -> "F16". */
function quantizationName(fileType: number): string {
  const name = (GgufFileType as unknown as Record<number, string | undefined>)[fileType]
  return name ? name.replace(/^(MOSTLY|ALL)_/, '') : `file_type ${fileType}`
}
