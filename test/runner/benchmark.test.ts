import {DERIVATION_VERSION, deriveResult} from '../../src/derive/derive.js'
import {renderRunTable} from '../../src/report/terminal-table.js'
import {mkdirSync, rmSync} from 'node:fs'
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {InterruptedError} from '../../src/errors/errors.js'
import {fallbackResultPath, parseResult} from '../../src/results/io.js'
import {rejectedUserError} from '../helpers/user-error.js'
import {type BenchmarkDeps, type BenchmarkOptions, defaultContextSize, runBenchmark} from '../../src/runner/benchmark.js'
import {loadSuite} from '../../src/suite/load.js'
import type {PowerSource} from '../../src/power/power-source.js'
import {FakeEngine, fakeTarget} from '../helpers/fake-engine.js'
import {endpointTarget} from '../helpers/result-builder.js'
import {fakeHost} from '../helpers/fake-host.js'

async function setup(overrides: Partial<BenchmarkOptions> = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-bench-'))
  const engine = new FakeEngine(fakeTarget())
  let engineOptions: unknown
  const deps: BenchmarkDeps = {
    createEngine: async (options) => {
      engineOptions = options
      return engine
    },
    createEndpoint: async () => {
      throw new Error('no endpoints in these tests')
    },
    detectPower: async () => [],
    fingerprint: async () => fakeHost(),
    resolveModel: async (spec) => ({source: spec ?? 'synthetic:default', path: '/models/fake.gguf', synthetic: spec ? undefined : {id: 'default', seed: 7, generatorVersion: 1}}),
    now: () => new Date('2026-11-26T10:00:00.000Z'),
    clock: engine.clock,
  }
  const options: BenchmarkOptions = {includeLocal: true, endpoints: [], power: 'auto', idleSeconds: 0, suite: 'quick', gpu: 'cpu', gpuLayers: 0, batchSize: 512, flashAttention: false, engineBuild: 'auto', seed: 1, progress: false, out: path.join(dir, 'r.json'), ...overrides}
  return {dir, engine, deps, options, engineOptions: () => engineOptions}
}

describe('runBenchmark', () => {
  it('writes a completed result with the suite, target, raw runs and summary, labelled synthetic', async () => {
    const {engine, deps, options, engineOptions} = await setup()
    const {result, path: file} = await runBenchmark(options, deps)
    expect(file).toBe(options.out)
    const saved = parseResult(await readFile(file, 'utf8'), file)
    expect(saved).toEqual(JSON.parse(JSON.stringify(saved)))
    expect(saved.state).toBe('completed')
    expect(saved.stateReason).toBeUndefined()
    expect(saved.labels).toEqual(["synthetic model: measures this machine, not a real model's quality"])
    expect(saved.suite).toMatchObject({name: 'quick', source: 'builtin', sha256: (await loadSuite('quick')).sha256})
    expect(saved.createdAt).toBe('2026-11-26T10:00:00.000Z')
    // quick: 4 tests x (1 warm-up + 3 repetitions)
    expect(saved.runs).toHaveLength(16)
    expect(saved.summary!.cells.map((s) => s.test)).toEqual(['pp256', 'tg64', 'pp256+tg64', 'chat-short'])
    expect(saved.summary!.derivation.version).toBe(DERIVATION_VERSION)
    expect(result.summary!.cells.find((s) => s.test === 'tg64')!.nOut).toBe(64)
    // Threads default to physical cores; the context fits the suite's largest test.
    expect(engineOptions()).toMatchObject({threads: 2, contextSize: defaultContextSize((await loadSuite('quick')).suite)})
    expect(engine.disposed).toBe(true)
  })

  it('names the default file after time, host and model', async () => {
    const {deps, options, dir} = await setup({out: undefined})
    const cwd = process.cwd()
    process.chdir(dir)
    try {
      const {path: file} = await runBenchmark(options, deps)
      expect(file).toBe(path.join('owbench-results', '2026-11-26T10-00-00Z-bench-box-fake.json'))
    } finally {
      process.chdir(cwd)
    }
  })

  it('on interrupt writes what was measured, marked partial, and says where', async () => {
    const {engine, deps, options} = await setup()
    const controller = new AbortController()
    engine.onRequest = (index) => index === 6 && controller.abort()
    const error = await runBenchmark({...options, signal: controller.signal}, deps).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InterruptedError)
    expect((error as InterruptedError).savedTo).toBe(options.out)
    const saved = parseResult(await readFile(options.out!, 'utf8'), 'r')
    expect(saved).toMatchObject({state: 'partial', stateReason: 'interrupted before the suite finished'})
    expect(saved.runs).toHaveLength(7)
    expect(saved.summary!.cells.find((s) => s.test === 'pp256')!.completed).toBe(3)
    expect(engine.disposed).toBe(true)
  })

  it('a repetition cut short by Ctrl-C is interrupted, not failed: kept out of the statistics, shown with its reason', async () => {
    const {engine, deps, options} = await setup()
    const controller = new AbortController()
    // Request 6 is tg64's second measured repetition; an engine stopped mid-request records the error "interrupted".
    engine.onRequest = (index) => index === 6 && controller.abort()
    engine.failOn = (_request, index) => (index === 6 ? 'interrupted' : undefined)
    await runBenchmark({...options, signal: controller.signal}, deps).catch((e: unknown) => e)
    const saved = parseResult(await readFile(options.out!, 'utf8'), 'r')
    const stopped = saved.runs[6]!
    expect([stopped.test, stopped.state, stopped.reason]).toEqual(['tg64', 'interrupted', 'interrupted (Ctrl-C) with 1 of 1 request in flight; kept out of the statistics'])
    expect(stopped.requests[0]!.error).toBe('interrupted')
    const tg = deriveResult(saved).cells.find((c) => c.test === 'tg64')!
    expect([tg.completed, tg.errored, tg.interrupted, tg.requests, tg.failedRequests]).toEqual([1, 0, 1, 1, 0])
    // The statistics are the one completed repetition's: 64 tokens at 10 ms each after a 0.5 ms prompt.
    expect(tg.metrics.tokens_per_second!.repetitions!.n).toBe(1)
    expect(tg.metrics.tokens_per_second!.repetitions!.mean).toBeCloseTo(64 / 0.6405, 6)
    const table = renderRunTable(saved)
    const row = table.split('\n').find((line) => line.includes('| tg64 '))!
    expect(row).toMatch(/\| 1 \(1 interrupted\) \|$/)
    expect(row).not.toMatch(/failed/)
    expect(table).toContain('- local tg64: 1 repetition interrupted: interrupted (Ctrl-C) with 1 of 1 request in flight; kept out of the statistics')
  })

  it('on a crash keeps the last checkpoint, marked partial with the reason', async () => {
    const {deps, options} = await setup()
    let ended = 0
    // A failure outside any one request (here the progress display) escapes the runner.
    const onEvent = (event: {type: string}) => {
      if (event.type === 'repetition-end' && ++ended === 6) throw new TypeError('boom')
    }
    await expect(runBenchmark({...options, onEvent}, deps)).rejects.toThrow('boom')
    const saved = parseResult(await readFile(options.out!, 'utf8'), 'r')
    expect(saved.state).toBe('partial')
    expect(saved.stateReason).toBe('crashed: boom')
    expect(saved.runs).toHaveLength(5)
  })

  it('refuses an unwritable --out before loading anything: a directory, a missing or non-directory parent', async () => {
    const {dir, deps, options} = await setup()
    let created = 0
    const counting: BenchmarkDeps = {...deps, createEngine: async (o) => (created++, deps.createEngine(o))}
    const asDir = await rejectedUserError(runBenchmark({...options, out: dir}, counting))
    expect([asDir.message, asDir.hint, asDir.exitCode]).toEqual([`--out ${dir} is a directory; a result is one file`, `pass a file path, e.g. --out ${path.join(dir, 'result.json')}`, 2])
    const missing = path.join(dir, 'no', 'such')
    const noParent = await rejectedUserError(runBenchmark({...options, out: path.join(missing, 'r.json')}, counting))
    expect([noParent.message, noParent.hint]).toEqual([`cannot write result file ${path.join(missing, 'r.json')}: the directory ${missing} does not exist`, `create it first (mkdir -p ${missing}) or pass a path in an existing directory`])
    await writeFile(path.join(dir, 'plain'), 'x')
    const fileParent = await rejectedUserError(runBenchmark({...options, out: path.join(dir, 'plain', 'r.json')}, counting))
    expect(fileParent.message).toBe(`cannot write result file ${path.join(dir, 'plain', 'r.json')}: ${path.join(dir, 'plain')} is not a directory`)
    // sysfs lets no one create a file, root included: the probe write fails before the run.
    const readOnly = await rejectedUserError(runBenchmark({...options, out: '/sys/r.json'}, counting))
    expect(readOnly.message).toMatch(/^cannot write result file \/sys\/r\.json: the directory \/sys is not writable \((EACCES|EROFS|EPERM)\)$/)
    expect(readOnly.hint).toBe('pass a path in a directory you can write to')
    expect(created).toBe(0)
    // Nothing was created: no missing parent, no probe file.
    expect((await readdir(dir)).sort()).toEqual(['plain'])
  })

  it('when the result path fails mid-run, removes its temporary file and saves the measurements to a fallback path', async () => {
    const {dir, deps, options} = await setup()
    let ended = 0
    // The result path turns into a directory under the run (as if another tool took it): rename fails with EISDIR.
    const onEvent = (event: {type: string}) => {
      if (event.type === 'repetition-end' && ++ended === 5) {
        rmSync(options.out!)
        mkdirSync(options.out!)
      }
    }
    const fallback = fallbackResultPath(options.out!)
    await rm(fallback, {force: true})
    const error = await rejectedUserError(runBenchmark({...options, onEvent: (e) => onEvent(e)}, deps))
    expect(error.message).toBe(`cannot write result file ${options.out} (EISDIR)`)
    expect(error.hint).toBe(`free disk space or pass a writable --out path; partial result saved to ${fallback}`)
    expect((await readdir(dir)).sort()).toEqual(['r.json'])
    expect(await readdir(options.out!)).toEqual([])
    const saved = parseResult(await readFile(fallback, 'utf8'), fallback)
    expect(saved.state).toBe('partial')
    expect(saved.stateReason).toBe(`crashed: cannot write result file ${options.out} (EISDIR)`)
    expect(saved.runs.length).toBeGreaterThanOrEqual(5)
    await rm(fallback, {force: true})
  })

  it('refuses a --ctx llama.cpp would round up (128 would hold 256) before loading anything, and runs one it makes as asked', async () => {
    const {deps, options, engineOptions} = await setup({repetitions: 1, warmup: 0})
    const small = await rejectedUserError(runBenchmark({...options, contextSize: 128}, deps))
    expect([small.message, small.hint, small.exitCode]).toEqual(['--ctx 128: llama.cpp makes contexts in multiples of 256 tokens, so this one would hold 256', 'pass --ctx 256, or leave --ctx out to size each test\'s context as llama-bench does', 2])
    const odd = await rejectedUserError(runBenchmark({...options, contextSize: 1000}, deps))
    expect(odd.hint).toBe('pass --ctx 1024 or --ctx 768, or leave --ctx out to size each test\'s context as llama-bench does')
    expect(engineOptions()).toBeUndefined()
    await runBenchmark({...options, contextSize: 512}, deps)
    expect(engineOptions()).toMatchObject({contextSize: 512, contextPerTest: false})
  })

  it('marks a run where every repetition failed as errored', async () => {
    const {engine, deps, options} = await setup()
    engine.failOn = () => new Error('device lost')
    const {result} = await runBenchmark(options, deps)
    expect(result.state).toBe('errored')
    expect(result.stateReason).toBe('no repetition completed')
    expect(result.runs.every((r) => r.reason === 'device lost')).toBe(true)
  })
})

describe('back-to-back windows and meter scope', () => {
  /** A wall plug refreshing once a second (its readings do not matter here, only what it declares). */
  const plug: PowerSource = {
    name: 'plug',
    minIntervalMs: 500,
    start: async () => [{id: 'shelly:plug', kind: 'shelly', boundary: 'wall', method: 'sampled', unit: 'W', intervalMs: 500, updateMs: 1000}],
    stop: async () => {},
  }

  async function run(meterOnServer: boolean) {
    const {engine, deps, options} = await setup({power: [plug], suite: 'quick', repetitions: 1, warmup: 0, endpoints: [{id: 'endpoint', baseUrl: 'https://api.example.com/v1', model: 'llama-3.1-8b', ignoreEos: true, timeoutMs: 60_000, meterOnServer}]})
    // The endpoint runs on the same fake clock as the local engine.
    const remote = new FakeEngine(endpointTarget('endpoint', meterOnServer))
    Object.defineProperty(remote, 'now', {get: () => engine.now, set: (v: number) => (engine.now = v)})
    deps.createEndpoint = async () => remote
    const {result} = await runBenchmark({...options, minMeterUpdates: 3}, deps)
    return (target: string) => result.runs.filter((r) => r.target === target).map((r) => [r.test, r.backToBack])
  }

  it('stretch a local target\'s short tests for the plug, not an endpoint whose server it does not measure', async () => {
    const backToBack = await run(false)
    // 3 updates of 1 s: windows of 3 s. On the fake engine pp256 takes 256 x 0.5 = 128 ms (24 x 128 =
    // 3072 ms is the first span past 3 s), tg64 0.5 + 640 ms (5), pp256+tg64 128 + 640 ms (4), and
    // chat-short 20 x 0.5 + 64 x 10 = 650 ms (5).
    expect(backToBack('local')).toEqual([['pp256', 24], ['tg64', 5], ['pp256+tg64', 4], ['chat-short', 5]])
    expect(backToBack('endpoint')).toEqual([['pp256', undefined], ['tg64', undefined], ['pp256+tg64', undefined], ['chat-short', undefined]])
  })

  it('stretch an endpoint too when the plug measures its server (--meter-on-server)', async () => {
    const backToBack = await run(true)
    expect(backToBack('endpoint')).toEqual(backToBack('local'))
  })
})

describe('runBenchmark: speed-of-light inputs', () => {
  it('records the bandwidth probe and the published peaks in the host, and bytes per token in the local model, once before the measurements', async () => {
    const {deps, options} = await setup()
    const order: string[] = []
    const probe = {triadGBs: 36.1, threads: 2, arrayMiB: 256, passes: 10, method: 'STREAM triad, Float64Array per worker thread, best pass' as const}
    deps.fingerprint = async () => ({...fakeHost(), gpus: [{vendor: 'NVIDIA', model: 'GH100[H100 SXM5 80GB]', name: 'NVIDIA H100 80GB HBM3', vramMB: 81_559, driver: '550.54'}]})
    deps.probeBandwidth = async () => {
      order.push('probe')
      return probe
    }
    deps.bytesPerToken = async (file) => {
      order.push(`bytes ${file}`)
      return {weightBytes: 1000, tensorBytes: 2000, kvBytesPerPosition: 16, layers: 2, method: 'm'}
    }
    const {result} = await runBenchmark({...options, onEvent: (e) => (e.type === 'repetition-start' && order.length < 3 ? order.push('measure') : undefined)}, deps)
    expect(order).toEqual(['probe', 'bytes /models/fake.gguf', 'measure'])
    // Both the nvidia-smi name and the lspci name match the H100 SXM row (data/memory-bandwidth.csv line 5).
    expect(result.host.memoryBandwidth).toEqual({
      probe,
      published: [
        {name: 'NVIDIA H100 80GB HBM3', device: 'NVIDIA H100 SXM5 80GB', gbs: 3350, source: expect.stringMatching(/^data\/memory-bandwidth\.csv line 5: SECONDARY/)},
        {name: 'GH100[H100 SXM5 80GB]', device: 'NVIDIA H100 SXM5 80GB', gbs: 3350, source: expect.stringMatching(/^data\/memory-bandwidth\.csv line 5: /)},
      ],
    })
    expect(result.targets[0]).toMatchObject({kind: 'local', model: {bytesPerToken: {weightBytes: 1000, kvBytesPerPosition: 16}}})
    // The CPU run's limit is the probe.
    expect(result.summary!.targets[0]!.bandwidth).toEqual({status: 'ok', limit: {gbs: 36.1, source: 'probe', label: 'STREAM triad probe on 2 threads'}})
  })

  it('keeps running when the probe or the model reader fails, and records why', async () => {
    const {deps, options} = await setup()
    deps.probeBandwidth = async () => {
      throw new Error('worker exited with code 1')
    }
    deps.bytesPerToken = async () => {
      throw new Error('unknown ggml tensor type 99')
    }
    const {result} = await runBenchmark(options, deps)
    expect(result.state).toBe('completed')
    expect(result.host.memoryBandwidth).toEqual({probeError: 'worker exited with code 1', published: []})
    expect(result.targets[0]).toMatchObject({model: {bytesPerTokenError: 'unknown ggml tensor type 99'}})
    expect(result.summary!.cells.find((c) => c.test === 'tg64')!.speedOfLight).toEqual({status: 'missing', reason: 'bytes per token not computed: unknown ggml tensor type 99'})
  })
})
