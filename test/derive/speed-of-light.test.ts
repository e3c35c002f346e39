import {describe, expect, it} from 'vitest'
import {deriveResult} from '../../src/derive/derive.js'
import type {ResultFile, Target} from '../../src/results/schema.js'
import type {BytesPerToken} from '../../src/results/speed-of-light-schema.js'
import {endpointTarget, handResult, localTarget, request, run} from '../helpers/result-builder.js'

// The default synthetic model's figures (test/model/bytes-per-token.test.ts computes them by hand).
const DEFAULT_MODEL: BytesPerToken = {weightBytes: 29_559_328, tensorBytes: 31_787_008, kvBytesPerPosition: 16_384, layers: 8, method: 'every matrix once, one row per embedding table; KV cache F16'}

function local(reads: BytesPerToken | null = DEFAULT_MODEL, engine: Partial<Extract<Target, {kind: 'local'}>['engine']> = {}, gpuLayers = 0): Target {
  const t = localTarget() as Extract<Target, {kind: 'local'}>
  return {...t, model: {...t.model, ...(reads ? {bytesPerToken: reads} : {})}, settings: {...t.settings, gpuLayers}, engine: {...t.engine, ...engine}}
}

/** Three repetitions of tg64, each 64 tokens in `ms` (a one-token prompt, llama-bench tg: 64 / time). */
function tgRuns(target: string, ms: number, concurrency = 1) {
  return [0, 1, 2].map((rep) => run(target, 'tg64', rep, Array.from({length: concurrency}, () => request(rep * 10_000, {nPrompt: 1, nOut: 64, ttft: ms / 64, tpot: ms / 64})), concurrency))
}

function withBandwidth(result: ResultFile, memoryBandwidth: ResultFile['host']['memoryBandwidth']): ResultFile {
  return {...result, host: {...result.host, memoryBandwidth}}
}

const PROBE = {triadGBs: 36, threads: 2, arrayMiB: 256, passes: 10, method: 'STREAM triad, Float64Array per worker thread, best pass' as const}

describe('speed of light: % of the bandwidth limit', () => {
  it('multiplies the bytes a tg token reads by its generation rate, over the probe on a CPU run', () => {
    // tg64 in 160 ms: 400 tokens/s. Bytes per token: 29,559,328 weights + 16,384 x 32.5 KV = 30,091,808.
    // Achieved: 30,091,808 x 400 = 12.0367232 GB/s; of the 36 GB/s probe: 33.4353...%.
    const result = withBandwidth(handResult([local()], tgRuns('local', 160)), {probe: PROBE, published: []})
    const cell = deriveResult(result).cells.find((c) => c.test === 'tg64')!
    expect(cell.speedOfLight).toEqual({
      status: 'ok',
      bytesPerToken: 30_091_808,
      tokensPerSecond: 400,
      rate: 'generation_tps',
      achievedGBs: expect.closeTo(12.0367232, 9),
      limit: {gbs: 36, source: 'probe', label: 'STREAM triad probe on 2 threads'},
      percent: expect.closeTo((12.0367232 / 36) * 100, 9),
      implausible: false,
      weightsOnly: false,
    })
    expect(deriveResult(result).targets[0]!.bandwidth).toEqual({status: 'ok', limit: {gbs: 36, source: 'probe', label: 'STREAM triad probe on 2 threads'}})
    // pp cells have no figure: prompt processing is compute-bound and batched.
    expect(deriveResult(result).cells.find((c) => c.test === 'pp256')).toBeUndefined()
  })

  it('flags a rate faster than memory can deliver as implausible', () => {
    // 64 tokens in 40 ms: 1600 tokens/s x 30,091,808 bytes = 48.15 GB/s, 133.7% of 36.
    const cell = deriveResult(withBandwidth(handResult([local()], tgRuns('local', 40)), {probe: PROBE, published: []})).cells[0]!
    expect(cell.speedOfLight).toMatchObject({status: 'ok', tokensPerSecond: 1600, implausible: true, percent: expect.closeTo(((30_091_808 * 1600) / 1e9 / 36) * 100, 9)})
  })

  it('shares the weights among the sequences in flight', () => {
    // Four requests at once, each 64 tokens in 160 ms: aggregate 256 / 0.160 = 1600 tokens/s.
    // Per token: 29,559,328 / 4 + 532,480 = 7,922,312 bytes; x 1600 = 12.6756992 GB/s.
    const cell = deriveResult(withBandwidth(handResult([local()], tgRuns('local', 160, 4)), {probe: PROBE, published: []})).cells[0]!
    expect(cell.speedOfLight).toMatchObject({status: 'ok', rate: 'aggregate_tps', tokensPerSecond: 1600, bytesPerToken: 7_922_312, achievedGBs: expect.closeTo(12.6756992, 9)})
  })

  it('in parallel sequences uses the decode steps alone (S_TG), as one request\'s pg row uses 1 / TPOT, not the prefill inside the aggregate', () => {
    // pg 256,64 in two sequences of the local engine (one batch: same send time, exact engine times):
    // prompts end at 40 ms, then 63 steps of 4 ms: T_TG = 252 ms, S_TG = 2 x 63 / 0.252 = 500 t/s.
    // The aggregate output rate, 128 / 0.292 = 438.36 t/s, has the prompts' 40 ms inside.
    const pg = (t: number) => ({...request(t, {nPrompt: 256, nOut: 64, ttft: 40, tpot: 4}), countSource: 'engine' as const})
    const runs = [0, 1, 2].map((rep) => ({...run('local', 'tg64', rep, [pg(rep * 10_000), pg(rep * 10_000)], 2), kind: 'pg' as const, test: 'pp256+tg64', sequences: 2}))
    const result = withBandwidth(handResult([local()], runs), {probe: PROBE, published: []})
    const suite = {...result.suite, definition: {...result.suite.definition, tests: [{id: 'pp256+tg64', kind: 'pg' as const, nPrompt: 256, nGen: 64, repetitions: 3}]}}
    const cell = deriveResult({...result, suite}).cells[0]!
    expect(cell.metrics.aggregate_tps!.repetitions!.mean).toBeCloseTo(128 / 0.292, 6)
    // Per token: 29,559,328 / 2 + 16,384 x (256 + 31.5) = 14,779,664 + 4,710,400 = 19,490,064 bytes; x 500 = 9.745032 GB/s.
    expect(cell.speedOfLight).toMatchObject({status: 'ok', rate: 's_tg_tps', tokensPerSecond: expect.closeTo(500, 9), bytesPerToken: 19_490_064, achievedGBs: expect.closeTo(9.745032, 9)})
  })

  it('uses the published peak of every GPU a fully offloaded run used, summed, and names it', () => {
    const gpus = {backend: 'cuda' as const, gpuDevices: ['NVIDIA GeForce RTX 4090', 'NVIDIA GeForce RTX 4090']}
    const published = [{name: 'NVIDIA GeForce RTX 4090', device: 'NVIDIA GeForce RTX 4090', gbs: 1008, source: 'data/memory-bandwidth.csv line 22: SECONDARY'}]
    const result = withBandwidth(handResult([local(DEFAULT_MODEL, gpus, 9)], tgRuns('local', 16)), {probe: PROBE, published})
    const cell = deriveResult(result).cells[0]!
    // 64 tokens in 16 ms: 4000 tokens/s x 30,091,808 = 120.367232 GB/s of 2 x 1008.
    expect(cell.speedOfLight).toMatchObject({status: 'ok', limit: {gbs: 2016, source: 'published', label: 'published peaks of 2 GPUs summed (NVIDIA GeForce RTX 4090, NVIDIA GeForce RTX 4090)', sources: ['data/memory-bandwidth.csv line 22: SECONDARY']}, percent: expect.closeTo((120.367232 / 2016) * 100, 9)})
  })

  it('says why a figure is missing: partial offload, unknown GPU, endpoint, no probe, no bytes per token, open-loop rate', () => {
    const published = [{name: 'NVIDIA H100 80GB HBM3', device: 'NVIDIA H100 SXM5 80GB', gbs: 3350, source: 's'}]
    const derive = (target: Target, bandwidth: ResultFile['host']['memoryBandwidth'] | 'none' = {probe: PROBE, published}) => deriveResult(withBandwidth(handResult([target], tgRuns(target.id, 160)), bandwidth === 'none' ? undefined : bandwidth)).cells[0]!.speedOfLight
    expect(derive(local(DEFAULT_MODEL, {backend: 'cuda', gpuDevices: ['NVIDIA H100 80GB HBM3']}, 4))).toEqual({status: 'missing', reason: '4 of 8 layers on the GPU: the weights are read from GPU and system memory, so no one bandwidth bounds decode'})
    expect(derive(local(DEFAULT_MODEL, {backend: 'vulkan', gpuDevices: ['AMD Radeon RX 7900 XTX']}, 99))).toEqual({status: 'missing', reason: 'no published peak bandwidth for AMD Radeon RX 7900 XTX (data/memory-bandwidth.csv has no row matching the name)'})
    expect(derive(local(DEFAULT_MODEL, {backend: 'cuda', gpuDevices: ['NVIDIA H100 80GB HBM3']}, 99))).toMatchObject({status: 'ok', limit: {gbs: 3350, label: 'NVIDIA H100 SXM5 80GB published peak'}})
    expect(derive(endpointTarget())).toEqual({status: 'missing', reason: 'an endpoint\'s model files and hardware are not known to owbench'})
    expect(derive(local(), {published: [], probeError: 'worker exited'})).toEqual({status: 'missing', reason: 'the bandwidth probe failed: worker exited'})
    expect(derive(local(), 'none')).toEqual({status: 'missing', reason: 'this result has no memory bandwidth probe (run before owbench measured it)'})
    expect(derive(local(null))).toEqual({status: 'missing', reason: 'this result does not record the bytes a token reads (run before owbench computed them)'})
    const rate = run('local', 'tg64', 0, [request(0, {nPrompt: 1, nOut: 64, ttft: 2.5, tpot: 2.5})])
    const open = deriveResult(withBandwidth(handResult([local()], [{...rate, rate: 2}]), {probe: PROBE, published: []})).cells[0]!
    expect(open.speedOfLight).toEqual({status: 'missing', reason: 'an open-loop rate: how many sequences share a decode step is not known'})
  })

  it('gives a lower bound from the weights alone where the KV reads are not modelled', () => {
    const cell = deriveResult(withBandwidth(handResult([local({...DEFAULT_MODEL, kvBytesPerPosition: null, kvNote: 'KV reads not modelled for sliding-window attention layers'})], tgRuns('local', 160)), {probe: PROBE, published: []})).cells[0]!
    expect(cell.speedOfLight).toMatchObject({status: 'ok', bytesPerToken: 29_559_328, weightsOnly: true})
  })
})
