import {createEndpointEngine} from '../engines/openai.js'
import {InterruptedError, UserError} from '../errors/errors.js'
import {parseLoads} from '../config/targets.js'
import {runBenchmark} from '../runner/benchmark.js'
import {hostFingerprint} from '../system/fingerprint.js'

export interface NetworkRunOptions {
  /** The rented server's public base URL, up to /v1. */
  baseUrl: string
  model: string
  apiKey: string
  suite: string
  concurrency?: string
  out: string
  /** Target id in the result, e.g. `network`. */
  targetId: string
  usdPerHour: number
  signal: AbortSignal
  log: (message: string) => void
}

/** A result file written (possibly partial), or the reason none was. */
export interface NetworkRunOutcome {
  path: string | null
  error?: string
}

/**
 * `owbench run` against the rented server from this machine, over the network: the same suite and
 * load as the run on the machine, no power meter (this machine's draw is not the server's).
 */
export async function measureOverNetwork(options: NetworkRunOptions): Promise<NetworkRunOutcome> {
  const refuse = () => Promise.reject(new Error('a cloud run measures endpoints only'))
  try {
    const {path} = await runBenchmark(
      {
        includeLocal: false,
        endpoints: [{id: options.targetId, baseUrl: options.baseUrl, model: options.model, apiKey: options.apiKey, apiKeyEnv: 'OWBENCH_API_KEY', ignoreEos: 'auto', timeoutMs: 120_000, pricing: {perHour: options.usdPerHour, currency: 'USD'}}],
        loads: parseLoads(options.concurrency, undefined),
        power: 'off',
        idleSeconds: 0,
        suite: options.suite,
        gpu: 'auto',
        gpuLayers: 'auto',
        batchSize: 512,
        flashAttention: false,
        engineBuild: 'auto',
        seed: 42,
        out: options.out,
        progress: false,
        signal: options.signal,
        log: options.log,
      },
      {createEngine: refuse, resolveModel: refuse, createEndpoint: (o) => createEndpointEngine(o), fingerprint: hostFingerprint, detectPower: async () => [], now: () => new Date()},
    )
    return {path}
  } catch (error) {
    if (error instanceof InterruptedError) return {path: error.savedTo ?? null, error: 'interrupted'}
    if (error instanceof UserError) return {path: /partial result saved to (\S+)/.exec(error.hint ?? '')?.[1] ?? null, error: error.message}
    throw error
  }
}
