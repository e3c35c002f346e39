import {UserError} from '../errors/errors.js'
import {effectiveInterval, type Boundary, type PowerSource, type SourceInfo, type StartContext} from './power-source.js'

export interface ConstantSourceOptions {
  /** The draw the user declares (`--watts 65`). */
  watts: number
  /** Where that draw applies (default: wall). */
  boundary?: Boundary
  /** The user measured this draw with their own meter; still a constant, so still an assumption. */
  measuredByUser?: boolean
}

/**
 * A user-declared constant draw. It is `estimated` whatever the user says: owbench did not measure
 * it and the draw of a machine is not constant; a draw the user measured is recorded as such in the
 * assumptions. Readings are emitted at start, every second and at stop, so any window inside the
 * run is covered.
 */
export class ConstantSource implements PowerSource {
  readonly name = 'constant'
  readonly minIntervalMs = 1000
  private timer: ReturnType<typeof setInterval> | undefined
  private context: StartContext | undefined
  private readonly id: string

  constructor(private readonly options: ConstantSourceOptions) {
    if (!Number.isFinite(options.watts) || options.watts < 0) throw new UserError(`--watts must be a number of watts, got ${options.watts}`, 'for example --watts 65')
    this.id = `constant:${options.boundary ?? 'wall'}`
  }

  async start(context: StartContext): Promise<SourceInfo[]> {
    this.context = context
    const emit = () => context.sink.sample(this.id, context.clock(), this.options.watts)
    emit()
    this.timer = setInterval(emit, effectiveInterval(context.intervalMs, this.minIntervalMs))
    this.timer.unref()
    return [
      {
        id: this.id,
        kind: 'constant',
        boundary: this.options.boundary ?? 'wall',
        method: 'estimated',
        unit: 'W',
        intervalMs: effectiveInterval(context.intervalMs, this.minIntervalMs),
        formula: `watts = ${this.options.watts} (constant)`,
        assumptions: [
          `user-declared constant draw of ${this.options.watts} W at the ${this.options.boundary ?? 'wall'} boundary`,
          this.options.measuredByUser ? 'the user measured this draw with their own meter; owbench did not' : 'not measured: a declared figure',
          'the real draw varies with load; idle and busy phases get the same watts, so net energy is zero and per-phase figures follow duration only',
        ],
      },
    ]
  }

  mark(): void {
    const context = this.context
    if (context) context.sink.sample(this.id, context.clock(), this.options.watts)
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.mark()
    this.context = undefined
  }
}
