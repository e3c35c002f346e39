import {describe, expect, it} from 'vitest'
import {batchedBenchSpeeds} from '../../src/derive/batched-bench.js'
import type {RequestRecord, RunRecord} from '../../src/results/schema.js'

const request = (tSend: number, times: number[], nPrompt: number): RequestRecord => ({tSend, chunks: times.map((t) => [t, 1] as [number, number]), tEnd: times.at(-1)!, nPrompt, nOut: times.length, countSource: 'engine'})
const run = (requests: RequestRecord[], extra: Partial<RunRecord> = {}): RunRecord => ({target: 'local', test: 'pp8+tg3', kind: 'pg', repetition: 0, warmup: false, concurrency: requests.length, state: 'completed', requests, ...extra})

describe('llama-batched-bench figures (S_PP, S_TG, S)', () => {
  it('two sequences of pg 8,3 sharing a batch: 16 prompt tokens over 40 ms, 4 tokens decoded after the prompts over 20 ms', () => {
    // Prompts of both sequences end at 140; two steps at 150 and 160.
    const speeds = batchedBenchSpeeds(run([request(100, [140, 150, 160], 8), request(100, [140, 150, 160], 8)], {sequences: 2}))!
    expect(speeds.pp).toBeCloseTo((16 * 1000) / 40, 9)
    expect(speeds.tg).toBeCloseTo((4 * 1000) / 20, 9)
    expect(speeds.total).toBeCloseTo((20 * 1000) / 60, 9)
  })

  it('requests one at a time are batches of one, summed over the repetition (back to back)', () => {
    // 8 prompt tokens in 10 ms, then 2 in 4 ms; again 8 in 30 ms, then 2 in 6 ms.
    const speeds = batchedBenchSpeeds(run([request(0, [10, 12, 14], 8), request(20, [50, 53, 56], 8)], {concurrency: 1, backToBack: 2}))!
    expect(speeds.pp).toBeCloseTo((16 * 1000) / 40, 9)
    expect(speeds.tg).toBeCloseTo((4 * 1000) / 10, 9)
    expect(speeds.total).toBeCloseTo((20 * 1000) / 50, 9)
  })

  it('pp: the prompt end alone, no generation speed', () => {
    const pp: RequestRecord = {tSend: 0, tPrefillEnd: 25, chunks: [], tEnd: 25, nPrompt: 64, nOut: 0, countSource: 'engine'}
    const speeds = batchedBenchSpeeds(run([pp, {...pp}], {kind: 'pp', sequences: 2}))!
    expect(speeds.pp).toBeCloseTo((128 * 1000) / 25, 9)
    expect(speeds.tg).toBeUndefined()
    expect(speeds.total).toBeCloseTo((128 * 1000) / 25, 9)
  })

  it('none for requests sent concurrently to a server, counted from a stream, or chat', () => {
    expect(batchedBenchSpeeds(run([request(0, [10, 20], 8), request(1, [12, 22], 8)]))).toBeUndefined()
    expect(batchedBenchSpeeds(run([{...request(0, [10, 20], 8), countSource: 'usage'}], {concurrency: 1}))).toBeUndefined()
    expect(batchedBenchSpeeds(run([request(0, [10, 20], 8)], {concurrency: 1, kind: 'chat'}))).toBeUndefined()
  })
})
