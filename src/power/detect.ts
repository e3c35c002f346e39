import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {parseAmdSmiJson, parseRocmSmiJson, AMD_TOOL_ARGS, type AmdTool} from './amd-smi.js'
import {runCommand, describeExit, type CommandResult} from './child-process.js'
import {loadTdpTable, matchCpuTdp, type TdpRow} from './cpu-tdp.js'
import {isUserError} from '../errors/errors.js'
import {choosePowerField, NVIDIA_FIELDS_BASIC, parseNvidiaCsv} from './nvidia-smi.js'
import {NvmlSource} from './nvml.js'
import {POWERMETRICS_SUDO_FIX} from './powermetrics.js'
import type {Boundary, Method} from './power-source.js'
import {DEFAULT_POWERCAP_ROOT, nodePowercapFs, probeRapl, raplPermissionFix, type PowercapFs} from './rapl.js'

export type DetectedKind = 'rapl' | 'nvml' | 'nvidia-smi' | 'amd-smi' | 'rocm-smi' | 'powermetrics' | 'wall-meter' | 'cpu-tdp' | 'constant'

/** One line of `owbench doctor`: can this source be used here, why (not), and how to enable it. */
export interface Detection {
  kind: DetectedKind
  status: 'available' | 'unavailable'
  /** What was found, or why it cannot be used. */
  reason: string
  /** The exact command or step that makes it available. */
  fix?: string
  /** How to ask for it (a --meter value or flag). */
  spec: string
  method: Method
  boundaries: Boundary[]
  /** powermetrics only: it is usable through `sudo -n`. */
  sudo?: boolean
}

export type Exec = (command: string, args: readonly string[], options: {env?: NodeJS.ProcessEnv; timeoutMs?: number}) => Promise<CommandResult>

export interface DetectOptions {
  powercapRoot?: string
  fs?: PowercapFs
  /** PATH and the rest of the environment tools are looked up and run with. */
  env?: NodeJS.ProcessEnv
  platform?: NodeJS.Platform
  /** Effective user id (undefined on Windows). */
  uid?: number
  exec?: Exec
  cpuModel?: string
  tdpTable?: readonly TdpRow[]
}

/** The full path of an executable on PATH, or undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env['PATH'] ?? '').split(path.delimiter)) {
    if (!dir) continue
    const candidate = path.join(dir, name)
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      if (fs.statSync(candidate).isFile()) return candidate
    } catch {
      // Not here.
    }
  }
  return undefined
}

/**
 * Looks for every kind of power source without starting any: each tool is run once, briefly.
 * Nothing is thrown; every finding is a Detection.
 */
export async function detectPowerSources(options: DetectOptions = {}): Promise<Detection[]> {
  const env = options.env ?? process.env
  const exec: Exec = options.exec ?? ((command, args, o) => runCommand(command, args, o))
  const platform = options.platform ?? process.platform
  const uid = options.uid ?? (typeof process.getuid === 'function' ? process.getuid() : undefined)
  const results = await Promise.all([
    detectRapl(options.powercapRoot ?? DEFAULT_POWERCAP_ROOT, options.fs ?? nodePowercapFs, platform),
    detectNvml(env),
    detectNvidia(env, exec),
    detectAmd('amd-smi', env, exec),
    detectAmd('rocm-smi', env, exec),
    detectPowermetrics(env, exec, platform, uid),
  ])
  return [
    ...results,
    {
      kind: 'wall-meter',
      status: 'unavailable',
      reason: 'a wall plug is never found on its own (owbench does not scan the network)',
      fix: 'give its address: --meter shelly://192.168.1.20 (Shelly Gen1-Gen4 with metering) or --meter tasmota://192.168.1.21',
      spec: 'shelly://IP | tasmota://IP',
      method: 'sampled',
      boundaries: ['wall'],
    },
    detectCpuTdp(options.cpuModel ?? os.cpus()[0]?.model ?? '', options.tdpTable),
    {
      kind: 'constant',
      status: 'available',
      reason: 'a declared draw is always possible, and always labelled estimated',
      spec: 'watts:N',
      method: 'estimated',
      boundaries: ['wall'],
    },
  ]
}

function detectRapl(root: string, fsx: PowercapFs, platform: NodeJS.Platform): Detection {
  const base = {kind: 'rapl' as const, spec: 'rapl', method: 'counter' as const}
  if (platform !== 'linux') return {...base, status: 'unavailable', reason: 'RAPL counters are read through Linux powercap', boundaries: []}
  const probe = probeRapl(root, fsx)
  const boundaries = [...new Set(probe.zones.filter((z) => !z.part).map((z) => z.boundary))]
  if (probe.zones.length === 0) {
    return {...base, status: 'unavailable', reason: `no RAPL zones under ${root}`, fix: 'sudo modprobe intel_rapl_msr (Intel, or AMD Zen on Linux 5.8+); in a VM or container the host must expose them', boundaries}
  }
  const names = (zones: typeof probe.zones) => zones.map((z) => `${z.zone} (${z.name})`).join(', ')
  if (probe.readable.length === 0 && probe.denied.length > 0) {
    return {...base, status: 'unavailable', reason: `energy_uj is readable by root only: ${names(probe.denied)}`, fix: raplPermissionFix(probe.denied, root), boundaries}
  }
  if (probe.readable.length === 0) return {...base, status: 'unavailable', reason: `energy_uj cannot be read: ${probe.errors.join('; ')}`, boundaries}
  return {...base, status: 'available', reason: `counters: ${names(probe.readable)}`, boundaries}
}

/** Available when libnvidia-ml loads and every GPU has the energy counter (Volta and newer); else nvidia-smi is the meter. */
async function detectNvml(env: NodeJS.ProcessEnv): Promise<Detection> {
  const base = {kind: 'nvml' as const, spec: 'nvml', method: 'counter' as const, boundaries: ['gpu-board' as const]}
  const source = new NvmlSource({env})
  try {
    const infos = await source.start({clock: () => performance.now(), intervalMs: 1000, sink: {sample() {}, failure() {}}})
    const uncovered = source.uncovered
    await source.stop()
    if (uncovered.length > 0) return {...base, status: 'unavailable', reason: `not every GPU has an energy counter: ${uncovered.map((u) => `${u.device}: ${u.reason}`).join('; ')}`, fix: 'nvidia-smi samples power on every GPU (--meter nvidia)'}
    return {...base, status: 'available', reason: `energy counters: ${infos.map((i) => i.device).join(', ')}`}
  } catch (error) {
    await source.stop().catch(() => {})
    return {...base, status: 'unavailable', reason: error instanceof Error ? error.message : String(error), ...(isUserError(error) && error.hint ? {fix: error.hint} : {})}
  }
}

async function detectNvidia(env: NodeJS.ProcessEnv, exec: Exec): Promise<Detection> {
  const base = {kind: 'nvidia-smi' as const, spec: 'nvidia', method: 'sampled' as const, boundaries: ['gpu-board' as const]}
  if (!findOnPath('nvidia-smi', env)) return {...base, status: 'unavailable', reason: 'nvidia-smi is not on PATH', fix: 'install the NVIDIA driver (nvidia-smi comes with it)'}
  // The instant field first; drivers that do not know it reject the whole query.
  let result = await exec('nvidia-smi', ['--query-gpu=index,power.draw,power.draw.instant,name', '--format=csv,nounits'], {env, timeoutMs: 15_000})
  if (result.code !== 0) result = await exec('nvidia-smi', [`--query-gpu=${NVIDIA_FIELDS_BASIC.filter((f) => f !== 'timestamp').join(',')}`, '--format=csv,nounits'], {env, timeoutMs: 15_000})
  if (result.code !== 0) return {...base, status: 'unavailable', reason: describeExit('nvidia-smi', result), fix: 'check that the NVIDIA driver is loaded (nvidia-smi must run on its own)'}
  const gpus = parseNvidiaCsv(result.stdout).map((row) => ({row, choice: choosePowerField(row)}))
  const usable = gpus.filter((g) => g.choice)
  if (usable.length === 0) return {...base, status: 'unavailable', reason: `no GPU reports power draw (${gpus.length} GPU(s) listed)`, fix: 'use a wall meter instead'}
  return {...base, status: 'available', reason: usable.map((g) => `GPU ${g.row['index']} ${g.row['name']}: ${g.choice!.field}`).join('; ')}
}

async function detectAmd(tool: AmdTool, env: NodeJS.ProcessEnv, exec: Exec): Promise<Detection> {
  const base = {kind: tool, spec: tool, method: 'sampled' as const, boundaries: ['gpu-board' as const]}
  if (!findOnPath(tool, env)) return {...base, status: 'unavailable', reason: `${tool} is not on PATH`, fix: 'install ROCm (amd-smi from ROCm 6.1, rocm-smi before)'}
  const result = await exec(tool, AMD_TOOL_ARGS[tool], {env, timeoutMs: 15_000})
  if (result.code !== 0) return {...base, status: 'unavailable', reason: describeExit(tool, result)}
  try {
    const gpus = tool === 'amd-smi' ? parseAmdSmiJson(result.stdout) : parseRocmSmiJson(result.stdout)
    const usable = gpus.filter((g) => g.watts !== undefined)
    if (usable.length === 0) {
      return {...base, status: 'unavailable', reason: `no GPU power: ${gpus.map((g) => `${g.gpu}: ${g.unavailable}`).join('; ') || 'no GPU listed'}`, fix: 'ROCm 6.0.x prints N/A (Secondary die) on single-die cards: update ROCm to 6.1 or newer'}
    }
    return {...base, status: 'available', reason: usable.map((g) => `GPU ${g.gpu}: ${g.field}`).join('; ')}
  } catch (error) {
    return {...base, status: 'unavailable', reason: `${tool} printed output owbench cannot read: ${error instanceof Error ? error.message : String(error)}`}
  }
}

async function detectPowermetrics(env: NodeJS.ProcessEnv, exec: Exec, platform: NodeJS.Platform, uid: number | undefined): Promise<Detection> {
  const base = {kind: 'powermetrics' as const, spec: 'powermetrics', method: 'sampled' as const, boundaries: ['soc', 'cpu-package', 'gpu-board'] as Boundary[]}
  if (platform !== 'darwin') return {...base, status: 'unavailable', reason: 'powermetrics is macOS only'}
  const tool = findOnPath('powermetrics', env)
  if (!tool) return {...base, status: 'unavailable', reason: 'powermetrics is not on PATH (it is in /usr/bin on macOS)', fix: 'add /usr/bin to PATH'}
  if (uid === 0) return {...base, status: 'available', reason: 'running as root'}
  // -l with a command: exit 0 (and the path) when sudoers lets this user run it; -n: never prompt.
  const allowed = await exec('sudo', ['-n', '-l', tool], {env, timeoutMs: 5000})
  if (allowed.code === 0) return {...base, status: 'available', reason: 'allowed through sudo -n (sudoers NOPASSWD rule)', sudo: true}
  return {...base, status: 'unavailable', reason: 'powermetrics needs root', fix: POWERMETRICS_SUDO_FIX}
}

function detectCpuTdp(model: string, table?: readonly TdpRow[]): Detection {
  const base = {kind: 'cpu-tdp' as const, spec: 'cpu-tdp', method: 'estimated' as const, boundaries: ['cpu-package' as const]}
  const match = matchCpuTdp(model, table ?? loadTdpTable())
  if (!match.matched) return {...base, status: 'unavailable', reason: match.reason, fix: 'declare the draw with --watts N, or use a meter'}
  return {...base, status: 'available', reason: `estimate: TDP ${match.row.tdpWatts} W ('${match.row.name}') x CPU utilization`}
}
