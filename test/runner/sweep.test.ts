import {describe, expect, it} from 'vitest'
import {deriveResult} from '../../src/derive/derive.js'
import {fillLevels, goodputNext, keepUpRatio, saturationStop, SWEEP_DEFAULTS} from '../../src/derive/sweep.js'
import {loadLabel} from '../../src/results/load.js'
import type {RunRecord} from '../../src/results/schema.js'
import type {SweepPoint, SweepSettings} from '../../src/results/sweep-schema.js'
import {sweepLoads} from '../../src/runner/load-plan.js'
import {runSuite} from '../../src/runner/runner.js'
import type {Suite} from '../../src/suite/schema.js'
import {FakeEngine, fakeTarget} from '../helpers/fake-engine.js'
import {endpointTarget, handResult, request} from '../helpers/result-builder.js'
import {SlotEngine} from '../helpers/slot-engine.js'

const suite: Suite = {name: 'sweep', version: '1.0.0', description: 'd', repetitions: 1, warmup: 0, tests: [{id: 'tg16', kind: 'tg', nGen: 16, repetitions: 1}]}

const saturation: SweepSettings = {mode: 'concurrency', search: 'saturation', ...SWEEP_DEFAULTS}
const goodput = (target: number): SweepSettings => ({...saturation, search: 'goodput', goodputTarget: target})

/** 8 slots, a step of 10 ms + 2 ms per sequence: c sequences give c / (10 + 2c) tokens/ms until the slots are full. */
const server = () => new SlotEngine(endpointTarget(), 8, (batch) => 10 + 2 * batch)

async function sweep(engine: SlotEngine | FakeEngine, settings: SweepSettings, slo?: {ttftMs?: number}) {
  const {outcome} = await runSuite({suite, engines: [engine], clock: engine.clock, plan: sweepLoads(settings, slo)})
  const result = handResult([engine.target], outcome.runs, {suite: {name: 'sweep', version: '1.0.0', sha256: 'f'.repeat(64), source: 'file', definition: suite}, sweeps: outcome.sweeps, ...(slo ? {load: {slo}} : {})})
  return {outcome, summary: deriveResult(result).sweeps![0]!}
}

describe('load sweeps against a batching server (virtual clock)', () => {
  it('doubles until throughput stops growing, fills in around the knee and says where it saturated', async () => {
    const {outcome, summary} = await sweep(server(), saturation)
    expect(outcome.sweeps[0]!.steps.map((s) => `${loadLabel(s.load)}:${s.stage}:${s.requests}`)).toEqual(['c1:start:16', 'c2:double:16', 'c4:double:16', 'c8:double:32', 'c16:double:64', 'c6:fill:24', 'c12:fill:48'])
    // Every level's requests run in lockstep rounds of 16 steps. c1: 16 requests x 16 steps x 12 ms = 3072 ms for 256 tokens.
    // c2: 8 rounds x 16 x 14 ms; c4: 4 x 16 x 18; c6: 4 x 16 x 22; c8: 4 x 16 x 26; c12 and c16: 8 slots busy, 26 ms steps.
    const tps = Object.fromEntries(summary.points.map((p) => [loadLabel(p.load), p.aggregateTps]))
    expect(tps.c1).toBeCloseTo(256 / 3.072, 9)
    expect(tps.c2).toBeCloseTo(256 / 1.792, 9)
    expect(tps.c4).toBeCloseTo(256 / 1.152, 9)
    expect(tps.c6).toBeCloseTo(384 / 1.408, 9)
    expect(tps.c8).toBeCloseTo(512 / 1.664, 9)
    expect(tps.c12).toBeCloseTo(768 / 2.496, 9)
    expect(tps.c16).toBeCloseTo(1024 / 3.328, 9)
    expect(summary.stop).toEqual({code: 'saturated', reason: 'throughput stopped growing at c16: 308 output tokens/s, 1.00x the best before it (308 at c8); a doubling must give more than 1.10x'})
    // The knee: the lowest level within 1.1x of the peak (307.7 / 1.1 = 279.7): c6's 272.7 is below, c8 is the first.
    expect(summary.saturation).toMatchObject({load: {mode: 'concurrency', level: 8}, aggregateTps: expect.closeTo(512 / 1.664, 9)})
    // At c16 every request but the first 8 waits a whole round (16 steps of 26 ms) for a slot: TTFT rises from one step to 17.
    expect(summary.points.find((p) => loadLabel(p.load) === 'c8')!.ttftMs).toBe(26)
    expect(summary.points.find((p) => loadLabel(p.load) === 'c16')!.ttftMs).toBe(26 * 17)
  })

  it('finds the highest concurrency whose requests meet a TTFT objective: doubling, then bisection', async () => {
    // TTFT <= 100 ms: met while every request gets a slot at once (c8: one 26 ms step); above 8, requests wait a round (442 ms).
    const {outcome, summary} = await sweep(server(), goodput(0.99), {ttftMs: 100})
    expect(outcome.sweeps[0]!.steps.map((s) => `${loadLabel(s.load)}:${s.stage}`)).toEqual(['c1:start', 'c2:double', 'c4:double', 'c8:double', 'c16:double', 'c12:bisect', 'c10:bisect', 'c9:bisect'])
    expect(summary.stop?.code).toBe('converged')
    expect(summary.goodput).toMatchObject({best: {mode: 'concurrency', level: 8}, bestAttainment: 1, lowestFailing: {mode: 'concurrency', level: 9}})
    // c8: 32 requests met the objective in 1664 ms of phase.
    expect(summary.goodput!.bestGoodputRps).toBeCloseTo(32 / 1.664, 9)
    // c16: only the first 8 of 64 requests found a free slot; the rest waited a round.
    expect(summary.points.find((p) => loadLabel(p.load) === 'c16')!.attainment).toBe(8 / 64)
  })

  it('a rate sweep starts from the rate one request at a time sustained (a start, not a doubling), then doubles it', async () => {
    const {outcome} = await sweep(server(), {...saturation, mode: 'rate'})
    const steps = outcome.sweeps[0]!.steps
    // c1: 16 requests in 3072 ms = 5.21 requests/s, to three digits.
    expect(steps.slice(0, 3).map((s) => `${loadLabel(s.load)}:${s.stage}`)).toEqual(['c1:start', 'r5.21:start', 'r10.4:double'])
  })

  it('stops a local target that serves one request at a time at c1, and says so', async () => {
    const {outcome, summary} = await sweep(new FakeEngine(fakeTarget()), saturation)
    expect(outcome.sweeps[0]!.steps.map((s) => loadLabel(s.load))).toEqual(['c1'])
    expect(summary.stop).toEqual({code: 'target-limit', reason: 'local target local serves 1 request at a time: the sweep ends at c1'})
    const rate = await sweep(new FakeEngine(fakeTarget()), {...saturation, mode: 'rate'})
    expect(rate.summary.stop).toEqual({code: 'target-limit', reason: 'an open-loop rate needs any number of requests in flight; local target local serves 1 at a time'})
  })

  it('keeps to its request budget, and a budget reached while filling in keeps the saturation verdict', async () => {
    // c1..c16 send 16 + 16 + 16 + 32 + 64 = 144 requests; c6 needs 24 more.
    const {outcome, summary} = await sweep(server(), {...saturation, maxRequests: 150})
    expect(outcome.sweeps[0]!.steps.map((s) => loadLabel(s.load))).toEqual(['c1', 'c2', 'c4', 'c8', 'c16'])
    expect(summary.stop!.code).toBe('saturated')
    expect(summary.stop!.reason).toMatch(/; filling in around the knee stopped: c6 would take the sweep past its 150 requests \(144 sent, 24 more needed\)$/)
    const early = await sweep(server(), {...saturation, maxRequests: 40})
    expect(early.summary.stop).toEqual({code: 'request-budget', reason: 'c4 would take the sweep past its 40 requests (32 sent, 16 more needed)'})
    const capped = await sweep(server(), {...saturation, maxLevel: 4})
    expect(capped.summary.stop).toEqual({code: 'max-level', reason: 'the sweep\'s highest level is c4: the sweep ends at c4'})
  })

  it('records an interrupted sweep as such', async () => {
    const controller = new AbortController()
    const engine = server()
    const {outcome} = await runSuite({suite, engines: [engine], clock: engine.clock, plan: sweepLoads(saturation, undefined), signal: controller.signal, onCheckpoint: async (runs) => (runs.length === 2 ? controller.abort() : undefined)})
    expect(outcome.interrupted).toBe(true)
    expect(outcome.sweeps[0]).toMatchObject({steps: [{load: {mode: 'concurrency', level: 1}}, {load: {mode: 'concurrency', level: 2}}], stop: {code: 'interrupted'}})
  })
})

const point = (load: SweepPoint['load'], aggregateTps: number | undefined, extra: Partial<SweepPoint> = {}): SweepPoint => ({load, stage: 'double', requests: 16, failed: 0, ...(aggregateTps === undefined ? {} : {aggregateTps}), ...extra})
const c = (level: number) => ({mode: 'concurrency' as const, level})
const r = (rps: number) => ({mode: 'rate' as const, rps})

describe('sweep rules', () => {
  it('stops on failed requests, on TTFT rising without throughput, and on a server falling behind its arrivals', () => {
    expect(saturationStop([point(c(1), 100), point(c(2), 190, {failed: 2, requests: 16})], saturation)).toEqual({code: 'errors', reason: '2 of 16 requests failed at c2 (more than 5.00% allowed)'})
    // 1.15x more throughput (under 2 x 10%) while median TTFT tripled.
    expect(saturationStop([point(c(4), 400, {ttftMs: 50}), point(c(8), 460, {ttftMs: 150})], saturation)).toEqual({code: 'over-saturated', reason: 'TTFT rose without throughput at c8: median TTFT 50.0 -> 150 ms (3.0x c4\'s) while throughput gained only 1.15x'})
    // 1.3x more throughput with TTFT tripled: still growing.
    expect(saturationStop([point(c(4), 400, {ttftMs: 50}), point(c(8), 520, {ttftMs: 150})], saturation)).toBeUndefined()
    const rate: SweepSettings = {...saturation, mode: 'rate'}
    expect(saturationStop([point(c(1), 100, {stage: 'start'}), point(r(4), 101)], rate)).toBeUndefined()
    expect(saturationStop([point(r(4), 100), point(r(8), 190, {keepUp: 0.8})], rate)).toEqual({code: 'over-saturated', reason: 'the server fell behind at r8: requests completed at 0.80x the rate they arrived (below 0.90x: a queue was building)'})
  })

  it('measures how well completions keep up with arrivals', () => {
    // Arrivals 0, 100, 200, 300 ms: 300 ms apart end to end. Completions every 200 ms: 600 ms. 300 / 600 = 0.5.
    const runs: RunRecord[] = [{target: 'e', test: 'tg16', kind: 'tg', repetition: 0, warmup: false, concurrency: 1, rate: 10, state: 'completed', requests: [0, 100, 200, 300].map((t, i) => ({...request(t, {nPrompt: 1, nOut: 2, ttft: 10, tpot: 10}), tEnd: 100 + i * 200}))}]
    expect(keepUpRatio(runs)).toBe(0.5)
  })

  it('fills in between the last doublings, whole requests in flight or rates to three digits', () => {
    expect(fillLevels([point(c(1), 1), point(c(2), 2), point(c(4), 3), point(c(8), 4)], saturation)).toEqual([c(3), c(6)])
    expect(fillLevels([point(c(1), 1), point(c(2), 2)], saturation)).toEqual([])
    expect(fillLevels([point(c(1), 1, {stage: 'start'}), point(r(1.37), 2), point(r(2.74), 3)], {...saturation, mode: 'rate'})).toEqual([r(2.06)])
  })

  it('descends when even the first level misses, and gives up at one request at a time', () => {
    const g = goodput(0.99)
    expect(goodputNext([point(c(1), 10, {stage: 'start', attainment: 1}), point(c(2), 10, {attainment: 0.5})], g, c(1))).toEqual({code: 'converged', reason: 'c1 is the highest load meeting the objectives in 99.0% of requests (100.0%); c2 met them in 50.0%'})
    expect(goodputNext([point(c(4), 10, {attainment: 0.9})], g, c(1))).toEqual({load: c(2), stage: 'descend'})
    expect(goodputNext([point(c(4), 10, {attainment: 0.9}), point(c(2), 10, {attainment: 0.9}), point(c(1), 10, {attainment: 0.95})], g, c(1))).toEqual({code: 'objectives-unmet', reason: 'even c1 met the objectives in only 95.0% of requests (target 99.0%)'})
    // Rates converge within 10% of the highest passing one.
    const rate = {...g, mode: 'rate' as const}
    expect(goodputNext([point(r(4), 1, {attainment: 1}), point(r(8), 1, {attainment: 0.5})], rate, r(0.5))).toEqual({load: r(6), stage: 'bisect'})
    expect(goodputNext([point(r(4), 1, {attainment: 1}), point(r(4.3), 1, {attainment: 0.5})], rate, r(0.5))).toMatchObject({code: 'converged'})
  })
})
