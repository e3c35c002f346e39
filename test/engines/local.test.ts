import {writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Engine} from '../../src/engines/engine.js'
import {createLocalEngine} from '../../src/engines/local.js'
import {requestMetrics} from '../../src/metrics/request-metrics.js'
import {testCacheDir, tinyModelPath} from '../helpers/tiny-model.js'

process.env.OWBENCH_CACHE_DIR = testCacheDir

const base = {modelSource: 'synthetic:tiny', threads: 1, gpu: 'cpu' as const, gpuLayers: 0, contextSize: 1024, batchSize: 512, flashAttention: false, engineBuild: 'auto' as const, seed: 3}
const clock = {clock: () => performance.now()}

describe('local engine (node-llama-cpp, tiny synthetic model, 1 thread)', () => {
  let engine: Engine
  beforeAll(async () => {
    engine = await createLocalEngine({...base, modelPath: await tinyModelPath(), synthetic: {id: 'tiny', seed: 1, generatorVersion: 1}})
  })
  afterAll(async () => {
    await engine?.dispose()
  })

  it('describes the target: model file, settings, engine build and backend', () => {
    const t = engine.target
    if (t.kind !== 'local') throw new Error('expected a local target')
    expect(t.model).toMatchObject({architecture: 'llama', quantization: 'F32', parameters: 172352, trainContext: 4096, synthetic: {id: 'tiny'}})
    expect(t.model.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(t.settings).toMatchObject({threads: 1, gpuLayers: 0, contextSize: 1024, batchSize: 512, flashAttention: false})
    expect(t.engine).toMatchObject({name: 'node-llama-cpp', version: '3.21.1', backend: 'cpu'})
    expect(['prebuilt', 'localBuild']).toContain(t.engine.build)
    expect(t.engine.systemInfo).toMatch(/CPU :/)
    expect(engine.contextLimit).toBe(1024)
  })

  it('pp N evaluates exactly N prompt tokens, timed alone', async () => {
    const r = await engine.execute({kind: 'pp', nPrompt: 300, seed: 1}, clock)
    expect(r).toMatchObject({nPrompt: 300, nOut: 0, chunks: []})
    expect(r.tPrefillEnd).toBe(r.tEnd)
    expect(r.tEnd).toBeGreaterThan(r.tSend)
  })

  it('tg N generates exactly N tokens after a one-token prompt, each with its arrival time', async () => {
    const seen: number[] = []
    const r = await engine.execute({kind: 'tg', nGen: 40, seed: 2}, {...clock, onToken: (n) => seen.push(n)})
    expect(r.nPrompt).toBe(1)
    expect(r.nOut).toBe(40)
    expect(r.chunks).toHaveLength(40)
    expect(seen).toEqual(Array.from({length: 40}, (_, i) => i + 1))
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

  it('refuses a request larger than the context instead of shifting it', async () => {
    await expect(engine.execute({kind: 'pg', nPrompt: 1000, nGen: 100, seed: 1}, clock)).rejects.toThrow(/exceeds the context of 1024 tokens/)
  })

  it('stops generating when aborted, keeping the tokens measured', async () => {
    const controller = new AbortController()
    const r = await engine.execute({kind: 'tg', nGen: 500, seed: 9}, {...clock, signal: controller.signal, onToken: (n) => n === 10 && controller.abort()})
    expect(r.error).toBe('interrupted')
    expect(r.nOut).toBe(10)
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
    const {readFile} = await import('node:fs/promises')
    await writeFile(file, (await readFile(await tinyModelPath())).subarray(0, 50_000))
    await expect(createLocalEngine({...base, modelPath: file})).rejects.toThrow(/cannot load model \S+: tensor 'token_embd.weight' data is not within the file bounds, model is corrupted or incomplete$/)
  })
})
