import {CapacityError, type Engine, EngineCrashedError, type EngineRequest, INTERRUPTED_ERROR, type RequestContext} from '../engines/engine.js'
import {seededRandom} from '../model/seeded-random.js'
import {type Load, loadLabel} from '../results/load.js'
import type {RequestRecord, RunRecord, Target} from '../results/schema.js'
import {contextNeeded} from '../suite/load.js'
import type {Suite, SuiteTest} from '../suite/schema.js'
import type {RunConditions} from '../system/run-conditions.js'
import type {SweepRecord} from '../results/sweep-schema.js'
import {fixedLoads, type LoadPlan, type LoadPlanFactory, suiteLoads} from './load-plan.js'

export type {Load} from '../results/load.js'

export type RunnerEvent =
  | {type: 'repetition-start'; target: string; test: string; load: string; repetition: number; of: number; warmup: boolean}
  | {type: 'token'; target: string; test: string; nOut: number; elapsedMs: number}
  | {type: 'repetition-end'; run: RunRecord}
  | {type: 'test-end'; target: string; test: string}

export interface RunOptions {
  suite: Suite
  engines: readonly Engine[]
  /** Monotonic milliseconds; performance.now by default. Injected so runner tests are exact. */
  clock?: () => number
  /** Waits on the same clock (Poisson arrivals); setTimeout by default. */
  sleep?: (ms: number) => Promise<void>
  /** Override the suite's repetitions / warm-up runs for every test. */
  repetitions?: number
  warmup?: number
  /** Load levels, each a separately measured phase; by default each test's own (its suite's `concurrency`), else one request at a time. */
  loads?: readonly Load[]
  /** Chooses the levels of each target x test as they are measured (a sweep); overrides `loads`. */
  plan?: LoadPlanFactory
  /** Requests per measured phase (default: the concurrency level, or 16 at a rate). */
  maxRequests?: number
  /** Stop starting new requests in a phase after this many seconds. */
  durationS?: number
  /** Seed of the random prompts; each request derives its own from it. */
  seed?: number
  /**
   * Shortest energy window the meters measuring a target can resolve (ms; 0 or absent: no minimum).
   * A measured repetition of one request at a time shorter than this is repeated back to back until
   * its span reaches it, so the meter sees enough of its own updates (MLPerf Power's minimum run
   * time); the record says how many. 0 for a target no meter of the run measures (an endpoint
   * whose server is not metered): stretching it would buy nothing.
   */
  minWindowMs?: (target: Target) => number
  /** Reads the machine's conditions around every measured repetition (steal, other load, clocks); recorded with it. */
  conditions?: {begin(target?: string): void; end(): RunConditions | undefined}
  /** The clock reading that is time 0 of the run (default: when runSuite starts), so a power sampler started earlier shares the timeline. */
  origin?: number
  signal?: AbortSignal
  onEvent?: (event: RunnerEvent) => void
  /** Called after every repetition so the caller can save what is measured so far (with the sweeps so far, the current one still running). */
  onCheckpoint?: (runs: readonly RunRecord[], sweeps: readonly SweepRecord[]) => Promise<void>
}

export interface RunOutcome {
  runs: RunRecord[]
  /** Each sweep's record (none for fixed levels). */
  sweeps: SweepRecord[]
  interrupted: boolean
}

export const RATE_DEFAULT_REQUESTS = 16


/**
 * Runs every test of the suite on every engine at every load level: warm-up requests first
 * (recorded, flagged, never summarized), then the measured repetitions, each a phase of one or
 * more requests. A failed request is recorded and the run goes on; an abort stops starting new
 * requests, and the ones in flight are kept.
 */
export async function runSuite(options: RunOptions): Promise<{outcome: RunOutcome; t0: number}> {
  const absolute = options.clock ?? (() => performance.now())
  const t0 = options.origin ?? absolute()
  const clock = () => absolute() - t0
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const runs: RunRecord[] = []
  const emit = options.onEvent ?? (() => {})
  const baseSeed = options.seed ?? 0
  const aborted = () => options.signal?.aborted === true
  const sweeps: SweepRecord[] = []
  let loadPlan: LoadPlan | undefined
  let level: RunRecord[] = []
  const record = async (run: RunRecord) => {
    runs.push(run)
    level.push(run)
    emit({type: 'repetition-end', run})
    const current = loadPlan?.record?.('running')
    await options.onCheckpoint?.(runs, current ? [...sweeps, current] : sweeps)
  }
  const endSweep = (state: 'done' | 'interrupted') => {
    const sweep = loadPlan?.record?.(state)
    if (sweep) sweeps.push(sweep)
    loadPlan = undefined
  }

  outer: for (const engine of options.engines) {
    const target = engine.target.id
    const minWindowMs = options.minWindowMs?.(engine.target) ?? 0
    for (const [testIndex, test] of options.suite.tests.entries()) {
      loadPlan = (options.plan ?? (options.loads ? fixedLoads(options.loads) : suiteLoads))({engine, test, clock, repetitions: options.repetitions ?? test.repetitions, warmup: options.warmup ?? options.suite.warmup})
      level = []
      for (let loadIndex = 0, planned = loadPlan.next(level); planned; loadIndex++, planned = loadPlan.next(level)) {
        const load = planned.load
        level = []
        const base = {target, test: test.id, kind: test.kind, ...(load.mode === 'concurrency' ? {concurrency: load.level} : {concurrency: 1, rate: load.rps})}
        const skip = skipReason(engine, test, load)
        if (skip) {
          await record({...base, repetition: 0, warmup: false, state: 'skipped', reason: skip, requests: []})
          continue
        }
        const warmups = options.warmup ?? options.suite.warmup
        const repetitions = options.repetitions ?? test.repetitions
        const plan = [
          ...Array.from({length: warmups}, (_, i) => ({repetition: i, warmup: true, of: warmups})),
          ...Array.from({length: repetitions}, (_, i) => ({repetition: i, warmup: false, of: repetitions})),
        ]
        for (const step of plan) {
          if (aborted()) {
            endSweep('interrupted')
            emit({type: 'test-end', target, test: test.id})
            break outer
          }
          emit({type: 'repetition-start', target, test: test.id, load: loadLabel(load), repetition: step.repetition, of: step.of, warmup: step.warmup})
          const seedOf = (i: number) => requestSeed(baseSeed, testIndex, loadIndex, step.repetition, step.warmup, i)
          const started = clock()
          const requestOf = (i: number): EngineRequest => ({...(step.warmup ? warmupRequest(test, seedOf(i)) : measuredRequest(test, seedOf(i))), testContext: testContext(test)})
          const context: RequestContext = {
            clock,
            signal: options.signal,
            onToken: (nOut) => emit({type: 'token', target, test: test.id, nOut, elapsedMs: clock() - started}),
          }
          const one = async (i: number): Promise<RequestRecord> => {
            const request = requestOf(i)
            const tSend = clock()
            try {
              return await engine.execute(request, context)
            } catch (error) {
              // The engine itself is gone: nothing more can be measured on it, and the repetitions
              // recorded so far are the result (the caller marks it partial).
              if (error instanceof EngineCrashedError) throw error
              const tEnd = clock()
              return {tSend, chunks: [], tEnd, nPrompt: 0, nOut: 0, error: errorMessage(error)}
            }
          }
          // An engine that decodes parallel sequences itself runs a concurrency level as batches of that many.
          const sequences = engine.executeBatch && load.mode === 'concurrency' && load.level > 1 ? load.level : undefined
          if (sequences) {
            if (!step.warmup) options.conditions?.begin(target)
            const batch = await runBatches(engine, requestOf, sequences, step.warmup ? sequences : (planned.requests ?? options.maxRequests ?? sequences), context, aborted)
            const conditions = step.warmup ? undefined : options.conditions?.end()
            if ('skipped' in batch) {
              await record({...base, repetition: 0, warmup: false, state: 'skipped', reason: batch.skipped, requests: []})
              break
            }
            await record({...base, repetition: step.repetition, warmup: step.warmup, ...phaseState(batch.requests), sequences, ...(conditions ? {conditions} : {}), requests: batch.requests})
            if (aborted()) {
              endSweep('interrupted')
              break outer
            }
            continue
          }
          // Warm-ups are single requests: they load caches and kernels, not the server.
          const count = step.warmup ? 1 : (planned.requests ?? options.maxRequests ?? (load.mode === 'concurrency' ? load.level : RATE_DEFAULT_REQUESTS))
          const phaseLoad: Load = step.warmup ? {mode: 'concurrency', level: 1} : load
          // The server's own counters are read at the edges of each measured phase (never throws).
          const observer = step.warmup ? undefined : await engine.observePhase?.(clock)
          if (!step.warmup) options.conditions?.begin(target)
          const stretch = !step.warmup && count === 1 && phaseLoad.mode === 'concurrency' && minWindowMs > 0
          const requests = stretch
            ? await backToBack(one, minWindowMs, aborted)
            : await runPhase(one, count, phaseLoad, {clock, sleep, aborted, durationMs: options.durationS === undefined ? undefined : options.durationS * 1000, seed: seedOf(-1)})
          const conditions = step.warmup ? undefined : options.conditions?.end()
          const serverMetrics = await observer?.stop()
          await record({...base, repetition: step.repetition, warmup: step.warmup, ...phaseState(requests), ...(stretch ? {backToBack: requests.length} : {}), ...(conditions ? {conditions} : {}), requests, ...(serverMetrics ? {serverMetrics} : {})})
          if (aborted()) {
            endSweep('interrupted')
            break outer
          }
        }
      }
      endSweep('done')
      emit({type: 'test-end', target, test: test.id})
    }
  }
  return {outcome: {runs, sweeps, interrupted: aborted()}, t0}
}

/**
 * One phase as parallel sequences (Engine.executeBatch): `count` requests rounded up to whole
 * batches of `sequences`, one batch after another (each llama-batched-bench's one run: every
 * prompt, then generation together). A warm-up is one batch with one generated token, as
 * llama-bench warms up, so the context and its graphs for that many sequences exist before
 * anything is timed. A batch that does not fit (CapacityError) skips the level with its reason;
 * any other failure is recorded on each request of the batch.
 */
async function runBatches(engine: Engine, requestOf: (i: number) => EngineRequest, sequences: number, count: number, context: RequestContext, aborted: () => boolean): Promise<{requests: RequestRecord[]} | {skipped: string}> {
  const requests: RequestRecord[] = []
  for (let at = 0; at < count && !aborted(); at += sequences) {
    const wave = Array.from({length: sequences}, (_, k) => requestOf(at + k))
    const tSend = context.clock()
    try {
      requests.push(...(await engine.executeBatch!(wave, context)))
    } catch (error) {
      if (error instanceof EngineCrashedError) throw error
      if (error instanceof CapacityError) return {skipped: error.message}
      const tEnd = context.clock()
      requests.push(...wave.map(() => ({tSend, chunks: [], tEnd, nPrompt: 0, nOut: 0, error: errorMessage(error)})))
      break
    }
  }
  return {requests}
}

/** A bound on back-to-back runs, so a request that takes no time cannot loop forever. */
export const MAX_BACK_TO_BACK = 10_000

/**
 * One request after another, each with its own prompt, until the span the derivation measures
 * (the first request's send to the last one's end) reaches `minWindowMs` (at least one request;
 * stops at a failed request or an abort). Timing the span from the records themselves, not from
 * clock readings around them, keeps a burst from ending a fraction of a millisecond short.
 */
async function backToBack(one: (i: number) => Promise<RequestRecord>, minWindowMs: number, aborted: () => boolean): Promise<RequestRecord[]> {
  const out: RequestRecord[] = []
  while (out.length < MAX_BACK_TO_BACK) {
    const request = await one(out.length)
    out.push(request)
    if (request.error || aborted() || request.tEnd - out[0]!.tSend >= minWindowMs) break
  }
  return out
}

interface PhaseControl {
  clock: () => number
  sleep: (ms: number) => Promise<void>
  aborted: () => boolean
  durationMs?: number
  seed: number
}

/**
 * One measured phase. Closed loop: `level` workers each start their next request when the last
 * one ends. Open loop: requests start at Poisson arrival times whatever is in flight. Requests are
 * returned in the order they were started.
 */
async function runPhase(one: (i: number) => Promise<RequestRecord>, count: number, load: Load, control: PhaseControl): Promise<RequestRecord[]> {
  const start = control.clock()
  const mayStart = () => !control.aborted() && (control.durationMs === undefined || control.clock() - start < control.durationMs)
  const results: Promise<RequestRecord>[] = []
  if (load.mode === 'concurrency') {
    let next = 0
    const worker = async () => {
      while (next < count && mayStart()) {
        const i = next++
        const pending = one(i)
        results[i] = pending
        await pending
      }
    }
    await Promise.all(Array.from({length: Math.min(load.level, count)}, worker))
  } else {
    const random = seededRandom(control.seed, 'arrivals')
    let at = 0
    for (let i = 0; i < count; i++) {
      if (i > 0) at += (-Math.log(1 - random() / 0x100000000) / load.rps) * 1000
      const wait = start + at - control.clock()
      if (wait > 0) await control.sleep(wait)
      if (!mayStart()) break
      results.push(one(i))
    }
  }
  return Promise.all(results)
}

function phaseState(requests: readonly RequestRecord[]): Pick<RunRecord, 'state' | 'reason'> {
  const failed = requests.filter((r) => r.error)
  // A phase cut short by Ctrl-C did not run as asked: none of its figures is the load's.
  const stopped = failed.filter((r) => r.error === INTERRUPTED_ERROR).length
  if (stopped > 0) {
    const finished = requests.length - failed.length
    return {state: 'interrupted', reason: `interrupted (Ctrl-C) with ${stopped} of ${requests.length} request${requests.length === 1 ? '' : 's'} in flight${finished > 0 ? `, ${finished} finished` : ''}; kept out of the statistics`}
  }
  if (failed.length === 0 && requests.length > 0) return {state: 'completed'}
  const reasons = new Map<string, number>()
  for (const r of failed) reasons.set(r.error!, (reasons.get(r.error!) ?? 0) + 1)
  const described = [...reasons].map(([reason, n]) => (n > 1 ? `${reason} (x${n})` : reason)).join('; ')
  if (requests.length === 0) return {state: 'errored', reason: 'no request was started'}
  if (failed.length === requests.length) return {state: 'errored', reason: requests.length === 1 ? described : `all ${requests.length} requests failed: ${described}`}
  return {state: 'completed', reason: `${failed.length} of ${requests.length} requests failed: ${described}`}
}

function skipReason(engine: Engine, test: SuiteTest, load: Load): string | undefined {
  const needed = contextNeeded(test)
  if (engine.contextLimit !== undefined && needed > engine.contextLimit) {
    return `needs ${needed} tokens of context, the target allows ${engine.contextLimit} (raise --ctx if the model allows it)`
  }
  const inFlight = load.mode === 'concurrency' ? load.level : Number.POSITIVE_INFINITY
  if (inFlight > engine.maxConcurrency) {
    return `${engine.target.kind} target serves ${engine.maxConcurrency} request${engine.maxConcurrency === 1 ? '' : 's'} at a time; ${loadLabel(load)} needs more`
  }
  const sequences = engine.sequenceLimit?.(needed)
  if (sequences && inFlight > sequences.level) return `${sequences.reason}; ${loadLabel(load)} needs ${inFlight}`
  return undefined
}

/** The context llama-bench makes for a test: n_prompt + n_gen tokens; none for chat (the engine knows its prompt's length). */
export function testContext(test: SuiteTest): number | undefined {
  return test.kind === 'chat' ? undefined : contextNeeded(test)
}

/** llama-bench's warm-up: the same prompt, one generated token, no depth (llama-bench warms up before it fills one). */
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

/** The measured request of a test, at its depth (filled untimed by the engine, as llama-bench -d). */
export function measuredRequest(test: SuiteTest, seed: number): EngineRequest {
  const depth = test.kind !== 'chat' && test.depth ? {depth: test.depth} : {}
  switch (test.kind) {
    case 'pp':
      return {kind: 'pp', nPrompt: test.nPrompt, seed, ...depth}
    case 'tg':
      return {kind: 'tg', nGen: test.nGen, seed, ...depth}
    case 'pg':
      return {kind: 'pg', nPrompt: test.nPrompt, nGen: test.nGen, seed, ...depth}
    case 'chat':
      return {kind: 'chat', messages: test.messages, maxTokens: test.maxTokens, ignoreEos: test.ignoreEos, seed}
  }
}

function requestSeed(base: number, testIndex: number, loadIndex: number, repetition: number, warmup: boolean, request: number): number {
  return (Math.imul(base + 1, 1_000_003) + testIndex * 10_007 + loadIndex * 7_919 + repetition * 2 + (warmup ? 1 : 0) + Math.imul(request + 1, 104_729)) >>> 0
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
