import {z} from 'zod'

const finite = z.number().refine(Number.isFinite, 'must be a finite number')
const count = z.number().int().min(0)

/** The STREAM-triad probe's figure (src/system/memory-bandwidth.ts): measured on all cores before the run. */
export const MemoryBandwidthProbeSchema = z.strictObject({
  /** Best triad bandwidth over the passes, GB/s (1e9 bytes). */
  triadGBs: finite,
  threads: count,
  /** Size of each of the three arrays, summed over threads (MiB). */
  arrayMiB: finite,
  passes: count,
  method: z.literal('STREAM triad, Float64Array per worker thread, best pass'),
})
export type MemoryBandwidthProbe = z.infer<typeof MemoryBandwidthProbeSchema>

/** A device's published peak bandwidth, found by the name it reports (a row of data/memory-bandwidth.csv). */
export const PublishedBandwidthSchema = z.strictObject({
  /** The name as the device reported it (nvidia-smi, lspci, the engine's device list, the CPU brand). */
  name: z.string(),
  /** The row's device name. */
  device: z.string(),
  gbs: finite,
  /** `data/memory-bandwidth.csv line N` and the row's source cell (its grade first: VENDOR, SECONDARY...). */
  source: z.string(),
})
export type PublishedBandwidth = z.infer<typeof PublishedBandwidthSchema>

/** The host fingerprint a result carries: what makes two results comparable or not (hostFingerprint). */
export const HostSchema = z.strictObject({
  hostname: z.string(),
  os: z.strictObject({platform: z.string(), distro: z.string(), release: z.string(), kernel: z.string(), arch: z.string()}),
  cpu: z.strictObject({
    manufacturer: z.string(),
    brand: z.string(),
    physicalCores: count,
    threads: count,
    speedGHz: finite.nullable(),
    flags: z.array(z.string()),
  }),
  memoryBytes: count,
  gpus: z.array(
    z.strictObject({
      vendor: z.string(),
      model: z.string(),
      /** The driver's own name where systeminformation has it (nvidia-smi's `name`, e.g. `NVIDIA H100 80GB HBM3`); `model` is lspci's. */
      name: z.string().optional(),
      vramMB: count.nullable(),
      driver: z.string().nullable(),
    }),
  ),
  runtime: z.strictObject({node: z.string(), owbench: z.string()}),
  /** Memory bandwidth limits of this machine (owbench run): the probe's measurement on all cores and the published peaks of its devices. */
  memoryBandwidth: z
    .strictObject({
      probe: MemoryBandwidthProbeSchema.optional(),
      /** Why the probe has no figure (it failed), when it ran. */
      probeError: z.string().optional(),
      /** Published peaks (data/memory-bandwidth.csv) of the names this machine's devices report; one entry per name that matched a row. */
      published: z.array(PublishedBandwidthSchema),
    })
    .optional(),
})
export type Host = z.infer<typeof HostSchema>

