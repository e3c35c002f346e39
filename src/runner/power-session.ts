import {UserError} from '../errors/errors.js'
import {DEFAULT_MIN_UPDATES, resolutionMs, type PowerSource, type SourceInfo} from '../power/power-source.js'
import {PowerSampler} from '../power/sampler.js'

export interface PowerSessionOptions {
  /** Sources named on the command line (--meter, --watts), 'auto' (every meter found) or 'off'. */
  power: PowerSource[] | 'auto' | 'off'
  /** Fail before the run when no source starts (and, after it, when a figure is invalid). */
  requirePower?: boolean
  /** Meter updates an energy window must span (default 10). */
  minMeterUpdates?: number
  intervalMs?: number
  idleSeconds: number
}

export interface PowerSession {
  sampler: PowerSampler | undefined
  sources: SourceInfo[]
  /** The shortest energy window the started meters resolve: repetitions shorter than this run back to back. */
  minWindowMs: number
  /**
   * What to tell the user about the meters (which started, which did not and why, the window
   * they need), printed once the engines are loaded: an error loading the model stays one line.
   */
  notes: string[]
}

/**
 * Starts the power sources before anything is loaded, so a meter the user named that cannot be
 * read stops the run before it starts (a UserError naming the meter and the fix), and so does
 * `--require-power` without any source. Detected meters that fail are only reported.
 */
export async function startPowerSession(options: PowerSessionOptions, deps: {clock: () => number; detectPower: () => Promise<PowerSource[]>; sleep?: (ms: number) => Promise<void>}): Promise<PowerSession> {
  const minUpdates = options.minMeterUpdates ?? DEFAULT_MIN_UPDATES
  const notes: string[] = []
  const given = Array.isArray(options.power)
  const powerSources = options.power === 'off' ? [] : options.power === 'auto' ? await deps.detectPower() : options.power
  if (powerSources.length === 0) {
    if (options.requirePower) throw new UserError(options.power === 'off' ? '--require-power with --power off' : '--require-power: no power source was found on this machine', 'name a meter (--meter ...) or see owbench doctor for what this machine can measure')
    if (options.power === 'auto') notes.push('power: no meter found on this machine, energy is not measured (see `owbench doctor`; --watts N declares a draw)')
    return {sampler: undefined, sources: [], minWindowMs: 0, notes}
  }
  const sampler = new PowerSampler({sources: powerSources, clock: deps.clock, intervalMs: options.intervalMs, idleSeconds: options.idleSeconds, sleep: deps.sleep, minUpdates})
  const {sources, notStarted} = await sampler.start()
  if (given && notStarted.length > 0) {
    await sampler.stop()
    const first = notStarted[0]!
    throw new UserError(`power: the meter ${first.source} cannot be read: ${first.reason}`, first.hint ?? 'check it with owbench doctor, or leave it out')
  }
  for (const n of notStarted) notes.push(`power: ${n.source} not started: ${n.reason}${n.hint ? ` — ${n.hint}` : ''}`)
  if (sources.length === 0 && options.requirePower) {
    await sampler.stop()
    throw new UserError('--require-power: no power source could be started', 'see owbench doctor for what this machine can measure')
  }
  const slowest = Math.max(0, ...sources.map(resolutionMs))
  const minWindowMs = minUpdates * slowest
  notes.push(sources.length > 0 ? `power: ${sources.map((s) => `${s.id} (${s.boundary}, ${s.method})`).join(', ')}` : 'power: no source started; energy is not measured')
  if (minWindowMs > 0) notes.push(`power: energy windows span at least ${minUpdates} meter updates (${(minWindowMs / 1000).toFixed(minWindowMs < 1000 ? 3 : 1)} s); shorter tests run back to back`)
  return {sampler: sources.length > 0 ? sampler : undefined, sources, minWindowMs, notes}
}
