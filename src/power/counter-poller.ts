import {errorMessage, type StartContext} from './power-source.js'

/** One cumulative energy counter a source reads: its series id, and how to read it in joules (throws with the reason when it cannot). */
export interface CounterSeries {
  id: string
  read: () => number
}

/**
 * Reads energy counters the way counter sources do (RAPL's energy_uj, NVML's total energy): on a
 * timer and at every window edge (mark), since a counter integrates by itself and only its value
 * at the edges matters; each reading is stamped right after it is taken. A series whose read
 * fails is reported once through the sink and not read again; stop() takes one last reading.
 */
export class CounterPoller {
  private series: {id: string; read: () => number; failed: boolean}[] = []
  private context: StartContext | undefined
  private timer: ReturnType<typeof setInterval> | undefined

  /** Takes the first reading at once, then one every `intervalMs` (the timer does not keep the process alive). */
  start(context: StartContext, intervalMs: number, series: readonly CounterSeries[]): void {
    this.series = series.map((s) => ({...s, failed: false}))
    this.context = context
    this.read()
    this.timer = setInterval(() => this.read(), intervalMs)
    this.timer.unref()
  }

  /** One reading of every counter still working (a window edge). */
  read(): void {
    const context = this.context
    if (!context) return
    for (const s of this.series) {
      if (s.failed) continue
      let joules: number
      try {
        joules = s.read()
      } catch (error) {
        s.failed = true
        context.sink.failure(s.id, context.clock(), errorMessage(error))
        continue
      }
      context.sink.sample(s.id, context.clock(), joules)
    }
  }

  /** Stops the timer after a last reading; reading again does nothing. */
  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.read()
    this.context = undefined
  }
}
