import {randomBytes} from 'node:crypto'
import {mkdir, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {loadGpuRentalPrices} from '../cost/rented-gpu.js'
import {UserError} from '../errors/errors.js'
import {ensureSyntheticModel, type SyntheticModelId} from '../model/synthetic-model.js'
import {loadSuite} from '../suite/load.js'
import {packageRoot} from '../paths/paths.js'
import {owbenchVersion} from '../system/version.js'
import {parseGpuList} from './accelerators.js'
import {measureOverNetwork} from './network-run.js'
import {type CloudPlan, makePlan, requirePrices} from './plan.js'
import {parseGivenPrices, skypilotCatalogDate} from './prices.js'
import {checkModelForEngine, parseCloudModel, serverSlots, servingEngine, type ServingEngine} from './serving.js'
import {type MachineOutcome, runCloudSession, type SessionDeps} from './session.js'
import {type Sky, skyReason, spawnCommand} from './sky.js'
import {REMOTE_SUITE} from './task-file.js'

/** `owbench cloud run` flags; the same names and meanings as the command's. */
export interface CloudRunFlags {
  gpu: string
  model: string
  engine: string
  engineImage?: string
  cloud?: string
  suite: string
  concurrency?: string
  maxDurationMin: number
  launchTimeoutMin: number
  maxCostUsd?: number
  /** `--price-per-hour`: USD for GPUs with no known price, and/or GPU[:N]=USD to replace a known price. */
  pricePerHour?: string
  diskGb: number
  out?: string
  dryRun: boolean
}

export interface CloudRunDeps extends Omit<SessionDeps, 'measureNetwork'> {
  sky: Sky
  signal: AbortSignal
  env?: NodeJS.ProcessEnv
  /** Shown the plan before anything is launched. */
  onPlan?: (plan: CloudPlan, engine: ServingEngine) => void
}

export interface CloudRunReport {
  dryRun: boolean
  plan: CloudPlan
  engine: ServingEngine
  outDir: string
  machines: MachineOutcome[]
}

const INFRA = /^(\*|[a-z][a-z0-9-]*)(\/[^/\s]+){0,2}$/i

/**
 * `owbench cloud run`: plan (prices, task files, the bound of the cost), then, unless a dry run,
 * launch every machine through SkyPilot and measure (see runCloudSession). The task files are
 * written into the output directory either way, ready for `sky launch` by hand.
 */
export async function cloudRun(flags: CloudRunFlags, deps: CloudRunDeps): Promise<CloudRunReport> {
  const env = deps.env ?? process.env
  const gpus = parseGpuList(flags.gpu)
  const model = parseCloudModel(flags.model)
  const engine = servingEngine(flags.engine, flags.engineImage)
  checkModelForEngine(model, engine)
  if (flags.cloud !== undefined && !INFRA.test(flags.cloud)) throw new UserError(`--cloud "${flags.cloud}" is not SkyPilot infra`, 'use a cloud name as SkyPilot writes it, optionally with a region: aws, lambda, gcp/us-central1, k8s')
  if (!(flags.maxDurationMin > 0)) throw new UserError('--max-duration must be a positive number of minutes', 'for example --max-duration 60')
  if (flags.maxCostUsd !== undefined && !(flags.maxCostUsd > 0)) throw new UserError('--max-cost must be a positive amount of USD', 'for example --max-cost 5')
  const prices = flags.pricePerHour === undefined ? undefined : parseGivenPrices(flags.pricePerHour)
  const {suite, source: suiteSource} = await loadSuite(flags.suite)
  const slots = serverSlots(flags.concurrency, suite)
  const runId = randomBytes(3).toString('hex')
  const stamp = new Date(deps.now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  const outDir = path.resolve(flags.out ?? path.join('owbench-results', `cloud-${stamp}-${runId}`))
  await mkdir(outDir, {recursive: true})
  let upload: {localPath: string; fileName: string} | undefined
  if (model.kind === 'upload') {
    const localPath = model.synthetic ? (await ensureSyntheticModel(model.synthetic as SyntheticModelId)).path : model.localPath!
    upload = {localPath, fileName: path.basename(localPath)}
  }
  // The packed owbench stays beside the results: it is exactly what ran on the machines.
  const tarball = path.join(outDir, `owbench-${owbenchVersion}.tgz`)
  {
    const extraSecrets: Record<string, string> = env.HF_TOKEN ? {HF_TOKEN: env.HF_TOKEN} : {}
    const plan = await makePlan(
      {
        gpus,
        model,
        engine,
        infra: flags.cloud,
        suite: flags.suite,
        suiteFile: suiteSource.kind === 'file' ? path.resolve(suiteSource.path) : undefined,
        concurrency: flags.concurrency,
        maxDurationMin: flags.maxDurationMin,
        maxCostUsd: flags.maxCostUsd,
        prices,
        slots,
        diskGb: flags.diskGb,
        outDir,
        runId,
        upload,
        owbenchTarball: tarball,
        owbenchVersion,
        nodeVersion: process.versions.node,
        extraSecrets: Object.keys(extraSecrets),
      },
      {sky: deps.sky, referenceRows: loadGpuRentalPrices, catalogDate: (cloud) => skypilotCatalogDate(cloud, env.HOME ?? os.homedir()), log: deps.log},
    )
    for (const machine of plan.machines) await writeFile(machine.taskFile, machine.taskYaml)
    await packOwbench(outDir)
    if (flags.dryRun) return {dryRun: true, plan, engine, outDir, machines: []}
    deps.onPlan?.(plan, engine)
    // Nothing is rented without a price: the spend is watched and recorded with each result.
    const priced = requirePrices(plan)
    // Nothing is rented unless SkyPilot is there to tear it down again.
    deps.log(`SkyPilot ${await deps.sky.version()}`)
    const machines = await runCloudSession(
      {
        plan: priced,
        engine,
        remoteSuite: suiteSource.kind === 'file' ? REMOTE_SUITE : flags.suite,
        localSuite: flags.suite,
        concurrency: flags.concurrency,
        outDir,
        apiKey: randomBytes(24).toString('base64url'),
        extraSecrets,
        maxDurationMs: flags.maxDurationMin * 60_000,
        launchTimeoutMs: flags.launchTimeoutMin * 60_000,
        maxCostUsd: flags.maxCostUsd,
        signal: deps.signal,
      },
      {...deps, measureNetwork: measureOverNetwork},
    )
    return {dryRun: false, plan, engine, outDir, machines}
  }
}

/** This very owbench as an npm package (`npm pack`, no build scripts), for the machine to install. */
async function packOwbench(dir: string): Promise<void> {
  const result = await spawnCommand('npm', ['pack', packageRoot, '--pack-destination', dir, '--ignore-scripts', '--silent'], {env: {npm_config_update_notifier: 'false'}})
  if (result.code !== 0) throw new UserError(`cannot pack owbench for the rented machine: ${skyReason(result)}`, 'check that npm works (`npm --version`)')
}
