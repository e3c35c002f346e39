import path from 'node:path'
import type {GpuRentalRow} from '../cost/rented-gpu.js'
import {UserError} from '../errors/errors.js'
import {type GpuRequest, gpuSlug} from './accelerators.js'
import {cheapest, type Offering, offeringsFromGpusList, offeringsFromReference} from './prices.js'
import {type CloudModel, servedModelName, type ServingEngine} from './serving.js'
import type {Sky} from './sky.js'
import {buildTask, renderTaskYaml, type SkyTask} from './task-file.js'

export interface PlanInputs {
  gpus: GpuRequest[]
  model: CloudModel
  engine: ServingEngine
  infra?: string
  suite: string
  /** A suite file to upload (the suite is not a built-in name). */
  suiteFile?: string
  concurrency?: string
  /** owbench's own limit per machine, from the start of its launch to the start of its teardown. */
  maxDurationMin: number
  /** Refuse a plan whose bound is above this (USD), and tear down when the fleet's spend reaches it. */
  maxCostUsd?: number
  /** A price per hour given by the user (instead of the catalog), for every machine. */
  pricePerHour?: number
  diskGb: number
  outDir: string
  runId: string
  /** Local GGUF file to upload (resolved --model for llama-server). */
  upload?: {localPath: string; fileName: string}
  owbenchTarball: string
  owbenchVersion: string
  nodeVersion: string
  extraSecrets: string[]
}

export interface PlannedMachine {
  cluster: string
  gpu: GpuRequest
  /** The cheapest offering on the asked cloud: what SkyPilot's optimizer picks when it has capacity. */
  offering: Offering
  /** Every known offering of this GPU (to price what SkyPilot actually launched). */
  offerings: Offering[]
  task: SkyTask
  taskYaml: string
  taskFile: string
  /** At most this many USD if the planned instance runs for the whole --max-duration. */
  boundUsd: number
}

export interface CloudPlan {
  machines: PlannedMachine[]
  servedName: string
  maxDurationMin: number
  autodownMinutes: number
  boundUsd: number
  maxCostUsd?: number
}

/** Minutes SkyPilot's autodown waits past owbench's own limit, for teardown and copying results. */
export const AUTODOWN_GRACE_MIN = 10

export interface PriceSources {
  sky: Sky | null
  referenceRows: () => Promise<GpuRentalRow[]>
  catalogDate: (cloudDir: string) => string | null
  log?: (message: string) => void
}

/**
 * Offerings of one GPU: SkyPilot's own catalog through `sky gpus list -o json` (which pulls the
 * catalog if needed; no cloud credentials), else data/gpu-rental-prices.csv (offline fallback),
 * else the user's --price-per-hour.
 */
export async function offeringsFor(gpu: GpuRequest, infra: string | undefined, sources: PriceSources): Promise<Offering[]> {
  if (sources.sky) {
    try {
      const result = await sources.sky.gpusList(gpu.spec, {infra})
      if (result.code === 0) {
        const offerings = offeringsFromGpusList(JSON.parse(result.stdout.slice(Math.max(0, result.stdout.indexOf('{')))), gpu, sources.catalogDate)
        if (offerings.length > 0) return offerings
        sources.log?.(`prices: SkyPilot's catalog lists no ${gpu.spec}${infra ? ` on ${infra}` : ''}; trying owbench's reference data`)
      } else {
        sources.log?.(`prices: \`sky gpus list\` failed (exit ${result.code}); using owbench's reference data`)
      }
    } catch (error) {
      if (!(error instanceof UserError)) throw error
      sources.log?.('prices: SkyPilot is not installed; using owbench\'s reference data (data/gpu-rental-prices.csv)')
    }
  }
  return offeringsFromReference(await sources.referenceRows(), gpu)
}

/**
 * The plan: per GPU one cluster, its cheapest offering and price, its task file; the bound of
 * the whole run is the planned prices x --max-duration. Refuses a plan above --max-cost.
 */
export async function makePlan(input: PlanInputs, sources: PriceSources): Promise<CloudPlan> {
  const servedName = servedModelName(input.model, input.upload?.fileName)
  const autodownMinutes = Math.ceil(input.maxDurationMin) + AUTODOWN_GRACE_MIN
  const machines: PlannedMachine[] = []
  for (const gpu of input.gpus) {
    const offerings = await offeringsFor(gpu, input.infra, sources)
    let offering = cheapest(offerings, input.infra)
    if (input.pricePerHour !== undefined) {
      offering = {
        cloud: offering?.cloud ?? (input.infra ?? 'chosen by SkyPilot'),
        instanceType: offering?.instanceType ?? null,
        accelerator: gpu.name,
        count: gpu.count,
        region: offering?.region ?? null,
        usdPerHour: input.pricePerHour,
        source: 'given (--price-per-hour)',
        catalogDate: null,
        origin: 'given',
      }
    }
    if (!offering) {
      throw new UserError(
        `no price known for ${gpu.spec}${input.infra ? ` on ${input.infra}` : ''}`,
        'check the name with `sky gpus list` (SkyPilot\'s catalog), or pass --price-per-hour USD',
      )
    }
    const cluster = `owbench-${gpuSlug(gpu)}-${input.runId}`
    const task = buildTask({
      cluster,
      gpu,
      infra: input.infra,
      engine: input.engine,
      model: input.model,
      servedName,
      upload: input.upload,
      owbenchTarball: input.owbenchTarball,
      owbenchVersion: input.owbenchVersion,
      nodeVersion: input.nodeVersion,
      suiteFile: input.suiteFile,
      diskGb: input.diskGb,
      autodownMinutes,
      extraSecrets: input.extraSecrets,
    })
    machines.push({
      cluster,
      gpu,
      offering,
      offerings,
      task,
      taskYaml: renderTaskYaml(task),
      taskFile: path.join(input.outDir, `${cluster}.sky.yaml`),
      boundUsd: offering.usdPerHour * (input.maxDurationMin / 60),
    })
  }
  const boundUsd = machines.reduce((sum, m) => sum + m.boundUsd, 0)
  if (input.maxCostUsd !== undefined && boundUsd > input.maxCostUsd) {
    const hourly = machines.reduce((sum, m) => sum + m.offering.usdPerHour, 0)
    const fits = Math.floor((input.maxCostUsd / hourly) * 60)
    throw new UserError(
      `the plan may cost up to ${usd(boundUsd)} (${usd(hourly)}/h for ${input.maxDurationMin} min), above --max-cost ${usd(input.maxCostUsd)}`,
      fits >= 1 ? `lower --max-duration to ${fits} min or less, raise --max-cost, or rent fewer machines` : 'raise --max-cost or rent fewer machines',
    )
  }
  return {machines, servedName, maxDurationMin: input.maxDurationMin, autodownMinutes, boundUsd, maxCostUsd: input.maxCostUsd}
}

export function usd(amount: number): string {
  return `$${amount < 1 ? amount.toFixed(4) : amount.toFixed(2)}`
}

/** The plan as printed before anything is launched (and by --dry-run). */
export function renderPlan(plan: CloudPlan, context: {model: string; engine: ServingEngine; suite: string; concurrency?: string}): string {
  const rows = plan.machines.map((m) => `| ${m.cluster} | ${m.gpu.spec} | ${m.offering.cloud} | ${m.offering.region ?? '-'} | ${m.offering.instanceType ?? '-'} | ${m.offering.usdPerHour.toFixed(2)} | ${m.offering.source} |`)
  return [
    `model: ${context.model} served by ${context.engine.name} (image ${context.engine.image}) as "${plan.servedName}"`,
    `suite: ${context.suite}${context.concurrency ? `, concurrency ${context.concurrency}` : ''}; measured on each machine against its own server (GPU meter) and from here over the network`,
    '',
    '| cluster | GPU | cloud | region | instance | USD/hour | price source |',
    '| --- | --- | --- | --- | --- | ---: | --- |',
    ...rows,
    '',
    `estimate: at most ${usd(plan.boundUsd)} for the run (${plan.machines.length} machine${plan.machines.length === 1 ? '' : 's'} x ${plan.maxDurationMin} min at the planned prices; owbench tears each down when done, at --max-duration, or on Ctrl-C)` +
      (plan.maxCostUsd === undefined ? '' : `; --max-cost ${usd(plan.maxCostUsd)} tears everything down when the spend reaches it`),
    `backstop: SkyPilot's autodown tears each machine down ${plan.autodownMinutes} min after it is up, even if owbench is gone`,
    'SkyPilot\'s optimizer picks among your enabled clouds at launch and may fail over to another offering; each result records the instance it got and its price.',
  ].join('\n')
}
