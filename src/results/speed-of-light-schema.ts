import {z} from 'zod'

const finite = z.number().refine(Number.isFinite, 'must be a finite number')
const count = z.number().int().min(0)

/**
 * Bytes of memory one generated token reads, computed from a GGUF model's tensors when it is run
 * (src/model/bytes-per-token.ts; every shard of a split model): what decode speed is bound by.
 */
export const BytesPerTokenSchema = z.strictObject({
  /** Weight bytes one decode step reads: every matrix once, one row per embedding table, only the routed experts of a mixture-of-experts layer. */
  weightBytes: finite,
  /** Bytes of all the model's tensors, for comparison (a naive estimate would use it). */
  tensorBytes: count,
  /** KV-cache bytes per context position over all layers with an F16 cache (K and V); null when not modelled. */
  kvBytesPerPosition: count.nullable(),
  /** Why the KV figure is not modelled, when it is null. */
  kvNote: z.string().optional(),
  /** Mixture of experts: experts used per token of those in each layer. */
  experts: z.strictObject({used: count, total: count}).optional(),
  /** Repeating layers (block_count): tells a partial GPU offload from a full one. */
  layers: count.optional(),
  method: z.string(),
})
export type BytesPerToken = z.infer<typeof BytesPerTokenSchema>

/** The memory bandwidth a target's decode is bound by, and where the figure comes from. */
export const BandwidthLimitSchema = z.strictObject({
  gbs: finite,
  /** probe: this machine's STREAM triad on all cores (measured, CPU runs); published: the devices' published peaks (GPU-offloaded runs, Apple and AMD unified memory). */
  source: z.enum(['probe', 'published']),
  /** What the figure is, for every renderer: `STREAM triad probe, 8 threads` or `NVIDIA H100 SXM5 80GB published peak`. */
  label: z.string(),
  /** Where a published figure comes from (data/memory-bandwidth.csv lines and their sources). */
  sources: z.array(z.string()).optional(),
})
export type BandwidthLimit = z.infer<typeof BandwidthLimitSchema>

/**
 * "Speed of light" of a tg or pg cell: bytes read per generated token x tokens/s = the bandwidth
 * the run achieved, as a share of the target's bandwidth limit. Above 100 % is physically
 * implausible (the bytes or the speed are wrong), and `publish` refuses such a result unless told.
 */
export const SpeedOfLightSchema = z.discriminatedUnion('status', [
  z.strictObject({
    status: z.literal('ok'),
    /** Bytes a decode step reads per generated token at this cell's load: weights / sequences in flight + KV at the test's mean position. */
    bytesPerToken: finite,
    /** The rate it is multiplied by (generated tokens/s, mean over repetitions) and which metric that is. */
    tokensPerSecond: finite,
    rate: z.enum(['generation_tps', 'decode_tps', 's_tg_tps', 'aggregate_tps']),
    achievedGBs: finite,
    limit: BandwidthLimitSchema,
    /** achievedGBs / limit.gbs x 100. */
    percent: finite,
    /** percent > 100: faster than the memory can deliver the bytes. */
    implausible: z.boolean(),
    /** The weights are a lower bound (the KV reads are not modelled for this model's attention). */
    weightsOnly: z.boolean(),
  }),
  z.strictObject({status: z.literal('missing'), reason: z.string()}),
])
export type SpeedOfLight = z.infer<typeof SpeedOfLightSchema>
