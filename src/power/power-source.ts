import type {SourceInfo, UncoveredDevice} from './schema.js'

/**
 * Power sources. Two words are kept apart here:
 * - a `SourceInfo` is one series of readings with one boundary (one RAPL zone, one GPU, one wall
 *   plug); it is what the result file lists under `power.sources` and what every energy figure names;
 * - a `PowerSource` is the thing that is started and stopped (a sysfs reader, one nvidia-smi
 *   process, one HTTP poller) and may yield several series: one nvidia-smi process reads every GPU.
 */

/**
 * Where the meter sits, widest last: the GPU board, the CPU package, DRAM, the whole SoC (Apple
 * Silicon, RAPL psys), the machine at the socket (wall), the machine's share of a datacenter
 * (facility = wall x PUE).
 */
export const BOUNDARIES = ['gpu-board', 'cpu-package', 'dram', 'soc', 'wall', 'facility'] as const
export type Boundary = (typeof BOUNDARIES)[number]

/**
 * counter: cumulative joules, read at window edges and differenced (RAPL energy_uj, NVML total energy);
 * sampled: watts read at intervals and integrated (nvidia-smi, powermetrics, wall plugs);
 * estimated: watts from a model (TDP x utilization, a user-declared constant), never shown as measured.
 */
export const METHODS = ['counter', 'sampled', 'estimated'] as const
export type Method = (typeof METHODS)[number]

export const SOURCE_KINDS = ['rapl', 'nvml', 'nvidia-smi', 'amd-smi', 'rocm-smi', 'powermetrics', 'shelly', 'tasmota', 'command', 'constant', 'cpu-tdp'] as const
export type SourceKind = (typeof SOURCE_KINDS)[number]

export type {SourceFailure, SourceInfo, UncoveredDevice} from './schema.js'
/**
 * The shortest time (ms) over which a series' readings resolve energy: a counter's update period, a
 * sampled meter's reading interval, refresh or averaging span, whichever is longest; 0 for a
 * declared constant (exact at any instant). A window must span several of these (see
 * DEFAULT_MIN_UPDATES) before its energy means anything: MLPerf Power's minimum run time and
 * ML.ENERGY's steady-state windows follow the same reasoning.
 */
export function resolutionMs(info: Pick<SourceInfo, 'kind' | 'method' | 'intervalMs' | 'updateMs' | 'averagingMs'>): number {
  if (info.kind === 'constant') return 0
  if (info.method === 'counter') return info.updateMs ?? info.intervalMs
  return Math.max(info.intervalMs, info.updateMs ?? 0, info.averagingMs ?? 0)
}

/** Meter updates an energy window must span, unless the user says otherwise (--min-meter-updates). */
export const DEFAULT_MIN_UPDATES = 10


export interface SampleSink {
  /** One reading: `t` on the sampler's clock (ms), `value` in the series' unit. */
  sample(sourceId: string, t: number, value: number): void
  /** The series stopped delivering; called at most once per series, never thrown into the benchmark. */
  failure(sourceId: string, t: number, reason: string): void
}

export interface StartContext {
  /** Monotonic milliseconds; every sample is stamped on it. */
  clock: () => number
  /** The interval asked for; a source reads no faster than its own `minIntervalMs`. */
  intervalMs: number
  sink: SampleSink
}

export interface PowerSource {
  /** A short label for messages: 'rapl', 'nvidia-smi', 'shelly://192.168.1.9'. */
  readonly name: string
  /** The fastest this source can usefully be read, in ms. */
  readonly minIntervalMs: number
  /**
   * Starts reading and resolves to the series it delivers once the meter has answered. Throws a
   * UserError (with the fix) when the meter cannot be used at all; once started, failures go to
   * `sink.failure` and nothing is thrown.
   */
  start(context: StartContext): Promise<SourceInfo[]>
  /**
   * Counter sources read now, so a window edge falls on a reading. Synchronous and cheap (a few
   * sysfs reads); sampled sources leave it out.
   */
  mark?(): void
  /** Stops reading (a counter takes one last reading) and releases timers and child processes. */
  stop(): Promise<void>
  /** After start(): devices this source should cover but cannot read. */
  readonly uncovered?: readonly UncoveredDevice[]
}

/** The interval a source actually runs at. */
export function effectiveInterval(requestedMs: number, minIntervalMs: number): number {
  return Math.max(requestedMs, minIntervalMs)
}

/** Reads the error code of a Node system error (`EACCES`, `ENOENT`) without trusting its shape. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code
  return undefined
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
