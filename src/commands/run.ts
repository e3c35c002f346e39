import {Flags} from '@oclif/core'
import {createLocalEngine} from '../engines/local.js'
import {InterruptedError, UserError} from '../errors/errors.js'
import {resolveModel} from '../model/resolve.js'
import {renderRunTable} from '../report/terminal-table.js'
import {createProgress} from '../report/progress.js'
import type {ResultFile} from '../results/schema.js'
import {runBenchmark} from '../runner/benchmark.js'
import {hostFingerprint} from '../system/fingerprint.js'
import {BaseCommand} from '../cli/base-command.js'

export default class Run extends BaseCommand {
  static override summary = 'Run a benchmark suite on a local GGUF model and write a result file.'

  static override description = `Without --model, runs the built-in synthetic model (generated on first use, no download): its figures measure this machine, not a real model's quality.
Tests follow llama-bench: "pp N" times prompt evaluation alone, "tg N" generates exactly N tokens after a one-token prompt, "pg N,M" does both; chat tests use the model's chat template.
The result (raw per-token timings, host fingerprint, engine build, summary) is written after every repetition, so Ctrl-C keeps what was measured, marked partial.`

  static override examples = [
    {description: 'Quick suite on the built-in synthetic model', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Standard suite (pp512, tg128, pp512+tg128 and more) on your own model with 8 threads', command: '<%= config.bin %> <%= command.id %> --model ~/models/llama-3.1-8b-q4_k_m.gguf --suite standard --threads 8'},
    {description: 'Download through node-llama-cpp\'s resolver, offload every layer to the GPU', command: '<%= config.bin %> <%= command.id %> --model hf:user/repo:Q4_K_M --gpu-layers max'},
    {description: 'Five repetitions, result as JSON on stdout', command: '<%= config.bin %> <%= command.id %> --repetitions 5 --json > result.json'},
  ]

  static override flags = {
    model: Flags.string({char: 'm', summary: 'GGUF file path, hf: URI, URL, or synthetic:tiny|default.', description: 'Default: the built-in synthetic model (synthetic:default).'}),
    suite: Flags.string({char: 's', summary: 'Built-in suite name (quick, standard, long) or a suite .json file.', default: 'quick'}),
    threads: Flags.integer({char: 't', summary: 'CPU threads (default: physical cores).', min: 1}),
    gpu: Flags.string({summary: 'Compute backend.', options: ['auto', 'cpu', 'cuda', 'metal', 'vulkan'], default: 'auto'}),
    'gpu-layers': Flags.string({summary: 'Layers to offload to the GPU: a number, "max" or "auto".', default: 'auto'}),
    ctx: Flags.integer({summary: 'Context size in tokens (default: what the suite needs, up to the model\'s).', min: 1}),
    batch: Flags.integer({summary: 'Batch size for prompt evaluation (node-llama-cpp uses it as both n_batch and n_ubatch; llama-bench -ub 512 is the default it matches).', min: 1, default: 512}),
    'flash-attn': Flags.boolean({summary: 'Use flash attention.', default: false, allowNo: true}),
    repetitions: Flags.integer({char: 'r', summary: 'Measured repetitions per test (default: the suite\'s).', min: 1}),
    warmup: Flags.integer({summary: 'Untimed warm-up runs per test (default: the suite\'s).', min: 0}),
    seed: Flags.integer({summary: 'Seed of the random prompt tokens.', default: 42, min: 0}),
    'engine-build': Flags.string({summary: 'llama.cpp binary: auto (a local build if `owbench setup` made one), prebuilt or local.', options: ['auto', 'prebuilt', 'local'], default: 'auto'}),
    out: Flags.string({char: 'o', summary: 'Result file path (default: ./owbench-results/<time>-<host>-<model>.json).'}),
  }

  public async run(): Promise<ResultFile> {
    const {flags} = await this.parse(Run)
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
          model: flags.model,
          suite: flags.suite,
          threads: flags.threads,
          gpu: flags.gpu as 'auto',
          gpuLayers: parseGpuLayers(flags['gpu-layers']),
          contextSize: flags.ctx,
          batchSize: flags.batch,
          flashAttention: flags['flash-attn'],
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
        {createEngine: createLocalEngine, fingerprint: hostFingerprint, resolveModel, now: () => new Date()},
      )
      if (!this.jsonEnabled()) this.log(renderRunTable(result))
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

function parseGpuLayers(value: string): number | 'auto' | 'max' {
  if (value === 'auto' || value === 'max') return value
  if (/^\d+$/.test(value)) return Number(value)
  throw new UserError(`--gpu-layers must be a number of layers, "max" or "auto", not "${value}"`, 'for example --gpu-layers 33 or --gpu-layers max')
}
