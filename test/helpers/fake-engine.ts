import type {Engine, EngineRequest, RequestContext} from '../../src/engines/engine.js'
import type {RequestRecord, Target} from '../../src/results/schema.js'

/**
 * A deterministic engine on a fake clock: prompt tokens cost `msPerPromptToken`, each generated
 * token `msPerToken`. Every figure a test derives from it is exact.
 */
export class FakeEngine implements Engine {
  now = 1000
  readonly requests: EngineRequest[] = []
  failOn?: (request: EngineRequest, index: number) => string | Error | undefined
  onRequest?: (index: number) => void

  maxConcurrency = 1
  /** Also wait the simulated time for real, for tests where a real clock (a power sampler) watches. */
  realTime = false

  constructor(
    readonly target: Target,
    readonly contextLimit: number | undefined = 4096,
    private readonly msPerPromptToken = 0.5,
    private readonly msPerToken = 10,
  ) {}

  readonly clock = (): number => this.now

  async execute(request: EngineRequest, ctx: RequestContext): Promise<RequestRecord> {
    const index = this.requests.push(request) - 1
    this.onRequest?.(index)
    const failure = this.failOn?.(request, index)
    if (failure instanceof Error) throw failure
    const nPrompt = request.kind === 'pp' || request.kind === 'pg' ? request.nPrompt : request.kind === 'tg' ? 1 : 20
    const nGen = request.kind === 'pp' ? 0 : request.kind === 'chat' ? request.maxTokens : request.nGen
    const tSend = ctx.clock()
    await this.advance(nPrompt * this.msPerPromptToken)
    if (request.kind === 'pp') return {tSend, tPrefillEnd: ctx.clock(), chunks: [], tEnd: ctx.clock(), nPrompt, nOut: 0, promptSeed: request.seed}
    const chunks: [number, number][] = []
    for (let i = 0; i < nGen; i++) {
      await this.advance(this.msPerToken)
      chunks.push([ctx.clock(), 1])
      ctx.onToken?.(chunks.length)
      if (typeof failure === 'string' && i === Math.floor(nGen / 2)) {
        return {tSend, chunks, tEnd: ctx.clock(), nPrompt, nOut: chunks.length, error: failure}
      }
    }
    return {tSend, chunks, tEnd: ctx.clock(), nPrompt, nOut: nGen, promptSeed: request.seed}
  }

  private async advance(ms: number): Promise<void> {
    this.now += ms
    if (this.realTime) await new Promise((resolve) => setTimeout(resolve, ms))
  }

  disposed = false
  async dispose(): Promise<void> {
    this.disposed = true
  }
}

export function fakeTarget(id = 'local'): Target {
  return {
    id,
    kind: 'local',
    model: {source: 'fake.gguf', path: '/models/fake.gguf', fileName: 'fake.gguf', bytes: 1024, sha256: 'f'.repeat(64), name: 'fake', architecture: 'llama', quantization: 'Q8_0', parameters: 1000, trainContext: 4096},
    settings: {threads: 1, gpuLayers: 0, contextSize: 4096, batchSize: 512, flashAttention: false, seed: 1},
    engine: {name: 'node-llama-cpp', version: '3.21.1', llamaCpp: {repo: 'ggml-org/llama.cpp', release: 'v0.4.0'}, build: 'prebuilt', backend: 'cpu', gpuDevices: [], systemInfo: 'CPU : AVX2 = 1', cmakeOptions: {}},
  }
}
