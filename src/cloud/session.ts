import {writeFile} from 'node:fs/promises'
import path from 'node:path'
import type {CloudRecord} from '../results/schema.js'
import type {NetworkRunOptions, NetworkRunOutcome} from './network-run.js'
import type {PricedMachine, PricedPlan} from './plan.js'
import {usd} from './plan.js'
import type {Offering} from './prices.js'
import {annotateResult} from './result-annotation.js'
import {shellQuote, type ServingEngine} from './serving.js'
import {instanceTypeFrom, jobIdFrom, requestIdFrom, type Sky, SkyError, skyReason} from './sky.js'
import {REMOTE_DIR} from './task-file.js'

/** Why a machine stopped before its work was done. */
export type StopKind = 'interrupted' | 'max-cost' | 'max-duration'

export class Stop extends Error {
  constructor(
    readonly kind: StopKind,
    message: string,
  ) {
    super(message)
  }
}

class MachineFailure extends Error {}

export interface SessionOptions {
  plan: PricedPlan
  engine: ServingEngine
  /** The suite as `owbench run --suite` takes it on the machine (a name, or the uploaded file). */
  remoteSuite: string
  /** The same suite for the run from here. */
  localSuite: string
  concurrency?: string
  outDir: string
  /** The per-run key protecting the public port; sent as a secret, never written. */
  apiKey: string
  /** Other secrets forwarded to the machine (HF_TOKEN), by name and value. */
  extraSecrets: Record<string, string>
  maxDurationMs: number
  /** Give up on a launch (no capacity anywhere SkyPilot tried, a slow provider) after this long. */
  launchTimeoutMs: number
  maxCostUsd?: number
  /** Ctrl-C (or SIGTERM): stop everything, keep what was measured, tear down. */
  signal: AbortSignal
}

export interface SessionDeps {
  sky: Sky
  /** Epoch milliseconds. */
  now: () => number
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  fetch: typeof fetch
  measureNetwork: (options: NetworkRunOptions) => Promise<NetworkRunOutcome>
  log: (message: string) => void
}

export interface MachineOutcome {
  cluster: string
  gpu: string
  state: 'completed' | 'failed' | StopKind
  reason?: string
  files: string[]
  cloud: string | null
  region: string | null
  instanceType: string | null
  usdPerHour: number
  rentalUsd: number | null
  /** `sky down` returned and `sky status` no longer lists the cluster. */
  tornDown: boolean
  teardownError?: string
}

interface Rental {
  launchedAtMs: number
  tornDownAtMs: number | null
  usdPerHour: number
}

const HEALTH_POLL_MS = 2000
const LAUNCH_STATUS_POLL_MS = 5000
const JOB_CHECK_MS = 15_000
const TERMINAL_JOB = /^(SUCCEEDED|FAILED.*|CANCELLED)$/

/**
 * Every machine of the plan in parallel: launch, wait for the server's health endpoint, run owbench
 * on the machine against its local server with the GPU meter, copy that result back, measure the
 * same endpoint from here over the network, and tear the machine down whatever happened. The fleet's
 * spend (price x time since each launch started) is watched: at --max-cost everything stops.
 */
export async function runCloudSession(options: SessionOptions, deps: SessionDeps): Promise<MachineOutcome[]> {
  const fleet = new AbortController()
  const onUserStop = () => fleet.abort(new Stop('interrupted', 'Ctrl-C (or SIGTERM)'))
  if (options.signal.aborted) onUserStop()
  else options.signal.addEventListener('abort', onUserStop, {once: true})
  const rentals: Rental[] = []
  let networkQueue: Promise<unknown> = Promise.resolve()
  // Runs from here go one at a time: parallel clients on this machine would measure each other.
  const oneAtATime = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = networkQueue.then(fn, fn)
    networkQueue = next.catch(() => undefined)
    return next
  }
  const watchdog = new AbortController()
  const watching =
    options.maxCostUsd === undefined
      ? Promise.resolve()
      : (async () => {
          while (!watchdog.signal.aborted) {
            const spent = rentals.reduce((sum, r) => sum + (r.usdPerHour * ((r.tornDownAtMs ?? deps.now()) - r.launchedAtMs)) / 3_600_000, 0)
            if (spent >= options.maxCostUsd! && !fleet.signal.aborted) {
              fleet.abort(new Stop('max-cost', `the spend reached --max-cost ${usd(options.maxCostUsd!)} (${usd(spent)} so far)`))
            }
            await deps.sleep(1000, watchdog.signal).catch(() => undefined)
          }
        })()
  try {
    return await Promise.all(options.plan.machines.map((machine) => runMachine(machine, options, deps, fleet.signal, rentals, oneAtATime)))
  } finally {
    watchdog.abort()
    await watching
    options.signal.removeEventListener('abort', onUserStop)
  }
}

async function runMachine(
  machine: PricedMachine,
  options: SessionOptions,
  deps: SessionDeps,
  fleetSignal: AbortSignal,
  rentals: Rental[],
  oneAtATime: <T>(fn: () => Promise<T>) => Promise<T>,
): Promise<MachineOutcome> {
  const {sky} = deps
  const cluster = machine.cluster
  const say = (message: string) => deps.log(`[${cluster}] ${message}`)
  const stop = new AbortController()
  const forward = () => stop.abort(fleetSignal.reason)
  if (fleetSignal.aborted) forward()
  else fleetSignal.addEventListener('abort', forward, {once: true})
  const deadline = setTimeout(() => stop.abort(new Stop('max-duration', `--max-duration (${options.plan.maxDurationMin} min) reached`)), options.maxDurationMs)
  const secrets = {OWBENCH_API_KEY: options.apiKey, ...options.extraSecrets}
  const rental: Rental = {launchedAtMs: deps.now(), tornDownAtMs: null, usdPerHour: machine.offering.usdPerHour}
  rentals.push(rental)
  let price: Offering = machine.offering
  let launched: {cloud: string | null; region: string | null; instanceType: string | null} = {cloud: null, region: null, instanceType: null}
  let engineVersion: string | null = null
  const files: {file: string; measuredFrom: 'server' | 'client'}[] = []
  let state: MachineOutcome['state'] = 'completed'
  let reason: string | undefined
  const stopped = () => (stop.signal.reason instanceof Stop ? stop.signal.reason : new Stop('interrupted', 'stopped'))
  try {
    await writeFile(machine.taskFile, machine.taskYaml)
    say(`launching ${machine.gpu.spec} (planned: ${machine.offering.cloud} ${machine.offering.instanceType ?? ''} at ${usd(machine.offering.usdPerHour)}/h)`)
    const launchSignal = AbortSignal.any([stop.signal, AbortSignal.timeout(options.launchTimeoutMs)])
    // While SkyPilot provisions, `sky status` already lists the cluster (INIT) with the instance its
    // optimizer chose: a failover to a dearer instance is priced (and watched) from then on.
    const launching = new AbortController()
    const watchLaunch = (async () => {
      while (!launching.signal.aborted) {
        await deps.sleep(LAUNCH_STATUS_POLL_MS, launching.signal).catch(() => undefined)
        if (launching.signal.aborted) break
        const [record] = await sky.status([cluster]).catch(() => [])
        const instanceType = instanceTypeFrom(record?.resources_str_full)
        if (record && instanceType && instanceType !== launched.instanceType) {
          launched = {cloud: record.cloud ?? null, region: record.region ?? null, instanceType}
          price = launchedPrice(machine, launched)
          rental.usdPerHour = price.usdPerHour
          say(`provisioning ${launched.cloud ?? '?'} ${instanceType} in ${launched.region ?? '?'} at ${usd(price.usdPerHour)}/h`)
        }
      }
    })()
    const launch = await sky.launch(cluster, machine.taskFile, secrets, {signal: launchSignal, onLine: (l) => say(l)}).finally(() => launching.abort())
    await watchLaunch
    if (launchSignal.aborted) {
      // An interrupted `sky launch` leaves its request running on the API server: cancel it.
      const requestId = requestIdFrom(launch.stdout + launch.stderr)
      if (requestId) await sky.cancelRequest(requestId)
      if (stop.signal.aborted) throw stopped()
      throw new MachineFailure(`launch did not finish within --launch-timeout (${Math.round(options.launchTimeoutMs / 60_000)} min); request cancelled`)
    }
    if (launch.code !== 0) throw new MachineFailure(`launch failed: ${skyReason(launch)}`)
    const [record] = await sky.status([cluster])
    if (!record) throw new MachineFailure('`sky status` does not list the cluster after its launch')
    launched = {cloud: record.cloud ?? null, region: record.region ?? null, instanceType: instanceTypeFrom(record.resources_str_full)}
    price = launchedPrice(machine, launched)
    rental.usdPerHour = price.usdPerHour
    say(`up: ${launched.cloud ?? '?'} ${launched.instanceType ?? '?'} in ${launched.region ?? '?'} at ${usd(price.usdPerHour)}/h`)
    const endpoint = await sky.endpoint(cluster, options.engine.port)
    await waitHealthy(`${endpoint}${options.engine.healthPath}`, cluster, deps, stop.signal)
    say(`server ready at port ${options.engine.port}; measuring on the machine`)
    const remote = await sky.exec(cluster, remoteRunCommand(options, machine), secrets, {signal: stop.signal, onLine: (l) => say(l)})
    const jobId = jobIdFrom(remote.stdout + remote.stderr)
    if (stop.signal.aborted && jobId !== null) await sky.cancelJob(cluster, jobId)
    // Whatever the machine measured comes home, complete or partial.
    const serverResult = await sky.readRemoteFile(cluster, `${REMOTE_DIR}/server.json`)
    engineVersion = (await sky.readRemoteFile(cluster, `${REMOTE_DIR}/engine-version.txt`))?.trim().split('\n').slice(0, 3).join(' ') || null
    if (serverResult !== null && serverResult.trim() !== '') {
      const file = path.join(options.outDir, `${cluster}-server.json`)
      await writeFile(file, serverResult)
      files.push({file, measuredFrom: 'server'})
    }
    if (stop.signal.aborted) throw stopped()
    if (remote.code !== 0) throw new MachineFailure(`the run on the machine failed: ${skyReason(remote)}`)
    say('measuring the same endpoint from here over the network')
    const network = await oneAtATime(() =>
      deps.measureNetwork({
        baseUrl: `${endpoint}/v1`,
        model: options.plan.servedName,
        apiKey: options.apiKey,
        suite: options.localSuite,
        concurrency: options.concurrency,
        out: path.join(options.outDir, `${cluster}-network.json`),
        targetId: 'network',
        usdPerHour: price.usdPerHour,
        signal: stop.signal,
        log: say,
      }),
    )
    if (network.path) files.push({file: network.path, measuredFrom: 'client'})
    if (stop.signal.aborted) throw stopped()
    if (network.error) throw new MachineFailure(`the run from here failed: ${network.error}`)
  } catch (error) {
    if (error instanceof Stop) {
      state = error.kind
      reason = error.message
    } else if (error instanceof MachineFailure || error instanceof SkyError) {
      state = 'failed'
      reason = error.message
    } else {
      state = 'failed'
      reason = `owbench error: ${error instanceof Error ? error.message : String(error)}`
    }
    say(`${state}: ${reason}`)
  } finally {
    clearTimeout(deadline)
    fleetSignal.removeEventListener('abort', forward)
  }
  const teardown = await tearDown(cluster, deps)
  rental.tornDownAtMs = teardown.ok ? deps.now() : null
  const seconds = rental.tornDownAtMs === null ? null : (rental.tornDownAtMs - rental.launchedAtMs) / 1000
  const rentalUsd = seconds === null ? null : (price.usdPerHour * seconds) / 3600
  for (const {file, measuredFrom} of files) {
    const record: CloudRecord = {
      orchestrator: 'skypilot',
      cluster,
      measuredFrom,
      accelerators: machine.gpu.spec,
      gpu: machine.gpu.name,
      gpuCount: machine.gpu.count,
      ...launched,
      engine: {name: options.engine.name, image: options.engine.image, version: engineVersion},
      price: {usdPerHour: price.usdPerHour, source: price.source, catalogDate: price.catalogDate},
      rental: {
        launchedAt: new Date(rental.launchedAtMs).toISOString(),
        tornDownAt: rental.tornDownAtMs === null ? null : new Date(rental.tornDownAtMs).toISOString(),
        seconds,
        usd: rentalUsd,
        ...(teardown.ok ? {} : {missingReason: `teardown not confirmed: ${teardown.error}`}),
      },
    }
    await annotateResult(file, record).catch((error: unknown) => say(`could not record the rental in ${file}: ${error instanceof Error ? error.message : String(error)}`))
  }
  say(teardown.ok ? `torn down (${usd(rentalUsd ?? 0)} for ${((seconds ?? 0) / 60).toFixed(1)} min)` : `TEARDOWN NOT CONFIRMED: ${teardown.error} — run \`sky down ${cluster}\` now`)
  return {
    cluster,
    gpu: machine.gpu.spec,
    state,
    ...(reason ? {reason} : {}),
    files: files.map((f) => f.file),
    cloud: launched.cloud,
    region: launched.region,
    instanceType: launched.instanceType,
    usdPerHour: price.usdPerHour,
    rentalUsd,
    tornDown: teardown.ok,
    ...(teardown.ok ? {} : {teardownError: teardown.error}),
  }
}

/** The price of what SkyPilot launched: its catalog offering, else the planned price (said so). */
function launchedPrice(machine: PricedMachine, launched: {cloud: string | null; region: string | null; instanceType: string | null}): Offering {
  // A price from --price-per-hour (a fallback or a negotiated rate) is the price of whatever launched.
  if (machine.offering.origin === 'given' || machine.offering.origin === 'forced') return machine.offering
  const same = (a: string | null, b: string | null) => a !== null && b !== null && a.toLowerCase() === b.toLowerCase()
  const match =
    machine.offerings.find((o) => same(o.cloud, launched.cloud) && same(o.instanceType, launched.instanceType) && same(o.region, launched.region)) ??
    machine.offerings.find((o) => same(o.cloud, launched.cloud) && same(o.instanceType, launched.instanceType))
  if (match) return match
  return {...machine.offering, source: `${machine.offering.source} (planned price: the launched ${launched.cloud ?? '?'} ${launched.instanceType ?? '?'} is not in the catalog listing)`}
}

/**
 * Polls the server's health endpoint from here until it answers 200; every 15 s checks that the
 * server job (job 1) still runs, so a server that crashed (a wrong model name, out of memory) is
 * reported at once with its last log lines instead of waiting for the deadline.
 */
async function waitHealthy(url: string, cluster: string, deps: SessionDeps, signal: AbortSignal): Promise<void> {
  let lastCheck = deps.now()
  for (;;) {
    if (signal.aborted) throw signal.reason instanceof Stop ? signal.reason : new Stop('interrupted', 'stopped')
    // A fresh timeout per poll (not tied to `signal`, which would gather a listener per poll); the loop checks `signal`.
    const ok = await deps.fetch(url, {signal: AbortSignal.timeout(5000)}).then(
      async (r) => {
        await r.body?.cancel()
        return r.status === 200
      },
      () => false,
    )
    if (ok) return
    if (deps.now() - lastCheck >= JOB_CHECK_MS) {
      lastCheck = deps.now()
      const server = (await deps.sky.jobs(cluster).catch(() => [])).find((j) => j.job_id === 1)
      if (server && TERMINAL_JOB.test(server.status)) {
        const logs = await deps.sky.logs(cluster, 1)
        throw new MachineFailure(`the server exited (${server.status}) before it was ready: ${skyReason(logs)}`)
      }
    }
    await deps.sleep(HEALTH_POLL_MS, signal).catch(() => undefined)
  }
}

/**
 * `owbench run` on the machine against its own server: reached at the head node's own address
 * ($SKYPILOT_NODE_IPS, first line; SkyPilot's containers share the host's network), so TTFT has
 * no WAN in it, and the GPU meter's scope set to that server (--meter-on-server).
 */
export function remoteRunCommand(options: Pick<SessionOptions, 'engine' | 'remoteSuite' | 'concurrency' | 'plan'>, machine: PricedMachine): string {
  const meter = /^MI\d/i.test(machine.gpu.name) ? 'amd-smi' : 'nvidia'
  return [
    'export PATH="$HOME/.owbench/node/bin:$HOME/.owbench/bin:$PATH";',
    'NODE_IP=$(echo "$SKYPILOT_NODE_IPS" | head -n1);',
    `owbench run --endpoint "http://$NODE_IP:${options.engine.port}/v1"`,
    `--model-name ${shellQuote(options.plan.servedName)}`,
    '--api-key-env OWBENCH_API_KEY',
    `--suite ${options.remoteSuite.startsWith('~/') ? options.remoteSuite : shellQuote(options.remoteSuite)}`,
    ...(options.concurrency ? [`--concurrency ${shellQuote(options.concurrency)}`] : []),
    `--meter ${meter} --meter-on-server`,
    `--out ~/${REMOTE_DIR}/server.json`,
  ].join(' ')
}

/**
 * `sky down`, then `sky status` to see the cluster gone; once more after a pause when it is not
 * (a launch request still finishing after a cancel can bring a cluster back into the table).
 */
async function tearDown(cluster: string, deps: SessionDeps): Promise<{ok: true} | {ok: false; error: string}> {
  let error = ''
  for (let attempt = 0; attempt < 3; attempt++) {
    const down = await deps.sky.down([cluster]).catch((e: unknown) => ({code: 1, signal: null, stdout: '', stderr: e instanceof Error ? e.message : String(e)}))
    const remaining = await deps.sky.status([cluster]).catch(() => null)
    if (down.code === 0 && remaining !== null && remaining.length === 0) return {ok: true}
    error = down.code !== 0 ? `sky down: ${skyReason(down)}` : remaining === null ? 'sky status failed after sky down' : `sky status still lists ${cluster} (${remaining[0]!.status})`
    await deps.sleep(5000).catch(() => undefined)
  }
  return {ok: false, error}
}
