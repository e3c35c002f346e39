import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {deriveResult} from '../../src/derive/derive.js'
import {type Engine, EngineCrashedError} from '../../src/engines/engine.js'
import {crashError, createLocalEngine} from '../../src/engines/local.js'
import {parseResult} from '../../src/results/io.js'
import {type BenchmarkDeps, runBenchmark} from '../../src/runner/benchmark.js'
import {owbench} from '../helpers/cli.js'
import {fakeHost} from '../helpers/fake-host.js'
import {abortingModelPath, testCacheDir, tinyModelPath} from '../helpers/tiny-model.js'
import {rejectedUserError} from '../helpers/user-error.js'

process.env.OWBENCH_CACHE_DIR = testCacheDir

const base = {modelSource: 'test', threads: 1, gpu: 'cpu' as const, gpuLayers: 0, contextSize: 1024, batchSize: 512, flashAttention: false, engineBuild: 'auto' as const, seed: 3}

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-crash-'))
})

describe('the engine runs in its own process', () => {
  it('a model that makes llama.cpp abort is one error naming the model, SIGABRT and llama.cpp\'s failed check; owbench goes on', async () => {
    const model = await abortingModelPath(dir)
    const error = await rejectedUserError(createLocalEngine({...base, modelPath: model}))
    expect(error).toBeInstanceOf(EngineCrashedError)
    expect(error.exitCode).toBe(4)
    expect(error.message).toContain(`the llama.cpp engine crashed (SIGABRT) while loading model ${model}: llama.cpp said: `)
    expect(error.message).toMatch(/GGML_ASSERT\(ggml_can_mul_mat\(a, b\)\) failed$/)
    expect(error.message).not.toContain('\n')
    expect(error.hint).toMatch(/llama-cli or llama-bench/)
    // This process is unharmed: the next model loads and runs.
    const engine = await createLocalEngine({...base, modelPath: await tinyModelPath()})
    const r = await engine.execute({kind: 'tg', nGen: 8, seed: 1}, {clock: () => performance.now()})
    expect(r.nOut).toBe(8)
    await engine.dispose()
  })

  it('`owbench run` on that model exits 4 with one line and no stack trace', async () => {
    const model = await abortingModelPath(dir)
    const run = await owbench(['run', '--model', model, '--suite', 'quick', '--threads', '1', '--power', 'off', '--out', path.join(dir, 'abort.json')])
    // README's exit codes: 4, the engine process crashed (3 is --require-power's).
    expect(run.code).toBe(4)
    const lines = run.stderr.trim().split('\n')
    expect(lines.at(-1)).toMatch(/the llama\.cpp engine crashed \(SIGABRT\) while loading model .*aborting-gqa\.gguf: llama\.cpp said: .*GGML_ASSERT.* — check that the model runs/)
    expect(run.stderr).not.toMatch(/terminate called|at .*\.js:\d+/)
  })

  it('an engine killed mid-run leaves every finished repetition in the result, marked partial, and exit code 4', async () => {
    const suite = path.join(dir, 'tg.json')
    await writeFile(suite, JSON.stringify({name: 'kill', version: '1.0.0', description: 'tg, five repetitions', repetitions: 5, warmup: 1, tests: ['tg 32']}))
    const out = path.join(dir, 'killed.json')
    let engine: (Engine & {pid?: number}) | undefined
    const deps: BenchmarkDeps = {
      createEngine: async (options) => (engine = await createLocalEngine(options)),
      createEndpoint: async () => {
        throw new Error('no endpoints here')
      },
      detectPower: async () => [],
      fingerprint: async () => fakeHost(),
      resolveModel: async () => ({source: 'synthetic:tiny', path: await tinyModelPath()}),
      now: () => new Date('2026-11-29T10:00:00.000Z'),
    }
    const error = await rejectedUserError(
      runBenchmark(
        {
          includeLocal: true, endpoints: [], power: 'off', idleSeconds: 0, suite, threads: 1, gpu: 'cpu', gpuLayers: 0, batchSize: 512, flashAttention: false, engineBuild: 'auto', seed: 1, progress: false, out,
          // After the second measured repetition, the engine process dies as the OOM killer would end it.
          onEvent: (event) => {
            if (event.type === 'repetition-end' && !event.run.warmup && event.run.repetition === 1) process.kill(engine!.pid!, 'SIGKILL')
          },
        },
        deps,
      ),
    )
    expect(error.exitCode).toBe(4)
    expect(error.message).toMatch(/^the llama\.cpp engine crashed \(SIGKILL\) while running model .*owbench-synthetic-tiny-\w+\.gguf/)
    expect(error.hint).toMatch(/out-of-memory killer.*; partial result saved to .*killed\.json$/)
    const saved = parseResult(await readFile(out, 'utf8'), out)
    expect(saved.state).toBe('partial')
    expect(saved.stateReason).toMatch(/^crashed: the llama\.cpp engine crashed \(SIGKILL\)/)
    // The warm-up and both finished repetitions, whole; nothing of the one the kill cut short.
    expect(saved.runs.map((r) => [r.warmup, r.repetition, r.state, r.requests[0]!.nOut])).toEqual([[true, 0, 'completed', 1], [false, 0, 'completed', 32], [false, 1, 'completed', 32]])
    expect(deriveResult(saved).cells).toMatchObject([{test: 'tg32', completed: 2, errored: 0}])
  })

  it('names the signal and what to do: SIGILL, SIGSEGV and an exit without a signal', () => {
    const log = ['llama_context: n_ctx = 1024', 'main: error: something failed', 'last line']
    const ill = crashError('/m/a.gguf', 'running', {code: null, signal: 'SIGILL', log})
    expect(ill.message).toBe('the llama.cpp engine crashed (SIGILL) while running model /m/a.gguf: llama.cpp said: main: error: something failed')
    expect(ill.hint).toMatch(/CPU instruction this machine lacks: run with --engine-build prebuilt/)
    expect(crashError('/m/a.gguf', 'running', {code: null, signal: 'SIGSEGV', log: ['x', 'y', 'z', 'w']}).message).toBe('the llama.cpp engine crashed (SIGSEGV) while running model /m/a.gguf: llama.cpp said: y | z | w')
    expect(crashError('/m/a.gguf', 'loading', {code: 1, signal: null, log: []}).message).toBe('the llama.cpp engine crashed (exit code 1) while loading model /m/a.gguf')
  })
})
