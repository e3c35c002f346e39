import {describe, expect, it} from 'vitest'
import {cellFigures, groupCells} from '../../src/derive/cells.js'
import {deriveResult} from '../../src/derive/derive.js'
import {SWEEP_DEFAULTS} from '../../src/derive/sweep.js'
import type {SweepSettings} from '../../src/results/sweep-schema.js'
import {sweepLoads} from '../../src/runner/load-plan.js'
import {runSuite} from '../../src/runner/runner.js'
import type {Suite} from '../../src/suite/schema.js'
import {BatchEngine} from '../helpers/batch-engine.js'
import {fakeTarget, FakeEngine} from '../helpers/fake-engine.js'
import {handResult} from '../helpers/result-builder.js'

const suite: Suite = {name: 'batched', version: '1.0.0', description: 'd', repetitions: 2, warmup: 1, tests: [{id: 'tg16', kind: 'tg', nGen: 16, repetitions: 2}]}
const loads = (...levels: number[]) => levels.map((level) => ({mode: 'concurrency' as const, level}))

describe('runner: parallel sequences of an engine that batches them (virtual clock)', () => {
  it('runs a level of N as batches of N sequences, warm-up included, and derives llama-batched-bench\'s figures exactly', async () => {
    // A step of 10 ms + 2 ms per sequence; prompts 0.5 ms a token.
    const engine = new BatchEngine(fakeTarget(), (n) => 10 + 2 * n)
    const {outcome} = await runSuite({suite, engines: [engine], clock: engine.clock, loads: loads(1, 4)})
    // c1: one request at a time (no batch size recorded); c4: a warm-up batch of 4 one-token requests, then 2 batches of 4.
    expect(engine.batches.map((b) => `${b.length}x${b[0]!.kind === 'tg' ? b[0]!.nGen : '?'}`)).toEqual(['1x1', '1x16', '1x16', '4x1', '4x16', '4x16'])
    const c4 = outcome.runs.filter((r) => r.concurrency === 4)
    expect(c4.map((r) => [r.warmup, r.sequences, r.requests.length])).toEqual([[true, 4, 4], [false, 4, 4], [false, 4, 4]])
    const cells = groupCells(outcome.runs).map((c) => cellFigures(c, undefined))
    const four = cells.find((c) => c.load.mode === 'concurrency' && c.load.level === 4)!
    // Four one-token prompts: 2 ms; 15 steps of 18 ms: 270 ms. 64 tokens out over 272 ms.
    expect(four.sequences).toBe(4)
    expect(four.metrics.aggregate_tps!.repetitions!.mean).toBeCloseTo(64_000 / 272, 9)
    expect(four.metrics.s_pp_tps!.repetitions!.mean).toBeCloseTo(4_000 / 2, 9)
    expect(four.metrics.s_tg_tps!.repetitions!.mean).toBeCloseTo(60_000 / 270, 9)
    expect(four.metrics.s_tps!.repetitions!.mean).toBeCloseTo(64_000 / 272, 9)
    // Per request: TTFT is the whole batch's prompts, TPOT one step.
    expect(four.metrics.ttft_ms!.requests!.median).toBeCloseTo(2, 9)
    expect(four.metrics.tpot_ms!.requests!.median).toBeCloseTo(18, 9)
    const one = cells.find((c) => c.load.mode === 'concurrency' && c.load.level === 1)!
    expect(one.sequences).toBeUndefined()
    // One sequence: 0.5 ms prompt, 15 steps of 12 ms.
    expect(one.metrics.s_tg_tps!.repetitions!.mean).toBeCloseTo(15_000 / 180, 9)
  })

  it('a batch that does not fit memory skips its level with the engine\'s reason, and measures nothing more there', async () => {
    const engine = new BatchEngine(fakeTarget(), (n) => 10 + 2 * n, {fitsInMemory: 2})
    const {outcome} = await runSuite({suite, engines: [engine], clock: engine.clock, loads: loads(2, 4)})
    const c4 = outcome.runs.filter((r) => r.concurrency === 4)
    expect(c4).toEqual([expect.objectContaining({state: 'skipped', reason: '4 sequences need more memory than is free', warmup: false, requests: []})])
    expect(outcome.runs.filter((r) => r.concurrency === 2 && !r.warmup && r.state === 'completed')).toHaveLength(2)
  })

  it('--ctx: a level whose sequences do not fit the context is skipped before anything runs', async () => {
    // tg16 needs 17 tokens a sequence: 64 tokens hold 3.
    const engine = new BatchEngine(fakeTarget(), (n) => 10 + 2 * n, {contextSize: 64})
    const {outcome} = await runSuite({suite, engines: [engine], clock: engine.clock, loads: loads(2, 4)})
    expect(outcome.runs.find((r) => r.concurrency === 4)).toMatchObject({state: 'skipped', reason: 'the context of 64 tokens (--ctx) holds 3 sequences of 17 tokens; c4 needs 4'})
    expect(engine.batches.every((b) => b.length === 2)).toBe(true)
  })

  it('a concurrency sweep climbs the parallel sequences and stops at the level memory refuses, saying why', async () => {
    const settings: SweepSettings = {mode: 'concurrency', search: 'saturation', ...SWEEP_DEFAULTS}
    const engine = new BatchEngine(fakeTarget(), (n) => 10 + n, {fitsInMemory: 4})
    const {outcome} = await runSuite({suite: {...suite, warmup: 0, repetitions: 1, tests: [{...suite.tests[0]!, repetitions: 1}]}, engines: [engine], clock: engine.clock, plan: sweepLoads(settings, undefined)})
    const sweep = outcome.sweeps[0]!
    expect(sweep.steps.map((s) => s.load)).toEqual(loads(1, 2, 4, 8))
    expect(sweep.stop).toEqual({code: 'target-limit', reason: 'c8 was skipped: 8 sequences need more memory than is free'})
    const result = handResult([engine.target], outcome.runs, {suite: {name: 'batched', version: '1.0.0', sha256: 'f'.repeat(64), source: 'file', definition: suite}, sweeps: outcome.sweeps})
    expect(deriveResult(result).sweeps![0]!.stop?.reason).toContain('memory')
  })

  it('a concurrency sweep stops where --ctx holds no more sequences of the test, saying so', async () => {
    const settings: SweepSettings = {mode: 'concurrency', search: 'saturation', ...SWEEP_DEFAULTS}
    // tg16: 17 tokens a sequence; 40 tokens hold 2.
    const engine = new BatchEngine(fakeTarget(), (n) => 10 + n, {contextSize: 40})
    const {outcome} = await runSuite({suite: {...suite, warmup: 0, repetitions: 1, tests: [{...suite.tests[0]!, repetitions: 1}]}, engines: [engine], clock: engine.clock, plan: sweepLoads(settings, undefined)})
    expect(outcome.sweeps[0]!.steps.map((s) => s.load)).toEqual(loads(1, 2))
    expect(outcome.sweeps[0]!.stop).toEqual({code: 'target-limit', reason: 'the context of 40 tokens (--ctx) holds 2 sequences of 17 tokens: the sweep ends at c2'})
  })

  it('a suite\'s own levels when the command line gives none: a list, or a sweep of one batch a level', async () => {
    const engine = new BatchEngine(fakeTarget(), (n) => 10 + n, {fitsInMemory: 2})
    const own: Suite = {...suite, warmup: 0, repetitions: 1, tests: [{id: 'tg4', kind: 'tg', nGen: 4, repetitions: 1, concurrency: [1, 3]}, {id: 'tg16', kind: 'tg', nGen: 16, repetitions: 1, concurrency: {sweep: {maxLevel: 8}}}]}
    const {outcome} = await runSuite({suite: own, engines: [engine], clock: engine.clock})
    expect(outcome.runs.filter((r) => r.test === 'tg4').map((r) => [r.concurrency, r.state])).toEqual([[1, 'completed'], [3, 'skipped']])
    const sweep = outcome.sweeps.find((s) => s.test === 'tg16')!
    expect(sweep.settings).toMatchObject({maxLevel: 8, requestsPerLevel: 'level'})
    expect(sweep.steps.map((s) => [s.load, s.requests])).toEqual([[{mode: 'concurrency', level: 1}, 1], [{mode: 'concurrency', level: 2}, 2], [{mode: 'concurrency', level: 4}, 4]])
    expect(sweep.stop?.reason).toBe('c4 was skipped: 4 sequences need more memory than is free')
  })

  it('an engine without batches (a server) still gets concurrent requests, with no batch size recorded', async () => {
    const engine = new FakeEngine(fakeTarget())
    engine.maxConcurrency = 4
    const {outcome} = await runSuite({suite, engines: [engine], clock: engine.clock, loads: loads(4)})
    expect(outcome.runs.every((r) => r.sequences === undefined)).toBe(true)
    expect(outcome.runs.filter((r) => !r.warmup).every((r) => r.requests.length === 4)).toBe(true)
  })
})
