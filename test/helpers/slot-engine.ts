import type {Engine, EngineRequest, RequestContext} from '../../src/engines/engine.js'
import type {RequestRecord, Target} from '../../src/results/schema.js'

interface Sequence {
  nGen: number
  tSend: number
  chunks: [number, number][]
  done: (record: RequestRecord) => void
}

/**
 * A batching server on a virtual clock, as llama-server with `-np slots` behaves: up to `slots`
 * sequences decode together, one token each per step of `stepMs(batch)` ms; further requests wait
 * for a free slot. Between steps it yields (setImmediate), so a closed-loop client's next request
 * joins before the next step. Throughput rises with the batch until the slots are full, then stays:
 * every figure a sweep derives from it can be computed by hand.
 */
export class SlotEngine implements Engine {
  now = 1000
  readonly contextLimit = 4096
  readonly maxConcurrency = Number.POSITIVE_INFINITY
  private waiting: Sequence[] = []
  private active: Sequence[] = []
  private running = false

  constructor(
    readonly target: Target,
    private readonly slots: number,
    private readonly stepMs: (batch: number) => number,
  ) {}

  readonly clock = (): number => this.now

  execute(request: EngineRequest, ctx: RequestContext): Promise<RequestRecord> {
    const nGen = request.kind === 'tg' || request.kind === 'pg' ? request.nGen : request.kind === 'chat' ? request.maxTokens : 0
    return new Promise((resolve) => {
      this.waiting.push({nGen: Math.max(1, nGen), tSend: ctx.clock(), chunks: [], done: resolve})
      if (!this.running) {
        this.running = true
        setImmediate(() => void this.loop(ctx.clock))
      }
    })
  }

  private async loop(clock: () => number): Promise<void> {
    while (this.waiting.length > 0 || this.active.length > 0) {
      while (this.active.length < this.slots && this.waiting.length > 0) this.active.push(this.waiting.shift()!)
      this.now += this.stepMs(this.active.length)
      for (const s of this.active) s.chunks.push([clock(), 1])
      const finished = this.active.filter((s) => s.chunks.length === s.nGen)
      this.active = this.active.filter((s) => s.chunks.length < s.nGen)
      for (const s of finished) s.done({tSend: s.tSend, chunks: s.chunks, tEnd: s.chunks.at(-1)![0], nPrompt: 1, nOut: s.nGen, nAsked: s.nGen, countSource: 'usage'})
      await new Promise((resolve) => setImmediate(resolve))
    }
    this.running = false
  }

  async dispose(): Promise<void> {}
}
