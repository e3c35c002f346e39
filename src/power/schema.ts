import {z} from 'zod'
import {BOUNDARIES, METHODS, SOURCE_KINDS} from './power-source.js'

/**
 * The `power` part of a result file: what each series is, every reading (compact [t, value]
 * pairs), the idle window, failures, and the sources that could not start. Energy figures are
 * recomputed from this (src/energy), so nothing here is derived.
 */
const finite = z.number().refine(Number.isFinite, 'must be a finite number')
const ms = finite.describe('milliseconds on the run clock (monotonic)')

/**
 * What a series measures. `host`: the machine owbench runs on, so it counts for a local target,
 * and for an endpoint target only when the user says its server is this machine (the endpoint
 * target's `settings.meterOnServer`, e.g. owbench on the GPU box beside vLLM). A remote API's
 * energy is never the client's draw.
 */
export const SOURCE_SCOPES = ['host'] as const

/**
 * One series of readings with one boundary, as the result file lists it under `power.sources`.
 * A source declares it without `scope` when it measures this host (the default).
 */
export const SourceInfoSchema = z.strictObject({
  id: z.string().min(1).describe("unique within a run: 'rapl:package-0', 'nvidia:0', 'shelly:192.168.1.9'"),
  scope: z.enum(SOURCE_SCOPES).default('host').describe('what the series measures: host = the machine owbench ran on'),
  kind: z.enum(SOURCE_KINDS),
  boundary: z.enum(BOUNDARIES),
  method: z.enum(METHODS),
  unit: z.enum(['J', 'W']).describe('J: cumulative counter; W: power'),
  intervalMs: z.number().positive(),
  updateMs: z.number().positive().optional().describe("how often the meter's own value changes (ms)"),
  averagingMs: z.number().positive().optional().describe('each reading averages over this span (ms)'),
  device: z.string().optional(),
  field: z.string().optional(),
  part: z.string().optional().describe('covers only a part of its boundary (RAPL core/uncore): never added to a total'),
  includes: z.array(z.string()).optional().describe('series whose energy is inside this one: an implausible one makes this one invalid too'),
  wrapJ: z.number().positive().optional().describe('counter wraps to 0 at this value (J)'),
  formula: z.string().optional(),
  assumptions: z.array(z.string()).optional(),
  notes: z.array(z.string()).optional(),
})

/** A series that stopped delivering: the samples before `failedAt` are kept. */
export const SourceFailureSchema = z.strictObject({
  sourceId: z.string(),
  failedAt: ms,
  reason: z.string(),
})

export const NotStartedSchema = z.strictObject({
  source: z.string(),
  reason: z.string(),
  hint: z.string().optional(),
})

export const UncoveredDeviceSchema = z.strictObject({
  source: z.string(),
  boundary: z.enum(BOUNDARIES),
  device: z.string(),
  reason: z.string(),
})

export const PowerSampleSchema = z.tuple([ms, finite]).describe('[t ms, value in the series unit]')

export const PowerRecordSchema = z
  .strictObject({
    sources: z.array(SourceInfoSchema),
    samples: z.record(z.string(), z.array(PowerSampleSchema)),
    failures: z.array(SourceFailureSchema),
    notStarted: z.array(NotStartedSchema),
    uncovered: z.array(UncoveredDeviceSchema).optional().describe('devices a source should cover but could not read: their boundary figure is partial'),
    minUpdates: z.number().int().positive().optional().describe('meter updates an energy window had to span (--min-meter-updates; default 10)'),
    idle: z.strictObject({t0: ms, t1: ms}).optional(),
    startedAt: ms,
    stoppedAt: ms.optional(),
  })
  .superRefine((record, ctx) => {
    const ids = new Set(record.sources.map((s) => s.id))
    if (ids.size !== record.sources.length) ctx.addIssue({code: 'custom', message: 'source ids must be unique', path: ['sources']})
    for (const id of Object.keys(record.samples)) {
      if (!ids.has(id)) ctx.addIssue({code: 'custom', message: `samples for unknown source '${id}'`, path: ['samples', id]})
    }
    for (const [id, series] of Object.entries(record.samples)) {
      for (let i = 1; i < series.length; i++) {
        if (series[i]![0] < series[i - 1]![0]) {
          ctx.addIssue({code: 'custom', message: 'samples must be in time order', path: ['samples', id, i]})
          break
        }
      }
    }
  })

/** A series as a source declares it (scope may be left to its default, this host). */
export type SourceInfo = z.input<typeof SourceInfoSchema>
export type SourceFailure = z.infer<typeof SourceFailureSchema>
/** A source that could not start, with the fix when there is one (for the CLI to print). */
export type NotStarted = z.infer<typeof NotStartedSchema>
/** A device a source knows it should cover but cannot read (nvidia-smi [Not Supported] for one of two GPUs): its boundary's figure covers the others only, and says so. */
export type UncoveredDevice = z.infer<typeof UncoveredDeviceSchema>
export type PowerRecord = z.infer<typeof PowerRecordSchema>
