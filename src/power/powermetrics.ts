import {UserError} from '../errors/errors.js'
import {describeExit, LineProcess, type ExitInfo} from './child-process.js'
import {DeviceClock} from './device-clock.js'
import {effectiveInterval, type Boundary, type PowerSource, type SourceInfo, type StartContext} from './power-source.js'

/** The readings owbench takes from a powermetrics sample, in watts. */
export type PowermetricsKey = 'cpu' | 'gpu' | 'ane' | 'combined' | 'package' | 'dram' | 'dcs' | 'intel-package'

export interface PowermetricsSample {
  /** The sample's own `(1002.80ms elapsed)`: each reading is the average over that span. */
  elapsedMs: number
  /** The date in the sample header, as printed (seconds resolution, local time with offset). */
  date: string
  readings: Partial<Record<PowermetricsKey, number>>
  /** When the header line arrived (the caller's clock): powermetrics prints a sample when its span ends. */
  receivedAt?: number
}

const HEADER = /^\*\*\* Sampled system activity \((.*)\) \((\d+(?:\.\d+)?)ms elapsed\) \*\*\*$/
// Apple Silicon prints 'CPU Power: 947 mW'; Intel Macs '...package power (CPUs+GT+SA): 4.87W'.
const READING = /^(.+?):\s*(\d+(?:\.\d+)?)\s?(mW|W)$/
const LABELS: Record<string, PowermetricsKey> = {
  'CPU Power': 'cpu',
  'GPU Power': 'gpu',
  'ANE Power': 'ane',
  'Combined Power (CPU + GPU + ANE)': 'combined',
  'Package Power': 'package',
  'DRAM Power': 'dram',
  'DCS Power': 'dcs',
  'Intel energy model derived package power (CPUs+GT+SA)': 'intel-package',
}

/**
 * Reads powermetrics' text output line by line. A sample is complete when the next header
 * arrives, or, once the first sample has shown which reading comes last, as soon as that reading
 * arrives (so the last sample of a run is not held back an interval). `GPU Power` is printed twice
 * on macOS 15 (processor and GPU sections); the first one is kept.
 */
export class PowermetricsParser {
  private current: (PowermetricsSample & {seen: string[]}) | undefined
  private lastLabel: {label: string; occurrence: number} | undefined

  push(line: string, at?: number): PowermetricsSample[] {
    const trimmed = line.trim()
    const header = HEADER.exec(trimmed)
    if (header) {
      const done = this.finish()
      this.current = {date: header[1]!, elapsedMs: Number(header[2]), readings: {}, seen: [], ...(at !== undefined ? {receivedAt: at} : {})}
      return done
    }
    const current = this.current
    const reading = READING.exec(trimmed)
    if (!current || !reading) return []
    const label = reading[1]!
    current.seen.push(label)
    const key = LABELS[label]
    if (key && current.readings[key] === undefined) current.readings[key] = Number(reading[2]) / (reading[3] === 'mW' ? 1000 : 1)
    const last = this.lastLabel
    if (last && label === last.label && current.seen.filter((l) => l === label).length === last.occurrence) return this.finish()
    return []
  }

  /** The sample in progress, at the end of the stream. */
  end(): PowermetricsSample[] {
    return this.finish()
  }

  private finish(): PowermetricsSample[] {
    const current = this.current
    this.current = undefined
    if (!current || Object.keys(current.readings).length === 0) return []
    if (!this.lastLabel) {
      const label = current.seen.at(-1)!
      this.lastLabel = {label, occurrence: current.seen.filter((l) => l === label).length}
    }
    return [{date: current.date, elapsedMs: current.elapsedMs, readings: current.readings, ...(current.receivedAt !== undefined ? {receivedAt: current.receivedAt} : {})}]
  }
}

/** Parses a whole recorded output. */
export function parsePowermetrics(text: string): PowermetricsSample[] {
  const parser = new PowermetricsParser()
  return [...text.split(/\r?\n/).flatMap((line) => parser.push(line)), ...parser.end()]
}

interface SeriesSpec {
  boundary: Boundary
  field: string
  device: string
  part?: string
  /** Readings printed in the same sample that this one contains. */
  includes?: PowermetricsKey[]
  notes?: string[]
}

const ACCURACY_NOTE = "Apple's powermetrics man page: power values are estimated by the OS and may be inaccurate; compare them across Macs with care"

const SERIES: Record<PowermetricsKey, SeriesSpec> = {
  combined: {boundary: 'soc', field: 'Combined Power (CPU + GPU + ANE)', device: 'Apple Silicon SoC', includes: ['cpu', 'gpu', 'ane'], notes: ['CPU + GPU + ANE only: DRAM and the rest of the SoC are not included', ACCURACY_NOTE]},
  package: {boundary: 'soc', field: 'Package Power', device: 'Apple Silicon SoC', includes: ['cpu', 'gpu', 'ane'], notes: [ACCURACY_NOTE]},
  cpu: {boundary: 'cpu-package', field: 'CPU Power', device: 'Apple Silicon CPU clusters', notes: [ACCURACY_NOTE]},
  gpu: {boundary: 'gpu-board', field: 'GPU Power', device: 'Apple Silicon integrated GPU', notes: ['the on-die GPU: part of the SoC, not a separate board', ACCURACY_NOTE]},
  ane: {boundary: 'soc', field: 'ANE Power', device: 'Apple Neural Engine', part: 'ane'},
  dram: {boundary: 'dram', field: 'DRAM Power', device: 'Apple Silicon DRAM', notes: [ACCURACY_NOTE]},
  dcs: {boundary: 'soc', field: 'DCS Power', device: 'Apple Silicon DCS', part: 'dcs'},
  'intel-package': {
    boundary: 'cpu-package',
    field: 'Intel energy model derived package power (CPUs+GT+SA)',
    device: 'Intel CPU package (cores, integrated GPU, system agent)',
    notes: ['Intel Macs report one package figure from the energy model; a discrete GPU is not included'],
  },
}

export interface PowermetricsOptions {
  /** The executable (default 'powermetrics'). */
  command?: string
  /** Run through `sudo -n` (a NOPASSWD sudoers rule for powermetrics) when owbench is not root. */
  sudo?: boolean
  env?: NodeJS.ProcessEnv
  startTimeoutMs?: number
}

export function powermetricsArgs(intervalMs: number): string[] {
  // -b 1: line-buffered output, or a pipe would get it in 4 KB blocks that straddle samples.
  return ['--samplers', 'cpu_power,gpu_power', '-i', String(Math.round(intervalMs)), '-b', '1']
}

export const POWERMETRICS_SUDO_FIX =
  "powermetrics needs root: run owbench with sudo, or allow powermetrics without a password (sudo visudo, add '<you> ALL=(root) NOPASSWD: /usr/bin/powermetrics') and owbench calls it through sudo -n"

/**
 * Apple Silicon and Intel Mac power from ONE `powermetrics --samplers cpu_power,gpu_power -i N`
 * process. Each reading is the average over the sample's elapsed span, so it is stored as a step:
 * the value at both ends of its span. The trapezoid rule over those points gives back exactly
 * the energy powermetrics measured. Span ends come from summing the samples' own elapsed times,
 * mapped onto the sampler clock.
 */
export class PowermetricsSource implements PowerSource {
  readonly name = 'powermetrics'
  readonly minIntervalMs = 100
  private child: LineProcess | undefined
  private context: StartContext | undefined
  private exit: ExitInfo | undefined
  private ids = new Map<PowermetricsKey, string>()
  private deviceMs = 0
  /** Samples that arrive while start() is still naming the series. */
  private pending: {sample: PowermetricsSample; at: number}[] | undefined = []
  private readonly deviceClock = new DeviceClock({slackMs: 50})

  constructor(private readonly options: PowermetricsOptions = {}) {}

  async start(context: StartContext): Promise<SourceInfo[]> {
    this.context = context
    const interval = effectiveInterval(context.intervalMs, this.minIntervalMs)
    const parser = new PowermetricsParser()
    const command = this.options.sudo ? 'sudo' : (this.options.command ?? 'powermetrics')
    const args = this.options.sudo ? ['-n', this.options.command ?? 'powermetrics', ...powermetricsArgs(interval)] : powermetricsArgs(interval)
    const first = await new Promise<{sample: PowermetricsSample; at: number} | {exit: ExitInfo} | {timedOut: true}>((resolve) => {
      let settled = false
      const settle = (value: {sample: PowermetricsSample; at: number} | {exit: ExitInfo} | {timedOut: true}) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(value)
      }
      const child = new LineProcess(
        command,
        args,
        (line) => {
          const now = context.clock()
          for (const sample of parser.push(line, now)) {
            // The header arrives when the span ends; the sample may only be known complete later.
            const at = sample.receivedAt ?? now
            if (!settled) settle({sample, at})
            else if (this.pending) this.pending.push({sample, at})
            else this.onSample(sample, at)
          }
        },
        {env: this.options.env},
      )
      this.child = child
      const timer = setTimeout(() => {
        settle({timedOut: true})
        void child.stop()
      }, this.options.startTimeoutMs ?? Math.max(10_000, 3 * interval))
      void child.exited.then((exit) => {
        this.exit = exit
        settle({exit})
        if (!child.isStopping) this.failAll(describeExit('powermetrics', exit))
      })
    })
    if ('timedOut' in first) throw new UserError(`powermetrics printed no sample within ${Math.max(10, (3 * interval) / 1000)} s`, 'check that it runs on its own: sudo powermetrics --samplers cpu_power,gpu_power -i 1000 -n 1')
    if ('exit' in first) {
      const notRoot = typeof process.getuid === 'function' && process.getuid() !== 0
      throw new UserError(describeExit('powermetrics', first.exit), notRoot || this.options.sudo ? POWERMETRICS_SUDO_FIX : 'check that it runs on its own: sudo powermetrics --samplers cpu_power,gpu_power -i 1000 -n 1')
    }
    const infos: SourceInfo[] = []
    for (const key of Object.keys(first.sample.readings) as PowermetricsKey[]) {
      const spec = SERIES[key]
      const id = `powermetrics:${key}`
      this.ids.set(key, id)
      infos.push({
        id,
        kind: 'powermetrics',
        boundary: spec.boundary,
        method: 'sampled',
        unit: 'W',
        intervalMs: interval,
        updateMs: interval,
        averagingMs: interval,
        device: spec.device,
        field: spec.field,
        ...(spec.part ? {part: spec.part} : {}),
        ...(spec.includes ? {includes: spec.includes.filter((k) => first.sample.readings[k] !== undefined).map((k) => `powermetrics:${k}`)} : {}),
        notes: ['each reading is the average over its sample span (stored as a step)', ...(spec.notes ?? [])],
      })
    }
    this.onSample(first.sample, first.at)
    for (const {sample, at} of this.pending ?? []) this.onSample(sample, at)
    this.pending = undefined
    if (this.exit && !this.child?.isStopping) this.failAll(describeExit('powermetrics', this.exit))
    return infos
  }

  async stop(): Promise<void> {
    const child = this.child
    this.child = undefined
    if (child) await child.stop()
  }

  private onSample(sample: PowermetricsSample, arrival: number): void {
    const context = this.context
    if (!context) return
    const startMs = this.deviceMs
    this.deviceMs += sample.elapsedMs
    // Both ends from the same offset, so a span starts exactly where the one before ended.
    const offset = this.deviceClock.offsetFor(this.deviceMs, arrival)
    const start = startMs + offset
    const end = this.deviceMs + offset
    for (const [key, watts] of Object.entries(sample.readings) as [PowermetricsKey, number][]) {
      const id = this.ids.get(key)
      if (!id) continue
      context.sink.sample(id, start, watts)
      context.sink.sample(id, end, watts)
    }
  }

  private failAll(reason: string): void {
    const context = this.context
    if (!context) return
    for (const id of this.ids.values()) context.sink.failure(id, context.clock(), reason)
  }
}
