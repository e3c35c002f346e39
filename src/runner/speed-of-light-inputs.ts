import type {Engine} from '../engines/engine.js'
import {loadPublishedBandwidth, publishedBandwidth} from '../cost/published-bandwidth.js'
import type {BytesPerToken} from '../results/speed-of-light-schema.js'
import type {Target} from '../results/schema.js'
import type {Host, MemoryBandwidthProbe} from '../system/host.js'

export interface SpeedOfLightProbes {
  /** Measures this machine's memory bandwidth on all cores (src/system/memory-bandwidth.ts); absent: not measured. */
  probeBandwidth?: () => Promise<MemoryBandwidthProbe>
  /** Bytes per generated token of a GGUF model (src/model/bytes-per-token.ts); absent: not computed. */
  bytesPerToken?: (modelPath: string) => Promise<BytesPerToken>
  log?: (message: string) => void
}

/**
 * What the derivation needs for a "% of bandwidth limit", recorded once per run before the
 * measurements: the probe's bandwidth on all cores and the published peaks of every name this
 * machine's devices report (nvidia-smi and lspci names, each local engine's GPU devices, the CPU
 * brand for Apple and AMD unified memory) go into the host fingerprint; the bytes a generated token
 * reads go into each local target's model info. A probe or model that fails is recorded as such and
 * never stops the run: its cells' figure is then missing with that reason.
 */
export async function withSpeedOfLightInputs(host: Host, engines: readonly Engine[], modelPath: string | undefined, probes: SpeedOfLightProbes): Promise<{host: Host; targets: Target[]}> {
  const names = [
    ...host.gpus.flatMap((g) => [g.name ?? '', g.model]),
    `${host.cpu.manufacturer} ${host.cpu.brand}`,
    host.cpu.brand,
    ...engines.flatMap((e) => (e.target.kind === 'local' ? e.target.engine.gpuDevices : [])),
  ]
  const memoryBandwidth: NonNullable<Host['memoryBandwidth']> = {published: []}
  try {
    memoryBandwidth.published = publishedBandwidth(await loadPublishedBandwidth(), names)
  } catch (error) {
    probes.log?.(`memory bandwidth: no published peaks (${message(error)})`)
  }
  if (probes.probeBandwidth) {
    try {
      memoryBandwidth.probe = await probes.probeBandwidth()
      probes.log?.(`memory bandwidth: ${memoryBandwidth.probe.triadGBs.toFixed(1)} GB/s (STREAM triad on ${memoryBandwidth.probe.threads} threads)`)
    } catch (error) {
      memoryBandwidth.probeError = message(error)
      probes.log?.(`memory bandwidth: the probe failed (${memoryBandwidth.probeError}); no % of bandwidth limit for CPU runs`)
    }
  }
  const targets: Target[] = []
  for (const engine of engines) {
    const target = engine.target
    if (target.kind !== 'local' || !probes.bytesPerToken || !modelPath) {
      targets.push(target)
      continue
    }
    try {
      targets.push({...target, model: {...target.model, bytesPerToken: await probes.bytesPerToken(modelPath)}})
    } catch (error) {
      targets.push({...target, model: {...target.model, bytesPerTokenError: message(error)}})
    }
  }
  return {host: {...host, memoryBandwidth}, targets}
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
