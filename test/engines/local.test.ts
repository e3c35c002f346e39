import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {CapacityError, type Engine} from '../../src/engines/engine.js'
import {checkedLocalBuild} from '../../src/engines/engine-build.js'
import {createLocalEngine} from '../../src/engines/local.js'
import {nodeLlamaCppDir} from '../../src/engines/node-llama-cpp-dir.js'
import {requestMetrics} from '../../src/metrics/request-metrics.js'
import {writeGgufSplit} from '../../src/model/gguf-split.js'
import {SYNTHETIC_MODELS, syntheticModelFile} from '../../src/model/synthetic-model.js'
import {testCacheDir, tinyModelPath} from '../helpers/tiny-model.js'
import {rejectedUserError} from '../helpers/user-error.js'

process.env.OWBENCH_CACHE_DIR = testCacheDir

const base = {modelSource: 'synthetic:tiny', threads: 1, gpu: 'cpu' as const, gpuLayers: 0, contextSize: 4096, batchSize: 512, flashAttention: false, engineBuild: 'auto' as const, seed: 3}
const clock = {clock: () => performance.now()}

function engineInfo(engine: Engine) {
  if (engine.target.kind !== 'local') throw new Error('expected a local target')
  return engine.target.engine
}

describe('local engine (node-llama-cpp, tiny synthetic model, 1 thread)', () => {
  let engine: Engine
  beforeAll(async () => {
    engine = await createLocalEngine({...base, modelPath: await tinyModelPath(), synthetic: {id: 'tiny', seed: 1, generatorVersion: 1}})
  })
  afterAll(async () => {
    await engine?.dispose()
  })

  it('describes the target: model file, settings, engine build and backend', async () => {
    const t = engine.target
    if (t.kind !== 'local') throw new Error('expected a local target')
    expect(t.model).toMatchObject({architecture: 'llama', quantization: 'F32', parameters: 172352, trainContext: 4096, synthetic: {id: 'tiny'}})
    const bytes = await readFile(await tinyModelPath())
    expect(t.model).toMatchObject({bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), shards: 1})
    expect(t.settings).toMatchObject({threads: 1, gpuLayers: 0, contextSize: 4096, contextPerTest: false, batchSize: 512, flashAttention: false})
    expect(t.engine).toMatchObject({name: 'node-llama-cpp', version: '3.21.1', backend: 'cpu'})
    expect(['prebuilt', 'localBuild']).toContain(t.engine.build)
    expect(t.engine.systemInfo).toMatch(/CPU :/)
    expect(engine.contextLimit).toBe(4096)
  })

  it('pp N evaluates exactly N prompt tokens, timed alone', async () => {
    const r = await engine.execute({kind: 'pp', nPrompt: 300, seed: 1}, clock)
    expect(r).toMatchObject({nPrompt: 300, nOut: 0, chunks: []})
    expect(r.tPrefillEnd).toBe(r.tEnd)
    expect(r.tEnd).toBeGreaterThan(r.tSend)
  })

  it('tg N decodes exactly N tokens after a one-token prompt, each with its arrival time on the caller\'s clock', async () => {
    const before = performance.now()
    const r = await engine.execute({kind: 'tg', nGen: 40, seed: 2}, clock)
    const after = performance.now()
    expect(r.nPrompt).toBe(1)
    expect(r.nOut).toBe(40)
    expect(r.chunks).toHaveLength(40)
    // The engine process timed it on the machine's monotonic clock; the caller's clock brackets it.
    expect(r.tSend).toBeGreaterThanOrEqual(before)
    expect(r.tEnd).toBeLessThanOrEqual(after)
    for (let i = 1; i < r.chunks.length; i++) expect(r.chunks[i]![0]).toBeGreaterThanOrEqual(r.chunks[i - 1]![0])
    expect(r.tEnd).toBe(r.chunks.at(-1)![0])
    expect(requestMetrics(r).itlMs).toHaveLength(39)
  })

  it('pg N,M: a prompt of N then M generated tokens, from a fresh state every time', async () => {
    const a = await engine.execute({kind: 'pg', nPrompt: 200, nGen: 16, seed: 5}, clock)
    const b = await engine.execute({kind: 'pg', nPrompt: 200, nGen: 16, seed: 5}, clock)
    for (const r of [a, b]) expect(r).toMatchObject({nPrompt: 200, nOut: 16})
    expect(a.promptSeed).toBe(5)
  })

  it('chat formats messages with the chat template and stops at maxTokens', async () => {
    const r = await engine.execute({kind: 'chat', messages: [{role: 'system', content: 'Be brief.'}, {role: 'user', content: 'Why is the sky blue?'}], maxTokens: 24, ignoreEos: true, seed: 0}, clock)
    expect(r.nOut).toBe(24)
    expect(r.nPrompt).toBeGreaterThan(5)
  })

  it('sizes the context per test when asked, as llama-bench does: a request runs in its test\'s context', async () => {
    const perTest = await createLocalEngine({...base, modelPath: await tinyModelPath(), contextPerTest: true})
    try {
      expect(perTest.target.kind === 'local' && perTest.target.settings).toMatchObject({contextSize: 4096, contextPerTest: true})
      expect((await perTest.execute({kind: 'pg', nPrompt: 200, nGen: 16, seed: 5, testContext: 216}, clock)).nOut).toBe(16)
      // In a test whose context holds 216 tokens, 300 do not fit, though the engine's limit is 4096.
      await expect(perTest.execute({kind: 'pg', nPrompt: 300, nGen: 16, seed: 5, testContext: 216}, clock)).rejects.toThrow(/exceeds the context of 256 tokens/)
      // Without a test context (chat), the whole context.
      expect((await perTest.execute({kind: 'pg', nPrompt: 3000, nGen: 16, seed: 5}, clock)).nOut).toBe(16)
    } finally {
      await perTest.dispose()
    }
  })

  it('reports the CPU time its process used, exactly: what /proc says in 10 ms ticks, less the ticks\' truncation', async () => {
    const before = engine.processCpu!()!
    await engine.execute({kind: 'tg', nGen: 64, seed: 4}, clock)
    const after = engine.processCpu!()!
    expect(after.pid).toBe(before.pid)
    expect(after.cpuMs).toBeGreaterThan(before.cpuMs)
    // utime + stime (fields 14 and 15) of the waiting engine process: each truncated to ticks of 10 ms, so up to 20 ms short.
    const fields = (await readFile(`/proc/${after.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
    const procMs = (Number(fields[11]) + Number(fields[12])) * 10
    expect(after.cpuMs).toBeGreaterThanOrEqual(procMs - 1)
    expect(after.cpuMs).toBeLessThan(procMs + 20 + 1)
  })

  it('refuses a request larger than the context instead of shifting it', async () => {
    await expect(engine.execute({kind: 'pg', nPrompt: 4000, nGen: 100, seed: 1}, clock)).rejects.toThrow(/exceeds the context of 4096 tokens/)
  })

  it('reports progress between tokens at most every 100 ms, never per token, and stops when aborted, keeping the tokens measured', async () => {
    const controller = new AbortController()
    const seen: number[] = []
    const r = await engine.execute({kind: 'tg', nGen: 4000, seed: 9}, {...clock, signal: controller.signal, onToken: (n) => {
      seen.push(n)
      controller.abort()
    }})
    expect(r.error).toBe('interrupted')
    // The first progress report comes after 100 ms of generation; the abort is seen at the next one.
    expect(seen.length).toBeGreaterThanOrEqual(1)
    expect(r.nOut).toBeGreaterThan(seen[0]!)
    expect(r.nOut).toBeLessThan(4000)
    expect(r.chunks).toHaveLength(r.nOut)
    expect(r.tEnd - r.tSend).toBeGreaterThanOrEqual(200)
    expect(seen.length).toBeLessThanOrEqual(Math.ceil((r.tEnd - r.tSend) / 100))
  })
})

describe('local engine, split model', () => {
  it('loads a model split in 3 shards from the first, and identifies it by all: size summed, one sha256 over all, shard count', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-split-'))
    const shards = await writeGgufSplit(path.join(dir, 'tiny'), syntheticModelFile(SYNTHETIC_MODELS.tiny), 3)
    const contents = await Promise.all(shards.map((f) => readFile(f)))
    const engine = await createLocalEngine({...base, modelPath: shards[0]!})
    try {
      const t = engine.target
      if (t.kind !== 'local') throw new Error('expected a local target')
      const hash = createHash('sha256')
      for (const c of contents) hash.update(c)
      expect(t.model).toMatchObject({fileName: 'tiny-00001-of-00003.gguf', shards: 3, bytes: contents[0]!.length + contents[1]!.length + contents[2]!.length, sha256: hash.digest('hex'), parameters: 172352})
      // Not the first shard's own hash: two models sharing a first shard are told apart.
      expect(t.model.sha256).not.toBe(createHash('sha256').update(contents[0]!).digest('hex'))
      const r = await engine.execute({kind: 'tg', nGen: 8, seed: 1}, clock)
      expect(r.nOut).toBe(8)
    } finally {
      await engine.dispose()
    }
  })
})

describe('local engine, the build it loads (a local build only once checked on this CPU)', () => {
  const leftOut = {features: ['amx_tile', 'amx_int8', 'amx_bf16'], reason: 'the -march=native build was killed by SIGILL on check-q8_0'}
  // cmake options no local build was ever made with: node-llama-cpp finds no such build.
  const noSuchBuild = {OWBENCH_NO_SUCH_BUILD: '1'}

  it('auto: when the checked build is gone, the engine process loads the prebuilt binary, and the result does not claim the checked build\'s left-out instruction sets', async () => {
    const engine = await createLocalEngine({...base, modelPath: await tinyModelPath()}, async (gpu, build) => {
      expect([gpu, build]).toEqual(['cpu', 'auto'])
      return {binary: {kind: 'local', cmakeOptions: noSuchBuild, prebuiltFallback: true}, leftOut}
    })
    try {
      expect(engineInfo(engine)).toMatchObject({build: 'prebuilt', backend: 'cpu'})
      expect(engineInfo(engine)).not.toHaveProperty('leftOut')
    } finally {
      await engine.dispose()
    }
  })

  it('local: the engine process loads only the build with the checked cmake options, else one line with the fix', async () => {
    const error = await rejectedUserError(createLocalEngine({...base, engineBuild: 'local', modelPath: await tinyModelPath()}, async () => ({binary: {kind: 'local', cmakeOptions: noSuchBuild, prebuiltFallback: false}, leftOut})))
    expect(error.message).toMatch(/^cannot load the local engine build \(.+\)$/)
    expect(error.hint).toBe('run `owbench setup` to build llama.cpp for this CPU, or use --engine-build prebuilt')
  })

  it('auto with a local build that failed its check: the prebuilt engine runs and the result says why', async () => {
    const reason = 'the local engine build was killed by SIGILL on the check model check-q8_0; the prebuilt engine was used (run `owbench setup` to rebuild)'
    const engine = await createLocalEngine({...base, modelPath: await tinyModelPath()}, async () => ({binary: {kind: 'prebuilt'}, localBuildUnusable: reason}))
    try {
      expect(engineInfo(engine)).toMatchObject({build: 'prebuilt', localBuildUnusable: reason})
      expect((await engine.execute({kind: 'tg', nGen: 4, seed: 1}, clock)).nOut).toBe(4)
    } finally {
      await engine.dispose()
    }
  })

  // Only where `owbench setup` (or another local build) left a build that passes its check here.
  it.runIf(existsSync(path.join(nodeLlamaCppDir, 'llama', 'localBuilds')))('a checked local build is the one the engine process runs, with its cmake options, and what it leaves out is recorded', async () => {
    const local = await checkedLocalBuild('cpu')
    if (local.kind !== 'checked') throw new Error(`the local build here did not pass its check: ${JSON.stringify(local)}`)
    const engine = await createLocalEngine({...base, engineBuild: 'local', modelPath: await tinyModelPath()}, async () => ({binary: {kind: 'local', cmakeOptions: local.cmakeOptions, prebuiltFallback: false}, leftOut}))
    try {
      expect(engineInfo(engine)).toMatchObject({build: 'localBuild', leftOut})
      expect((await engine.execute({kind: 'tg', nGen: 4, seed: 1}, clock)).nOut).toBe(4)
    } finally {
      await engine.dispose()
    }
  })
})

describe('local engine errors', () => {
  it('names a missing model file and the fix', async () => {
    await expect(createLocalEngine({...base, modelPath: '/nope/model.gguf'})).rejects.toThrow(/model file not found: \/nope\/model\.gguf/)
  })

  it('rejects a file that is not GGUF before loading anything', async () => {
    const file = path.join(os.tmpdir(), `owbench-not-gguf-${process.pid}.gguf`)
    await writeFile(file, 'PK\u0003\u0004 this is a zip file')
    await expect(createLocalEngine({...base, modelPath: file})).rejects.toThrow(/is not a GGUF model file/)
  })

  it('rejects a truncated GGUF with a clear error instead of crashing', async () => {
    const file = path.join(os.tmpdir(), `owbench-truncated-${process.pid}.gguf`)
    await writeFile(file, (await readFile(await tinyModelPath())).subarray(0, 50_000))
    await expect(createLocalEngine({...base, modelPath: file})).rejects.toThrow(/cannot load model \S+: tensor 'token_embd.weight' data is not within the file bounds, model is corrupted or incomplete$/)
  })
})

describe('local engine: parallel sequences, depth and tensor overrides (tiny synthetic model, 1 thread)', () => {
  let engine: Engine
  beforeAll(async () => {
    engine = await createLocalEngine({...base, contextPerTest: true, modelPath: await tinyModelPath(), nCpuMoe: 2, tensorOverrides: ['token_embd=CPU']})
  })
  afterAll(async () => {
    await engine?.dispose()
  })

  it('records --n-cpu-moe and --override-tensor with the target, and serves up to llama.cpp\'s 256 sequences in one context', () => {
    if (engine.target.kind !== 'local') throw new Error('expected a local target')
    expect(engine.target.settings).toMatchObject({nCpuMoe: 2, tensorOverrides: ['token_embd=CPU']})
    expect(engine.maxConcurrency).toBe(256)
    // Contexts sized per test: no context bounds the sequences, only memory (checked when a batch runs).
    expect(engine.sequenceLimit?.(1000)).toBeUndefined()
  })

  it('decodes 3 sequences together: one send time, every token of a step arriving at once, each request its own prompt', async () => {
    const records = await engine.executeBatch!([0, 1, 2].map((seed) => ({kind: 'pg' as const, nPrompt: 12, nGen: 6, seed, testContext: 18})), clock)
    expect(records).toHaveLength(3)
    expect(new Set(records.map((r) => r.tSend)).size).toBe(1)
    expect(records.map((r) => [r.nPrompt, r.nOut, r.promptSeed, r.error])).toEqual([[12, 6, 0, undefined], [12, 6, 1, undefined], [12, 6, 2, undefined]])
    expect(records[1]!.chunks).toEqual(records[0]!.chunks)
    const times = records[0]!.chunks.map(([t]) => t)
    expect(times.every((t, i) => i === 0 || t > times[i - 1]!)).toBe(true)
    expect(times[0]).toBeGreaterThan(records[0]!.tSend)
  })

  it('fills a depth untimed, in one sequence and in several, and refuses chat in a batch as a capacity limit', async () => {
    const one = await engine.execute({kind: 'tg', nGen: 4, seed: 5, depth: 200, testContext: 205}, clock)
    expect([one.nOut, one.error]).toEqual([4, undefined])
    const batch = await engine.executeBatch!([7, 8].map((seed) => ({kind: 'tg' as const, nGen: 4, seed, depth: 200, testContext: 205})), clock)
    expect(batch.map((r) => [r.nPrompt, r.nOut, r.error])).toEqual([[1, 4, undefined], [1, 4, undefined]])
    await expect(engine.executeBatch!([1, 2].map((seed) => ({kind: 'chat' as const, messages: [{role: 'user' as const, content: 'hi'}], maxTokens: 2, ignoreEos: true, seed})), clock)).rejects.toThrow(CapacityError)
  })

  it('a buffer type the engine does not have is a user error naming the ones it has', async () => {
    const error = await rejectedUserError(createLocalEngine({...base, modelPath: await tinyModelPath(), tensorOverrides: ['exps=NPU9']}))
    expect(error.message).toMatch(/^--override-tensor: "exps=NPU9" is not PATTERN=BUFFER_TYPE with a buffer type of this engine \(CPU\b/)
  })
})
