import {mkdtemp} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type {ResultFile} from '../../src/results/schema.js'
import {runBenchmark} from '../../src/runner/benchmark.js'
import {parseSourceSpec} from '../../src/power/source-spec.js'
import {FakeEngine, fakeTarget} from './fake-engine.js'
import {fakeHost} from './fake-host.js'

/** A quick-suite result from the fake engine with a declared 50 W draw: tables, energy and a power timeline. */
export async function wattsResult(): Promise<ResultFile> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-fixture-'))
  const engine = new FakeEngine(fakeTarget())
  // The sampler reads the real clock, so the fake requests take their time for real.
  engine.realTime = true
  const {result} = await runBenchmark(
    {includeLocal: true, endpoints: [], power: [parseSourceSpec('watts:50')], idleSeconds: 0, suite: 'quick', gpu: 'cpu', gpuLayers: 0, batchSize: 512, flashAttention: false, engineBuild: 'auto', seed: 1, progress: false, out: path.join(dir, 'r.json'), repetitions: 1, warmup: 0},
    {
      createEngine: async () => engine,
      createEndpoint: async () => {
        throw new Error('none')
      },
      detectPower: async () => [],
      fingerprint: async () => fakeHost(),
      resolveModel: async () => ({source: 'fake.gguf', path: '/models/fake.gguf'}),
      now: () => new Date('2026-11-01T10:00:00.000Z'),
    },
  )
  return result
}
