import {isUserError} from '../errors/errors.js'
import {errorMessage, type PowerSource, type SampleSink, type SourceInfo} from './power-source.js'
import type {NotStarted, PowerRecord} from './schema.js'

export const DEFAULT_INTERVAL_MS = 100
export const DEFAULT_IDLE_SECONDS = 5

export type {NotStarted} from './schema.js'

/** Everything the sampler saw: what the result file keeps under `power`. */
export type PowerRecording = PowerRecord

export interface SamplerOptions {
  sources: readonly PowerSource[]
  /** Monotonic ms (default performance.now); give the runner's clock so both timelines agree. */
  clock?: () => number
  /** Asked-for interval (default 100 ms); each source reads no faster than its own minimum. */
  intervalMs?: number
  /** Idle baseline length for measureIdle() (default 5 s). */
  idleSeconds?: number
  /** stop() waits at most this long for every series to deliver a reading past the stop time. */
  settleMs?: number
  /** Meter updates an energy window must span; stored in the recording for validity checks (default 10). */
  minUpdates?: number
  /** Waits `ms` (tests pass a fake); the default timer keeps the process alive on purpose. */
  sleep?: (ms: number) => Promise<void>
}

/**
 * Runs power sources beside a benchmark. It never throws into the benchmark once started: a
 * source that cannot start is listed in `notStarted`, one that dies later keeps its samples and
 * gets a failure entry. Sources do their own I/O on unref'd timers or one child process each;
 * the sampler only stores readings.
 */
export class PowerSampler {
  private readonly clock: () => number
  private readonly intervalMs: number
  private readonly recording: PowerRecording
  private readonly started: PowerSource[] = []
  private readonly failed = new Set<string>()
  private running = false

  constructor(private readonly options: SamplerOptions) {
    this.clock = options.clock ?? (() => performance.now())
    this.intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS
    this.recording = {sources: [], samples: {}, failures: [], notStarted: [], startedAt: 0, ...(options.minUpdates !== undefined ? {minUpdates: options.minUpdates} : {})}
  }

  /** Starts every source at once; resolves when each has answered or refused. */
  async start(): Promise<{sources: SourceInfo[]; notStarted: NotStarted[]}> {
    this.recording.startedAt = this.clock()
    this.running = true
    await Promise.all(this.options.sources.map((source) => this.startOne(source)))
    return {sources: [...this.recording.sources], notStarted: [...this.recording.notStarted]}
  }

  /** Waits `seconds` with nothing running and records that window as the idle baseline. */
  async measureIdle(seconds = this.options.idleSeconds ?? DEFAULT_IDLE_SECONDS): Promise<{t0: number; t1: number}> {
    this.mark()
    const t0 = this.clock()
    await (this.options.sleep ?? realSleep)(seconds * 1000)
    this.mark()
    const idle = {t0, t1: this.clock()}
    this.recording.idle = idle
    return idle
  }

  /** Counter sources read now: call it at window edges (request start and end). Cheap and synchronous. */
  mark(): void {
    if (!this.running) return
    for (const source of this.started) {
      try {
        source.mark?.()
      } catch {
        // A counter that fails reports it through its sink.
      }
    }
  }

  /** A copy of what was recorded so far, for the result file's checkpoints. */
  snapshot(): PowerRecording {
    return copyRecording(this.recording)
  }

  /**
   * Takes a last reading, waits (up to `settleMs`) until every live series has a reading at or after
   * now, so the last window is covered, then stops every source.
   */
  async stop(): Promise<PowerRecording> {
    if (!this.running) return this.snapshot()
    const stopAt = this.clock()
    this.mark()
    const slowest = Math.max(0, ...this.recording.sources.map((s) => s.intervalMs))
    const deadline = performance.now() + (this.options.settleMs ?? Math.min(5000, 2 * slowest + 500))
    while (performance.now() < deadline && !this.coveredUntil(stopAt)) await realSleep(20)
    this.running = false
    await Promise.allSettled(this.started.map((source) => source.stop()))
    this.recording.stoppedAt = this.clock()
    return this.snapshot()
  }

  private coveredUntil(t: number): boolean {
    return this.recording.sources.every((s) => this.failed.has(s.id) || (this.recording.samples[s.id]?.at(-1)?.[0] ?? -Infinity) >= t)
  }

  private async startOne(source: PowerSource): Promise<void> {
    // Readings that arrive before start() resolves wait here, so ids can be made unique first.
    const early: {kind: 'sample' | 'failure'; id: string; t: number; value: number; reason: string}[] = []
    const ids = new Map<string, string>()
    let ready = false
    const sink: SampleSink = {
      sample: (id, t, value) => {
        if (!ready) return void early.push({kind: 'sample', id, t, value, reason: ''})
        const mapped = ids.get(id)
        if (mapped) this.store(mapped, t, value)
      },
      failure: (id, t, reason) => {
        if (!ready) return void early.push({kind: 'failure', id, t, value: 0, reason})
        const mapped = ids.get(id)
        if (mapped) this.fail(mapped, t, reason)
      },
    }
    let infos: SourceInfo[]
    try {
      infos = await source.start({clock: this.clock, intervalMs: this.intervalMs, sink})
    } catch (error) {
      this.recording.notStarted.push({source: source.name, reason: errorMessage(error), ...(isUserError(error) && error.hint ? {hint: error.hint} : {})})
      await source.stop().catch(() => {})
      return
    }
    for (const info of infos) {
      let id = info.id
      for (let i = 2; this.recording.sources.some((s) => s.id === id); i++) id = `${info.id}#${i}`
      ids.set(info.id, id)
      this.recording.sources.push({...info, scope: info.scope ?? 'host', id})
      this.recording.samples[id] = []
    }
    this.started.push(source)
    if (source.uncovered && source.uncovered.length > 0) this.recording.uncovered = [...(this.recording.uncovered ?? []), ...source.uncovered]
    ready = true
    for (const entry of early) {
      const mapped = ids.get(entry.id)
      if (!mapped) continue
      if (entry.kind === 'sample') this.store(mapped, entry.t, entry.value)
      else this.fail(mapped, entry.t, entry.reason)
    }
    if (!this.running) await source.stop()
  }

  private store(id: string, t: number, value: number): void {
    if (this.failed.has(id) || !Number.isFinite(t) || !Number.isFinite(value)) return
    const series = this.recording.samples[id]
    if (!series) return
    const last = series.at(-1)
    // Mapped device clocks can step back by a jitter's worth; a series stays in time order.
    series.push([last && t < last[0] ? last[0] : t, value])
  }

  private fail(id: string, t: number, reason: string): void {
    if (this.failed.has(id)) return
    this.failed.add(id)
    this.recording.failures.push({sourceId: id, failedAt: t, reason})
  }
}

function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function copyRecording(r: PowerRecording): PowerRecording {
  return {
    ...r,
    sources: r.sources.map((s) => ({...s})),
    samples: Object.fromEntries(Object.entries(r.samples).map(([id, series]) => [id, series.map(([t, v]): [number, number] => [t, v])])),
    failures: r.failures.map((f) => ({...f})),
    notStarted: r.notStarted.map((n) => ({...n})),
    ...(r.uncovered ? {uncovered: r.uncovered.map((u) => ({...u}))} : {}),
    ...(r.idle ? {idle: {...r.idle}} : {}),
  }
}

/** Shifts every time in a recording by `-origin`, e.g. onto the runner's run-relative clock. */
export function rebaseRecording(r: PowerRecording, origin: number): PowerRecording {
  const copy = copyRecording(r)
  for (const series of Object.values(copy.samples)) for (const point of series) point[0] -= origin
  for (const f of copy.failures) f.failedAt -= origin
  if (copy.idle) copy.idle = {t0: copy.idle.t0 - origin, t1: copy.idle.t1 - origin}
  copy.startedAt -= origin
  if (copy.stoppedAt !== undefined) copy.stoppedAt -= origin
  return copy
}
