import {SWEEP_DEFAULTS} from '../derive/sweep.js'
import {UserError} from '../errors/errors.js'
import type {Slo} from '../results/schema.js'
import type {SweepSettings} from '../results/sweep-schema.js'

/** The flags of `owbench run` that shape a sweep (README: Load sweeps). */
export interface SweepFlags {
  goodputTarget?: number
  minGain?: number
  maxLevel?: number
  maxSeconds?: number
  maxRequests?: number
  /** --max-requests: requests per measured phase. */
  requestsPerLevel?: number
}

/**
 * `--concurrency sweep`, `--rate sweep` or `--goodput-target P` (with `--slo`): the sweep's
 * settings; undefined when the levels are fixed (`--concurrency 1,4,16`, `--rate 2.5`). A goodput
 * target alone searches concurrency, as GuideLLM's goodput profile does: every concurrency level
 * has a steady state, while a rate above capacity measures a growing backlog.
 */
export function parseSweep(concurrency: string | undefined, rate: string | undefined, flags: SweepFlags, slo: Slo | undefined): SweepSettings | undefined {
  const sweepC = concurrency?.trim() === 'sweep'
  const sweepR = rate?.trim() === 'sweep'
  const shaping = (['minGain', 'maxLevel', 'maxSeconds', 'maxRequests'] as const).filter((k) => flags[k] !== undefined)
  if (sweepC && rate !== undefined) throw new UserError('--concurrency sweep and --rate are alternatives', 'sweep one of them: --concurrency sweep (closed loop) or --rate sweep (open loop)')
  if (sweepR && concurrency !== undefined) throw new UserError('--rate sweep and --concurrency are alternatives', 'sweep one of them: --concurrency sweep (closed loop) or --rate sweep (open loop)')
  const fixed = (concurrency !== undefined && !sweepC) || (rate !== undefined && !sweepR)
  if (flags.goodputTarget !== undefined) {
    if (fixed) throw new UserError('--goodput-target searches for the highest load meeting --slo; it does not apply to fixed levels', 'use --concurrency sweep or --rate sweep with it, or leave the levels out (it then searches concurrency)')
    if (!slo) throw new UserError('--goodput-target needs objectives to meet', 'pass them with --slo, e.g. --slo ttft=500ms,tpot=50ms --goodput-target 0.99')
    if (!(flags.goodputTarget > 0 && flags.goodputTarget <= 1)) throw new UserError(`--goodput-target must be a share of requests above 0 and at most 1, not ${flags.goodputTarget}`, 'for example --goodput-target 0.99 (99% of requests meet every objective)')
  } else if (!sweepC && !sweepR) {
    if (shaping.length > 0) throw new UserError(`--sweep-${shaping.map(kebab).join(', --sweep-')} only shape a sweep`, 'add --concurrency sweep, --rate sweep or --goodput-target')
    return undefined
  }
  if (flags.minGain !== undefined && !(flags.minGain > 0)) throw new UserError(`--sweep-min-gain must be above 0, not ${flags.minGain}`, 'for example --sweep-min-gain 0.1 (a doubling must raise throughput by more than 10%)')
  return {
    mode: sweepR ? 'rate' : 'concurrency',
    search: flags.goodputTarget === undefined ? 'saturation' : 'goodput',
    minGain: flags.minGain ?? SWEEP_DEFAULTS.minGain,
    ttftRise: SWEEP_DEFAULTS.ttftRise,
    keepUp: SWEEP_DEFAULTS.keepUp,
    maxErrorRate: SWEEP_DEFAULTS.maxErrorRate,
    maxLevel: flags.maxLevel ?? SWEEP_DEFAULTS.maxLevel,
    maxSeconds: flags.maxSeconds ?? SWEEP_DEFAULTS.maxSeconds,
    maxRequests: flags.maxRequests ?? SWEEP_DEFAULTS.maxRequests,
    ...(flags.requestsPerLevel !== undefined ? {requestsPerLevel: flags.requestsPerLevel} : {}),
    fill: SWEEP_DEFAULTS.fill,
    ...(flags.goodputTarget !== undefined ? {goodputTarget: flags.goodputTarget} : {}),
  }
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}
