import {readdirSync, statSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {z} from 'zod'
import {UserError} from '../errors/errors.js'
import {type GpuRentalRow, referenceRentalPrice} from '../cost/rented-gpu.js'
import type {GpuRequest} from './accelerators.js'

/** One way to rent the GPUs asked for, with its on-demand price. */
export interface Offering {
  /** SkyPilot's cloud name (`AWS`, `Lambda`, `RunPod`) or the reference data's provider. */
  cloud: string
  instanceType: string | null
  accelerator: string
  count: number
  /** A region where this price applies (SkyPilot lists the cheapest first). */
  region: string | null
  /** On-demand USD per hour of the whole instance. */
  usdPerHour: number
  /** Where the price comes from, with enough to find it again. */
  source: string
  /** Date of the catalog file SkyPilot last pulled (its mtime), or the reference row's date. */
  catalogDate: string | null
  /**
   * `given`: --price-per-hour USD, used only for a GPU that neither SkyPilot's catalog nor the
   * reference data prices; `forced`: --price-per-hour GPU:N=USD (a negotiated rate), which replaces
   * any known price of that GPU.
   */
  origin: 'skypilot-catalog' | 'owbench-reference' | 'given' | 'forced'
}

/**
 * `--price-per-hour`: a price for the GPUs nobody prices (`1.5`), and/or a price that replaces the
 * known one of a GPU (`H100:1=2.10`, a negotiated rate), comma-separated. USD per hour of the
 * whole machine.
 */
export interface GivenPrices {
  /** For any GPU with no price from SkyPilot's catalog or data/gpu-rental-prices.csv. */
  fallback?: number
  /** By `NAME:COUNT` (lowercase): replaces the catalog and reference prices of that GPU. */
  forced: Record<string, number>
}

/** `--price-per-hour 1.5`, `--price-per-hour H100:1=2.10,L40S=0.99`, or both; a leading `$` is allowed. */
export function parseGivenPrices(text: string): GivenPrices {
  const prices: GivenPrices = {forced: {}}
  const example = 'for example --price-per-hour 1.5 (GPUs with no known price) or --price-per-hour H100:1=2.10 (replaces the known price of H100:1)'
  for (const part of text.split(',').map((p) => p.trim())) {
    const m = /^(?:([A-Za-z][A-Za-z0-9-]*)(?::(\d+))?=)?\$?(\d+(?:\.\d+)?)$/.exec(part)
    const usdPerHour = m ? Number(m[3]) : Number.NaN
    if (!m || !(usdPerHour > 0)) throw new UserError(`--price-per-hour "${text}": "${part}" is not USD or GPU[:COUNT]=USD with a positive amount`, example)
    if (m[1] === undefined) {
      if (prices.fallback !== undefined) throw new UserError(`--price-per-hour "${text}" gives two prices for GPUs with no known price`, example)
      prices.fallback = usdPerHour
    } else {
      const spec = `${m[1]}:${m[2] ?? 1}`.toLowerCase()
      if (spec in prices.forced) throw new UserError(`--price-per-hour "${text}" prices ${m[1]}:${m[2] ?? 1} twice`, example)
      prices.forced[spec] = usdPerHour
    }
  }
  return prices
}

/** SkyPilot's `sky gpus list -o json`: accelerator name -> sky.catalog.common.InstanceTypeInfo as dicts. */
const InstanceTypeInfoSchema = z.object({
  cloud: z.string(),
  instance_type: z.string().nullable(),
  accelerator_name: z.string(),
  accelerator_count: z.number(),
  price: z.number().nullable(),
  region: z.string().nullable(),
})
export const GpusListSchema = z.record(z.string(), z.array(InstanceTypeInfoSchema))

/**
 * The offerings of exactly `gpu` (SkyPilot's listing matches names as a substring: H100 also
 * lists H100-MEGA) with an on-demand price. Dates come from the catalog files SkyPilot keeps in
 * ~/.sky/catalogs/<schema version>/<cloud>/vms.csv: their mtime is when SkyPilot last pulled them
 * (sky/catalog/common.py read_catalog).
 */
export function offeringsFromGpusList(json: unknown, gpu: GpuRequest, catalogDates: (cloud: string) => string | null): Offering[] {
  const listing = GpusListSchema.parse(json)
  const offerings: Offering[] = []
  for (const items of Object.values(listing)) {
    for (const item of items) {
      if (item.accelerator_name.toLowerCase() !== gpu.name.toLowerCase() || item.accelerator_count !== gpu.count) continue
      if (item.price === null || !(item.price > 0)) continue
      const cloudDir = item.cloud.toLowerCase()
      const date = catalogDates(cloudDir)
      offerings.push({
        cloud: item.cloud,
        instanceType: item.instance_type,
        accelerator: item.accelerator_name,
        count: item.accelerator_count,
        region: item.region,
        usdPerHour: item.price,
        source: `SkyPilot catalog (sky gpus list): ${cloudDir}/vms.csv${date ? `, pulled ${date}` : ''}`,
        catalogDate: date,
        origin: 'skypilot-catalog',
      })
    }
  }
  return offerings.sort((a, b) => a.usdPerHour - b.usdPerHour)
}

/** The mtime (UTC date) of SkyPilot's newest catalog schema version for a cloud, or null. */
export function skypilotCatalogDate(cloudDir: string, home = os.homedir()): string | null {
  const root = path.join(home, '.sky', 'catalogs')
  let versions: string[]
  try {
    versions = readdirSync(root).filter((v) => /^v\d+$/.test(v)).sort((a, b) => Number(b.slice(1)) - Number(a.slice(1)))
  } catch {
    return null
  }
  for (const version of versions) {
    try {
      return statSync(path.join(root, version, cloudDir, 'vms.csv')).mtime.toISOString().slice(0, 10)
    } catch {
      // Not pulled for this version; try an older one.
    }
  }
  return null
}

/**
 * SkyPilot accelerator names for the GPU names of data/gpu-rental-prices.csv, which quote
 * SkyPilot's Lambda and RunPod catalogs and dated vendor pages.
 */
const REFERENCE_NAMES: readonly {accelerator: string; gpu: RegExp}[] = [
  {accelerator: 'H100', gpu: /^H100 80GB/},
  {accelerator: 'A100-80GB', gpu: /^A100 80GB/},
  {accelerator: 'A100', gpu: /^A100 40GB/},
  {accelerator: 'A6000', gpu: /^RTX A6000/},
  {accelerator: 'A10', gpu: /^A10 24GB/},
  {accelerator: 'RTX4090', gpu: /^RTX 4090/},
]

/**
 * The offline fallback: rows of data/gpu-rental-prices.csv for instances of exactly `gpu.count`
 * GPUs, priced as `owbench cost --rent` prices them (a dated row wins over the undated catalog
 * row of the same GPU; rows marked superseded are skipped).
 */
export function offeringsFromReference(rows: readonly GpuRentalRow[], gpu: GpuRequest): Offering[] {
  const names = REFERENCE_NAMES.filter((n) => n.accelerator.toLowerCase() === gpu.name.toLowerCase())
  const offerings: Offering[] = []
  const seen = new Set<string>()
  for (const row of rows) {
    // A row the file itself marks superseded (an older catalog price) is no offering.
    if (row.gpu_count !== gpu.count || !names.some((n) => n.gpu.test(row.gpu)) || !row.pricing.startsWith('on-demand') || /superseded/.test(row.date)) continue
    const key = `${row.provider}|${row.gpu}`
    if (seen.has(key)) continue
    seen.add(key)
    const price = referenceRentalPrice(rows, {provider: row.provider, gpu: row.gpu, gpus: gpu.count})
    const catalogRow = rows.find((r) => r.provider === row.provider && r.gpu === row.gpu && r.gpu_count === gpu.count && /^(gpu_|\d+x_)/.test(r.instance_type)) ?? row
    offerings.push({
      cloud: row.provider,
      instanceType: catalogRow.instance_type,
      accelerator: gpu.name,
      count: gpu.count,
      region: null,
      usdPerHour: price.perHour,
      source: `owbench reference data (SkyPilot's catalog not available): ${price.source}`,
      catalogDate: price.period ?? null,
      origin: 'owbench-reference',
    })
  }
  return offerings.sort((a, b) => a.usdPerHour - b.usdPerHour)
}

/** `--cloud aws`, `--cloud gcp/us-central1`, `k8s`: the cloud part, as SkyPilot's catalog directories name it. */
export function infraCloud(infra: string): string {
  const cloud = infra.split('/')[0]!.toLowerCase()
  return cloud === 'k8s' ? 'kubernetes' : cloud
}

/** The cheapest offering on the asked cloud (and region), or null. */
export function cheapest(offerings: readonly Offering[], infra?: string): Offering | null {
  if (!infra) return offerings[0] ?? null
  const [, region] = infra.split('/')
  const cloud = infraCloud(infra)
  return offerings.find((o) => o.cloud.toLowerCase() === cloud && (!region || region === '*' || o.region === region)) ?? null
}
