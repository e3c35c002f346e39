import {UserError} from '../errors/errors.js'

/** One machine of a fleet as SkyPilot names it: `H100:1`, `A100-80GB:8`, `L40S` (count 1). */
export interface GpuRequest {
  /** SkyPilot's canonical accelerator name as typed (SkyPilot matches it case-insensitively). */
  name: string
  count: number
  /** `NAME:COUNT`, the value of the task's `resources.accelerators`. */
  spec: string
}

const ACCELERATOR = /^([A-Za-z][A-Za-z0-9-]*)(?::(\d+))?$/

/**
 * `--gpu H100:1,A100-80GB:1,L40S:1`: one cluster per entry, launched in parallel. Names follow
 * SkyPilot's accelerator names (`sky gpus list`); a count of GPUs per machine defaults to 1.
 */
export function parseGpuList(text: string): GpuRequest[] {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '')
  if (parts.length === 0) throw new UserError('--gpu is empty', 'for example --gpu H100:1 or --gpu H100:1,L40S:1')
  const gpus = parts.map((part) => {
    const m = ACCELERATOR.exec(part)
    if (!m) throw new UserError(`--gpu "${part}" is not NAME[:COUNT]`, 'use SkyPilot\'s accelerator names, e.g. H100:1, A100-80GB:8 (see `sky gpus list`)')
    const count = m[2] === undefined ? 1 : Number(m[2])
    if (!(count >= 1 && count <= 64)) throw new UserError(`--gpu "${part}": ${count} GPUs per machine`, 'use 1 to 64 GPUs per machine')
    return {name: m[1]!, count, spec: `${m[1]}:${count}`}
  })
  const seen = new Set<string>()
  for (const g of gpus) {
    const key = g.spec.toLowerCase()
    if (seen.has(key)) throw new UserError(`--gpu lists ${g.spec} twice`, 'name each machine of the fleet once')
    seen.add(key)
  }
  return gpus
}

/** A short lowercase token for cluster and file names: `H100:1` -> `h100x1`. */
export function gpuSlug(gpu: GpuRequest): string {
  return `${gpu.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}x${gpu.count}`
}
