import {Flags} from '@oclif/core'
import {loadConfig} from '../config/config-file.js'
import {parseLoads, parseSlo, resolveTargets} from '../config/targets.js'
import {parseSweep} from '../config/sweep-flags.js'
import {createLocalEngine} from '../engines/local.js'
import {createEndpointEngine} from '../engines/openai.js'
import {detectPowerSources} from '../power/detect.js'
import type {PowerSource} from '../power/power-source.js'
import {parseSourceSpec, SOURCE_SPEC_HELP, sourcesFromDetections} from '../power/source-spec.js'
import {InterruptedError, UserError} from '../errors/errors.js'
import {resolveModel} from '../model/resolve.js'
import {renderRunTable} from '../report/terminal-table.js'
import {answerOf, loadAnswerReferences} from '../cost/answer.js'
import {costsOfResults} from '../cost/report-costs.js'
import {createProgress} from '../report/progress.js'
import {serializeResult} from '../results/io.js'
import type {ResultFile} from '../results/schema.js'
import {runBenchmark} from '../runner/benchmark.js'
import {hostFingerprint} from '../system/fingerprint.js'
import {probeMemoryBandwidth} from '../system/memory-bandwidth.js'
import {modelBytesPerToken} from '../model/bytes-per-token.js'
import {BaseCommand} from '../cli/base-command.js'

export default class Run extends BaseCommand {
  static override summary = 'Run a benchmark suite on a local GGUF model and/or OpenAI-compatible endpoints and write a result file.'

  static override description = `Without --model, runs the built-in synthetic model (generated on first use, no download): its figures measure this machine, not a real model's quality.
Tests follow llama-bench: "pp N" times prompt evaluation alone, "tg N" generates exactly N tokens after a one-token prompt, "pg N,M" does both; chat tests use the model's chat template.
The result (raw per-token timings, host fingerprint, engine build, summary) is written after every repetition, so Ctrl-C keeps what was measured, marked partial.`

  static override examples = [
    {description: 'Quick suite on the built-in synthetic model', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Standard suite (pp512, tg128, pp512+tg128 and more) on your own model with 8 threads', command: '<%= config.bin %> <%= command.id %> --model ~/models/llama-3.1-8b-q4_k_m.gguf --suite standard --threads 8'},
    {description: 'Download through node-llama-cpp\'s resolver, offload every layer to the GPU', command: '<%= config.bin %> <%= command.id %> --model hf:user/repo:Q4_K_M --gpu-layers max'},
    {description: 'A llama-server or vLLM endpoint at 1, 4 and 16 requests in flight', command: '<%= config.bin %> <%= command.id %> --endpoint http://127.0.0.1:8080/v1 --model-name my-model --concurrency 1,4,16'},
    {description: 'Your local model and a named provider from owbench.config.json, side by side', command: '<%= config.bin %> <%= command.id %> --model ./llama-3.1-8b-q4_k_m.gguf --target together-llama --suite standard'},
    {description: 'Five repetitions, result as JSON on stdout', command: '<%= config.bin %> <%= command.id %> --repetitions 5 --json > result.json'},
  ]

  static override flags = {
    model: Flags.string({char: 'm', summary: 'GGUF file path, hf: URI, URL, or synthetic:tiny|default.', description: 'Default: the built-in synthetic model (synthetic:default).'}),
    suite: Flags.string({char: 's', summary: 'Built-in suite name (quick, standard, long) or a suite .json file.', default: 'quick'}),
    threads: Flags.integer({char: 't', summary: 'CPU threads (default: physical cores).', min: 1}),
    gpu: Flags.string({summary: 'Compute backend.', options: ['auto', 'cpu', 'cuda', 'metal', 'vulkan'], default: 'auto'}),
    'gpu-layers': Flags.string({summary: 'Layers to offload to the GPU: a number, "max" or "auto".', default: 'auto'}),
    ctx: Flags.integer({summary: 'Context size in tokens, a multiple of 256 as llama.cpp makes them (default: each test\'s own, up to the model\'s).', min: 1}),
    batch: Flags.integer({summary: 'Batch size for prompt evaluation (node-llama-cpp uses it as both n_batch and n_ubatch; llama-bench -ub 512 is the default it matches).', min: 1, default: 512}),
    'flash-attn': Flags.boolean({summary: 'Use flash attention.', default: false, allowNo: true}),
    'n-cpu-moe': Flags.integer({summary: 'Keep the expert tensors of the first N layers of a mixture-of-experts model in CPU memory (llama-bench -ncmoe).', min: 0}),
    'override-tensor': Flags.string({summary: 'Keep tensors matching a regex in a buffer type: PATTERN=BUFFER_TYPE, e.g. "exps=CPU" (llama-bench -ot); repeatable.', multiple: true}),
    repetitions: Flags.integer({char: 'r', summary: 'Measured repetitions per test (default: the suite\'s).', min: 1}),
    warmup: Flags.integer({summary: 'Untimed warm-up runs per test (default: the suite\'s).', min: 0}),
    seed: Flags.integer({summary: 'Seed of the random prompt tokens.', default: 42, min: 0}),
    'engine-build': Flags.string({summary: 'llama.cpp binary: auto (a local build if `owbench setup` made one), prebuilt or local.', options: ['auto', 'prebuilt', 'local'], default: 'auto'}),
    out: Flags.string({char: 'o', summary: 'Result file path (default: ./owbench-results/<time>-<host>-<model>.json).'}),
    endpoint: Flags.string({summary: 'OpenAI-compatible base URL to measure, e.g. http://127.0.0.1:8080/v1 (with --model-name).', helpGroup: 'ENDPOINT'}),
    'model-name': Flags.string({summary: 'Model name the endpoint serves.', helpGroup: 'ENDPOINT'}),
    'api-key-env': Flags.string({summary: 'Environment variable holding the API key (never written to results or logs).', default: 'OPENAI_API_KEY', helpGroup: 'ENDPOINT'}),
    target: Flags.string({summary: 'A named target from owbench.config.json ("local" = the local model); repeatable.', multiple: true, default: [], helpGroup: 'ENDPOINT'}),
    concurrency: Flags.string({summary: 'Requests in flight, one measured phase per level, e.g. 1,4,16; or "sweep": double until throughput stops growing, then fill in around the knee.', helpGroup: 'LOAD'}),
    rate: Flags.string({summary: 'Open-loop Poisson arrivals, requests per second (instead of --concurrency); or "sweep": from the rate one request at a time sustains, doubling until the server falls behind.', helpGroup: 'LOAD'}),
    'max-requests': Flags.integer({summary: 'Requests per measured phase (default: the concurrency level, or 16 at a rate; in a sweep 4 x the level, at least 16, or 32 at a rate).', min: 1, helpGroup: 'LOAD'}),
    'goodput-target': Flags.string({summary: 'Search for the highest load at which this share of requests meets every --slo objective, e.g. 0.99 (concurrency unless --rate sweep).', helpGroup: 'LOAD'}),
    'sweep-min-gain': Flags.string({summary: 'A doubling that raises throughput by less than this share ends a sweep (default 0.1).', helpGroup: 'LOAD'}),
    'sweep-max-level': Flags.integer({summary: 'Highest concurrency (or rate) a sweep may try (default 256).', min: 1, helpGroup: 'LOAD'}),
    'sweep-max-seconds': Flags.integer({summary: 'Seconds one sweep (one target and test) may run before it stops (default 900).', min: 1, helpGroup: 'LOAD'}),
    'sweep-max-requests': Flags.integer({summary: 'Requests one sweep may send before it stops (default 4000).', min: 1, helpGroup: 'LOAD'}),
    duration: Flags.integer({summary: 'Stop starting requests in a phase after this many seconds.', min: 1, helpGroup: 'LOAD'}),
    slo: Flags.string({summary: 'Objectives for goodput, e.g. ttft=500ms,tpot=50ms.', helpGroup: 'LOAD'}),
    watts: Flags.string({summary: 'Declare a constant power draw in watts (labelled estimated), e.g. 65.', helpGroup: 'POWER'}),
    meter: Flags.string({summary: `Power source to sample, repeatable: ${SOURCE_SPEC_HELP}`, multiple: true, default: [], helpGroup: 'POWER'}),
    'meter-on-server': Flags.boolean({summary: 'The power meters measure the endpoints\' server (owbench runs on its machine): their energy counts for every endpoint target. Without it an endpoint\'s energy is the hosted estimate, never this machine\'s draw.', default: false, helpGroup: 'POWER'}),
    power: Flags.string({summary: 'auto: sample every meter found (see owbench doctor); off: no energy figures.', options: ['auto', 'off'], default: 'auto', helpGroup: 'POWER'}),
    'idle-seconds': Flags.integer({summary: 'Idle baseline measured before the run.', min: 0, default: 5, helpGroup: 'POWER'}),
    'require-power': Flags.boolean({summary: 'Fail (exit 3) when any J/token figure is missing or invalid, and before the run when no meter can be read.', default: false, helpGroup: 'POWER'}),
    'min-meter-updates': Flags.integer({summary: 'Meter updates an energy window must span; shorter tests are repeated back to back (default 10).', min: 1, default: 10, helpGroup: 'POWER'}),
    timeout: Flags.integer({summary: 'Seconds before an endpoint request counts as timed out.', min: 1, default: 120, helpGroup: 'ENDPOINT'}),
  }

  /** `--json` prints exactly the bytes of the result file written. */
  public override logJson(json: unknown): void {
    if (json && typeof json === 'object' && 'schemaVersion' in json) process.stdout.write(serializeResult(json as ResultFile))
    else super.logJson(json)
  }

  public async run(): Promise<ResultFile> {
    const {flags} = await this.parse(Run)
    const {config} = await loadConfig()
    const costInputs = config.cost
    const slo = parseSlo(flags.slo)
    const sweep = parseSweep(flags.concurrency, flags.rate, {goodputTarget: optionalNumber(flags['goodput-target']), minGain: optionalNumber(flags['sweep-min-gain']), maxLevel: flags['sweep-max-level'], maxSeconds: flags['sweep-max-seconds'], maxRequests: flags['sweep-max-requests'], requestsPerLevel: flags['max-requests']}, slo)
    const rate = flags.rate === undefined || sweep ? undefined : Number(flags.rate)
    const {includeLocal, endpoints} = resolveTargets(
      {model: flags.model, endpoint: flags.endpoint, modelName: flags['model-name'], apiKeyEnv: flags['api-key-env'], targets: flags.target, timeoutS: flags.timeout, meterOnServer: flags['meter-on-server']},
      config,
    )
    const progress = process.stderr.isTTY === true
    const controller = new AbortController()
    let interrupts = 0
    const onSigint = () => {
      interrupts++
      if (interrupts > 1) process.exit(130)
      this.logToStderr('\ninterrupted: finishing the request in flight and saving a partial result (Ctrl-C again to quit now)')
      controller.abort()
    }
    process.on('SIGINT', onSigint)
    try {
      const {result, path} = await runBenchmark(
        {
          includeLocal,
          endpoints,
          loads: sweep ? undefined : parseLoads(flags.concurrency, rate),
          sweep,
          maxRequests: flags['max-requests'],
          durationS: flags.duration,
          slo,
          power: powerChoice(flags.watts, flags.meter, flags.power as 'auto' | 'off'),
          idleSeconds: flags['idle-seconds'],
          requirePower: flags['require-power'],
          minMeterUpdates: flags['min-meter-updates'],
          costInputs,
          model: flags.model,
          suite: flags.suite,
          threads: flags.threads,
          gpu: flags.gpu as 'auto',
          gpuLayers: parseGpuLayers(flags['gpu-layers']),
          contextSize: flags.ctx,
          batchSize: flags.batch,
          flashAttention: flags['flash-attn'],
          nCpuMoe: flags['n-cpu-moe'],
          tensorOverrides: flags['override-tensor'],
          engineBuild: flags['engine-build'] as 'auto',
          repetitions: flags.repetitions,
          warmup: flags.warmup,
          seed: flags.seed,
          out: flags.out,
          progress,
          signal: controller.signal,
          onEvent: createProgress(process.stderr, progress),
          log: (message) => this.note(message),
        },
        {
          createEngine: createLocalEngine,
          createEndpoint: (options) => createEndpointEngine(options),
          detectPower: async () => sourcesFromDetections(await detectPowerSources()),
          fingerprint: hostFingerprint,
          resolveModel,
          now: () => new Date(),
          probeBandwidth: () => probeMemoryBandwidth(),
          bytesPerToken: modelBytesPerToken,
        },
      )
      // Priced as `owbench report` prices the file: its stored cost inputs, or its endpoints' own pricing.
      if (!this.jsonEnabled()) this.log(renderRunTable(result, {answer: answerOf(result, (await costsOfResults([result])).costs[0], await loadAnswerReferences())}))
      this.note(`result written to ${path}`)
      return result
    } catch (error) {
      if (error instanceof InterruptedError) this.note(`partial result written to ${error.savedTo}`)
      throw error
    } finally {
      process.off('SIGINT', onSigint)
    }
  }
}

/** Sources named on the command line win over detection. */
function powerChoice(watts: string | undefined, meters: string[], mode: 'auto' | 'off'): PowerSource[] | 'auto' | 'off' {
  const specs = [...(watts === undefined ? [] : [`watts:${watts}`]), ...meters]
  if (specs.length === 0) return mode
  return specs.map((spec) => parseSourceSpec(spec))
}

/** A number flag given as text (so a fraction like 0.99 parses); NaN reaches the check that names the flag. */
function optionalNumber(text: string | undefined): number | undefined {
  return text === undefined ? undefined : Number(text)
}

function parseGpuLayers(value: string): number | 'auto' | 'max' {
  if (value === 'auto' || value === 'max') return value
  if (/^\d+$/.test(value)) return Number(value)
  throw new UserError(`--gpu-layers must be a number of layers, "max" or "auto", not "${value}"`, 'for example --gpu-layers 33 or --gpu-layers max')
}
