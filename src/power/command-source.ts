import {UserError} from '../errors/errors.js'
import {describeExit, LineProcess, runCommand, type ExitInfo} from './child-process.js'
import {PollLoop} from './poll-loop.js'
import {effectiveInterval, type Boundary, type Method, type PowerSource, type SourceInfo, type StartContext} from './power-source.js'

export interface CommandSourceOptions {
  /** A shell command that prints watts, one number per line ('87.5', '87.5 W'). */
  command: string
  /** Where the user's meter sits (default: wall). */
  boundary?: Boundary
  /** 'sampled' (default) for a meter; 'estimated' when the command computes a model. */
  method?: Extract<Method, 'sampled' | 'estimated'>
  /** Short id suffix (default 'cmd'); the series is `command:<id>`. */
  id?: string
  env?: NodeJS.ProcessEnv
  startTimeoutMs?: number
}

/** One line of the command's output as watts; blank lines are skipped (undefined). */
export function parseWattsLine(line: string): number | undefined {
  const trimmed = line.trim()
  if (trimmed === '') return undefined
  const match = /^(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*(W|w|watts?)?$/.exec(trimmed)
  if (!match) throw new Error(`printed '${trimmed.slice(0, 80)}' where watts were expected`)
  return Number(match[1])
}

/**
 * Watts from a user command (`cmd:"..."`). A command that keeps running is read line by line,
 * one process for the run; a command that prints and exits 0 is run again every interval (one at
 * a time). A line that is not a number fails the series: a wrong reading is worse than none.
 */
export class CommandSource implements PowerSource {
  readonly name: string
  readonly minIntervalMs = 50
  private child: LineProcess | undefined
  private loop: PollLoop | undefined
  private context: StartContext | undefined
  private readonly id: string
  private failed = false
  private failureReason = ''
  private firstValue: ((t: number) => void) | undefined

  constructor(private readonly options: CommandSourceOptions) {
    this.name = `cmd:${options.command}`
    this.id = `command:${options.id ?? 'cmd'}`
  }

  async start(context: StartContext): Promise<SourceInfo[]> {
    this.context = context
    const interval = effectiveInterval(context.intervalMs, this.minIntervalMs)
    const gotValue = new Promise<number>((resolve) => (this.firstValue = resolve))
    let printed = 0
    const child = new LineProcess(
      this.options.command,
      [],
      (line) => {
        if (this.failed) return
        let watts: number | undefined
        try {
          watts = parseWattsLine(line)
        } catch (error) {
          this.fail(`the command ${(error as Error).message}`)
          void child.stop()
          return
        }
        if (watts === undefined) return
        printed++
        const t = context.clock()
        context.sink.sample(this.id, t, watts)
        this.firstValue?.(t)
      },
      {shell: true, env: this.options.env},
    )
    this.child = child
    const exited = child.exited.then((exit) => ({exit}))
    const timeoutMs = this.options.startTimeoutMs ?? Math.max(10_000, 3 * interval)
    // A ref'd timer: the child is unref'd, and something must keep Node alive while start() waits.
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)))
    const first = await Promise.race([gotValue.then(() => 'value' as const), exited, timeout])
    clearTimeout(timer)
    if (first === 'timeout') {
      await this.stop()
      throw new UserError(`the power command printed no watts within ${timeoutMs / 1000} s: ${this.options.command}`, 'it must print a number of watts per line')
    }
    if (this.failed) throw new UserError(`power command: ${this.failureReason}`, 'it must print only numbers of watts, one per line')
    if (first !== 'value' && (printed === 0 || first.exit.code !== 0)) {
      throw new UserError(`the power command printed no watts: ${describeExit(this.options.command, first.exit)}`, 'run it on its own: it must print a number of watts per line')
    }
    void child.exited.then((exit) => this.onExit(exit, printed, interval))
    return [
      {
        id: this.id,
        kind: 'command',
        boundary: this.options.boundary ?? 'wall',
        method: this.options.method ?? 'sampled',
        unit: 'W',
        intervalMs: interval,
        device: this.options.command,
        notes: ['watts printed by a user command: owbench cannot check how the command obtains them'],
      },
    ]
  }

  async stop(): Promise<void> {
    const child = this.child
    const loop = this.loop
    this.child = undefined
    this.loop = undefined
    await Promise.all([child?.stop(), loop?.stop()])
  }

  private fail(reason: string): void {
    if (this.failed) return
    this.failed = true
    this.failureReason = reason
    const context = this.context
    if (context) context.sink.failure(this.id, context.clock(), reason)
  }

  /** The long-running process ended: a clean exit after printing switches to one run per interval. */
  private onExit(exit: ExitInfo, printed: number, interval: number): void {
    const child = this.child
    if (!child || child.isStopping || this.failed) return
    this.child = undefined
    if (exit.code !== 0 || printed === 0) return this.fail(describeExit(this.options.command, exit))
    const context = this.context!
    this.loop = new PollLoop(interval, async () => {
      if (this.failed) return
      const result = await runCommand(this.options.command, [], {shell: true, env: this.options.env, timeoutMs: Math.max(10_000, 3 * interval)})
      if (!this.loop) return
      if (result.code !== 0) {
        this.fail(describeExit(this.options.command, result))
        void this.loop.stop()
        return
      }
      const values: number[] = []
      try {
        for (const line of result.stdout.split(/\r?\n/)) {
          const watts = parseWattsLine(line)
          if (watts !== undefined) values.push(watts)
        }
      } catch (error) {
        this.fail(`the command ${(error as Error).message}`)
        void this.loop.stop()
        return
      }
      const last = values.at(-1)
      if (last === undefined) {
        this.fail(`${this.options.command} printed no watts`)
        void this.loop.stop()
        return
      }
      context.sink.sample(this.id, context.clock(), last)
    })
    this.loop.start({skipFirst: true})
  }
}
