import type {Engine} from '../engines/engine.js'
import {doubleLoad, fillLevels, goodputNext, saturationStop, SWEEP_DEFAULTS, type SweepStage, sweepPoint, sweepRequests} from '../derive/sweep.js'
import {compareLoads, type Load, loadLabel} from '../results/load.js'
import type {RunRecord, Slo} from '../results/schema.js'
import type {SweepPoint, SweepRecord, SweepSettings, SweepStop} from '../results/sweep-schema.js'
import {contextNeeded} from '../suite/load.js'
import type {SuiteTest} from '../suite/schema.js'

/** One level a plan asks the runner to measure, and how many requests each of its phases sends (default: the runner's). */
export interface PlanStep {
  load: Load
  requests?: number
}

/**
 * The load levels of one target x test, decided one at a time: the runner measures the step a
 * plan gives (warm-ups and repetitions as usual) and hands back that level's runs. A fixed list
 * (`--concurrency 1,4,16`) ignores them; a sweep reads them to choose the next level or stop.
 * Any target can follow a plan: a sweep asks the engine how many requests it serves at once
 * (Engine.maxConcurrency) and never offers more, so an engine that gains parallel sequences
 * sweeps without any change here.
 */
export interface LoadPlan {
  next(lastLevel: readonly RunRecord[]): PlanStep | undefined
  /** A sweep's record: `running` for a checkpoint (no stop yet), `interrupted` when the run stopped first. */
  record?(state: 'running' | 'done' | 'interrupted'): SweepRecord
}

export interface PlanContext {
  engine: Engine
  test: SuiteTest
  /** The runner's clock (ms). */
  clock: () => number
  /** Measured repetitions and warm-ups per level, for the request budget. */
  repetitions: number
  warmup: number
}

export type LoadPlanFactory = (context: PlanContext) => LoadPlan

/** The levels as given, in order (levels above the engine's are recorded as skipped by the runner). */
export function fixedLoads(loads: readonly Load[]): LoadPlanFactory {
  return () => {
    let i = 0
    return {next: () => (i < loads.length ? {load: loads[i++]!} : undefined)}
  }
}

/**
 * The levels a suite gives each test (its `concurrency`: a list, or a concurrency sweep with the
 * sweep defaults and the bounds the suite sets, each level a phase of as many requests as are in
 * flight, as a fixed level is), one request at a time for a test that gives none.
 * Used when the command line sets no levels.
 */
export const suiteLoads: LoadPlanFactory = (context) => {
  const levels = context.test.concurrency
  if (levels === undefined) return fixedLoads([{mode: 'concurrency', level: 1}])(context)
  if (Array.isArray(levels)) return fixedLoads(levels.map((level) => ({mode: 'concurrency', level})))(context)
  return sweepLoads({mode: 'concurrency', search: 'saturation', ...SWEEP_DEFAULTS, requestsPerLevel: 'level', ...levels.sweep}, undefined)(context)
}

/**
 * `--concurrency sweep`, `--rate sweep`, `--goodput-target` (src/derive/sweep.ts has the rules and
 * what they follow). Every sweep starts with one request at a time. A saturation sweep doubles the
 * level (open loop: from the rate one request at a time sustains) until a rule says throughput
 * stopped growing, then measures `fill` levels between the last doublings; a goodput search
 * doubles until a level misses the target share of requests meeting every objective, then
 * bisects. Bounded by the engine's requests at once, `maxLevel`, `maxSeconds` and `maxRequests`;
 * the record says which level came from which stage and why the sweep stopped.
 */
export function sweepLoads(settings: SweepSettings, slo: Slo | undefined): LoadPlanFactory {
  return (context) => new Sweep(settings, slo, context)
}

const FILL_AFTER: readonly SweepStop[] = ['saturated', 'over-saturated', 'errors']

class Sweep implements LoadPlan {
  private readonly steps: SweepRecord['steps'] = []
  private readonly points: SweepPoint[] = []
  private stop?: {code: SweepStop; reason: string}
  private fills: Load[] = []
  private started?: number
  private requestsSent = 0
  private floor: Load = {mode: 'concurrency', level: 1}

  constructor(
    private readonly settings: SweepSettings,
    private readonly slo: Slo | undefined,
    private readonly context: PlanContext,
  ) {}

  next(lastLevel: readonly RunRecord[]): PlanStep | undefined {
    const asked = this.steps.at(-1)
    if (asked) {
      const measured = lastLevel.filter((r) => !r.warmup && r.state !== 'skipped')
      this.requestsSent += lastLevel.reduce((n, r) => n + r.requests.length, 0)
      const skipped = lastLevel.find((r) => r.state === 'skipped')
      // A level the target could not hold (its sequences do not fit its context or memory) is its limit.
      if (measured.length === 0 && skipped && this.points.length > 0) return this.end('target-limit', `${loadLabel(asked.load)} was skipped: ${skipped.reason ?? 'no reason given'}`)
      if (measured.length === 0) return this.end('no-throughput', `${loadLabel(asked.load)} measured nothing`)
      this.points.push(sweepPoint(measured, asked.stage, this.slo, this.settings.goodputTarget))
    } else {
      this.started = this.context.clock()
      return this.propose({mode: 'concurrency', level: 1}, 'start')
    }
    if (this.fills.length > 0) return this.propose(this.fills.shift()!, 'fill')
    if (this.stop) return undefined
    const last = this.points.at(-1)!
    if (this.settings.mode === 'rate' && last.stage === 'start' && last.load.mode === 'concurrency') return this.startRate(last)
    if (this.settings.search === 'goodput') {
      const next = goodputNext(this.points, this.settings, this.floor)
      return 'load' in next ? this.propose(next.load, next.stage) : this.end(next.code, next.reason)
    }
    const stop = saturationStop(this.points, this.settings)
    if (stop) {
      this.stop = stop
      this.fills = FILL_AFTER.includes(stop.code) ? fillLevels(this.points, this.settings) : []
      return this.fills.length > 0 ? this.propose(this.fills.shift()!, 'fill') : undefined
    }
    const highest = this.points.filter((p) => p.load.mode === this.settings.mode).map((p) => p.load).sort(compareLoads).at(-1)!
    return this.propose(doubleLoad(highest), 'double')
  }

  record(state: 'running' | 'done' | 'interrupted'): SweepRecord {
    const stop = state === 'interrupted' && !this.stop ? {code: 'interrupted' as const, reason: 'the run was interrupted before the sweep finished'} : this.stop
    return {target: this.context.engine.target.id, test: this.context.test.id, settings: this.settings, steps: [...this.steps], ...(stop && state !== 'running' ? {stop} : {})}
  }

  /** An open-loop sweep starts from the rate one request at a time sustained (GuideLLM's synchronous rate), to 3 significant digits. */
  private startRate(start: SweepPoint): PlanStep | undefined {
    const engine = this.context.engine
    if (Number.isFinite(engine.maxConcurrency)) {
      return this.end('target-limit', `an open-loop rate needs any number of requests in flight; ${engine.target.kind} target ${engine.target.id} serves ${engine.maxConcurrency} at a time`)
    }
    if (start.requestThroughput === undefined) return this.end('no-throughput', 'one request at a time completed nothing, so there is no rate to start from')
    const rps = Number(start.requestThroughput.toPrecision(3))
    this.floor = {mode: 'rate', rps: Number((rps / 8).toPrecision(3))}
    // The rate one request at a time sustained is where the search starts, not a doubling of anything.
    return this.propose({mode: 'rate', rps}, 'start')
  }

  /** The level, capped by the engine's and the sweep's limits, if the budgets allow it. */
  private propose(wanted: Load, stage: SweepStage): PlanStep | undefined {
    let load = wanted
    const engine = this.context.engine
    const measured = new Set(this.points.map((p) => loadLabel(p.load)))
    if (load.mode === 'concurrency') {
      // Parallel sequences sharing a context: how many of this test's fit (--ctx) bounds the target too.
      const sequences = engine.sequenceLimit?.(contextNeeded(this.context.test))
      const targetCap = Math.max(1, Math.min(engine.maxConcurrency, sequences?.level ?? Number.POSITIVE_INFINITY))
      const cap = Math.min(targetCap, this.settings.maxLevel)
      if (load.level > cap) {
        const limit = targetCap <= this.settings.maxLevel ? 'target-limit' : 'max-level'
        const why = limit === 'target-limit' ? (sequences && sequences.level < engine.maxConcurrency ? sequences.reason : `${engine.target.kind} target ${engine.target.id} serves ${engine.maxConcurrency} request${engine.maxConcurrency === 1 ? '' : 's'} at a time`) : `the sweep's highest level is c${this.settings.maxLevel}`
        if (measured.has(loadLabel({mode: 'concurrency', level: cap}))) return this.end(limit, `${why}: the sweep ends at c${cap}`)
        load = {mode: 'concurrency', level: cap}
      }
    } else if (load.rps > this.settings.maxLevel) {
      return this.end('max-level', `the sweep's highest rate is r${this.settings.maxLevel}`)
    }
    const elapsedS = (this.context.clock() - this.started!) / 1000
    if (elapsedS >= this.settings.maxSeconds) return this.end('time-budget', `the sweep used its ${this.settings.maxSeconds} s before ${loadLabel(load)}`)
    // An engine that batches parallel sequences measures a level as batches of that many: one batch a phase, as llama-batched-bench runs each level once.
    const requests = this.settings.requestsPerLevel === undefined && engine.executeBatch && load.mode === 'concurrency' ? load.level : sweepRequests(this.settings, load)
    const needed = this.context.repetitions * requests + this.context.warmup
    if (this.requestsSent + needed > this.settings.maxRequests) {
      return this.end('request-budget', `${loadLabel(load)} would take the sweep past its ${this.settings.maxRequests} requests (${this.requestsSent} sent, ${needed} more needed)`)
    }
    this.steps.push({load, stage, requests})
    return {load, requests}
  }

  /** Ends the sweep; a budget reached while filling in keeps the reason the doubling stopped and says where filling stopped. */
  private end(code: SweepStop, reason: string): undefined {
    this.fills = []
    if (this.stop) this.stop = {code: this.stop.code, reason: `${this.stop.reason}; filling in around the knee stopped: ${reason}`}
    else this.stop = {code, reason}
    return undefined
  }
}
