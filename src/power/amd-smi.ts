import {UserError} from '../errors/errors.js'
import {describeExit, runCommand} from './child-process.js'
import {PollLoop} from './poll-loop.js'
import {effectiveInterval, type PowerSource, type SourceInfo, type StartContext} from './power-source.js'

/** One GPU's power as an AMD tool reported it. */
export interface AmdGpuPower {
  /** 'card0' (rocm-smi) or the amd-smi index as a string. */
  gpu: string
  /** Watts, or undefined when the tool printed N/A (secondary die, partition, unsupported). */
  watts: number | undefined
  /** The key read: 'socket_power', 'Average Graphics Package Power (W)', ... */
  field: string | undefined
  /** Why there is no value ('N/A (Secondary die)'). */
  unavailable?: string
  name?: string
}

/**
 * `rocm-smi --showpower --json` (and any other rocm-smi --json): `{"card0": {...}, "system": {...}}`,
 * every value a string, units in the key. The key depends on GPU and ROCm version:
 * `Average Graphics Package Power (W)` on discrete cards, `Current Socket Graphics Package Power (W)`
 * on MI300 and APUs; both can occur in one run. `N/A (Secondary die)` is printed for MI250's second
 * GCD (the first one reports the whole package) and, through a ROCm 6.0.x bug, for single-die cards.
 */
export function parseRocmSmiJson(text: string): AmdGpuPower[] {
  const data: unknown = JSON.parse(stripBanner(text))
  if (!isRecord(data)) throw new Error('rocm-smi JSON is not an object')
  const out: AmdGpuPower[] = []
  for (const [card, value] of Object.entries(data)) {
    if (!/^card\d+$/.test(card) || !isRecord(value)) continue
    const keys = Object.keys(value)
    const field = keys.find((k) => /^Current Socket Graphics Package Power \(W\)$/i.test(k)) ?? keys.find((k) => /^Average Graphics Package Power \(W\)$/i.test(k))
    const raw = field === undefined ? undefined : value[field]
    const watts = typeof raw === 'string' && /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : undefined
    const name = [value['Device Name'], value['Card series'], value['Card model']].find((v): v is string => typeof v === 'string' && !v.startsWith('0x'))
    out.push({gpu: card, watts, field, ...(watts === undefined ? {unavailable: typeof raw === 'string' ? raw : 'no power key'} : {}), ...(name ? {name} : {})})
  }
  return out.sort((a, b) => Number(a.gpu.slice(4)) - Number(b.gpu.slice(4)))
}

/**
 * `amd-smi metric -p --json` in every recorded shape: a bare list (ROCm 6.1-6.4), the list wrapped
 * in `{"gpu_data": [...]}` (AMDSMI 26.x / ROCm 7), a non-JSON banner line first (watch mode),
 * readings as `{"value": N, "unit": "W"}` (6.1+) or bare numbers (before 6.1), and the bare
 * string "N/A" where a reading is unavailable.
 */
export function parseAmdSmiJson(text: string): AmdGpuPower[] {
  const data: unknown = JSON.parse(stripBanner(text))
  const list = Array.isArray(data) ? data : isRecord(data) && Array.isArray(data['gpu_data']) ? data['gpu_data'] : undefined
  if (!list) throw new Error('amd-smi JSON is neither a list nor {"gpu_data": [...]}')
  const out: AmdGpuPower[] = []
  for (const entry of list) {
    if (!isRecord(entry)) continue
    const gpu = String(entry['gpu'] ?? out.length)
    const power = entry['power']
    if (!isRecord(power)) {
      out.push({gpu, watts: undefined, field: undefined, unavailable: typeof power === 'string' ? power : 'no power block'})
      continue
    }
    const field = ['socket_power', 'current_socket_power', 'average_socket_power'].find((k) => k in power)
    const reading = field ? amdReading(power[field]) : undefined
    out.push({gpu, watts: reading, field, ...(reading === undefined ? {unavailable: field ? JSON.stringify(power[field]) : 'no socket_power key'} : {})})
  }
  return out
}

/** `{"value": 10, "unit": "W"}`, a bare number, or "N/A". */
function amdReading(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (isRecord(value) && typeof value['value'] === 'number' && Number.isFinite(value['value'])) {
    const unit = typeof value['unit'] === 'string' ? value['unit'] : 'W'
    if (unit === 'W') return value['value']
    if (unit === 'mW') return value['value'] / 1000
    if (unit === 'uW' || unit === 'µW') return value['value'] / 1e6
  }
  return undefined
}

/** Drops lines before the JSON starts (`'CTRL' + 'C' to stop watching output:` in watch mode). */
function stripBanner(text: string): string {
  const start = text.search(/^\s*[[{]/m)
  return start < 0 ? text : text.slice(start)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export type AmdTool = 'amd-smi' | 'rocm-smi'

export const AMD_TOOL_ARGS: Record<AmdTool, string[]> = {
  'amd-smi': ['metric', '-p', '--json'],
  'rocm-smi': ['--showpower', '--json'],
}

export interface AmdGpuOptions {
  tool: AmdTool
  /** The executable; defaults to the tool's name on PATH. */
  command?: string
  env?: NodeJS.ProcessEnv
}

/**
 * GPU package power from amd-smi or rocm-smi. Neither has a reliable streaming JSON mode (amd-smi's
 * watch-mode JSON was broken until ROCm/rocm-systems#2720), so the tool is run once per interval,
 * never two at once. Each run is a Python start-up, hence the 1 s floor. The reading is stamped
 * when the output is complete.
 */
export class AmdGpuSource implements PowerSource {
  readonly name: string
  readonly minIntervalMs = 1000
  private loop: PollLoop | undefined
  private series = new Map<string, string>()
  private context: StartContext | undefined
  private failed = false

  constructor(private readonly options: AmdGpuOptions) {
    this.name = options.tool
  }

  async start(context: StartContext): Promise<SourceInfo[]> {
    this.context = context
    const first = await this.query()
    if ('error' in first) throw new UserError(first.error, `check that ${this.options.tool} runs on its own (${this.options.tool} ${AMD_TOOL_ARGS[this.options.tool].join(' ')})`)
    const usable = first.gpus.filter((g) => g.watts !== undefined)
    if (usable.length === 0) {
      const why = first.gpus.map((g) => `GPU ${g.gpu}: ${g.unavailable ?? 'no reading'}`).join('; ') || 'no GPU listed'
      throw new UserError(`${this.options.tool} reports no GPU power (${why})`, 'ROCm 6.0.x prints "N/A (Secondary die)" on single-die cards: update ROCm to 6.1 or newer, or use a wall meter (--meter shelly://IP)')
    }
    const interval = effectiveInterval(context.intervalMs, this.minIntervalMs)
    const infos = usable.map((g): SourceInfo => {
      const id = `amd:${g.gpu.replace(/^card/, '')}`
      this.series.set(g.gpu, id)
      const notes = [
        ...(g.field && /average/i.test(g.field) ? ['the GPU firmware averages this reading (about 1 s), so short phases are smoothed'] : []),
        ...(first.gpus.some((o) => o.unavailable?.includes('Secondary die')) ? ['on multi-die GPUs (MI250) the primary die reports the whole package; secondary dies print N/A and are not double counted'] : []),
      ]
      return {
        id,
        kind: this.options.tool,
        boundary: 'gpu-board',
        method: 'sampled',
        unit: 'W',
        intervalMs: interval,
        updateMs: interval,
        ...(g.field && /average/i.test(g.field) ? {averagingMs: 1000} : {}),
        device: g.name ? `${g.name} (${g.gpu})` : `AMD GPU ${g.gpu}`,
        ...(g.field ? {field: g.field} : {}),
        ...(notes.length > 0 ? {notes} : {}),
      }
    })
    for (const g of usable) context.sink.sample(this.series.get(g.gpu)!, first.at, g.watts!)
    this.loop = new PollLoop(interval, () => this.poll())
    this.loop.start({skipFirst: true})
    return infos
  }

  async stop(): Promise<void> {
    const loop = this.loop
    this.loop = undefined
    this.context = undefined
    await loop?.stop()
  }

  private async poll(): Promise<void> {
    const context = this.context
    if (!context || this.failed) return
    const result = await this.query()
    if (this.context !== context) return
    if ('error' in result) {
      this.failed = true
      for (const id of this.series.values()) context.sink.failure(id, context.clock(), result.error)
      void this.loop?.stop()
      return
    }
    for (const g of result.gpus) {
      const id = this.series.get(g.gpu)
      if (id && g.watts !== undefined) context.sink.sample(id, result.at, g.watts)
    }
  }

  private async query(): Promise<{gpus: AmdGpuPower[]; at: number} | {error: string}> {
    const tool = this.options.tool
    const result = await runCommand(this.options.command ?? tool, AMD_TOOL_ARGS[tool], {env: this.options.env, timeoutMs: 10_000})
    const at = this.context?.clock() ?? 0
    if (result.code !== 0) return {error: result.timedOut ? `${tool} did not answer within 10 s` : describeExit(tool, result)}
    try {
      return {gpus: tool === 'amd-smi' ? parseAmdSmiJson(result.stdout) : parseRocmSmiJson(result.stdout), at}
    } catch (error) {
      return {error: `${tool} printed output owbench cannot read: ${error instanceof Error ? error.message : String(error)}`}
    }
  }
}
