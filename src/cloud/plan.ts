import path from 'node:path'
import type {GpuRentalRow} from '../cost/rented-gpu.js'
import {UserError} from '../errors/errors.js'
import {type GpuRequest, gpuSlug} from './accelerators.js'
import {cheapest, type GivenPrices, type Offering, offeringsFromGpusList, offeringsFromReference} from './prices.js'
import {type CloudModel, servedModelName, type ServerSlots, type ServingEngine} from './serving.js'
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
  /** --price-per-hour: a fallback for GPUs nobody prices, and forced prices per GPU. */
  prices?: GivenPrices
  /** llama-server's parallel slots and the context of each (see serverSlots). */
  slots: ServerSlots
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
  /** The cheapest offering on the asked cloud: what SkyPilot's optimizer picks when it has capacity; null when nothing prices this GPU. */
  offering: Offering | null
  /** Why `offering` is null: each source consulted and what it lacked. */
  missingPrice?: string
  /** Every known offering of this GPU (to price what SkyPilot actually launched). */
  offerings: Offering[]
  task: SkyTask
  taskYaml: string
  taskFile: string
  /** At most this many USD if the planned instance runs for the whole --max-duration; null when unpriced. */
  boundUsd: number | null
}

/** A machine whose price is known: what a launch needs. */
export interface PricedMachine extends PlannedMachine {
  offering: Offering
  boundUsd: number
}

export interface CloudPlan {
  machines: PlannedMachine[]
  servedName: string
  maxDurationMin: number
  autodownMinutes: number
  /** The sum of the priced machines' bounds: a lower bound when a machine is unpriced. */
  boundUsd: number
  maxCostUsd?: number
}

export interface PricedPlan extends CloudPlan {
  machines: PricedMachine[]
}

/** Minutes SkyPilot's autodown waits past owbench's own limit, for teardown and copying results. */
export const AUTODOWN_GRACE_MIN = 10

export interface PriceSources {
  sky: Sky | null
  referenceRows: () => Promise<GpuRentalRow[]>
  catalogDate: (cloudDir: string) => string | null
  log?: (message: string) => void
}

/** What was consulted for one GPU, and why it gave no price (for the plan's "unknown" rows). */
export interface PriceLookup {
  offerings: Offering[]
  /** Why each source gave nothing, in the order they were tried. */
  notes: string[]
}

/**
 * Offerings of one GPU: SkyPilot's own catalog through `sky gpus list -o json` (which pulls the
 * catalog if needed; no cloud credentials), else data/gpu-rental-prices.csv (offline fallback).
 * `sources.sky` is set to null once `sky` proves not installed, so a fleet says so once.
 */
export async function offeringsFor(gpu: GpuRequest, infra: string | undefined, sources: PriceSources): Promise<PriceLookup> {
  const notes: string[] = []
  if (sources.sky) {
    try {
      const result = await sources.sky.gpusList(gpu.spec, {infra})
      if (result.code === 0) {
        const offerings = offeringsFromGpusList(JSON.parse(result.stdout.slice(Math.max(0, result.stdout.indexOf('{')))), gpu, sources.catalogDate)
        if (offerings.length > 0) return {offerings, notes}
        notes.push(`SkyPilot's catalog lists no ${gpu.spec}${infra ? ` on ${infra}` : ''}`)
        sources.log?.(`prices: SkyPilot's catalog lists no ${gpu.spec}${infra ? ` on ${infra}` : ''}; trying owbench's reference data`)
      } else {
        notes.push(`\`sky gpus list\` failed (exit ${result.code})`)
        sources.log?.(`prices: \`sky gpus list\` failed (exit ${result.code}); using owbench's reference data`)
      }
    } catch (error) {
      if (!(error instanceof UserError)) throw error
      sources.sky = null
      sources.log?.('prices: SkyPilot is not installed; using owbench\'s reference data (data/gpu-rental-prices.csv)')
    }
  }
  if (!sources.sky && notes.length === 0) notes.push('SkyPilot is not installed')
  const offerings = offeringsFromReference(await sources.referenceRows(), gpu)
  if (offerings.length === 0) notes.push(`data/gpu-rental-prices.csv has no ${gpu.spec} row`)
  return {offerings, notes}
}

/** A price from --price-per-hour, on the instance the catalog would have picked (when it knows one). */
function givenOffering(gpu: GpuRequest, known: Offering | null, usdPerHour: number, origin: 'given' | 'forced', why: string): Offering {
  return {
    cloud: known?.cloud ?? 'chosen by SkyPilot',
    instanceType: known?.instanceType ?? null,
    accelerator: gpu.name,
    count: gpu.count,
    region: known?.region ?? null,
    usdPerHour,
    source: origin === 'forced' ? `forced (--price-per-hour ${gpu.spec}=${usdPerHour}${known ? `, instead of ${usd(known.usdPerHour)} from ${known.source}` : ''})` : `given (--price-per-hour; ${why})`,
    catalogDate: null,
    origin,
  }
}

/**
 * The price of one GPU, in README's order: SkyPilot's catalog, then data/gpu-rental-prices.csv,
 * then the --price-per-hour fallback; a forced price (`GPU:N=USD`) replaces them all. Null with
 * the reason when nothing prices it.
 */
function priceOf(gpu: GpuRequest, lookup: PriceLookup, infra: string | undefined, given: GivenPrices | undefined): {offering: Offering | null; missing?: string} {
  const known = cheapest(lookup.offerings, infra)
  const forced = given?.forced[gpu.spec.toLowerCase()]
  if (forced !== undefined) return {offering: givenOffering(gpu, known, forced, 'forced', '')}
  if (known) return {offering: known}
  const notes = [...lookup.notes]
  if (lookup.offerings.length > 0 && infra) notes.push(`none of its ${lookup.offerings.length} priced offering${lookup.offerings.length === 1 ? ' is' : 's are'} on ${infra}`)
  const why = `no price known for ${gpu.spec}: ${notes.join('; ')}`
  if (given?.fallback !== undefined) return {offering: givenOffering(gpu, null, given.fallback, 'given', why.replace(/^no price known/, 'no catalog or reference price'))}
  return {offering: null, missing: why}
}

/**
 * The plan: per GPU one cluster, its cheapest offering and price, its task file; the bound of
 * the whole run is the planned prices x --max-duration. A GPU nothing prices stays in the plan
 * with its reason (a dry run still shows it), and the bound is then a lower bound. Refuses a plan
 * above --max-cost, or one with an unpriced GPU when --max-cost is given (it cannot be checked).
 */
export async function makePlan(input: PlanInputs, sources: PriceSources): Promise<CloudPlan> {
  const servedName = servedModelName(input.model, input.upload?.fileName)
  const autodownMinutes = Math.ceil(input.maxDurationMin) + AUTODOWN_GRACE_MIN
  const machines: PlannedMachine[] = []
  const specs = new Set(input.gpus.map((g) => g.spec.toLowerCase()))
  const stray = Object.keys(input.prices?.forced ?? {}).filter((spec) => !specs.has(spec))
  if (stray.length > 0) throw new UserError(`--price-per-hour prices ${stray.join(', ')}, which --gpu does not ask for`, `name the GPUs as --gpu does (${input.gpus.map((g) => g.spec).join(', ')})`)
  // One copy per plan: offeringsFor drops `sky` from it once it proves not installed.
  const lookupSources: PriceSources = {...sources}
  for (const gpu of input.gpus) {
    const lookup = await offeringsFor(gpu, input.infra, lookupSources)
    const {offering, missing} = priceOf(gpu, lookup, input.infra, input.prices)
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
      slots: input.slots,
    })
    machines.push({
      cluster,
      gpu,
      offering,
      ...(missing ? {missingPrice: missing} : {}),
      offerings: lookup.offerings,
      task,
      taskYaml: renderTaskYaml(task),
      taskFile: path.join(input.outDir, `${cluster}.sky.yaml`),
      boundUsd: offering ? offering.usdPerHour * (input.maxDurationMin / 60) : null,
    })
  }
  const boundUsd = machines.reduce((sum, m) => sum + (m.boundUsd ?? 0), 0)
  if (input.maxCostUsd !== undefined) {
    const unpriced = machines.filter((m) => !m.offering)
    if (unpriced.length > 0) throw unpricedError(unpriced, `--max-cost ${usd(input.maxCostUsd)} cannot be checked`)
    if (boundUsd > input.maxCostUsd) {
      const hourly = machines.reduce((sum, m) => sum + m.offering!.usdPerHour, 0)
      const fits = Math.floor((input.maxCostUsd / hourly) * 60)
      throw new UserError(
        `the plan may cost up to ${usd(boundUsd)} (${usd(hourly)}/h for ${input.maxDurationMin} min), above --max-cost ${usd(input.maxCostUsd)}`,
        fits >= 1 ? `lower --max-duration to ${fits} min or less, raise --max-cost, or rent fewer machines` : 'raise --max-cost or rent fewer machines',
      )
    }
  }
  return {machines, servedName, maxDurationMin: input.maxDurationMin, autodownMinutes, boundUsd, maxCostUsd: input.maxCostUsd}
}

function unpricedError(unpriced: readonly PlannedMachine[], consequence: string): UserError {
  const specs = unpriced.map((m) => m.gpu.spec)
  return new UserError(
    `${unpriced.map((m) => m.missingPrice).join('; ')}; ${consequence}`,
    `pass --price-per-hour USD (for GPUs with no known price) or --price-per-hour ${specs[0]}=USD, or drop ${specs.join(', ')} from --gpu`,
  )
}

/**
 * The plan with every machine priced, as a launch needs it (the spend is watched against
 * --max-cost and recorded with each result); refuses, naming the GPUs and the fix, otherwise.
 */
export function requirePrices(plan: CloudPlan): PricedPlan {
  const unpriced = plan.machines.filter((m) => !m.offering)
  if (unpriced.length > 0) throw unpricedError(unpriced, 'owbench launches nothing it cannot price')
  return plan as PricedPlan
}

export function usd(amount: number): string {
  return `$${amount < 1 ? amount.toFixed(4) : amount.toFixed(2)}`
}

/** The plan as printed before anything is launched (and by --dry-run). */
export function renderPlan(plan: CloudPlan, context: {model: string; engine: ServingEngine; suite: string; concurrency?: string}): string {
  const rows = plan.machines.map((m) =>
    m.offering
      ? `| ${m.cluster} | ${m.gpu.spec} | ${m.offering.cloud} | ${m.offering.region ?? '-'} | ${m.offering.instanceType ?? '-'} | ${m.offering.usdPerHour.toFixed(2)} | ${m.offering.source} |`
      : `| ${m.cluster} | ${m.gpu.spec} | - | - | - | unknown | ${m.missingPrice} |`,
  )
  const unpriced = plan.machines.filter((m) => !m.offering)
  const priced = plan.machines.length - unpriced.length
  const scope = `${priced} machine${priced === 1 ? '' : 's'} x ${plan.maxDurationMin} min at the planned prices`
  const estimate =
    unpriced.length === 0
      ? `estimate: at most ${usd(plan.boundUsd)} for the run (${scope}; owbench tears each down when done, at --max-duration, or on Ctrl-C)` +
        (plan.maxCostUsd === undefined ? '' : `; --max-cost ${usd(plan.maxCostUsd)} tears everything down when the spend reaches it`)
      : `estimate: unknown: no price for ${unpriced.map((m) => m.gpu.spec).join(', ')}; the priced machines alone may cost up to ${usd(plan.boundUsd)} (${scope}), a lower bound for the run. A launch is refused until every GPU has a price (--price-per-hour).`
  return [
    `model: ${context.model} served by ${context.engine.name} (image ${context.engine.image}) as "${plan.servedName}"`,
    `suite: ${context.suite}${context.concurrency ? `, concurrency ${context.concurrency}` : ''}; measured on each machine against its own server (GPU meter) and from here over the network`,
    '',
    '| cluster | GPU | cloud | region | instance | USD/hour | price source |',
    '| --- | --- | --- | --- | --- | ---: | --- |',
    ...rows,
    '',
    estimate,
    `backstop: SkyPilot's autodown tears each machine down ${plan.autodownMinutes} min after it is up, even if owbench is gone`,
    'SkyPilot\'s optimizer picks among your enabled clouds at launch and may fail over to another offering; each result records the instance it got and its price.',
  ].join('\n')
}
