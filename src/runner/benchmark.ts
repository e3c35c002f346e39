import {randomUUID} from 'node:crypto'
import path from 'node:path'
import type {Engine} from '../engines/engine.js'
import {checkContextSize, type EngineBuild, type GpuChoice, type LocalEngineOptions} from '../engines/local.js'
import type {EndpointOptions} from '../engines/openai.js'
import {type CostFlags, resolveCostInputs} from '../cost/cost-inputs.js'
import {costOfResult} from '../cost/result-costs.js'
import {InterruptedError, RequiredPowerError, UserError} from '../errors/errors.js'
import {systemCpuTimes} from '../power/cpu-utilization.js'
import type {PowerSource} from '../power/power-source.js'
import {nvmlConditionsReader} from '../power/nvml.js'
import {rebaseRecording} from '../power/sampler.js'
import type {ResolvedModel} from '../model/resolve.js'
import {SYNTHETIC_MODEL_DESCRIPTION} from '../model/synthetic-model.js'
import {checkResultPath, DEFAULT_RESULT_DIR, defaultResultPath, fallbackResultPath, parseResult, serializeResult, writeResult} from '../results/io.js'
import {SCHEMA_VERSION} from '../results/schema.js'
import type {ResultFile, RunRecord, Slo} from '../results/schema.js'
import type {Host} from '../system/host.js'
import {deriveResult} from '../derive/derive.js'
import {meteredHere} from '../derive/energy.js'
import {requiredPowerProblems} from '../derive/require-power.js'
import {contextNeeded, loadSuite} from '../suite/load.js'
import type {Suite} from '../suite/schema.js'
import {type LocalListener, localListener} from '../system/listening-process.js'
import {ConditionsMonitor, defaultReaders} from '../system/run-conditions.js'
import {owbenchVersion} from '../system/version.js'
import type {Load} from '../results/load.js'
import type {SweepRecord, SweepSettings} from '../results/sweep-schema.js'
import {sweepLoads} from './load-plan.js'
import {startPowerSession} from './power-session.js'
import {type RunnerEvent, runSuite} from './runner.js'
import {type SpeedOfLightProbes, withSpeedOfLightInputs} from './speed-of-light-inputs.js'

export interface BenchmarkOptions {
  /** Measure the local model (--model, or the built-in one) beside any endpoints. */
  includeLocal: boolean
  endpoints: EndpointOptions[]
  loads?: Load[]
  /** A load sweep or goodput search per target x test (`--concurrency sweep`, `--rate sweep`, `--goodput-target`), instead of `loads`. */
  sweep?: SweepSettings
  maxRequests?: number
  durationS?: number
  slo?: Slo
  /** Power sources: given ones (--watts, --meter), 'auto' (detect), or 'off'. */
  power: PowerSource[] | 'auto' | 'off'
  /** Money inputs (config "cost" section): stored with the result, and its cost computed at the end. */
  costInputs?: CostFlags
  /** Idle baseline before the run (seconds; 0 = none). */
  idleSeconds: number
  /** Fail the run (exit 3) when an energy figure is missing or invalid; fail before it without a source. */
  requirePower?: boolean
  /** Meter updates an energy window must span; shorter tests run back to back (default 10). */
  minMeterUpdates?: number
  powerIntervalMs?: number
  model?: string
  suite: string
  threads?: number
  gpu: GpuChoice
  gpuLayers: number | 'auto' | 'max'
  contextSize?: number
  batchSize: number
  flashAttention: boolean
  /** --n-cpu-moe and --override-tensor (llama-bench -ncmoe, -ot): where the local model's tensors are kept. */
  nCpuMoe?: number
  tensorOverrides?: string[]
  engineBuild: EngineBuild
  repetitions?: number
  warmup?: number
  seed: number
  /** Where to write the result; a directory-free default under ./owbench-results otherwise. */
  out?: string
  /** Show download progress bars (a terminal is attached). */
  progress: boolean
  signal?: AbortSignal
  onEvent?: (event: RunnerEvent) => void
  log?: (message: string) => void
}

/** Seams for tests: a fake engine and a fixed clock make the runner's output exact. */
export interface BenchmarkDeps extends Omit<SpeedOfLightProbes, 'log'> {
  createEngine: (options: LocalEngineOptions) => Promise<Engine>
  createEndpoint: (options: EndpointOptions) => Promise<Engine>
  fingerprint: () => Promise<Host>
  resolveModel: (spec: string | undefined, options: {progress: boolean; log?: (m: string) => void}) => Promise<ResolvedModel>
  now: () => Date
  clock?: () => number
  /** The power sources found on this machine (for --power auto). */
  detectPower: () => Promise<PowerSource[]>
  /** Reads the machine's conditions around each repetition (default: /proc and sysfs of this machine). */
  conditions?: () => ConditionsMonitor
  sleep?: (ms: number) => Promise<void>
}

export interface BenchmarkOutcome {
  result: ResultFile
  path: string
}

/**
 * `owbench run`: resolve the model, load the engine, run the suite, and keep the result file
 * current after every repetition, so Ctrl-C or a crash leaves everything measured so far on
 * disk, marked partial.
 */
export async function runBenchmark(options: BenchmarkOptions, deps: BenchmarkDeps): Promise<BenchmarkOutcome> {
  // Before anything runs: a result that cannot be written must not cost a whole run.
  if (options.includeLocal) checkContextSize(options.contextSize)
  await checkResultPath(options.out ?? path.join(DEFAULT_RESULT_DIR, 'result.json'), {createParent: options.out === undefined})
  const {suite, source, sha256} = await loadSuite(options.suite)
  const absolute = deps.clock ?? (() => performance.now())
  const power = await startPowerSession({...options, intervalMs: options.powerIntervalMs}, {clock: absolute, detectPower: deps.detectPower, sleep: deps.sleep})
  const sampler = power.sampler
  const engines: Engine[] = []
  const labels: string[] = []
  let host: Host
  let modelPath: string | undefined
  try {
    host = await deps.fingerprint()
    if (options.includeLocal) {
      const model = await deps.resolveModel(options.model, {progress: options.progress, log: options.log})
      modelPath = model.path
      if (model.synthetic) labels.push(SYNTHETIC_MODEL_DESCRIPTION)
      engines.push(
        await deps.createEngine({
          modelPath: model.path,
          modelSource: model.source,
          synthetic: model.synthetic,
          threads: options.threads ?? Math.max(1, host.cpu.physicalCores),
          gpu: options.gpu,
          gpuLayers: options.gpuLayers,
          contextSize: options.contextSize ?? defaultContextSize(suite),
          // Without --ctx, each test gets the context it needs, as in llama-bench.
          contextPerTest: options.contextSize === undefined,
          batchSize: options.batchSize,
          flashAttention: options.flashAttention,
          ...(options.nCpuMoe ? {nCpuMoe: options.nCpuMoe} : {}),
          ...(options.tensorOverrides?.length ? {tensorOverrides: options.tensorOverrides} : {}),
          engineBuild: options.engineBuild,
          seed: options.seed,
        }),
      )
    }
    for (const endpoint of options.endpoints) {
      engines.push(await deps.createEndpoint(endpoint))
    }
  } catch (error) {
    await Promise.all(engines.map((e) => e.dispose()))
    await sampler?.stop()
    throw error
  }
  if (engines.length === 0) {
    await sampler?.stop()
    throw new UserError('nothing to measure', 'pass --model, --endpoint or --target')
  }
  for (const note of power.notes) options.log?.(note)
  // Measured once, before the idle baseline and the measurements, on all cores.
  const facts = await withSpeedOfLightInputs(host, engines, modelPath, {...deps, log: options.log})
  const result: ResultFile = {
    schemaVersion: SCHEMA_VERSION,
    id: randomUUID(),
    createdAt: deps.now().toISOString(),
    owbenchVersion,
    state: 'partial',
    stateReason: 'in progress',
    labels,
    host: facts.host,
    suite: {name: suite.name, version: suite.version, sha256, source: source.kind, definition: suite},
    targets: facts.targets,
    runs: [],
  }
  const file = options.out ?? defaultResultPath(result)
  if (options.endpoints.length > 0 || options.loads || options.sweep || options.maxRequests || options.durationS || options.slo) {
    result.load = {}
    if (options.loads?.some((l) => l.mode === 'concurrency')) result.load.concurrency = options.loads.flatMap((l) => (l.mode === 'concurrency' ? [l.level] : []))
    const rate = options.loads?.find((l) => l.mode === 'rate')
    if (rate?.mode === 'rate') result.load.rate = rate.rps
    if (options.maxRequests) result.load.maxRequests = options.maxRequests
    if (options.durationS) result.load.durationS = options.durationS
    if (options.slo) result.load.slo = options.slo
    if (options.sweep) result.load.sweep = options.sweep
  }
  let origin = absolute()
  const save = async (runs: readonly RunRecord[], sweeps: readonly SweepRecord[] = []) => {
    result.runs = [...runs]
    if (sweeps.length > 0) result.sweeps = [...sweeps]
    if (sampler) result.power = rebaseRecording(sampler.snapshot(), origin)
    // A fresh object each checkpoint: the derivation is memoized per result object.
    result.summary = deriveResult({...result})
    await writeResult(file, result)
  }
  try {
    // A declared constant draw has no idle to measure: its net energy would be zero by construction.
    if (sampler && options.idleSeconds > 0 && power.sources.some((s) => s.kind !== 'constant')) {
      options.log?.(`power: measuring the idle baseline for ${options.idleSeconds} s`)
      await sampler.measureIdle(options.idleSeconds)
    }
    origin = absolute()
    await save([])
    const {outcome} = await runSuite({
      suite,
      engines,
      clock: absolute,
      origin,
      loads: options.loads,
      ...(options.sweep ? {plan: sweepLoads(options.sweep, options.slo)} : {}),
      maxRequests: options.maxRequests,
      durationS: options.durationS,
      repetitions: options.repetitions,
      warmup: options.warmup,
      seed: options.seed,
      minWindowMs: (target) => (meteredHere(target) ? power.minWindowMs : 0),
      conditions: deps.conditions ? deps.conditions() : new ConditionsMonitor(defaultReaders(systemCpuTimes(), await nvmlConditionsReader(), () => engineProcessCpu(engines), localServers(options.endpoints, options.log))),
      signal: options.signal,
      onEvent: (event) => {
        // Counter sources are read at window edges.
        if (event.type === 'repetition-start' || event.type === 'repetition-end') sampler?.mark()
        options.onEvent?.(event)
      },
      onCheckpoint: save,
    })
    const measured = outcome.runs.filter((r) => !r.warmup)
    if (outcome.interrupted) {
      result.state = 'partial'
      result.stateReason = 'interrupted before the suite finished'
    } else if (measured.length > 0 && measured.every((r) => r.state !== 'completed')) {
      result.state = 'errored'
      result.stateReason = 'no repetition completed'
    } else {
      result.state = 'completed'
      delete result.stateReason
    }
    await sampler?.stop()
    await save(outcome.runs, outcome.sweeps)
    if (options.costInputs && result.state === 'completed') {
      result.costInputs = options.costInputs
      try {
        // From the result as the file holds it (times to the microsecond): `owbench cost` on the file
        // recomputes exactly these figures, however short the tests were.
        result.cost = costOfResult(parseResult(serializeResult(result), file), await resolveCostInputs(options.costInputs))
      } catch (error) {
        // A bad money input must not cost the measurements: they are saved, and `owbench cost` can retry.
        options.log?.(`cost: not computed: ${error instanceof Error ? error.message : String(error)}`)
      }
      await writeResult(file, result)
    }
    for (const f of result.power?.failures ?? []) {
      options.log?.(`power: ${f.sourceId} failed at ${(f.failedAt / 1000).toFixed(1)} s: ${f.reason}; energy for later windows is marked missing`)
    }
    if (outcome.interrupted) throw new InterruptedError('run interrupted', file)
    // The result as the file holds it (times to the microsecond), so the table printed now shows the
    // figures `owbench report` derives from the file, to the last digit.
    // Parsed as plain JSON, not through the schema, which would reorder keys: `--json` prints exactly the file's bytes.
    const stored = JSON.parse(serializeResult(result)) as ResultFile
    const problems = options.requirePower ? requiredPowerProblems(deriveResult(stored)) : []
    if (problems.length > 0) throw new RequiredPowerError(`--require-power: ${problems.length} energy figure${problems.length === 1 ? ' is' : 's are'} missing or invalid: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''}`, file)
    return {result: stored, path: file}
  } catch (error) {
    if (error instanceof InterruptedError || error instanceof RequiredPowerError) throw error
    // A crash keeps the last checkpoint's runs; say so in the file itself.
    result.state = 'partial'
    result.stateReason = `crashed: ${error instanceof Error ? error.message : String(error)}`
    // When the result's own path fails (disk full, directory removed), the measurements go elsewhere.
    const savedTo = await writeResult(file, result).then(
      () => file,
      () => writeResult(fallbackResultPath(file), result).then(() => fallbackResultPath(file), () => undefined),
    )
    const saved = savedTo ? `partial result saved to ${savedTo}` : 'the partial result could not be saved either'
    if (error instanceof UserError) throw new UserError(error.message, `${error.hint ? `${error.hint}; ` : ''}${saved}`, error.exitCode)
    throw error
  } finally {
    if (sampler) await sampler.stop().catch(() => undefined)
    await Promise.all(engines.map((e) => e.dispose()))
  }
}

/**
 * Target id -> the process serving each endpoint on this machine (listening on its port), whose CPU time is the
 * measured server's and not other processes' load; remote endpoints have none. Each is logged, found or not.
 */
function localServers(endpoints: readonly EndpointOptions[], log?: (line: string) => void): Map<string, LocalListener> {
  const servers = new Map<string, LocalListener>()
  for (const endpoint of endpoints) {
    const listener = localListener(endpoint.baseUrl)
    if (!listener) continue
    servers.set(endpoint.id, listener)
    log?.(
      'processes' in listener
        ? `${endpoint.id}: served on this machine by ${listener.processes.map((p) => `${p.name} (pid ${p.pid})`).join(', ')} listening on port ${listener.port}; its CPU time counts as the measured server's, not as other processes' load`
        : `${endpoint.id}: served on this machine, but ${listener.unidentified}: the busy-machine check may count the server's own CPU use as other processes' load`,
    )
  }
  return servers
}

/** pid -> CPU ms of the engines that run in their own process, as they report it (exact, where /proc counts 10 ms ticks). */
function engineProcessCpu(engines: readonly Engine[]): Map<number, number> {
  const cpu = new Map<number, number>()
  for (const engine of engines) {
    const own = engine.processCpu?.()
    if (own) cpu.set(own.pid, own.cpuMs)
  }
  return cpu
}

/** Enough context for the suite's largest test, so no test is skipped unless the model is too small. */
export function defaultContextSize(suite: Suite): number {
  let needed = 512
  for (const test of suite.tests) {
    // Chat prompts are tokenized later: one token per character is a safe upper bound for text.
    const promptChars = test.kind === 'chat' ? test.messages.reduce((n, m) => n + m.content.length + 32, 64) : 0
    needed = Math.max(needed, contextNeeded(test) + promptChars)
  }
  return Math.ceil(needed / 256) * 256
}
