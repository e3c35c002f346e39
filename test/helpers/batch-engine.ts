import {CapacityError, type Engine, type EngineRequest, type RequestContext} from '../../src/engines/engine.js'
import type {RequestRecord, Target} from '../../src/results/schema.js'

/**
 * The local engine's parallel sequences on a virtual clock: a batch's prompts cost
 * `msPerPromptToken` per token of every sequence, then each generation step (one token per
 * sequence) `stepMs(n)`. More than `fitsInMemory` sequences throw a CapacityError, as the engine
 * does when node-llama-cpp's estimate exceeds free memory; `contextSize` bounds sequences per test
 * as --ctx does. Every figure a test derives from it is exact.
 */
export class BatchEngine implements Engine {
  now = 0
  readonly batches: EngineRequest[][] = []
  readonly maxConcurrency = 256
  readonly contextLimit = 4096

  constructor(
    readonly target: Target,
    private readonly stepMs: (sequences: number) => number,
    private readonly options: {msPerPromptToken?: number; fitsInMemory?: number; contextSize?: number} = {},
  ) {}

  readonly clock = (): number => this.now

  sequenceLimit(contextTokens: number): {level: number; reason: string} | undefined {
    const size = this.options.contextSize
    if (size === undefined) return undefined
    const level = Math.floor(size / contextTokens)
    return {level, reason: `the context of ${size} tokens (--ctx) holds ${level} sequences of ${contextTokens} tokens`}
  }

  async execute(request: EngineRequest, ctx: RequestContext): Promise<RequestRecord> {
    return (await this.executeBatch([request], ctx))[0]!
  }

  async executeBatch(requests: readonly EngineRequest[], ctx: RequestContext): Promise<RequestRecord[]> {
    const n = requests.length
    if (this.options.fitsInMemory !== undefined && n > this.options.fitsInMemory) throw new CapacityError(`${n} sequences need more memory than is free`)
    this.batches.push([...requests])
    const first = requests[0]!
    const nPrompt = first.kind === 'tg' ? 1 : first.kind === 'chat' ? 20 : first.nPrompt
    const nGen = first.kind === 'pp' ? 0 : first.kind === 'chat' ? first.maxTokens : first.nGen
    const tSend = ctx.clock()
    this.now += n * nPrompt * (this.options.msPerPromptToken ?? 0.5)
    const tPrefillEnd = ctx.clock()
    const chunks: [number, number][] = []
    if (nGen > 0) chunks.push([tPrefillEnd, 1])
    while (chunks.length < nGen) {
      this.now += this.stepMs(n)
      chunks.push([ctx.clock(), 1])
    }
    return requests.map((r) => ({tSend, ...(nGen === 0 ? {tPrefillEnd} : {}), chunks: [...chunks], tEnd: ctx.clock(), nPrompt, nOut: nGen, promptSeed: r.seed, countSource: 'engine'}))
  }

  async dispose(): Promise<void> {}
}
