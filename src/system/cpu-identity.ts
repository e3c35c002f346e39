import {createHash} from 'node:crypto'
import si from 'systeminformation'

export interface CpuIdentity {
  /** 12 hex digits over the brand and every flag: a build checked on one CPU is re-checked on any other. */
  key: string
  brand: string
  /** The CPU's feature flags as the OS lists them (Linux: /proc/cpuinfo names such as `avx512f`, `amx_tile`). */
  flags: string[]
  arch: string
}

/** This machine's CPU as far as compiled code cares: what instructions it advertises. */
export async function cpuIdentity(): Promise<CpuIdentity> {
  const [cpu, flags] = await Promise.all([si.cpu(), si.cpuFlags()])
  const list = flags.split(/\s+/).filter(Boolean).sort()
  const brand = `${cpu.manufacturer} ${cpu.brand}`.trim()
  const key = createHash('sha256').update(JSON.stringify([process.arch, brand, list])).digest('hex').slice(0, 12)
  return {key, brand, flags: list, arch: process.arch}
}
