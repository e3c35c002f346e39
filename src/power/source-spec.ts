import {UserError} from '../errors/errors.js'
import {AmdGpuSource} from './amd-smi.js'
import {CommandSource} from './command-source.js'
import {ConstantSource} from './constant-source.js'
import {CpuEstimateSource} from './cpu-estimate-source.js'
import type {Detection} from './detect.js'
import {NvidiaSmiSource} from './nvidia-smi.js'
import {NvmlSource} from './nvml.js'
import {BOUNDARIES, type Boundary, type PowerSource} from './power-source.js'
import {PowermetricsSource} from './powermetrics.js'
import {RaplSource} from './rapl.js'
import {shellySource} from './shelly.js'
import {tasmotaSource} from './tasmota.js'

export const SOURCE_SPEC_HELP =
  "rapl | nvml | nvidia | amd-smi | rocm-smi | powermetrics | shelly://IP[?id=N] | tasmota://IP[?channel=N] | cmd:'COMMAND'[@boundary] | watts:N[@boundary] | cpu-tdp"

/**
 * A source from what the user typed (`--meter` values). `@boundary` at the end of a cmd: or
 * watts: spec says where that meter sits (default wall).
 */
export function parseSourceSpec(spec: string, options: {env?: NodeJS.ProcessEnv} = {}): PowerSource {
  const text = spec.trim()
  const lower = text.toLowerCase()
  if (lower === 'rapl') return new RaplSource()
  if (lower === 'nvidia' || lower === 'nvidia-smi') return new NvidiaSmiSource({env: options.env})
  if (lower === 'nvml') return new NvmlSource({env: options.env})
  if (lower === 'amd-smi' || lower === 'rocm-smi') return new AmdGpuSource({tool: lower, env: options.env})
  if (lower === 'powermetrics') return new PowermetricsSource({env: options.env})
  if (lower === 'cpu-tdp') return new CpuEstimateSource()
  if (lower.startsWith('shelly://')) return shellySource(text)
  if (lower.startsWith('tasmota://')) return tasmotaSource(text)
  if (lower.startsWith('cmd:')) {
    const {body, boundary} = splitBoundary(text.slice(4))
    const command = unquote(body)
    if (command === '') throw new UserError('cmd: needs a command', `for example cmd:'my-meter --watts'`)
    return new CommandSource({command, boundary, env: options.env})
  }
  if (lower.startsWith('watts:')) {
    const {body, boundary} = splitBoundary(text.slice(6))
    return new ConstantSource({watts: Number(body), boundary})
  }
  throw new UserError(`unknown power source '${spec}'`, `use one of: ${SOURCE_SPEC_HELP}`)
}

function splitBoundary(text: string): {body: string; boundary?: Boundary} {
  const at = text.lastIndexOf('@')
  const candidate = at >= 0 ? text.slice(at + 1).trim() : ''
  if ((BOUNDARIES as readonly string[]).includes(candidate)) return {body: text.slice(0, at).trim(), boundary: candidate as Boundary}
  return {body: text.trim()}
}

function unquote(text: string): string {
  const m = /^(["'])(.*)\1$/s.exec(text)
  return m ? m[2]! : text
}

/**
 * Sources to start when the user named none: every available meter; the CPU TDP estimate only
 * when no meter covers the CPU (a package counter, a SoC or a wall meter).
 */
export function sourcesFromDetections(detections: readonly Detection[], options: {env?: NodeJS.ProcessEnv} = {}): PowerSource[] {
  const available = detections.filter((d) => d.status === 'available')
  const out: PowerSource[] = []
  for (const d of available) {
    if (d.kind === 'rapl') out.push(new RaplSource())
    // NVML's energy counter, where every GPU has one, is preferred over nvidia-smi's sampled power.
    if (d.kind === 'nvml') out.push(new NvmlSource({env: options.env}))
    if (d.kind === 'nvidia-smi' && !available.some((n) => n.kind === 'nvml')) out.push(new NvidiaSmiSource({env: options.env}))
    if (d.kind === 'powermetrics') out.push(new PowermetricsSource({env: options.env, sudo: d.sudo}))
  }
  // amd-smi and rocm-smi read the same GPUs: one of them.
  const amd = available.find((d) => d.kind === 'amd-smi') ?? available.find((d) => d.kind === 'rocm-smi')
  if (amd) out.push(new AmdGpuSource({tool: amd.kind as 'amd-smi' | 'rocm-smi', env: options.env}))
  const cpuMeasured = available.some((d) => d.kind === 'rapl' || d.kind === 'powermetrics')
  if (!cpuMeasured && available.some((d) => d.kind === 'cpu-tdp')) out.push(new CpuEstimateSource())
  return out
}
