import type {Engine, EngineRequest} from '../engines/engine.js'
import type {RunRecord} from '../results/schema.js'
import {contextNeeded} from '../suite/load.js'
import type {Suite, SuiteTest} from '../suite/schema.js'

export type RunnerEvent =
  | {type: 'repetition-start'; target: string; test: string; repetition: number; of: number; warmup: boolean}
  | {type: 'token'; target: string; test: string; nOut: number; elapsedMs: number}
  | {type: 'repetition-end'; run: RunRecord}
  | {type: 'test-end'; target: string; test: string}

export interface RunOptions {
  suite: Suite
  engines: readonly Engine[]
  /** Monotonic milliseconds; performance.now by default. Injected so runner tests are exact. */
  clock?: () => number
  /** Override the suite's repetitions / warm-up runs for every test. */
  repetitions?: number
  warmup?: number
  /** Seed of the random prompt tokens; each request derives its own from it. */
  seed?: number
  signal?: AbortSignal
  onEvent?: (event: RunnerEvent) => void
  /** Called after every repetition so the caller can save what is measured so far. */
  onCheckpoint?: (runs: readonly RunRecord[]) => Promise<void>
}

export interface RunOutcome {
  runs: RunRecord[]
  interrupted: boolean
}

/**
 * Runs every test of the suite on every engine: warm-up repetitions first (recorded, flagged,
 * never summarized), then the measured ones. One failed repetition is recorded and the run goes
 * on; an abort stops after the request in flight, which is kept.
 */
export async function runSuite(options: RunOptions): Promise<{outcome: RunOutcome; t0: number}> {
  const absolute = options.clock ?? (() => performance.now())
  const t0 = absolute()
  const clock = () => absolute() - t0
  const runs: RunRecord[] = []
  const emit = options.onEvent ?? (() => {})
  const baseSeed = options.seed ?? 0
  let interrupted = false

  outer: for (const engine of options.engines) {
    const target = engine.target.id
    for (const [testIndex, test] of options.suite.tests.entries()) {
      const base = {target, test: test.id, kind: test.kind, concurrency: 1}
      const needed = contextNeeded(test)
      if (engine.contextLimit !== undefined && needed > engine.contextLimit) {
        const run: RunRecord = {
          ...base,
          repetition: 0,
          warmup: false,
          state: 'skipped',
          reason: `needs ${needed} tokens of context, the target allows ${engine.contextLimit} (raise --ctx if the model allows it)`,
          requests: [],
        }
        runs.push(run)
        emit({type: 'repetition-end', run})
        await options.onCheckpoint?.(runs)
        continue
      }
      const warmups = options.warmup ?? options.suite.warmup
      const repetitions = options.repetitions ?? test.repetitions
      const plan = [
        ...Array.from({length: warmups}, (_, i) => ({repetition: i, warmup: true, of: warmups})),
        ...Array.from({length: repetitions}, (_, i) => ({repetition: i, warmup: false, of: repetitions})),
      ]
      for (const step of plan) {
        if (options.signal?.aborted) {
          interrupted = true
          break outer
        }
        emit({type: 'repetition-start', target, test: test.id, repetition: step.repetition, of: step.of, warmup: step.warmup})
        const seed = requestSeed(baseSeed, testIndex, step.repetition, step.warmup)
        const request = step.warmup ? warmupRequest(test, seed) : measuredRequest(test, seed)
        let run: RunRecord
        try {
          const started = clock()
          const record = await engine.execute(request, {
            clock,
            signal: options.signal,
            onToken: (nOut) => emit({type: 'token', target, test: test.id, nOut, elapsedMs: clock() - started}),
          })
          run = {...base, repetition: step.repetition, warmup: step.warmup, state: record.error ? 'errored' : 'completed', requests: [record]}
          if (record.error) run.reason = record.error
        } catch (error) {
          run = {...base, repetition: step.repetition, warmup: step.warmup, state: 'errored', reason: errorMessage(error), requests: []}
        }
        runs.push(run)
        emit({type: 'repetition-end', run})
        await options.onCheckpoint?.(runs)
        if (options.signal?.aborted) {
          interrupted = true
          break outer
        }
      }
      emit({type: 'test-end', target, test: test.id})
    }
  }
  return {outcome: {runs, interrupted}, t0}
}

/** llama-bench's warm-up: the same prompt, one generated token. */
export function warmupRequest(test: SuiteTest, seed: number): EngineRequest {
  switch (test.kind) {
    case 'pp':
      return {kind: 'pp', nPrompt: test.nPrompt, seed}
    case 'tg':
      return {kind: 'tg', nGen: 1, seed}
    case 'pg':
      return {kind: 'pg', nPrompt: test.nPrompt, nGen: 1, seed}
    case 'chat':
      return {kind: 'chat', messages: test.messages, maxTokens: 1, ignoreEos: true, seed}
  }
}

export function measuredRequest(test: SuiteTest, seed: number): EngineRequest {
  switch (test.kind) {
    case 'pp':
      return {kind: 'pp', nPrompt: test.nPrompt, seed}
    case 'tg':
      return {kind: 'tg', nGen: test.nGen, seed}
    case 'pg':
      return {kind: 'pg', nPrompt: test.nPrompt, nGen: test.nGen, seed}
    case 'chat':
      return {kind: 'chat', messages: test.messages, maxTokens: test.maxTokens, ignoreEos: test.ignoreEos, seed}
  }
}

function requestSeed(base: number, testIndex: number, repetition: number, warmup: boolean): number {
  return (Math.imul(base + 1, 1_000_003) + testIndex * 10_007 + repetition * 2 + (warmup ? 1 : 0)) >>> 0
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
