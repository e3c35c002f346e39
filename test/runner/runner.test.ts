import {describe, expect, it} from 'vitest'
import {cellFigures, groupCells} from '../../src/derive/cells.js'
import {deriveResult} from '../../src/derive/derive.js'
import {loadLabel} from '../../src/results/load.js'
import type {RunRecord, Slo} from '../../src/results/schema.js'

const computeSummary = (runs: RunRecord[], options: {slo?: Slo} = {}) => groupCells(runs).map((c) => cellFigures(c, options.slo))
import {runSuite} from '../../src/runner/runner.js'
import type {Suite} from '../../src/suite/schema.js'
import {FakeEngine, fakeTarget} from '../helpers/fake-engine.js'
import {constantPower, handResult} from '../helpers/result-builder.js'

const suite: Suite = {
  name: 't',
  version: '1.0.0',
  description: 'd',
  repetitions: 3,
  warmup: 1,
  tests: [
    {id: 'pp512', kind: 'pp', nPrompt: 512, repetitions: 3},
    {id: 'tg8', kind: 'tg', nGen: 8, repetitions: 3},
    {id: 'pp100+tg4', kind: 'pg', nPrompt: 100, nGen: 4, repetitions: 2},
  ],
}

describe('runner', () => {
  it('runs warm-ups (llama-bench style) then measured repetitions, with exact timings', async () => {
    const engine = new FakeEngine(fakeTarget())
    const {outcome} = await runSuite({suite, engines: [engine], clock: engine.clock})
    expect(outcome.interrupted).toBe(false)
    expect(outcome.runs.map((r) => `${r.test}:${r.warmup ? 'w' : 'm'}${r.repetition}`)).toEqual([
      'pp512:w0', 'pp512:m0', 'pp512:m1', 'pp512:m2',
      'tg8:w0', 'tg8:m0', 'tg8:m1', 'tg8:m2',
      'pp100+tg4:w0', 'pp100+tg4:m0', 'pp100+tg4:m1',
    ])
    // Warm-ups generate one token (llama-bench): tg warm-up is tg1, pg warm-up is pp100+tg1.
    // Warm-ups run in the context of their test, which an engine sizing contexts per test makes before them.
    expect(engine.requests[4]).toMatchObject({kind: 'tg', nGen: 1, testContext: 9})
    expect(engine.requests[5]).toMatchObject({kind: 'tg', nGen: 8, testContext: 9})
    expect(engine.requests[8]).toMatchObject({kind: 'pg', nPrompt: 100, nGen: 1, testContext: 104})
    // Times are relative to the run start: the first request is sent at 0.
    expect(outcome.runs[0]!.requests[0]).toMatchObject({tSend: 0, tPrefillEnd: 256, tEnd: 256, nPrompt: 512, nOut: 0})
    // Every measured repetition uses a different prompt seed.
    const seeds = outcome.runs.map((r) => r.requests[0]!.promptSeed)
    expect(new Set(seeds).size).toBe(seeds.length)

    const summary = computeSummary(outcome.runs)
    const pp = summary.find((s) => s.test === 'pp512')!
    expect(pp.completed).toBe(3)
    expect(pp.metrics.tokens_per_second!.repetitions).toMatchObject({sample: 'repetitions', n: 3, mean: 2000, sd: 0}) // 512 tokens / 256 ms
    expect(pp.metrics.prefill_tps!.repetitions!.mean).toBe(2000)
    const tg = summary.find((s) => s.test === 'tg8')!
    // 1 prompt token (0.5 ms) + 8 tokens x 10 ms: 8 evaluated tokens over 80.5 ms.
    expect(tg.metrics.generation_tps!.repetitions!.mean).toBeCloseTo(8000 / 80.5, 10)
    expect(tg.metrics.ttft_ms!.requests!.mean).toBe(10.5)
    expect(tg.metrics.tpot_ms!.requests!.mean).toBe(10)
    expect(tg.metrics.itl_ms!.gaps).toMatchObject({sample: 'gaps', n: 21, mean: 10}) // 7 gaps x 3 repetitions, pooled
    const pg = summary.find((s) => s.test === 'pp100+tg4')!
    expect(pg.metrics.tokens_per_second!.repetitions!.mean).toBeCloseTo((103 * 1000) / 90, 10) // (100 + 3) / (50 + 40 ms)
    expect(pg.metrics.prefill_tps!.repetitions!.mean).toBeCloseTo(100_000 / 60, 10) // over TTFT = 50 + 10 ms
  })

  it('records a failed repetition and goes on', async () => {
    const engine = new FakeEngine(fakeTarget())
    engine.failOn = (_request, index) => (index === 2 ? new Error('out of memory') : index === 6 ? 'stream cut' : undefined)
    const {outcome} = await runSuite({suite, engines: [engine], clock: engine.clock})
    expect(outcome.runs).toHaveLength(11)
    expect(outcome.runs[2]).toMatchObject({test: 'pp512', repetition: 1, state: 'errored', reason: 'out of memory'})
    // A thrown failure is still a request in the record, with its reason and timing.
    expect(outcome.runs[2]!.requests).toEqual([{tSend: expect.any(Number), chunks: [], tEnd: expect.any(Number), nPrompt: 0, nOut: 0, error: 'out of memory'}])
    // A request that failed mid-stream keeps the tokens it measured.
    expect(outcome.runs[6]).toMatchObject({test: 'tg8', repetition: 1, state: 'errored', reason: 'stream cut'})
    expect(outcome.runs[6]!.requests[0]!.nOut).toBe(5)
    const summary = computeSummary(outcome.runs)
    expect(summary.find((s) => s.test === 'pp512')).toMatchObject({completed: 2, errored: 1, requests: 3, failedRequests: 1, errorReasons: {'out of memory': 1}})
    expect(summary.find((s) => s.test === 'tg8')!.metrics.tokens_per_second!.repetitions!.n).toBe(2)
  })

  it('skips a test that does not fit the context, saying why', async () => {
    const engine = new FakeEngine(fakeTarget(), 300)
    const {outcome} = await runSuite({suite, engines: [engine], clock: engine.clock})
    expect(outcome.runs[0]).toMatchObject({test: 'pp512', state: 'skipped', reason: expect.stringMatching(/needs 512 tokens of context, the target allows 300/)})
    expect(engine.requests[0]).toMatchObject({kind: 'tg'})
    expect(computeSummary(outcome.runs).find((s) => s.test === 'pp512')).toMatchObject({completed: 0, skipped: 1, metrics: {}})
  })

  it('stops after the request in flight when aborted, keeping it, and checkpoints every repetition', async () => {
    const engine = new FakeEngine(fakeTarget())
    const controller = new AbortController()
    engine.onRequest = (index) => {
      if (index === 5) controller.abort()
    }
    const checkpoints: number[] = []
    const {outcome} = await runSuite({suite, engines: [engine], clock: engine.clock, signal: controller.signal, onCheckpoint: async (runs) => void checkpoints.push(runs.length)})
    expect(outcome.interrupted).toBe(true)
    expect(outcome.runs).toHaveLength(6)
    expect(outcome.runs[5]).toMatchObject({test: 'tg8', repetition: 0, warmup: false, state: 'completed'})
    expect(checkpoints).toEqual([1, 2, 3, 4, 5, 6])
  })

  it('overrides repetitions and warm-up from flags', async () => {
    const engine = new FakeEngine(fakeTarget())
    const {outcome} = await runSuite({suite, engines: [engine], clock: engine.clock, repetitions: 1, warmup: 0})
    expect(outcome.runs.map((r) => r.test)).toEqual(['pp512', 'tg8', 'pp100+tg4'])
  })

  it('observes the server over each measured phase, from before its first request to after its last; never a warm-up', async () => {
    const engine = new FakeEngine(fakeTarget())
    const windows: [number, number][] = []
    Object.assign(engine, {
      observePhase: async (clock: () => number) => {
        const start = clock()
        return {stop: async () => (windows.push([start, clock()]), {server: 'vllm' as const, window: [start, clock()] as [number, number], counters: {'vllm:generation_tokens_total': 8}, gauges: {}, histograms: {}})}
      },
    })
    const {outcome} = await runSuite({suite: {...suite, tests: [suite.tests[1]!]}, engines: [engine], clock: engine.clock, repetitions: 2, warmup: 1})
    expect(outcome.runs.map((r) => [r.warmup, r.serverMetrics?.counters['vllm:generation_tokens_total']])).toEqual([[true, undefined], [false, 8], [false, 8]])
    for (const [i, run] of outcome.runs.filter((r) => !r.warmup).entries()) {
      expect(windows[i]![0]).toBeLessThanOrEqual(run.requests[0]!.tSend)
      expect(windows[i]![1]).toBeGreaterThanOrEqual(run.requests[0]!.tEnd)
    }
  })

  it('keeps c requests in flight at concurrency c and summarizes per load level', async () => {
    const engine = new FakeEngine(fakeTarget())
    engine.maxConcurrency = Number.POSITIVE_INFINITY
    let inFlight = 0
    let peak = 0
    const execute = engine.execute.bind(engine)
    engine.execute = async (request, ctx) => {
      peak = Math.max(peak, ++inFlight)
      await new Promise((r) => setImmediate(r))
      try {
        return await execute(request, ctx)
      } finally {
        inFlight--
      }
    }
    const one: Suite = {...suite, tests: [{id: 'tg8', kind: 'tg', nGen: 8, repetitions: 2}]}
    const {outcome} = await runSuite({suite: one, engines: [engine], clock: engine.clock, loads: [{mode: 'concurrency', level: 1}, {mode: 'concurrency', level: 4}], maxRequests: 8, warmup: 1})
    expect(peak).toBe(4)
    expect(outcome.runs.map((r) => [r.concurrency, r.warmup, r.requests.length])).toEqual([
      [1, true, 1], [1, false, 8], [1, false, 8],
      [4, true, 1], [4, false, 8], [4, false, 8],
    ])
    const seeds = outcome.runs.flatMap((r) => r.requests.map((q) => q.promptSeed))
    expect(new Set(seeds).size).toBe(seeds.length)
    const summary = computeSummary(outcome.runs, {slo: {tpotMs: 10}})
    expect(summary.map((s) => [s.test, loadLabel(s.load), s.requests])).toEqual([['tg8', 'c1', 16], ['tg8', 'c4', 16]])
    // Every request meets a 10 ms TPOT SLO, so goodput equals request throughput.
    expect(summary[1]!.metrics.goodput_rps!.repetitions!.mean).toBe(summary[1]!.metrics.request_throughput!.repetitions!.mean)
    expect(computeSummary(outcome.runs, {slo: {tpotMs: 9}})[1]!.metrics.goodput_rps!.repetitions!.mean).toBe(0)
  })

  it('skips load levels a single-request engine cannot serve', async () => {
    const engine = new FakeEngine(fakeTarget())
    const one: Suite = {...suite, tests: [{id: 'tg8', kind: 'tg', nGen: 8, repetitions: 1}]}
    const {outcome} = await runSuite({suite: one, engines: [engine], clock: engine.clock, loads: [{mode: 'concurrency', level: 4}, {mode: 'rate', rps: 2}], warmup: 0})
    expect(outcome.runs.map((r) => [r.state, r.reason])).toEqual([
      ['skipped', 'local target serves 1 request at a time; c4 needs more'],
      ['skipped', 'local target serves 1 request at a time; r2 needs more'],
    ])
  })

  it('starts open-loop requests at seeded Poisson arrival times', async () => {
    const engine = new FakeEngine(fakeTarget())
    engine.maxConcurrency = Number.POSITIVE_INFINITY
    const sleeps: number[] = []
    const sleep = async (ms: number) => {
      sleeps.push(ms)
      engine.now += ms
    }
    const one: Suite = {...suite, tests: [{id: 'pp512', kind: 'pp', nPrompt: 512, repetitions: 1}]}
    const run = () => runSuite({suite: one, engines: [engine], clock: engine.clock, sleep, loads: [{mode: 'rate', rps: 4}], maxRequests: 200, warmup: 0, seed: 9})
    const {outcome} = await run()
    expect(outcome.runs[0]).toMatchObject({rate: 4, state: 'completed'})
    expect(outcome.runs[0]!.requests).toHaveLength(200)
    const sends = outcome.runs[0]!.requests.map((r) => r.tSend)
    const gaps = sends.slice(1).map((t, i) => t - sends[i]!)
    // Exponential gaps with mean 1/rate = 250 ms (200 samples: within 20%).
    const meanGap = gaps.reduce((a, b) => a + b, 0) / gaps.length
    expect(meanGap).toBeGreaterThan(200)
    expect(meanGap).toBeLessThan(300)
    const again = await run()
    const againSends = again.outcome.runs[0]!.requests.map((r) => r.tSend)
    againSends.forEach((t, i) => expect(t - againSends[0]!).toBeCloseTo(sends[i]! - sends[0]!, 6))
  })
})

describe('back-to-back windows for slow meters', () => {
  it('repeats a short measured request until its repetition spans the meter\'s minimum window, warm-ups and long tests untouched', async () => {
    const engine = new FakeEngine(fakeTarget())
    // pp512 takes 256 ms (0.5 ms per prompt token), tg8 80 ms; the meter needs 1 s windows.
    const {outcome} = await runSuite({suite, engines: [engine], clock: engine.clock, minWindowMs: () => 1000})
    const pp = outcome.runs.filter((r) => r.test === 'pp512')
    // 4 x 256 ms = 1024 ms is the first span reaching 1000 ms.
    expect(pp.map((r) => [r.warmup, r.backToBack, r.requests.length])).toEqual([[true, undefined, 1], [false, 4, 4], [false, 4, 4], [false, 4, 4]])
    // tg8: 10 ms per token and 1-token prompt (0.5 ms): 80.5 ms each, 13 reach 1046.5 ms.
    expect(outcome.runs.filter((r) => r.test === 'tg8' && !r.warmup).map((r) => r.backToBack)).toEqual([13, 13, 13])
    // Each back-to-back request has its own prompt, right after the one before.
    const burst = pp[1]!.requests
    expect(new Set(burst.map((r) => r.promptSeed)).size).toBe(4)
    expect(burst.map((r) => r.tSend)).toEqual([burst[0]!.tSend, burst[0]!.tEnd, burst[1]!.tEnd, burst[2]!.tEnd])
    // The derivation takes each repetition's whole span (3 x 1024 ms) at 50 W over all 3 x 4 x 512 prompt tokens.
    const result = handResult([engine.target], outcome.runs, {power: constantPower(50, 0, 20_000)})
    const cell = deriveResult(result).cells.find((c) => c.test === 'pp512')!
    expect(cell.phases!.phases.find((p) => p.phase === 'total')).toMatchObject({windowMs: 3 * 1024, tokens: 3 * 4 * 512})
    expect((cell.energy as {jPerToken: number}).jPerToken).toBeCloseTo((50 * 3.072) / 6144, 12)
    expect(cell.backToBack).toEqual([4, 4, 4])
  })

  it('ends a burst by the span the derivation measures (first send to last end), however long a request takes to be sent', async () => {
    const engine = new FakeEngine(fakeTarget())
    // 1 ms of preparation (tokenizing, a socket) before each send, then pp512's 256 ms.
    const execute = engine.execute.bind(engine)
    engine.execute = async (request, ctx) => {
      engine.now += 1
      return execute(request, ctx)
    }
    const one: Suite = {...suite, warmup: 0, tests: [{id: 'pp512', kind: 'pp', nPrompt: 512, repetitions: 1}]}
    const {outcome} = await runSuite({suite: one, engines: [engine], clock: engine.clock, minWindowMs: () => 1028})
    const requests = outcome.runs[0]!.requests
    // Four requests end 4 x 257 = 1028 ms after the burst began but only 1027 ms after the first send: a fifth is needed.
    expect(outcome.runs[0]!.backToBack).toBe(5)
    expect(requests.at(-1)!.tEnd - requests[0]!.tSend).toBe(5 * 257 - 1)
  })
})
