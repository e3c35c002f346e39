import type {RequestRecord, ResultFile, RunRecord, Target} from '../../src/results/schema.js'
import {SCHEMA_VERSION} from '../../src/results/schema.js'
import type {Suite} from '../../src/suite/schema.js'
import {fakeTarget} from './fake-engine.js'
import {fakeHost} from './fake-host.js'

/**
 * Results built by hand, request by request, so every figure a test derives from them can be
 * computed by hand too. Times are ms on the run clock.
 */
const suite: Suite = {
  name: 'hand',
  version: '1.0.0',
  description: 'hand-built requests',
  repetitions: 3,
  warmup: 0,
  tests: [
    {id: 'pp256', kind: 'pp', nPrompt: 256, repetitions: 3},
    {id: 'tg64', kind: 'tg', nGen: 64, repetitions: 3},
  ],
}

export function endpointTarget(id = 'endpoint', meterOnServer = false): Target {
  return {id, kind: 'endpoint', endpoint: {baseUrl: 'https://api.example.com/v1', model: 'llama-3.1-8b', api: 'completions', apiKeyEnv: null}, settings: {ignoreEos: true, timeoutMs: 60_000, meterOnServer}}
}

export function localTarget(): Target {
  return fakeTarget()
}

/** A request: sent at `t`, first token after `ttft` ms, then the rest `tpot` ms apart (one chunk each). */
export function request(t: number, options: {nPrompt: number; nOut: number; ttft: number; tpot?: number}): RequestRecord {
  const chunks: [number, number][] = []
  for (let i = 0; i < options.nOut; i++) chunks.push([t + options.ttft + i * (options.tpot ?? 0), 1])
  return {tSend: t, chunks, tEnd: chunks.at(-1)?.[0] ?? t + options.ttft, nPrompt: options.nPrompt, nOut: options.nOut, countSource: 'usage'}
}

export function run(target: string, test: 'pp256' | 'tg64', repetition: number, requests: RequestRecord[], concurrency = 1): RunRecord {
  return {target, test, kind: test === 'pp256' ? 'pp' : 'tg', repetition, warmup: false, concurrency, state: 'completed', requests}
}

/** A declared constant draw at the wall, sampled every 500 ms over [from, to]. */
export function constantPower(watts: number, from: number, to: number): NonNullable<ResultFile['power']> {
  const samples: [number, number][] = []
  for (let t = from; t <= to + 500; t += 500) samples.push([t, watts])
  return {
    sources: [{id: 'constant:wall', scope: 'host', kind: 'constant', boundary: 'wall', method: 'estimated', unit: 'W', intervalMs: 500}],
    samples: {'constant:wall': samples},
    failures: [],
    notStarted: [],
    startedAt: from,
  }
}

export function handResult(targets: Target[], runs: RunRecord[], extra: Partial<ResultFile> = {}): ResultFile {
  return {
    schemaVersion: SCHEMA_VERSION,
    id: '00000000-0000-4000-8000-000000000001',
    createdAt: '2026-11-20T10:00:00.000Z',
    owbenchVersion: '0.1.0',
    state: 'completed',
    labels: [],
    host: fakeHost(),
    suite: {name: suite.name, version: suite.version, sha256: 'f'.repeat(64), source: 'file', definition: suite},
    targets,
    runs,
    ...extra,
  }
}
