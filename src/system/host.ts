import {z} from 'zod'

const finite = z.number().refine(Number.isFinite, 'must be a finite number')
const count = z.number().int().min(0)

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
  gpus: z.array(z.strictObject({vendor: z.string(), model: z.string(), vramMB: count.nullable(), driver: z.string().nullable()})),
  runtime: z.strictObject({node: z.string(), owbench: z.string()}),
})
export type Host = z.infer<typeof HostSchema>
