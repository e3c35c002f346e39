import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createEndpointEngine} from '../../src/engines/openai.js'
import {requestMetrics} from '../../src/metrics/request-metrics.js'
import {ensureSyntheticModel} from '../../src/model/synthetic-model.js'
import type {RequestRecord} from '../../src/results/schema.js'
import {cellFigures, groupCells} from '../../src/derive/cells.js'
import {deriveResult} from '../../src/derive/derive.js'
import {loadLabel} from '../../src/results/load.js'
import {runSuite} from '../../src/runner/runner.js'
import type {Suite} from '../../src/suite/schema.js'
import {type LlamaServer, startLlamaServer} from '../helpers/llama-server.js'
import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import type {ResultCosts} from '../../src/cost/result-costs.js'
import {parseResult} from '../../src/results/io.js'
import {owbench} from '../helpers/cli.js'
import {testCacheDir} from '../helpers/tiny-model.js'

// The default synthetic model (4 ms a token here): big enough that HTTP and JSON costs per chunk
// are small next to a decode step, as with a real model.
let server: LlamaServer

beforeAll(async () => {
  const model = await ensureSyntheticModel('default', {dir: path.join(testCacheDir, 'models')})
  server = await startLlamaServer(model.path, {parallel: 4, threads: 1, ctx: 1024})
})

afterAll(async () => {
  await server?.stop()
})

const suite: Suite = {
  name: 'endpoint',
  version: '1.0.0',
  description: 'd',
  repetitions: 2,
  warmup: 1,
  tests: [
    {id: 'pp128', kind: 'pp', nPrompt: 128, repetitions: 2},
    {id: 'tg48', kind: 'tg', nGen: 48, repetitions: 2},
    {id: 'chat', kind: 'chat', messages: [{role: 'user', content: 'Tell me about the cost of tokens.'}], maxTokens: 32, ignoreEos: true, repetitions: 2},
  ],
}

function timings(r: RequestRecord): {prompt_ms: number; prompt_n: number; predicted_n: number; predicted_per_second: number; cache_n: number} {
  return r.serverTimings as never
}

describe('endpoint engine against a real llama-server', () => {
  it('preflights, then records the target without credentials', async () => {
    const engine = await createEndpointEngine({id: 'ls', baseUrl: server.baseUrl.replace('http://', 'http://user:secret@') + '?api_key=zzz', model: 'synthetic', apiKey: 'sk-test-123', apiKeyEnv: 'OWBENCH_TEST_KEY', ignoreEos: 'auto', timeoutMs: 60_000})
    expect(engine.target).toEqual({
      id: 'ls',
      kind: 'endpoint',
      endpoint: {baseUrl: server.baseUrl, model: 'synthetic', api: 'completions', apiKeyEnv: 'OWBENCH_TEST_KEY', ownedBy: 'llamacpp'},
      settings: {ignoreEos: true, timeoutMs: 60_000, meterOnServer: false},
      protocol: {maxTokensParam: 'max_tokens', streamOptions: 'include_usage', fallbacks: []},
      // Started without --metrics: llama-server says so, and the result keeps its answer.
      serverMetrics: {available: false, url: server.baseUrl.replace(/\/v1$/, '/metrics'), reason: expect.stringMatching(/^HTTP 501: .*--metrics/)},
    })
    expect(JSON.stringify(engine.target)).not.toMatch(/secret|sk-test|zzz/)
  })

  it.each([1, 4])('at concurrency %i: counts equal usage, decode rate matches the server timings, TTFT covers the prompt time', async (level) => {
    const engine = await createEndpointEngine({id: 'ls', baseUrl: server.baseUrl, model: 'synthetic', ignoreEos: 'auto', timeoutMs: 60_000})
    const {outcome} = await runSuite({suite, engines: [engine], loads: [{mode: 'concurrency', level}], seed: level})
    const measured = outcome.runs.filter((r) => !r.warmup)
    expect(measured.every((r) => r.state === 'completed')).toBe(true)
    const requests = measured.flatMap((r) => r.requests)
    expect(requests).toHaveLength(3 * 2 * level)
    for (const r of requests) {
      const usage = r.usage as {prompt_tokens: number; completion_tokens: number}
      expect(r.countSource, JSON.stringify({...r, chunks: r.chunks.length})).toBe('usage')
      expect(r.nPrompt).toBe(usage.prompt_tokens)
      expect(r.nOut).toBe(usage.completion_tokens)
      // llama-server streams one token a chunk: the streamed count agrees with its usage.
      expect(r.chunks).toHaveLength(usage.completion_tokens)
      expect(timings(r).prompt_n + timings(r).cache_n).toBe(usage.prompt_tokens)
      // Unique prompt prefixes: nothing beyond what a shared template prefix could give is cached.
      expect(r.cachedTokens ?? 0).toBeLessThan(usage.prompt_tokens / 2)
      const m = requestMetrics(r)
      expect(m.ttftMs!).toBeGreaterThanOrEqual(timings(r).prompt_ms)
    }
    const byTest = (test: string) => measured.filter((r) => r.test === test).flatMap((r) => r.requests)
    expect(byTest('pp128').every((r) => r.nOut === 1)).toBe(true)
    expect(byTest('tg48').every((r) => r.nOut === 48)).toBe(true)
    expect(byTest('chat').every((r) => r.nOut === 32)).toBe(true)
    // Decode rate over the requests of the tg test, against the server's predicted_per_second.
    const tg = byTest('tg48')
    const ours = tg.reduce((s, r) => s + requestMetrics(r).decodeTps!, 0) / tg.length
    const theirs = tg.reduce((s, r) => s + timings(r).predicted_per_second, 0) / tg.length
    expect(Math.abs(ours / theirs - 1), `owbench ${ours.toFixed(1)} tok/s vs llama-server ${theirs.toFixed(1)} tok/s`).toBeLessThan(0.1)
    const summary = groupCells(outcome.runs).map((c) => cellFigures(c, undefined))
    expect(summary.map((s) => [s.test, loadLabel(s.load), s.requests, s.failedRequests])).toEqual([
      ['pp128', `c${level}`, 2 * level, 0],
      ['tg48', `c${level}`, 2 * level, 0],
      ['chat', `c${level}`, 2 * level, 0],
    ])
    // One value per repetition (phase); the requests of the level pooled beside them.
    expect(summary[1]!.metrics.aggregate_tps!.repetitions!.n).toBe(2)
    expect(summary[1]!.metrics.tokens_per_second!.repetitions!.n).toBe(2)
    expect(summary[1]!.metrics.tokens_per_second!.requests!.n).toBe(2 * level)
  })

  it('owbench run --endpoint measures it from the CLI at two concurrency levels', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-endpoint-'))
    const out = path.join(dir, 'r.json')
    const run = await owbench(['run', '--endpoint', server.baseUrl, '--model-name', 'synthetic', '--concurrency', '1,2', '-r', '1', '--warmup', '0', '--slo', 'ttft=5s', '--out', out])
    expect(run.stderr).not.toMatch(/Error/)
    expect(run.code).toBe(0)
    const result = parseResult(await readFile(out, 'utf8'), out)
    expect(result.targets.map((t) => t.kind)).toEqual(['endpoint'])
    expect(result.load).toEqual({concurrency: [1, 2], slo: {ttftMs: 5000}})
    const cells = deriveResult(result).cells
    // The stored summary is the derivation's cache, stamped with its version.
    expect(result.summary!.derivation).toEqual(deriveResult(result).derivation)
    expect(cells.map((s) => `${s.test}@${loadLabel(s.load)}:${s.requests}`)).toEqual(['pp256@c1:1', 'pp256@c2:2', 'tg64@c1:1', 'tg64@c2:2', 'pp256+tg64@c1:1', 'pp256+tg64@c2:2', 'chat-short@c1:1', 'chat-short@c2:2'])
    expect(cells.every((s) => s.failedRequests === 0 && s.metrics.goodput_rps !== undefined)).toBe(true)
    expect(run.stdout).toMatch(/\| synthetic +\| +- \| +- \| HTTP \(completions\) 127\.0\.0\.1:\d+ +\| +- \| tg64 @c2 +\|/)

    // llama-server on this machine's loopback (owned_by "llamacpp") is no provider: no hosted-datacenter estimate
    // (that path is tested on remote targets in test/derive), and owbench cost says what would measure it.
    expect(result.targets[0]).toMatchObject({endpoint: {ownedBy: 'llamacpp'}})
    const cost = await owbench(['cost', out, '--json'])
    expect(cost.code).toBe(0)
    const [target] = (JSON.parse(cost.stdout) as {results: {costs: ResultCosts}[]}).results[0]!.costs.targets
    expect(target!.measurement).toMatchObject({target: 'endpoint', kind: 'endpoint', load: {mode: 'concurrency', level: 2}, energy: {status: 'missing', code: 'no-power'}})
    expect(target!.hostedEnergy).toBeUndefined()
    const table = await owbench(['cost', out])
    expect(table.stdout).toMatch(/endpoint: no energy figure: endpoint is llamacpp on this machine \(loopback port \d+\), not a provider: no hosted-datacenter estimate; measure it with this machine's meter and --meter-on-server/)
  })

  it('measures the local model and a named config target side by side in one result', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-targets-'))
    await writeFile(path.join(dir, 'owbench.config.json'), JSON.stringify({targets: {'my-server': {baseUrl: server.baseUrl, model: 'synthetic', apiKeyEnv: 'OWBENCH_TEST_KEY', pricing: {inputPerMtok: 0.1, outputPerMtok: 0.3, currency: 'USD'}, meterOnServer: true}}}))
    const out = path.join(dir, 'r.json')
    const run = await owbench(['run', '--model', 'synthetic:tiny', '-t', '1', '--target', 'my-server', '-r', '1', '--warmup', '0', '--out', out], {cwd: dir})
    expect(run.code).toBe(0)
    const result = parseResult(await readFile(out, 'utf8'), out)
    expect(result.targets.map((t) => [t.id, t.kind])).toEqual([['local', 'local'], ['my-server', 'endpoint']])
    expect(result.targets[1]).toMatchObject({endpoint: {apiKeyEnv: 'OWBENCH_TEST_KEY'}, pricing: {inputPerMtok: 0.1, outputPerMtok: 0.3, currency: 'USD'}, settings: {meterOnServer: true}})
    expect(new Set(deriveResult(result).cells.map((s) => s.target))).toEqual(new Set(['local', 'my-server']))
    const unknown = await owbench(['run', '--target', 'nope'], {cwd: dir})
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/unknown target "nope" — owbench.config.json defines my-server/)
  })
})
