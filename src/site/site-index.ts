import {z} from 'zod'

/**
 * results.json: what a published site holds, for programs (other leaderboards, notebooks). Every
 * result's full raw file is beside it (results/<id>.json, schema/result.schema.json); this index
 * carries the figures the leaderboard shows and where they came from.
 */
export const SITE_INDEX_VERSION = 4

const Energy = z.strictObject({
  jPerToken: z.number().describe('gross J per token of the tg test; a hosted model\'s low end'),
  high: z.number().optional().describe('a hosted model\'s high end (the endpoint\'s server was not metered)'),
  boundary: z.string(),
  method: z.string().describe('counter, sampled or estimated (estimated: hosted model for an endpoint\'s modelled energy)'),
  partial: z.string().optional().describe('the boundary covers only some of its devices: which are left out and why'),
})
const EnergyMissing = z.strictObject({
  code: z.string().describe('why the tg test\'s J/token is not shown: a validity code (counter-stuck, zero-under-load, gap, window-too-short, ...) when the meter readings failed their checks'),
  reason: z.string(),
})
const Cost = z.strictObject({perMtok: z.number(), basis: z.string(), money: z.string()})
const Bandwidth = z.strictObject({
  percent: z.number().describe('the tg test\'s bytes read per generated token x tokens/s, as a share of the bandwidth limit (%)'),
  achievedGBs: z.number(),
  limitGBs: z.number(),
  limit: z.string().describe('what the limit is: the STREAM triad probe (measured) or the devices\' published peak'),
  implausible: z.boolean().describe('above 100%: published only with --allow-implausible'),
})

export const SiteIndexSchema = z.strictObject({
  siteIndexVersion: z.literal(SITE_INDEX_VERSION),
  generator: z.strictObject({name: z.literal('owbench'), version: z.string()}),
  baseUrl: z.string().optional().describe('absolute URL the site is served from, when published with --base-url'),
  results: z.array(
    z.strictObject({
      id: z.string().describe('page id: the first 16 hex digits of the sha256 of the result file as it was collected (exact copies share it)'),
      runId: z.string(),
      file: z.string().describe('relative path of the raw (redacted) result file'),
      page: z.string(),
      url: z.string().optional(),
      createdAt: z.string(),
      state: z.enum(['completed', 'partial', 'errored']),
      suite: z.strictObject({name: z.string(), version: z.string(), sha256: z.string()}),
      targets: z.array(
        z.strictObject({
          id: z.string(),
          board: z.string(),
          group: z.string(),
          model: z.string(),
          quantization: z.string(),
          modelHash: z.string(),
          hardware: z.string(),
          backend: z.string(),
          settings: z.string().describe('the rest of the group key: threads, batch, context, flash attention, GPU layers, llama.cpp release, load level'),
          tg: z.number().optional().describe('tokens/s of the board\'s tg test, mean over repetitions'),
          tgShort: z.string().optional().describe('why tg is absent: the tg test\'s outputs stopped before its length (n_out of n_asked, finish_reason), so no tg figure is shown'),
          pp: z.number().optional().describe('tokens/s of the board\'s pp test'),
          ttftMs: z.number().optional(),
          energy: Energy.optional(),
          energyMissing: EnergyMissing.optional(),
          cost: Cost.optional(),
          bandwidth: Bandwidth.optional(),
          notes: z.array(z.string()).optional().describe('how the target was measured, where a reader must know: protocol fallbacks, ignore_eos not sent or not honoured'),
        }),
      ),
    }),
  ),
  boards: z.array(
    z.strictObject({
      id: z.string(),
      model: z.string(),
      quantization: z.string(),
      modelHash: z.string(),
      suite: z.string(),
      suiteSha: z.string(),
      tests: z.strictObject({tg: z.string().optional(), pp: z.string().optional(), ttft: z.string().optional()}),
      groups: z.array(
        z.strictObject({
          id: z.string(),
          page: z.string(),
          hardware: z.string(),
          backend: z.string(),
          settings: z.string(),
          results: z.array(z.string()),
          partial: z.number().int(),
          short: z.number().int().describe('results whose tg test stopped short of its length (no tg figure)'),
          latest: z.string(),
          tg: z.number().optional(),
          pp: z.number().optional(),
          ttftMs: z.number().optional(),
          energy: Energy.extend({n: z.number().int()}).optional(),
          energyMissing: z.strictObject({codes: z.array(z.string()), n: z.number().int().describe('results whose tg J/token is missing')}).optional(),
          cost: Cost.extend({n: z.number().int()}).optional(),
          bandwidthPercent: z.number().optional().describe('median over the group\'s results of the tg test\'s % of the bandwidth limit'),
        }),
      ),
    }),
  ),
  comparisons: z.array(
    z.strictObject({
      page: z.string(),
      a: z.string(),
      b: z.string(),
      sides: z.tuple([z.strictObject({target: z.string(), load: z.string()}), z.strictObject({target: z.string(), load: z.string()})]).optional().describe('the one target and load level compared on each side'),
    }),
  ),
})
export type SiteIndex = z.infer<typeof SiteIndexSchema>

export function siteIndexJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(SiteIndexSchema, {target: 'draft-2020-12', io: 'output'}),
    $id: `https://owbench.dev/schemas/site-index.v${SITE_INDEX_VERSION}.schema.json`,
    title: 'owbench published site index (results.json)',
  }
}
