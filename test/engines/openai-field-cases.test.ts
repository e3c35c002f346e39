import {existsSync} from 'node:fs'
import {readdir, readFile} from 'node:fs/promises'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {deriveResult} from '../../src/derive/derive.js'
import {protocolNotes} from '../../src/derive/protocol-notes.js'
import {createEndpointEngine} from '../../src/engines/openai.js'
import {requestMetrics} from '../../src/metrics/request-metrics.js'
import {RequestRecordSchema} from '../../src/results/schema.js'
import {renderRunTable} from '../../src/report/terminal-table.js'
import {runSuite} from '../../src/runner/runner.js'
import type {SuiteTest} from '../../src/suite/schema.js'
import {repoRoot} from '../helpers/cli.js'
import {loadRecording, type Route, startReplayServer} from '../helpers/replay-server.js'
import {handResult} from '../helpers/result-builder.js'

// Streams as real servers send them, replayed byte for byte with their timing: the field cases
// (../shared/field-cases, vendored in fixtures/endpoint-streams/field-cases) with the right figures
// from their README, and owbench's own recordings derived from the providers' documented formats
// (fixtures/endpoint-streams/README.md). A busy machine delays the replay's timers, so figures are
// checked against when each recorded event was actually written (same clock, same process): a
// token's arrival within DELIVERY_MS of its write, and never a write before its recorded time.
const FIELD = path.join(repoRoot, 'fixtures', 'endpoint-streams', 'field-cases')
const OWN = path.join(repoRoot, 'fixtures', 'endpoint-streams')
const SHARED = path.join(repoRoot, '..', 'shared', 'field-cases')
const DELIVERY_MS = 25

const field = (name: string) => loadRecording(path.join(FIELD, `${name}.chat.json`))
const own = (name: string) => loadRecording(path.join(OWN, name))
const chat8: SuiteTest = {id: 'chat8', kind: 'chat', messages: [{role: 'user', content: 'Say something.'}], maxTokens: 8, ignoreEos: true, repetitions: 1}

async function measure(routes: Route[], test: SuiteTest, maxRequests = 1) {
  const server = await startReplayServer(routes)
  try {
    const engine = await createEndpointEngine({id: 'replay', baseUrl: server.baseUrl, model: 'm', ignoreEos: 'auto', timeoutMs: 10_000, doneGraceMs: 500})
    const started = performance.now()
    // The run's clock is performance.now() itself, the replay server's clock.
    const {outcome} = await runSuite({suite: {name: 'replay', version: '1.0.0', description: 'd', repetitions: 1, warmup: 0, tests: [test]}, engines: [engine], maxRequests, clock: () => performance.now(), origin: 0})
    const wallMs = performance.now() - started
    const requests = outcome.runs[0]!.requests
    for (const r of requests) RequestRecordSchema.parse(r)
    const streams = server.received.filter((r) => r.body.stream === true)
    /** When the body events of the n-th streamed answer were written, in ms after request i's send (index 0 = the event after the status line). */
    const written = (n: number, i = n) => streams[n]!.written.map((t) => t - requests[i]!.tSend)
    return {engine, runs: outcome.runs, requests, received: server.received, written, wallMs}
  } finally {
    await server.close()
  }
}

/**
 * A time since the send, measured from arrivals, matches the replayed write (delivered within
 * DELIVERY_MS), and the replay kept the recording: a write is never earlier than its recorded time
 * (a busy machine only delays it).
 */
function near(actual: number | undefined, replayed: number, recorded: number): void {
  expect(actual, `measured vs replayed ${replayed.toFixed(2)} ms (recorded ${recorded} ms)`).toBeGreaterThanOrEqual(replayed - 0.5)
  expect(actual!).toBeLessThanOrEqual(replayed + DELIVERY_MS)
  expect(replayed).toBeGreaterThanOrEqual(recorded - 0.5)
}

/** A TPOT over n gaps from arrivals matches the replayed writes' (each end delivered within DELIVERY_MS); `recorded` names the recording's own figure. */
function nearTpot(actual: number | undefined, replayed: number, gaps: number, recorded: number): void {
  expect(Math.abs(actual! - replayed), `TPOT ${actual} vs replayed ${replayed.toFixed(2)} ms (recorded ${recorded.toFixed(2)} ms)`).toBeLessThanOrEqual(DELIVERY_MS / gaps + 0.5)
}

describe('field cases: streams as real providers send them', () => {
  it('the vendored field cases are the shared ones, byte for byte, and each has a test below', async () => {
    const vendored = (await readdir(FIELD)).sort()
    expect(vendored.filter((f) => f.endsWith('.json'))).toEqual(['eos-early.chat.json', 'groq-xgroq.chat.json', 'no-done-open.chat.json', 'reasoning-content-empty.chat.json', 'reasoning-field.chat.json', 'stream-options-400.chat.json'])
    if (!existsSync(SHARED)) return
    expect((await readdir(SHARED)).sort()).toEqual(vendored)
    for (const f of vendored) expect(await readFile(path.join(FIELD, f), 'utf8'), f).toBe(await readFile(path.join(SHARED, f), 'utf8'))
  })

  it('reasoning-field: delta.reasoning tokens count; TTFT is the first reasoning token, the answer has its own time', async () => {
    const {requests, written} = await measure([{recording: await field('reasoning-field')}], chat8)
    const [r] = requests
    const w = written(0) // 0 role, 1-6 reasoning r0-r5, 7-8 content c6-c7, 9 finish, 10 usage, 11 [DONE]
    expect(r).toMatchObject({nOut: 8, nPrompt: 10, countSource: 'usage', chunkKinds: 'rrrrrrcc', nReasoning: 6, reasoningCountSource: 'usage', finishReason: 'length', nAsked: 8})
    expect(r!.error).toBeUndefined()
    expect(r!.chunks).toHaveLength(8)
    const m = requestMetrics(r!)
    near(m.ttftMs, w[1]!, 79.9) // the first reasoning chunk, not the first content chunk (143.2)
    near(m.ttfaMs, w[7]!, 143.2)
    // Recorded (153.7 - 79.9) / 7 = 10.54 ms: all 8 tokens over the whole window, not 2 over the content one.
    nearTpot(m.tpotMs, (w[8]! - w[1]!) / 7, 7, 10.54)
    expect(m.itlBasis).toBe('token')
  })

  it('reasoning-content-empty: "content": "" beside reasoning_content is a reasoning token, not an absent field', async () => {
    const {requests, written} = await measure([{recording: await field('reasoning-content-empty')}], chat8)
    const [r] = requests
    const w = written(0) // 0 role, 1-6 reasoning, 7-8 content, 9 finish, 10 usage, 11 [DONE]
    expect(r).toMatchObject({nOut: 8, chunkKinds: 'rrrrrrcc', nReasoning: 6, countSource: 'usage'})
    const m = requestMetrics(r!)
    near(m.ttftMs, w[1]!, 70.0)
    near(m.ttfaMs, w[7]!, 123.7)
    nearTpot(m.tpotMs, (w[8]! - w[1]!) / 7, 7, 9.19) // recorded (134.3 - 70.0) / 7
  })

  it('groq-xgroq: counts come from x_groq.usage, so the prompt count feeding the prefill rate is 23, not 0', async () => {
    const {requests, written} = await measure([{recording: await field('groq-xgroq')}], chat8)
    const [r] = requests
    const w = written(0) // 0 role with "content": "", 1-8 content, 9 finish with x_groq.usage, 10 [DONE]
    expect(r).toMatchObject({nPrompt: 23, nOut: 8, countSource: 'x_groq.usage', finishReason: 'length'})
    expect(r!.chunkKinds).toBeUndefined() // every chunk is answer content
    const m = requestMetrics(r!)
    near(m.ttftMs, w[1]!, 70.4) // the role chunk with "content": "" at 70.3 carries no token
    expect(m.prefillTps).toBeCloseTo((23 * 1000) / m.ttftMs!, 6) // 23 prompt tokens over TTFT: about 327 tokens/s as recorded
  })

  it('no-done-open: the final chunk completes the request after a short grace, not the timeout, with a note', async () => {
    const {requests, wallMs, written} = await measure([{recording: await field('no-done-open')}], chat8)
    const [r] = requests
    const w = written(0) // 0-7 content, 8 finish with usage; no [DONE]
    expect(r!.error).toBeUndefined()
    expect(r).toMatchObject({nOut: 8, nPrompt: 10, countSource: 'usage', finishReason: 'stop'})
    expect(r!.notes).toEqual(['no [DONE] within 500 ms of the final chunk (finish_reason stop): completed at the final chunk'])
    const m = requestMetrics(r!)
    near(m.e2eMs, w[7]!, 142.1) // to the last token, as vLLM's benchmark measures it
    near(r!.tFinish! - r!.tSend, w[8]!, 152.9)
    // The final chunk plus the 500 ms grace, far from the 10 s timeout.
    expect(wallMs).toBeLessThan(w[8]! + 500 + 500)
  })

  it('eos-early: 3 of 8 tokens with ignore_eos accepted is a short output, the row is marked and the target flagged', async () => {
    const tg8: SuiteTest = {id: 'tg8', kind: 'tg', nGen: 8, repetitions: 1}
    const {requests, runs, engine} = await measure([{recording: await field('eos-early')}], tg8)
    const [r] = requests
    expect(r).toMatchObject({nOut: 3, nAsked: 8, finishReason: 'stop', countSource: 'usage'})
    expect(requestMetrics(r!).short).toBe(true)
    expect(engine.target).toMatchObject({settings: {ignoreEos: true}, protocol: {ignoreEosIgnored: '3 of 8 tokens, finish_reason "stop"'}})
    const result = handResult([engine.target], runs)
    const [cell] = deriveResult(result).cells
    expect(cell!.shortOutputs).toEqual({requests: 1, of: 1, nAsked: 8, nOutMin: 3, nOutMax: 3, finishReasons: {stop: 1}})
    // Never a tg8 figure: t/s, TPOT, E2E and J/token are withheld; TTFT stays.
    expect(cell!.metrics.tokens_per_second).toBeUndefined()
    expect(cell!.metrics.tpot_ms).toBeUndefined()
    expect(cell!.metrics.ttft_ms?.requests?.n).toBe(1)
    expect(cell!.energy).toMatchObject({status: 'missing', code: 'short-outputs'})
    const table = renderRunTable(result)
    expect(table).toMatch(/\| tg8 \(short\) +\| short: 3 of 8 tokens, finish_reason stop \|/)
    expect(table).not.toMatch(/\| tg8 +\|/)
    expect(table).toContain('- replay: accepted ignore_eos but did not honour it (3 of 8 tokens, finish_reason "stop"): output lengths are the model\'s, not the suite\'s')
    expect(table).toContain('- short: outputs that stopped before the tokens the test asks for')
  })

  it('stream-options-400: learned on the first request, re-sent without stream_options, counted from the stream; later requests never send it', async () => {
    const routes: Route[] = [
      {recording: await field('stream-options-400'), when: (body) => 'stream_options' in body},
      {recording: await own('azure-no-stream-options.chat.json')},
    ]
    const {requests, engine, received, written} = await measure(routes, chat8, 2)
    expect(requests.map((r) => r.error)).toEqual([undefined, undefined])
    for (const r of requests) expect(r).toMatchObject({nOut: 8, nPrompt: 0, countSource: 'stream', finishReason: 'length'})
    expect(requests[0]!.notes).toEqual([expect.stringMatching(/^re-sent without stream_options: the server answered HTTP 400 \(\{"error":\{"message":"Unrecognized request argument supplied: stream_options"/)])
    expect(requests[1]!.notes).toBeUndefined()
    expect(engine.target).toMatchObject({protocol: {streamOptions: 'none', fallbacks: [{parameter: 'stream_options', replacement: 'none', learnedAt: 'request'}]}})
    expect(protocolNotes(engine.target)).toEqual(['replay: the server rejected stream_options (first request, re-sent): sent without it; token counts come from counting streamed chunks, the prompt size is unknown'])
    const streamed = received.filter((r) => r.body.stream === true)
    expect(streamed.map((r) => 'stream_options' in r.body)).toEqual([true, false, false])
    // Kept-alive connections serve the next requests (no stream, not even the rejected one, closes
    // its socket): 7 requests (2 preflight probes, /v1/models, /metrics, 3 streams) over undici's 2 pooled sockets.
    expect(received).toHaveLength(7)
    expect(new Set(received.map((r) => r.clientPort)).size).toBeLessThanOrEqual(2)
    // Re-sent requests are timed from the new send: the Azure stream's first token at 118.1 ms
    // (0 prompt filter results, 1 role, 2-9 content, 10 finish, 11 [DONE]).
    const m = requestMetrics(requests[0]!)
    near(m.ttftMs, written(1, 0)[2]!, 118.1)
    // No usage: the prompt size is unknown, so no rate uses it, and ITL is per chunk (unconfirmed).
    expect(m.prefillTps).toBeUndefined()
    expect(m.tokensPerSecond).toBeUndefined()
    expect(m.itlBasis).toBe('chunk')
  })
})

describe('connection reuse', () => {
  it('reads on after [DONE] to the end of the body, so a kept-alive connection is not thrown away', async () => {
    // The Groq stream, with the server ending the body 250 ms after its [DONE] (an empty write, then the end).
    const groq = await field('groq-xgroq')
    const recording = {...groq, events: [...groq.events, {t_ms: 400, data: ''}]}
    const {requests, received} = await measure([{recording}], chat8, 3)
    expect(requests.map((r) => r.error)).toEqual([undefined, undefined, undefined])
    // Cancelling at [DONE] would close each stream's socket: 3 streams on 3 new connections.
    expect(new Set(received.map((r) => r.clientPort)).size, JSON.stringify(received.map((r) => [r.path, r.clientPort]))).toBeLessThanOrEqual(2)
  })
})

describe('end of stream variants', () => {
  it('a final chunk without the usage asked for, and no [DONE]: complete after the grace, counted from the stream, saying both', async () => {
    const open = await field('no-done-open')
    const events = open.events.map((e) => ('data' in e ? {...e, data: e.data.replace(/,"usage":\{[^}]*\}/, '')} : e))
    const {requests, wallMs} = await measure([{recording: {...open, events}}], chat8)
    const [r] = requests
    expect(r!.error).toBeUndefined()
    expect(r).toMatchObject({nOut: 8, nPrompt: 0, countSource: 'stream', finishReason: 'stop'})
    expect(r!.notes).toEqual(['no [DONE] and no usage within 500 ms of the final chunk (finish_reason stop): completed at the final chunk'])
    expect(wallMs).toBeLessThan(3000)
  })
})

describe("owbench's own recordings (fixtures/endpoint-streams)", () => {
  it('vLLM continuous_usage_stats: asked for once /v1/models says vllm; exact tokens per chunk from the cumulative usage', async () => {
    const continuous = (b: Record<string, unknown>) => b.stream !== true || (b.stream_options as {continuous_usage_stats?: boolean} | undefined)?.continuous_usage_stats === true
    const routes: Route[] = [{recording: await own('vllm-models.get.json')}, {recording: await own('vllm-continuous-usage.completions.json'), when: continuous}]
    const {requests, engine, received, written} = await measure(routes, {id: 'tg12', kind: 'tg', nGen: 12, repetitions: 1})
    expect(engine.target).toMatchObject({endpoint: {api: 'completions', ownedBy: 'vllm'}, protocol: {streamOptions: 'continuous_usage_stats'}})
    expect(received.find((r) => r.body.stream === true)!.body.stream_options).toEqual({include_usage: true, continuous_usage_stats: true})
    const [r] = requests
    expect(r).toMatchObject({nOut: 12, nPrompt: 9, chunkCounts: 'exact', countSource: 'usage'})
    expect(r!.chunks.map(([, k]) => k)).toEqual([1, 3, 2, 1, 3, 2])
    const m = requestMetrics(r!)
    expect(m.itlBasis).toBe('token')
    expect(m.multiTokenChunks).toBe(false)
    // Gaps 12.5, 11.6, 11.9, 12.3, 11.9 ms with k-1 zeros after each multi-token chunk: 11 values.
    expect(m.itlMs).toHaveLength(11)
    expect(m.itlMs.filter((g) => g === 0)).toHaveLength(6)
    const w = written(0) // 0-5 token chunks, 6 usage, 7 [DONE]
    nearTpot(m.tpotMs, (w[5]! - w[0]!) / 11, 11, (120.2 - 60.0) / 11)
  })

  it('multi-token chunks with only a total: said so, and ITL is per chunk', async () => {
    const {requests, engine, written} = await measure([{recording: await own('vllm-usage-total.completions.json')}], {id: 'tg12', kind: 'tg', nGen: 12, repetitions: 1})
    expect(engine.target).toMatchObject({protocol: {streamOptions: 'include_usage'}})
    const [r] = requests
    expect(r).toMatchObject({nOut: 12, chunkCounts: 'one-per-chunk', countSource: 'usage'})
    expect(r!.chunks).toHaveLength(6)
    const m = requestMetrics(r!)
    expect(m).toMatchObject({multiTokenChunks: true, itlBasis: 'chunk'})
    expect(m.itlMs).toHaveLength(5)
    const w = written(0)
    nearTpot(m.tpotMs, (w[5]! - w[0]!) / 11, 11, (120.2 - 60.0) / 11) // TPOT uses the server's 12 tokens
  })

  it('OpenAI: max_tokens and ignore_eos rejected at the preflight, learned in turn; hidden reasoning tokens stay out of TPOT', async () => {
    const routes: Route[] = [
      {recording: await own('openai-max-tokens-400.chat.json'), when: (b) => 'max_tokens' in b},
      {recording: await own('openai-ignore-eos-400.chat.json'), when: (b) => 'ignore_eos' in b},
      {recording: await own('openai-max-completion-tokens.chat.json')},
    ]
    const chat16: SuiteTest = {...chat8, id: 'chat16', maxTokens: 16} as SuiteTest
    const {requests, engine, received, written} = await measure(routes, chat16)
    expect(engine.target).toMatchObject({
      settings: {ignoreEos: false},
      protocol: {maxTokensParam: 'max_completion_tokens', fallbacks: [{parameter: 'max_tokens', replacement: 'max_completion_tokens', learnedAt: 'preflight'}, {parameter: 'ignore_eos', replacement: 'none', learnedAt: 'preflight'}]},
    })
    const streamed = received.filter((r) => r.body.stream === true)
    expect(streamed).toHaveLength(1)
    expect(streamed[0]!.body).toMatchObject({max_completion_tokens: 16})
    expect(streamed[0]!.body).not.toHaveProperty('max_tokens')
    const [r] = requests
    expect(r!.error).toBeUndefined()
    expect(r).toMatchObject({nOut: 14, nPrompt: 12, nReasoning: 6, reasoningCountSource: 'usage', finishReason: 'stop', nAsked: 16, cachedTokens: 0})
    const m = requestMetrics(r!)
    expect(m.hiddenReasoningTokens).toBe(6)
    const w = written(0) // 0 role, 1-8 content, 9 finish, 10 usage, 11 [DONE]
    near(m.ttftMs, w[1]!, 410.1) // the hidden reasoning is inside TTFT
    nearTpot(m.tpotMs, (w[8]! - w[1]!) / 7, 7, (477.1 - 410.1) / 7) // over the 8 streamed tokens, not 14
    expect(m.multiTokenChunks).toBe(false)
  })
})
