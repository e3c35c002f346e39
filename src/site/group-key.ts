import type {Load} from '../results/load.js'
import {loadLabel} from '../results/load.js'
import type {ResultFile, Target} from '../results/schema.js'
import {backendLabel} from '../report/labels.js'

/**
 * What puts two results of one board into the same leaderboard row: the same hardware and every
 * setting that changes speed. Local: threads, batch, context, flash attention, GPU layers, engine
 * build (prebuilt or local, llama.cpp release) and backend; every target: the load level its
 * figures are from. Results that differ in any of these are different rows, never one median.
 */
export interface GroupSettings {
  hardware: string
  backend: string
  /** `threads 8, batch 512, ctx 4096, fa off, ngl 0, llama.cpp b6000, c1`: shown under the hardware. */
  settings: string
  /** The settings without the load level (empty for an endpoint), for what spans several levels (a frontier series). */
  configuration: string
}

export function groupSettings(result: ResultFile, target: Target, load: Load): GroupSettings {
  const hardware = hardwareOf(result, target)
  if (target.kind === 'endpoint') return {hardware, backend: backendLabel(target), settings: loadLabel(load), configuration: ''}
  const s = target.settings
  const configuration = [`threads ${s.threads}`, `batch ${s.batchSize}`, s.contextPerTest ? 'ctx per test' : `ctx ${s.contextSize}`, `fa ${s.flashAttention ? 'on' : 'off'}`, `ngl ${s.gpuLayers}`, `llama.cpp ${target.engine.llamaCpp.release}`].join(', ')
  return {hardware, backend: backendLabel(target), settings: `${configuration}, ${loadLabel(load)}`, configuration}
}

/** The text a group's id is the digest of. */
export function groupKey(board: string, g: GroupSettings): string {
  return `${board}\n${g.hardware}\n${g.backend}\n${g.settings}`
}

/**
 * An endpoint's host as the site shows it: the hostname of its (already redacted) base URL, or
 * `private host` where redaction replaced a private or loopback address.
 */
export function endpointHost(target: Extract<Target, {kind: 'endpoint'}>): string {
  const host = new URL(target.endpoint.baseUrl).hostname
  return host === 'private-host' ? 'private host' : host
}

/** What did the work: the GPUs a GPU backend used, the CPU otherwise; for an endpoint, its host. */
function hardwareOf(result: ResultFile, target: Target): string {
  if (target.kind === 'endpoint') {
    const host = endpointHost(target)
    return host === 'private host' ? 'endpoint (private host)' : `endpoint ${host}`
  }
  const cpu = `${result.host.cpu.manufacturer} ${result.host.cpu.brand} (${result.host.cpu.physicalCores} cores)`
  if (target.engine.backend === 'cpu' || target.settings.gpuLayers === 0) return cpu
  const gpus = target.engine.gpuDevices.length > 0 ? target.engine.gpuDevices : result.host.gpus.map((g) => g.model)
  return gpus.length > 0 ? gpus.join(' + ') : cpu
}
