import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createEndpointEngine} from '../../src/engines/openai.js'
import {deriveResult} from '../../src/derive/derive.js'
import {serverPhaseFigures} from '../../src/metrics/server-metrics.js'
import {cellLabel} from '../../src/report/labels.js'
import {exportMarkdown} from '../../src/report/markdown.js'
import {loadLabel} from '../../src/results/load.js'
import {ensureSyntheticModel} from '../../src/model/synthetic-model.js'
import {RunRecordSchema} from '../../src/results/schema.js'
import {runSuite} from '../../src/runner/runner.js'
import type {Suite} from '../../src/suite/schema.js'
import {type LlamaServer, startLlamaServer} from '../helpers/llama-server.js'
import {handResult} from '../helpers/result-builder.js'
import {testCacheDir} from '../helpers/tiny-model.js'

// llama.cpp's own llama-server started with --metrics: owbench finds /metrics at the server's
// address, reads it at the edges of every measured phase (gauges every 50 ms in between), and the
// server's counters agree with what owbench sent and received.
let server: LlamaServer

beforeAll(async () => {
  const model = await ensureSyntheticModel('default', {dir: path.join(testCacheDir, 'models')})
  server = await startLlamaServer(model.path, {parallel: 2, threads: 1, ctx: 512, args: ['--metrics']})
})

afterAll(async () => {
  await server?.stop()
})

const suite: Suite = {
  name: 'metrics',
  version: '1.0.0',
  description: 'd',
  repetitions: 2,
  warmup: 1,
  tests: [
    {id: 'pp64', kind: 'pp', nPrompt: 64, repetitions: 2},
    {id: 'tg32', kind: 'tg', nGen: 32, repetitions: 2},
  ],
}

describe('server-side metrics against a real llama-server --metrics', () => {
  it('scrapes each measured phase; tokens predicted = tokens received, prompt tokens taken = prompt tokens sent', async () => {
    const engine = await createEndpointEngine({id: 'ls', baseUrl: server.baseUrl, model: 'synthetic', ignoreEos: 'auto', timeoutMs: 60_000, metricsIntervalMs: 50})
    expect(engine.target).toMatchObject({serverMetrics: {available: true, url: server.baseUrl.replace(/\/v1$/, '/metrics'), server: 'llama-server', found: 'discovered', intervalMs: 50}, endpoint: {ownedBy: 'llamacpp'}})
    const {outcome} = await runSuite({suite, engines: [engine], loads: [{mode: 'concurrency', level: 1}, {mode: 'concurrency', level: 2}]})
    // Warm-ups are single requests outside the measured phases: never scraped.
    expect(outcome.runs.filter((r) => r.warmup).every((r) => r.serverMetrics === undefined)).toBe(true)
    const measured = outcome.runs.filter((r) => !r.warmup)
    expect(measured).toHaveLength(2 * 2 * 2)
    for (const run of measured) {
      RunRecordSchema.parse(run)
      const label = `${run.test} c${run.concurrency} rep ${run.repetition}`
      expect(run.state, label).toBe('completed')
      const phase = run.serverMetrics!
      expect(phase, label).toBeDefined()
      expect(phase.failures, `${label}: ${JSON.stringify(phase.failures)}`).toBeUndefined()
      const figures = serverPhaseFigures(phase)
      const sent = run.requests.reduce((sum, r) => sum + r.nPrompt, 0)
      const received = run.requests.reduce((sum, r) => sum + r.nOut, 0)
      expect(run.requests).toHaveLength(run.concurrency)
      expect(figures.generatedTokens, `${label}: tokens predicted vs received`).toBe(received)
      // llama-server counts prompt tokens it evaluated and those it took from its cache apart: together, every request's prompt once.
      expect(figures.promptTokens, `${label}: prompt tokens`).toBe(sent)
      // llama-server has no request counter; its requests_processing gauge is back to 0 after the phase.
      expect(figures.requestsServed).toBeUndefined()
      const processing = phase.gauges['llamacpp:requests_processing']!
      expect(processing.at(-1)![1], label).toBe(0)
      expect(phase.window[0]).toBeLessThanOrEqual(Math.min(...run.requests.map((r) => r.tSend)))
      expect(phase.window[1]).toBeGreaterThanOrEqual(Math.max(...run.requests.map((r) => r.tEnd)))
    }
    // While a tg32 phase at c2 ran, the server was seen with both requests in flight.
    const busiest = Math.max(...measured.filter((r) => r.test === 'tg32' && r.concurrency === 2).map((r) => serverPhaseFigures(r.serverMetrics!).requestsRunning?.max ?? 0))
    expect(busiest).toBe(2)
    // The derivation merges each cell's repetitions and shows the server's counts beside owbench's in the reports.
    const result = handResult([engine.target], outcome.runs)
    const cells = deriveResult(result).cells
    expect(cells).toHaveLength(4)
    const md = exportMarkdown([result])
    for (const cell of cells) {
      const label = `${cell.test} ${loadLabel(cell.load)}`
      expect(cell.server, label).toMatchObject({phases: 2, figures: {server: 'llama-server'}, client: {requests: 2 * (cell.load as {level: number}).level}})
      expect(cell.server!.figures.generatedTokens, label).toBe(cell.server!.client.generatedTokens)
      expect(cell.server!.figures.promptTokens, label).toBe(cell.server!.client.promptTokens)
      const tokens = `${cell.server!.client.generatedTokens} / ${cell.server!.client.generatedTokens}`
      expect(md, label).toMatch(new RegExp(`\\| ls +\\| ${cellLabel(cell)} +\\| llama-server \\(2 phases\\) +\\|[^\\n]*\\| +${tokens} \\|`))
    }
    expect(cells.find((c) => c.test === 'tg32' && loadLabel(c.load) === 'c2')!.server!.figures.requestsRunning?.max).toBe(2)
  })

  it('a server without --metrics is recorded as having none, with its own reason', async () => {
    const model = await ensureSyntheticModel('default', {dir: path.join(testCacheDir, 'models')})
    const plain = await startLlamaServer(model.path, {parallel: 1, threads: 1, ctx: 256})
    try {
      const engine = await createEndpointEngine({id: 'plain', baseUrl: plain.baseUrl, model: 'synthetic', ignoreEos: 'auto', timeoutMs: 60_000})
      expect(engine.target).toMatchObject({serverMetrics: {available: false, reason: expect.stringMatching(/^HTTP 501: .*--metrics/)}})
      expect(engine.observePhase?.(() => 0)).toBeUndefined()
      await expect(createEndpointEngine({id: 'plain', baseUrl: plain.baseUrl, model: 'synthetic', ignoreEos: 'auto', timeoutMs: 60_000, metricsUrl: plain.baseUrl.replace(/\/v1$/, '/metrics')})).rejects.toThrow(/^metricsUrl http:\/\/127\.0\.0\.1:\d+\/metrics: HTTP 501/)
    } finally {
      await plain.stop()
    }
  })
})
