import {open} from 'node:fs/promises'
import path from 'node:path'
import {UserError} from '../errors/errors.js'
import {modelFiles, modelIdentity} from '../model/model-files.js'
import type {EngineInfo, ModelInfo, RequestRecord, Target} from '../results/schema.js'
import {CapacityError, type Engine, EngineCrashedError, type EngineRequest, type RequestContext} from './engine.js'
import {chooseEngineBinary, type EngineBinaryChoice, type EngineBuild} from './engine-build.js'
import {EngineProcess, type ProcessExit} from './engine-process.js'
import type {HostCommand, HostReply} from './local-host.js'
import {offsetTo} from './monotonic-clock.js'
import type {GpuChoice, SessionInfo, SessionOptions} from './native-session.js'

export type {EngineBuild} from './engine-build.js'
export type {GpuChoice} from './native-session.js'

export interface LocalEngineOptions extends Omit<SessionOptions, 'binary'> {
  /** --engine-build: a local build is loaded only once it has passed its check on this CPU (engine-build.ts). */
  engineBuild: EngineBuild
  id?: string
  /** What the user passed (path, hf: URI, URL, synthetic:<id>), recorded as given. */
  modelSource: string
  synthetic?: ModelInfo['synthetic']
  seed: number
}

/**
 * llama.cpp rounds every context up to a multiple of 256 cells (llama_context: `n_ctx = GGML_PAD(n_ctx, 256)`),
 * so a --ctx that is not one would silently run, and be recorded, as a larger context.
 */
export const LLAMA_CONTEXT_PAD = 256

/**
 * Refuses, before anything runs, a --ctx llama.cpp would not make as asked (one that is not a
 * multiple of 256 tokens), naming the size it would become. Throws a UserError (exit 2).
 */
export function checkContextSize(contextSize: number | undefined): void {
  if (contextSize === undefined || contextSize % LLAMA_CONTEXT_PAD === 0) return
  const padded = Math.ceil(contextSize / LLAMA_CONTEXT_PAD) * LLAMA_CONTEXT_PAD
  const below = padded - LLAMA_CONTEXT_PAD
  throw new UserError(
    `--ctx ${contextSize}: llama.cpp makes contexts in multiples of ${LLAMA_CONTEXT_PAD} tokens, so this one would hold ${padded}`,
    `pass --ctx ${padded}${below > 0 ? ` or --ctx ${below}` : ''}, or leave --ctx out to size each test's context as llama-bench does`,
  )
}

/**
 * A GGUF model run by llama.cpp in a child process (local-host.ts, NativeSession), with
 * llama-bench's semantics: pp times prompt evaluation alone, tg decodes exactly N tokens after a
 * one-token prompt, pg evaluates the prompt then decodes, chat formats messages with the model's
 * chat template. Every request starts from an empty KV cache.
 *
 * A crash of the engine (native abort, SIGSEGV, SIGILL, out-of-memory kill) rejects with an
 * EngineCrashedError naming the model, the signal and llama.cpp's last log lines; owbench itself
 * goes on. A split model is loaded from its first shard and identified by all of them.
 *
 * The engine process loads the binary `chooseBinary` picks for --engine-build (by default a local
 * build only once it has passed its check on this CPU, with the cmake options it was checked with);
 * the target's engine info records what that build leaves out, or why a local build was unusable.
 */
export async function createLocalEngine(options: LocalEngineOptions, chooseBinary: (gpu: GpuChoice, build: EngineBuild) => Promise<EngineBinaryChoice> = chooseEngineBinary): Promise<Engine> {
  await assertGguf(options.modelPath)
  // A later shard or a missing one is the user's to fix before anything loads.
  await modelFiles(options.modelPath)
  const choice = await chooseBinary(options.gpu, options.engineBuild)
  // Hashing a large model takes a while: it runs while the engine process loads the model.
  const identity = modelIdentity(options.modelPath)
  identity.catch(() => undefined)
  const child = new EngineProcess()
  const {id, modelSource, synthetic, seed, engineBuild: _engineBuild, ...session} = options
  let info: SessionInfo
  try {
    const reply = await child.request({type: 'open', options: {...session, binary: choice.binary}}, ['opened', 'open-failed'])
    if (reply.type === 'open-failed') {
      const exit = await child.stop()
      throw openFailure(options, reply.stage, reply.message, exit)
    }
    info = reply.info
  } catch (error) {
    if (isProcessExit(error)) throw crashError(options.modelPath, 'loading', error)
    await child.stop()
    throw error
  }
  let model: Awaited<typeof identity>
  try {
    model = await identity
  } catch (error) {
    await child.stop()
    throw error
  }
  const modelInfo: ModelInfo = {
    source: modelSource,
    path: path.resolve(options.modelPath),
    fileName: path.basename(options.modelPath),
    bytes: model.bytes,
    sha256: model.sha256,
    shards: model.shards,
    ...info.model,
  }
  if (synthetic) modelInfo.synthetic = synthetic
  const engine: EngineInfo = {...info.engine}
  // What the checked build leaves out describes that build only: not the prebuilt one 'auto' may have fallen back to.
  if (choice.leftOut && engine.build === 'localBuild') engine.leftOut = choice.leftOut
  if (choice.localBuildUnusable) engine.localBuildUnusable = choice.localBuildUnusable
  const target: Target = {id: id ?? 'local', kind: 'local', model: modelInfo, settings: {...info.settings, seed}, engine}
  return new LocalEngine(target, child, options.modelPath, info.maxSequences)
}

/**
 * One request at a time runs with llama-bench's semantics (execute); N at once run as N parallel
 * sequences of one context with llama-batched-bench's (executeBatch), up to llama.cpp's limit on
 * sequences in a context, and with --ctx, as many as it holds.
 */
class LocalEngine implements Engine {
  readonly contextLimit: number
  readonly maxConcurrency: number

  constructor(
    readonly target: Target,
    private readonly child: EngineProcess,
    private readonly modelPath: string,
    maxSequences: number,
  ) {
    if (target.kind !== 'local') throw new Error('a local engine needs a local target')
    this.contextLimit = target.settings.contextSize
    this.maxConcurrency = maxSequences
  }

  sequenceLimit(contextTokens: number): {level: number; reason: string} | undefined {
    if (this.target.kind !== 'local' || this.target.settings.contextPerTest) return undefined
    const size = this.target.settings.contextSize
    const level = Math.floor(size / contextTokens)
    return {level, reason: `the context of ${size} tokens (--ctx) holds ${level} sequence${level === 1 ? '' : 's'} of ${contextTokens} tokens`}
  }

  async executeBatch(requests: readonly EngineRequest[], ctx: RequestContext): Promise<RequestRecord[]> {
    const reply = await this.ask({type: 'execute-batch', requests: [...requests]}, ['batch-result', 'capacity', 'request-failed'], ctx)
    if (reply.type === 'capacity') throw new CapacityError(reply.message)
    if (reply.type === 'request-failed') throw new Error(reply.message)
    const offset = offsetTo(ctx.clock)
    return reply.records.map((record) => onClock(record, offset))
  }

  /** The engine process's id (tests kill it to check that a crash keeps what was measured). */
  get pid(): number | undefined {
    return this.child.pid
  }

  async execute(request: EngineRequest, ctx: RequestContext): Promise<RequestRecord> {
    const reply = await this.ask({type: 'execute', request}, ['result', 'request-failed'], ctx)
    if (reply.type === 'request-failed') throw new Error(reply.message)
    // The child's times are readings of the machine's monotonic clock; the runner's clock is the same clock from another origin.
    return onClock(reply.record, offsetTo(ctx.clock))
  }

  /** One command to the engine process, aborted with the request's signal; the process ending under it is a crash error. */
  private async ask<T extends HostReply['type']>(command: HostCommand, expect: T[], ctx: RequestContext): Promise<Extract<HostReply, {type: T}>> {
    const abort = () => this.child.notify({type: 'abort'})
    ctx.signal?.addEventListener('abort', abort, {once: true})
    try {
      return await this.child.request(command, expect, ctx.onToken)
    } catch (error) {
      if (isProcessExit(error)) throw crashError(this.modelPath, 'running', error)
      throw error
    } finally {
      ctx.signal?.removeEventListener('abort', abort)
    }
  }

  processCpu(): {pid: number; cpuMs: number} | undefined {
    const {pid, cpuMs} = this.child
    return pid !== undefined && cpuMs !== undefined ? {pid, cpuMs} : undefined
  }

  async dispose(): Promise<void> {
    await this.child.stop()
  }
}

function onClock(record: RequestRecord, offset: number): RequestRecord {
  const shifted: RequestRecord = {...record, tSend: record.tSend + offset, tEnd: record.tEnd + offset, chunks: record.chunks.map(([t, n]) => [t + offset, n])}
  if (record.tPrefillEnd !== undefined) shifted.tPrefillEnd = record.tPrefillEnd + offset
  return shifted
}

function isProcessExit(value: unknown): value is ProcessExit {
  return typeof value === 'object' && value !== null && 'log' in value && 'signal' in value && 'code' in value
}

/** Lines worth showing from llama.cpp's log: its errors and failed checks, else the last lines. */
export function telling(log: readonly string[], count = 3): string[] {
  const important = log.filter((line) => /GGML_ASSERT|GGML_ABORT|terminate called|what\(\)|\berror\b|failed|fatal|exception|out of memory|segmentation fault/i.test(line))
  const chosen = (important.length > 0 ? important : log).slice(-count)
  return chosen.map((line) => (line.length > 240 ? `${line.slice(0, 237)}...` : line.trim()))
}

/**
 * One line for an engine process that ended by itself: the model, the signal (or exit code),
 * llama.cpp's last telling log lines; the hint says what to do for that signal.
 */
export function crashError(modelPath: string, stage: 'loading' | 'running', exit: ProcessExit): EngineCrashedError {
  const how = exit.signal ?? `exit code ${exit.code}`
  const lines = telling(exit.log)
  const said = lines.length > 0 ? `: llama.cpp said: ${lines.join(' | ')}` : ''
  return new EngineCrashedError(`the llama.cpp engine crashed (${how}) while ${stage} model ${modelPath}${said}`, crashHint(exit.signal))
}

function crashHint(signal: NodeJS.Signals | null): string {
  switch (signal) {
    case 'SIGKILL':
      return 'the engine process was killed, most often by the kernel\'s out-of-memory killer (`dmesg` says): use a smaller model or quantization, or lower --ctx'
    case 'SIGILL':
      return 'the engine build uses a CPU instruction this machine lacks: run with --engine-build prebuilt, or build llama.cpp for this CPU with `owbench setup`'
    default:
      return 'check that the model runs in llama.cpp\'s own llama-cli or llama-bench; if it does, report the log lines above as an owbench bug'
  }
}

function openFailure(options: LocalEngineOptions, stage: string, message: string, exit: ProcessExit): Error {
  if (stage === 'engine') {
    if (options.engineBuild === 'local') return new UserError(`cannot load the local engine build (${message})`, 'run `owbench setup` to build llama.cpp for this CPU, or use --engine-build prebuilt')
    return new UserError(`cannot load the llama.cpp engine (${message})`, 'reinstall with `npm ci`, or build it for this machine with `owbench setup`')
  }
  if (stage === 'bug') return new Error(`the engine process failed to open ${options.modelPath}: ${message}`)
  if (stage === 'train-context') return new UserError(`--ctx ${options.contextSize} is beyond the training context of ${path.basename(options.modelPath)} (${message} tokens)`, `pass --ctx ${message} or less, or leave --ctx out to size each test's context as llama-bench does`)
  if (stage === 'overrides') return new UserError(`--override-tensor: ${message}`, 'write PATTERN=BUFFER_TYPE with a buffer type this engine has (CPU, or a GPU\'s such as CUDA0)')
  // llama.cpp says why in its log ("data is not within the file bounds"); the API only says it failed.
  const reason = exit.log.map((line) => /error loading model:\s*(.*)$/.exec(line)?.[1]).filter(Boolean).at(-1) ?? (telling(exit.log, 2).join(' | ') || message)
  if (stage === 'context') {
    return new UserError(`cannot create a context of ${options.contextSize} tokens for ${options.modelPath}: ${reason}`, 'lower --ctx or --batch, or offload fewer layers with --gpu-layers')
  }
  return new UserError(`cannot load model ${options.modelPath}: ${reason}`, 'check that the file is a complete GGUF model this llama.cpp release supports, and that it fits in memory (lower --ctx or --gpu-layers)')
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
