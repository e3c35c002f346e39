import os from 'node:os'
import si from 'systeminformation'
import type {Host} from './host.js'
import {owbenchVersion} from './version.js'

/** The facts that make two results comparable or not: CPU, memory, GPUs, OS, runtime. */
export async function hostFingerprint(): Promise<Host> {
  const [cpu, flags, mem, osInfo, graphics] = await Promise.all([si.cpu(), si.cpuFlags(), si.mem(), si.osInfo(), si.graphics().catch(() => undefined)])
  return {
    hostname: os.hostname(),
    os: {platform: osInfo.platform, distro: osInfo.distro, release: osInfo.release, kernel: osInfo.kernel, arch: osInfo.arch},
    cpu: {
      manufacturer: cpu.manufacturer,
      brand: cpu.brand,
      physicalCores: cpu.physicalCores,
      threads: cpu.cores,
      speedGHz: cpu.speed > 0 ? cpu.speed : null,
      // Only the SIMD features that decide which llama.cpp kernels run (Linux calls SSE3 "pni").
      flags: flags.split(/\s+/).filter((f) => SIMD_FLAGS.has(f)).sort(),
    },
    memoryBytes: mem.total,
    gpus: (graphics?.controllers ?? []).map((g) => ({
      vendor: g.vendor ?? '',
      model: g.model ?? '',
      ...(g.name ? {name: g.name} : {}),
      vramMB: typeof g.vram === 'number' && g.vram > 0 ? g.vram : null,
      driver: g.driverVersion || null,
    })),
    runtime: {node: process.version, owbench: owbenchVersion},
  }
}

const SIMD_FLAGS = new Set(['sse2', 'sse3', 'pni', 'ssse3', 'sse4_1', 'sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'avx_vnni', 'amx_tile', 'amx_int8', 'amx_bf16', 'neon', 'asimd', 'sve', 'i8mm', 'dotprod', 'asimddp'])
