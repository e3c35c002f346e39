import {mkdtemp} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type {PowerSource} from '../../src/power/power-source.js'
import {parseSourceSpec} from '../../src/power/source-spec.js'
import type {ResultFile} from '../../src/results/schema.js'
import {runBenchmark} from '../../src/runner/benchmark.js'
import {FakeEngine, fakeTarget} from './fake-engine.js'
import {fakeHost} from './fake-host.js'

/** A result of the fake engine through the real run service: exact timings on a fake clock, or real time when power is sampled. */
export async function fakeRunResult(options: {suite: string; date: string; power?: PowerSource[]; repetitions?: number; warmup?: number}): Promise<ResultFile> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-fixture-'))
  const engine = new FakeEngine(fakeTarget())
  // A sampler reads the real clock, so with power the fake requests take their time for real.
  engine.realTime = options.power !== undefined
  const {result} = await runBenchmark(
    {includeLocal: true, endpoints: [], power: options.power ?? 'off', idleSeconds: 0, suite: options.suite, gpu: 'cpu', gpuLayers: 0, batchSize: 512, flashAttention: false, engineBuild: 'auto', seed: 1, progress: false, out: path.join(dir, 'r.json'), repetitions: options.repetitions, warmup: options.warmup},
    {
      createEngine: async () => engine,
      createEndpoint: async () => {
        throw new Error('no endpoints in fixtures')
      },
      detectPower: async () => [],
      fingerprint: async () => fakeHost(),
      resolveModel: async () => ({source: 'fake.gguf', path: '/models/fake.gguf'}),
      now: () => new Date(options.date),
      clock: options.power ? undefined : engine.clock,
    },
  )
  return result
}

/** A quick-suite result with a declared 50 W draw: tables, energy and a power timeline. */
export function wattsResult(): Promise<ResultFile> {
  return fakeRunResult({suite: 'quick', date: '2026-11-01T10:00:00.000Z', power: [parseSourceSpec('watts:50')], repetitions: 1, warmup: 0})
}
