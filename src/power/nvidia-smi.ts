import {UserError} from '../errors/errors.js'
import {describeExit, LineProcess, type ExitInfo} from './child-process.js'
import {DeviceClock} from './device-clock.js'
import {effectiveInterval, type PowerSource, type SourceInfo, type StartContext, type UncoveredDevice} from './power-source.js'

/**
 * One row of `nvidia-smi --query-gpu=... --format=csv[,nounits][,noheader]`, by header name.
 * Values stay strings; `nvidiaNumber` reads them.
 */
export type NvidiaRow = Record<string, string>

/**
 * Header names as nvidia-smi prints them, without the unit bracket: `power.draw [W]` -> `power.draw`.
 * Aliases come back expanded (`gpu_name` -> `name`), so callers look fields up by the long name.
 */
export function nvidiaHeader(line: string): string[] {
  return splitCsv(line).map((h) => h.replace(/\s*\[[^\]]*\]$/, '').trim())
}

/** Parses a whole CSV output (header first, as `--format=csv` prints it; one or many rows). */
export function parseNvidiaCsv(text: string): NvidiaRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '')
  const header = lines[0]
  if (header === undefined) return []
  const names = nvidiaHeader(header)
  return lines.slice(1).map((line) => toRow(names, line))
}

function toRow(names: readonly string[], line: string): NvidiaRow {
  const values = splitCsv(line)
  // A GPU name could hold a comma; it is the last field we ask for, so the rest of the line is its value.
  if (values.length > names.length && names.at(-1) === 'name') values.splice(names.length - 1, values.length, values.slice(names.length - 1).join(', '))
  const row: NvidiaRow = {}
  names.forEach((name, i) => (row[name] = values[i] ?? ''))
  return row
}

/** nvidia-smi separates fields with ", "; values never start with a space. */
function splitCsv(line: string): string[] {
  return line.split(',').map((v) => v.trim())
}

/**
 * A number from a field with or without its unit ('631.95 W', '631.95'); undefined for the
 * bracketed non-values ('[N/A]', '[Not Supported]', '[Requested functionality has been deprecated]').
 */
export function nvidiaNumber(value: string | undefined): number | undefined {
  if (value === undefined || value.startsWith('[')) return undefined
  const match = /^(-?\d+(?:\.\d+)?)(?:\s*[A-Za-z%/]+)?$/.exec(value.trim())
  return match ? Number(match[1]) : undefined
}

/** nvidia-smi's `timestamp` ('2026/07/14 08:12:53.353', local time) in epoch ms. */
export function nvidiaTimestamp(value: string | undefined): number | undefined {
  const m = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/.exec(value?.trim() ?? '')
  if (!m) return undefined
  const [, y, mo, d, h, mi, s, ms] = m
  return new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number((ms ?? '0').padEnd(3, '0'))).getTime()
}

/**
 * The power field to trust for one GPU, from its first row. `power.draw.instant` where the driver
 * has it (a number, not [N/A]): on Ampere and newer `power.draw` is a 1 s average, which smears
 * short phases. Otherwise `power.draw`.
 */
export function choosePowerField(row: NvidiaRow): {field: 'power.draw.instant' | 'power.draw'; note?: string} | undefined {
  if (nvidiaNumber(row['power.draw.instant']) !== undefined) return {field: 'power.draw.instant'}
  if (nvidiaNumber(row['power.draw']) !== undefined) {
    return {
      field: 'power.draw',
      note: 'power.draw.instant is not available on this driver/GPU; power.draw is a 1 s average on Ampere and newer GPUs, so phases shorter than about 1 s are smoothed',
    }
  }
  return undefined
}

/** From nvidia-smi's own field list (captured on driver 580): every power.draw* field says so. */
const ACCURACY_NOTE = 'nvidia-smi: accurate to within +/- 5 W'

export const NVIDIA_FIELDS_INSTANT = ['index', 'timestamp', 'power.draw', 'power.draw.instant', 'name'] as const
export const NVIDIA_FIELDS_BASIC = ['index', 'timestamp', 'power.draw', 'name'] as const

/** The one long-running query: a header line, then one row per GPU every `intervalMs`. */
export function nvidiaSmiArgs(fields: readonly string[], intervalMs: number): string[] {
  return [`--query-gpu=${fields.join(',')}`, '--format=csv,nounits', '-lms', String(Math.round(intervalMs))]
}

export interface NvidiaSmiOptions {
  /** The executable (default 'nvidia-smi', looked up on PATH). */
  command?: string
  env?: NodeJS.ProcessEnv
  /** How long to wait for the first rows (the driver can take seconds to wake GPUs without persistence mode). */
  startTimeoutMs?: number
}

interface GpuSeries {
  id: string
  field: 'power.draw.instant' | 'power.draw'
}

type FirstBatch = {rows: NvidiaRow[]} | {exit: ExitInfo; timedOut: boolean}

/** Where a row's arrival time travels with it (not an nvidia-smi field). */
const ARRIVAL = '\u0000arrival'

/**
 * GPU board power from ONE `nvidia-smi --query-gpu=... -lms N` process for all GPUs. A driver that
 * does not know `power.draw.instant` rejects the whole query at once (exit code 2, `Field "..." is
 * not a valid field to query.`, as captured on driver 580); the query is then retried with
 * `power.draw` alone. nvidia-smi has no energy counter field (none in the recorded 590/595 lists nor
 * the captured 580 `--help-query-gpu`; the counter exists only in NVML), so this is a sampled source.
 */
export class NvidiaSmiSource implements PowerSource {
  readonly name = 'nvidia-smi'
  readonly minIntervalMs = 100
  private child: LineProcess | undefined
  private exit: ExitInfo | undefined
  /** Rows that arrive while start() is still naming the series. */
  private pending: NvidiaRow[] | undefined = []
  private series = new Map<string, GpuSeries>()
  uncovered: UncoveredDevice[] = []
  private context: StartContext | undefined
  private readonly deviceClock = new DeviceClock()

  constructor(private readonly options: NvidiaSmiOptions = {}) {}

  async start(context: StartContext): Promise<SourceInfo[]> {
    this.context = context
    const interval = effectiveInterval(context.intervalMs, this.minIntervalMs)
    let first = await this.launch(NVIDIA_FIELDS_INSTANT, interval)
    if ('exit' in first && !first.timedOut) first = await this.launch(NVIDIA_FIELDS_BASIC, interval)
    if ('exit' in first) {
      if (first.timedOut) throw new UserError(`nvidia-smi printed no reading within ${this.startTimeoutMs / 1000} s`, 'check that nvidia-smi answers on its own; enabling persistence mode (sudo nvidia-smi -pm 1) speeds up the first query')
      throw new UserError(describeExit('nvidia-smi', first.exit), 'check that the NVIDIA driver is loaded: nvidia-smi must run on its own')
    }
    const infos: SourceInfo[] = []
    const skipped: string[] = []
    const seen = new Set<string>()
    for (const row of first.rows) {
      const index = row['index'] ?? ''
      if (seen.has(index)) continue
      seen.add(index)
      const choice = choosePowerField(row)
      if (!choice) {
        const said = row['power.draw.instant'] ?? row['power.draw'] ?? ''
        skipped.push(`GPU ${index} (${row['name'] ?? '?'}) reports no power reading`)
        this.uncovered.push({source: 'nvidia-smi', boundary: 'gpu-board', device: `${row['name'] ?? 'NVIDIA GPU'} (GPU ${index})`, reason: `power.draw ${said || 'missing'}`})
        continue
      }
      const id = `nvidia:${index}`
      this.series.set(index, {id, field: choice.field})
      infos.push({
        id,
        kind: 'nvidia-smi',
        boundary: 'gpu-board',
        method: 'sampled',
        unit: 'W',
        intervalMs: interval,
        // arXiv 2312.02741 ("Part-time Power Measurements"): the board's power reading refreshes about every 100 ms;
        // power.draw is additionally a 1 s average on Ampere and newer (nvidia-smi --help-query-gpu).
        updateMs: 100,
        ...(choice.field === 'power.draw' ? {averagingMs: 1000} : {}),
        device: `${row['name'] ?? 'NVIDIA GPU'} (GPU ${index})`,
        field: choice.field,
        notes: [...(choice.note ? [choice.note] : []), ACCURACY_NOTE],
      })
    }
    if (infos.length === 0) {
      await this.stop()
      throw new UserError(`nvidia-smi reports no power readings: ${skipped.join('; ')}`, 'this GPU or driver does not expose power draw; use a wall meter (--meter shelly://IP) instead')
    }
    for (const row of [...first.rows, ...(this.pending ?? [])]) this.onRow(row)
    this.pending = undefined
    // The process may have died between its first rows and now.
    if (this.exit && !this.child?.isStopping) this.failAll(describeExit('nvidia-smi', this.exit))
    return infos
  }

  async stop(): Promise<void> {
    const child = this.child
    this.child = undefined
    if (child) await child.stop()
  }

  private get startTimeoutMs(): number {
    return this.options.startTimeoutMs ?? 15_000
  }

  private launch(fields: readonly string[], interval: number): Promise<FirstBatch> {
    const context = this.context!
    this.exit = undefined
    return new Promise((resolve) => {
      let names: string[] | undefined
      let firstLine = ''
      const rows: NvidiaRow[] = []
      let settled = false
      let timedOut = false
      let batchTimer: ReturnType<typeof setTimeout> | undefined
      const settle = (result: FirstBatch) => {
        if (settled) return
        settled = true
        clearTimeout(startTimer)
        if (batchTimer) clearTimeout(batchTimer)
        resolve(result)
      }
      const child = new LineProcess(
        this.options.command ?? 'nvidia-smi',
        nvidiaSmiArgs(fields, interval),
        (line) => {
          if (line.trim() === '') return
          if (!names) {
            firstLine = line.trim()
            names = nvidiaHeader(line)
            return
          }
          const row = toRow(names, line)
          row[ARRIVAL] = String(context.clock())
          if (settled) return this.pending ? void this.pending.push(row) : this.onRow(row)
          // The first loop prints every GPU once: a repeated index means the list is complete.
          if (rows.some((r) => r['index'] === row['index'])) {
            rows.push(row)
            settle({rows})
            return
          }
          rows.push(row)
          batchTimer ??= setTimeout(() => settle({rows}), interval + 1000)
        },
        {env: this.options.env},
      )
      const startTimer = setTimeout(() => {
        timedOut = true
        void child.stop()
      }, this.startTimeoutMs)
      void child.exited.then((exit) => {
        if (this.child === child) this.exit = exit
        // An unknown field is reported in one line that may come on stdout, where it was taken for the header.
        const said = exit.stderr || (names ? firstLine : '')
        if (!settled) return rows.length > 0 ? settle({rows}) : settle({exit: {...exit, stderr: said}, timedOut})
        if (this.child === child && !child.isStopping) this.failAll(describeExit('nvidia-smi', exit))
      })
      this.child = child
    })
  }

  private onRow(row: NvidiaRow): void {
    const context = this.context
    const series = this.series.get(row['index'] ?? '')
    if (!context || !series) return
    const watts = nvidiaNumber(row[series.field])
    if (watts === undefined) return
    const arrival = Number(row[ARRIVAL] ?? context.clock())
    const device = nvidiaTimestamp(row['timestamp'])
    context.sink.sample(series.id, device === undefined ? arrival : this.deviceClock.map(device, arrival), watts)
  }

  private failAll(reason: string): void {
    const context = this.context
    if (!context) return
    for (const series of this.series.values()) context.sink.failure(series.id, context.clock(), reason)
  }
}
