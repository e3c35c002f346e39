import fs from 'node:fs'
import os from 'node:os'
import {UserError} from '../errors/errors.js'
import {loadTdpTable, matchCpuTdp, type TdpRow} from './cpu-tdp.js'
import {systemCpuTimes, UtilizationMeter, type CpuTimes} from './cpu-utilization.js'
import {effectiveInterval, type PowerSource, type SourceInfo, type StartContext} from './power-source.js'

export interface CpuEstimateOptions {
  /** The CPU brand string (default: os.cpus()[0].model). */
  model?: string
  /** CPU packages in the machine (default: distinct `physical id`s in /proc/cpuinfo, else 1). */
  sockets?: number
  table?: readonly TdpRow[]
  /** Cumulative CPU times (default: /proc/stat, else os.cpus()). */
  readTimes?: () => CpuTimes
}

/** Distinct `physical id` lines of /proc/cpuinfo; undefined where there are none (macOS, ARM). */
export function countSockets(cpuinfo: string): number | undefined {
  const ids = new Set([...cpuinfo.matchAll(/^physical id\s*:\s*(\d+)/gm)].map((m) => m[1]))
  return ids.size > 0 ? ids.size : undefined
}

function detectSockets(): number | undefined {
  try {
    return countSockets(fs.readFileSync('/proc/cpuinfo', 'utf8'))
  } catch {
    return undefined
  }
}

/**
 * CPU package power ESTIMATED from the TDP table and measured utilization:
 * watts = TDP x sockets x utilization, utilization from CPU-time deltas over each interval.
 * Always `estimated`, with the formula and its inputs in the source info. Each value is an
 * average over its interval, stored as a step like powermetrics readings.
 */
export class CpuEstimateSource implements PowerSource {
  readonly name = 'cpu-tdp'
  readonly minIntervalMs = 500
  private timer: ReturnType<typeof setInterval> | undefined
  private context: StartContext | undefined
  private meter: UtilizationMeter | undefined
  private lastT = 0
  private watts = 0

  constructor(private readonly options: CpuEstimateOptions = {}) {}

  async start(context: StartContext): Promise<SourceInfo[]> {
    const model = this.options.model ?? os.cpus()[0]?.model ?? ''
    const match = matchCpuTdp(model, this.options.table ?? loadTdpTable())
    if (!match.matched) throw new UserError(`no TDP for this CPU: ${match.reason}`, 'declare the draw instead (--watts N) or use a meter')
    const detected = this.options.sockets ?? detectSockets()
    const sockets = detected ?? 1
    this.watts = match.row.tdpWatts * sockets
    this.context = context
    this.meter = new UtilizationMeter(this.options.readTimes ?? systemCpuTimes())
    this.lastT = context.clock()
    const interval = effectiveInterval(context.intervalMs, this.minIntervalMs)
    this.timer = setInterval(() => this.read(), interval)
    this.timer.unref()
    return [
      {
        id: 'cpu-tdp:package',
        kind: 'cpu-tdp',
        boundary: 'cpu-package',
        method: 'estimated',
        unit: 'W',
        intervalMs: interval,
        averagingMs: interval,
        device: model,
        formula: `watts = TDP x sockets x utilization = ${match.row.tdpWatts} W x ${sockets} x utilization`,
        assumptions: [
          `TDP ${match.row.tdpWatts} W per package from data/cpu-tdp.csv row '${match.row.name}' (matched to '${model}' by ${match.rule === 'exact' ? 'exact name' : 'model-number words'})`,
          detected === undefined ? 'one CPU package assumed (socket count not readable)' : `${sockets} CPU package(s) from /proc/cpuinfo`,
          'utilization = busy share of all CPU time (/proc/stat or os.cpus()), every process counted, not only the benchmark',
          'power scales linearly from 0 W at idle to TDP at full load: real CPUs draw part of TDP when idle and can exceed it under boost',
        ],
      },
    ]
  }

  /** Closes the current step at a window edge (one /proc/stat read). */
  mark(): void {
    this.read()
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.read()
    this.context = undefined
  }

  private read(): void {
    const context = this.context
    const meter = this.meter
    if (!context || !meter) return
    const now = context.clock()
    const utilization = meter.next()
    if (utilization === undefined) return
    const watts = this.watts * utilization
    context.sink.sample('cpu-tdp:package', this.lastT, watts)
    context.sink.sample('cpu-tdp:package', now, watts)
    this.lastT = now
  }
}
