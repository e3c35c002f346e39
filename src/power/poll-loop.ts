/**
 * Runs a task every `intervalMs` on a fixed grid (no drift), never two at once: a slow task (an
 * HTTP request, a one-shot rocm-smi) skips the slots it overran instead of piling up. Timers are
 * unref'd so a forgotten loop never keeps the CLI alive.
 */
export class PollLoop {
  private timer: ReturnType<typeof setTimeout> | undefined
  private stopped = true
  private inFlight: Promise<void> | undefined
  private origin = 0
  private slot = 0

  constructor(
    private readonly intervalMs: number,
    private readonly task: () => void | Promise<void>,
  ) {}

  /** Runs the task at once (or after one interval when the caller has just read), then every interval. */
  start(options: {skipFirst?: boolean} = {}): void {
    this.stopped = false
    this.origin = performance.now()
    this.slot = 0
    if (options.skipFirst) this.schedule()
    else this.run()
  }

  /** Stops scheduling and waits for a task in flight. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    await this.inFlight
  }

  private run(): void {
    if (this.stopped) return
    const result = (async () => {
      try {
        await this.task()
      } catch {
        // A task reports its own failures through the sink; an escape here must not kill the loop's caller.
      }
    })()
    this.inFlight = result
    void result.then(() => this.schedule())
  }

  private schedule(): void {
    if (this.stopped) return
    const now = performance.now()
    this.slot = Math.max(this.slot + 1, Math.ceil((now - this.origin) / this.intervalMs))
    const delay = Math.max(0, this.origin + this.slot * this.intervalMs - now)
    this.timer = setTimeout(() => this.run(), delay)
    this.timer.unref()
  }
}
