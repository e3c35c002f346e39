import {EXIT_ENGINE_CRASHED, UserError} from '../errors/errors.js'
import type {ChatMessage} from '../suite/schema.js'
import type {ServerMetricsPhase} from '../results/endpoint-schema.js'
import type {RequestRecord, Target} from '../results/schema.js'

/** What one measured request asks of an engine; the runner turns suite tests into these. */
export type EngineRequest = (
  | {kind: 'pp'; nPrompt: number; seed: number}
  | {kind: 'tg'; nGen: number; seed: number}
  | {kind: 'pg'; nPrompt: number; nGen: number; seed: number}
  | {kind: 'chat'; messages: ChatMessage[]; maxTokens: number; ignoreEos: boolean; seed: number}
) & {
  /**
   * Tokens of context every request of this test (warm-up included) shares, for an engine that
   * sizes its context per test as llama-bench does (n_prompt + n_gen); absent for chat, whose
   * prompt length only the engine knows. Engines that cannot size a context ignore it.
   */
  testContext?: number
  /** Tokens prefilled untimed before the request is measured (llama-bench -d); absent for 0. */
  depth?: number
}

export interface RequestContext {
  /** Milliseconds since the run started, on the runner's monotonic clock. */
  clock: () => number
  /** Called after each generated token arrives (progress display); must be cheap. */
  onToken?: (nOut: number) => void
  /** Aborts a request mid-generation (Ctrl-C); the engine returns what it measured with `error` set. */
  signal?: AbortSignal
}

/**
 * A benchmark target. `execute` starts from a fresh state (no cached prefix from an earlier
 * request) and returns the request's timeline; a failure it can describe is returned in `error`,
 * anything thrown is recorded by the runner as an errored repetition.
 */
export interface Engine {
  readonly target: Target
  /** The most tokens (prompt + generated) one request may hold, or undefined when unknown. */
  readonly contextLimit: number | undefined
  /** Requests it can serve at once: 1 for an in-process model, unbounded for a server. */
  readonly maxConcurrency: number
  execute(request: EngineRequest, context: RequestContext): Promise<RequestRecord>
  /**
   * Runs requests of one test as parallel sequences of one context decoding together, with
   * llama-batched-bench's semantics (all prompts, then generation for every sequence in each
   * decode), returning one record per request in order. Absent for an engine that serves
   * concurrent requests on its own (a server): the runner then sends them concurrently.
   * Throws a CapacityError when the sequences do not fit (the level is recorded as skipped).
   */
  executeBatch?(requests: readonly EngineRequest[], context: RequestContext): Promise<RequestRecord[]>
  /**
   * The most parallel sequences of `contextTokens` tokens each that fit, and why no more, for an
   * engine whose sequences share a context (n_seq x tokens must fit it); undefined: maxConcurrency alone bounds it.
   */
  sequenceLimit?(contextTokens: number): {level: number; reason: string} | undefined
  /** Starts watching the server's own metrics for one measured phase, resolving once the opening reading is taken; undefined when there is nothing to watch. */
  observePhase?(clock: () => number): Promise<PhaseObserver> | undefined
  /**
   * The engine's own process, for an engine that runs in one, and the CPU milliseconds it has used
   * as of its last reply (its own getrusage: exact, where /proc would count 10 ms ticks). Read at
   * the edges of a repetition, when that process waits for its next request.
   */
  processCpu?(): {pid: number; cpuMs: number} | undefined
  dispose(): Promise<void>
}

/** A server-side view of one phase, started before its first request and stopped after its last. */
export interface PhaseObserver {
  /** Takes the closing reading; never throws (failed readings are listed in the result). */
  stop(): Promise<ServerMetricsPhase | undefined>
}

/**
 * The engine's process ended under a request or a model load (a native abort, SIGSEGV, SIGILL,
 * an out-of-memory kill): nothing more can be measured on this target. The runner stops, and
 * what was measured before stays in the result, marked partial. Exit code 4.
 */
export class EngineCrashedError extends UserError {
  constructor(message: string, hint: string) {
    super(message, hint, EXIT_ENGINE_CRASHED)
  }
}

/** The error an engine records on a request it stopped because the run's signal was aborted (Ctrl-C); the runner marks its phase interrupted. */
export const INTERRUPTED_ERROR = 'interrupted'

/**
 * Requests that cannot be run together on this target at all (their sequences do not fit its
 * context or memory): the runner records the level as skipped with this message as the reason.
 */
export class CapacityError extends Error {}
