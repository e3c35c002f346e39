import {describe, expect, it} from 'vitest'
import {compareResults} from '../../src/compare/compare.js'
import {deriveResult} from '../../src/derive/derive.js'
import {parseResult, serializeResult} from '../../src/results/io.js'
import type {RequestRecord, RunRecord, Target} from '../../src/results/schema.js'
import type {ServerMetricsPhase} from '../../src/results/endpoint-schema.js'
import {constantPower, endpointTarget, handResult, localTarget, request, run} from '../helpers/result-builder.js'
import {thrownUserError} from '../helpers/user-error.js'

/**
 * What issue 13 measures, derived from hand-built requests: the time to the first answer token,
 * reasoning tokens, short outputs (whose N-token figures are withheld), ITL per chunk, the
 * server's own metrics beside owbench's, and each target's protocol notes. Times are ms.
 */

/** A reasoning request: `r` reasoning chunks then `c` answer chunks, one token each, `gap` ms apart after the first at `ttft`. */
function reasoning(t: number, r: number, c: number, options: {ttft: number; gap: number; nReasoning?: number}): RequestRecord {
  const chunks: [number, number][] = []
  for (let i = 0; i < r + c; i++) chunks.push([t + options.ttft + i * options.gap, 1])
  return {tSend: t, chunks, tEnd: chunks.at(-1)![0], nPrompt: 10, nOut: r + c, countSource: 'usage', chunkKinds: 'r'.repeat(r) + 'c'.repeat(c), nReasoning: options.nReasoning ?? r, reasoningCountSource: 'usage', nAsked: 64}
}

/** A tg64 request of `nOut` tokens (one a chunk, 10 ms apart after a 50 ms TTFT) that stopped with `finish`. */
function tg(t: number, nOut: number, finish: string): RequestRecord {
  return {...request(t, {nPrompt: 1, nOut, ttft: 50, tpot: 10}), nAsked: 64, finishReason: finish}
}

describe('time to first answer token and reasoning tokens', () => {
  it('TTFT is the first reasoning token, TTFA the first answer token; the reasoning share counts every generated token', () => {
    // Request 1: 6 reasoning + 2 answer tokens, first at 80 ms, 10 ms apart: TTFT 80, TTFA 80 + 6 x 10 = 140.
    // Request 2: 2 reasoning + 2 answer, first at 100 ms, 20 ms apart: TTFT 100, TTFA 140.
    const runs: RunRecord[] = [{...run('endpoint', 'tg64', 0, [reasoning(0, 6, 2, {ttft: 80, gap: 10}), reasoning(1000, 2, 2, {ttft: 100, gap: 20})]), kind: 'chat', test: 'chat'}]
    const [cell] = deriveResult(handResult([endpointTarget()], runs)).cells
    expect(cell!.metrics.ttft_ms!.requests).toMatchObject({n: 2, median: 90}) // (80 + 100) / 2
    expect(cell!.metrics.ttfa_ms!.requests).toMatchObject({n: 2, median: 140, min: 140, max: 140})
    // 8 reasoning tokens of 12 generated; 4 per reasoning request; both counted by the server.
    expect(cell!.reasoning).toEqual({requests: 2, tokens: 8, share: 8 / 12, source: 'usage', hidden: 0})
  })

  it('reasoning the server counted but never streamed is hidden: inside TTFT, said so', () => {
    const hidden: RequestRecord = {...request(0, {nPrompt: 12, nOut: 8, ttft: 410, tpot: 10}), nOut: 14, nReasoning: 6, reasoningCountSource: 'usage', countSource: 'usage'}
    const [cell] = deriveResult(handResult([endpointTarget()], [{...run('endpoint', 'tg64', 0, [hidden]), kind: 'chat', test: 'chat'}])).cells
    expect(cell!.reasoning).toEqual({requests: 1, tokens: 6, share: 6 / 14, source: 'usage', hidden: 6})
    // No reasoning chunk: the first answer token is the first token.
    expect(cell!.metrics.ttfa_ms!.requests!.median).toBe(410)
    // TPOT over the 8 streamed tokens: 70 ms / 7.
    expect(cell!.metrics.tpot_ms!.requests!.median).toBe(10)
  })

  it('a local target has no reasoning and TTFA equals TTFT', () => {
    const [cell] = deriveResult(handResult([endpointTarget()], [run('endpoint', 'tg64', 0, [request(0, {nPrompt: 1, nOut: 64, ttft: 30, tpot: 5})])])).cells
    expect(cell!.reasoning).toBeUndefined()
    expect(cell!.metrics.ttfa_ms!.requests!.median).toBe(30)
  })
})

describe('short outputs', () => {
  const target = endpointTarget()
  // Three repetitions of tg64; in the second, the server stopped at 3 tokens (finish_reason stop).
  const runs = [run('endpoint', 'tg64', 0, [tg(0, 64, 'length')]), run('endpoint', 'tg64', 1, [tg(2000, 3, 'stop')]), run('endpoint', 'tg64', 2, [tg(4000, 64, 'length')])]

  it('one short request marks the cell, and its t/s, TPOT, E2E, throughput and J/token are withheld; TTFT stays', () => {
    const result = handResult([endpointTarget('endpoint', true)], runs, {power: constantPower(50, -1000, 6000)})
    const [cell] = deriveResult(result).cells
    expect(cell!.shortOutputs).toEqual({requests: 1, of: 3, nAsked: 64, nOutMin: 3, nOutMax: 3, finishReasons: {stop: 1}})
    for (const name of ['tokens_per_second', 'generation_tps', 'decode_tps', 'tpot_ms', 'e2e_ms', 'aggregate_tps', 'request_throughput'] as const) {
      expect(cell!.metrics[name], name).toBeUndefined()
      expect(cell!.repetitionValues[name], name).toBeUndefined()
    }
    expect(cell!.repetitionValues.j_per_token).toBeUndefined()
    expect(cell!.metrics.ttft_ms!.requests).toMatchObject({n: 3, median: 50})
    // Metered at 50 W, yet no J/token: it would be over 131 tokens, not three times 64.
    expect(cell!.energy).toMatchObject({status: 'missing', code: 'short-outputs'})
    expect(cell!.phases).not.toBeNull()
  })

  it('compare refuses a short cell\'s tg, naming n_out of n_asked and the finish reason', () => {
    const result = handResult([target], runs)
    const side = {target: 'endpoint', load: 'c1'}
    const error = thrownUserError(() => compareResults(result, result, {metric: 'tg', sides: [side, side]}))
    expect(error.message).toBe("A's tg64 is made of short outputs (short: 3 of 64 tokens in 1 of 3 requests, finish_reason stop): its tg is not a tg64 figure")
    expect(compareResults(result, result, {metric: 'ttft', test: 'tg64', sides: [side, side]}).a.n).toBe(3)
  })

  it('a chat test without ignore_eos that stops early is not short: it asked for at most N tokens', () => {
    const chat = (ignoreEos: boolean) => {
      const result = handResult([target], [{...run('endpoint', 'tg64', 0, [tg(0, 3, 'stop')]), kind: 'chat', test: 'chat'}])
      result.suite.definition = {...result.suite.definition, tests: [{id: 'chat', kind: 'chat', messages: [{role: 'user', content: 'hi'}], maxTokens: 64, ignoreEos, repetitions: 1}]}
      return deriveResult(result).cells[0]!
    }
    expect(chat(false).shortOutputs).toBeUndefined()
    expect(chat(false).metrics.tokens_per_second).toBeDefined()
    expect(chat(true).shortOutputs).toMatchObject({requests: 1, nOutMin: 3})
  })
})

describe('ITL per chunk', () => {
  it('where the server counted more tokens than chunks, the cell\'s ITL is one gap per chunk and says how many requests', () => {
    // 12 tokens in 6 chunks (speculative decoding), counted one per chunk: gaps 12, 12, 12, 12, 12 ms per chunk.
    const multi: RequestRecord = {tSend: 0, chunks: [[60, 1], [72, 1], [84, 1], [96, 1], [108, 1], [120, 1]], tEnd: 120, nPrompt: 9, nOut: 12, countSource: 'usage', chunkCounts: 'one-per-chunk'}
    const exact = request(1000, {nPrompt: 9, nOut: 4, ttft: 60, tpot: 5})
    const [cell] = deriveResult(handResult([endpointTarget()], [run('endpoint', 'tg64', 0, [multi, exact])])).cells
    expect(cell!.itlBasis).toBe('chunk')
    expect(cell!.multiTokenChunkRequests).toBe(1)
    // 5 chunk gaps of 12 ms and 3 token gaps of 5 ms: the median of 8 gaps is 12.
    expect(cell!.metrics.itl_ms!.gaps).toMatchObject({n: 8, median: 12})
  })

  it('exact counts per chunk keep ITL per token (k-1 zero gaps inside a k-token chunk)', () => {
    const exact: RequestRecord = {tSend: 0, chunks: [[60, 1], [72, 3], [84, 2]], tEnd: 84, nPrompt: 9, nOut: 6, countSource: 'usage', chunkCounts: 'exact'}
    const [cell] = deriveResult(handResult([endpointTarget()], [run('endpoint', 'tg64', 0, [exact])])).cells
    expect(cell!.itlBasis).toBe('token')
    expect(cell!.multiTokenChunkRequests).toBe(0)
    expect(cell!.metrics.itl_ms!.gaps).toMatchObject({n: 5, median: 0, max: 12}) // 12, 0, 0, 12, 0
  })
})

describe("the server's own metrics beside owbench's", () => {
  /** A llama-server phase over [t, t + 1000]: tokens predicted, prompt tokens (evaluated, cached), and requests_processing samples (edges idle). */
  const phase = (t: number, predicted: number, prompt: number, cached: number, processing: number[]): ServerMetricsPhase => ({
    server: 'llama-server',
    window: [t, t + 1000],
    counters: {'llamacpp:tokens_predicted_total': predicted, 'llamacpp:prompt_tokens_total': prompt, 'llamacpp:prompt_tokens_cached_total': cached},
    gauges: {'llamacpp:requests_processing': [[t, 0], ...processing.map((v, i): [number, number] => [t + 100 * (i + 1), v]), [t + 1000, 0]]},
    histograms: {},
  })

  it('merges the repetitions: counters summed, interior gauge samples pooled; owbench\'s requests and tokens beside', () => {
    const runs: RunRecord[] = [
      {...run('endpoint', 'tg64', 0, [request(100, {nPrompt: 5, nOut: 64, ttft: 20, tpot: 5}), request(110, {nPrompt: 5, nOut: 64, ttft: 20, tpot: 5})], 2), serverMetrics: phase(0, 128, 8, 2, [2, 2, 1])},
      {...run('endpoint', 'tg64', 1, [request(2100, {nPrompt: 5, nOut: 64, ttft: 20, tpot: 5}), request(2110, {nPrompt: 5, nOut: 64, ttft: 20, tpot: 5})], 2), serverMetrics: phase(2000, 128, 10, 0, [2, 1])},
    ]
    const [cell] = deriveResult(handResult([endpointTarget()], runs)).cells
    expect(cell!.server).toEqual({
      phases: 2,
      // Running: samples 2, 2, 1, 2, 1 (the idle edge readings left out): mean 8 / 5, max 2. Prompt: (8 + 2) + (10 + 0) taken, 2 of them from the cache.
      figures: {server: 'llama-server', requestsRunning: {mean: 1.6, max: 2, samples: 5}, promptTokens: 20, generatedTokens: 256, prefixCacheHitRate: 2 / 20},
      client: {requests: 4, promptTokens: 20, generatedTokens: 256},
    })
  })

  it('a phase that was not scraped leaves the cell without server figures; prompt tokens counted from the stream are unknown', () => {
    const [plain] = deriveResult(handResult([endpointTarget()], [run('endpoint', 'tg64', 0, [request(0, {nPrompt: 5, nOut: 8, ttft: 20, tpot: 5})])])).cells
    expect(plain!.server).toBeUndefined()
    const streamed = {...request(0, {nPrompt: 0, nOut: 8, ttft: 20, tpot: 5}), countSource: 'stream' as const}
    const [cell] = deriveResult(handResult([endpointTarget()], [{...run('endpoint', 'tg64', 0, [streamed]), serverMetrics: phase(-100, 8, 6, 0, [1])}])).cells
    expect(cell!.server!.client).toEqual({requests: 1, generatedTokens: 8})
  })
})

describe('protocol notes', () => {
  it('each fallback, ignore_eos not sent, and ignore_eos not honoured are the target\'s notes in the derivation', () => {
    const base = endpointTarget('groq')
    const target: Target = {
      ...base,
      kind: 'endpoint',
      settings: {...(base as Extract<Target, {kind: 'endpoint'}>).settings, ignoreEos: true},
      protocol: {maxTokensParam: 'max_completion_tokens', streamOptions: 'none', fallbacks: [{parameter: 'stream_options', replacement: 'none', learnedAt: 'request', reason: 'HTTP 400: x'}, {parameter: 'max_tokens', replacement: 'max_completion_tokens', learnedAt: 'preflight', reason: 'HTTP 400: y'}], ignoreEosIgnored: '3 of 8 tokens, finish_reason "stop"'},
    } as Target
    const {targets} = deriveResult(handResult([target], [run('groq', 'tg64', 0, [tg(0, 64, 'length')])]))
    expect(targets[0]!.notes).toEqual([
      'groq: the server rejected stream_options (first request, re-sent): sent without it; token counts come from counting streamed chunks, the prompt size is unknown',
      'groq: the server rejected max_tokens (preflight): sent max_completion_tokens instead',
      'groq: accepted ignore_eos but did not honour it (3 of 8 tokens, finish_reason "stop"): output lengths are the model\'s, not the suite\'s',
    ])
    const refused = {...base, settings: {...(base as Extract<Target, {kind: 'endpoint'}>).settings, ignoreEos: false}} as Target
    expect(deriveResult(handResult([refused], [])).targets[0]!.notes).toEqual(["groq: ignore_eos not sent, so outputs may stop before the requested length (token counts are the server's)"])
  })
})

describe('a stored summary of another derivation version', () => {
  it('is a cache: a file whose summary no longer fits the current shape reads, with the summary dropped; a broken raw field still fails', () => {
    const result = handResult([endpointTarget()], [run('endpoint', 'tg64', 0, [tg(0, 64, 'length')])])
    const stale = JSON.parse(serializeResult({...result, summary: deriveResult(result)})) as Record<string, unknown> & {summary: {derivation: {version: number}; cells: Record<string, unknown>[]}}
    stale.summary.derivation.version = 1
    delete stale.summary.cells[0]!.itlBasis
    const read = parseResult(JSON.stringify(stale), 'stale.json')
    expect(read.summary).toBeUndefined()
    expect(deriveResult(read).cells[0]!.itlBasis).toBe('token')
    const broken = {...stale, runs: [{...result.runs[0], state: 'finished'}]}
    expect(() => parseResult(JSON.stringify(broken), 'broken.json')).toThrow(/^result file broken\.json is invalid: runs\[0\]\.state/)
  })
})

describe('an endpoint tg test\'s rate counts generated tokens only', () => {
  it('a 17-token unique prefix is evaluated inside the time but not counted: t/s and the generation rate are n_out / E2E', () => {
    // tg64 behind a 17-token prompt (the unique prefix): TTFT 20 ms, then 63 gaps of 1.5 ms: E2E = 20 + 94.5 = 114.5 ms.
    // Generated: 64 / 0.1145 s = 558.952 t/s. Counting the prompt as evaluated tokens, (17 + 63) / 0.1145 = 698.69, read as generation speed.
    const runs = [0, 1, 2].map((rep) => run('endpoint', 'tg64', rep, [request(rep * 1000, {nPrompt: 17, nOut: 64, ttft: 20, tpot: 1.5})]))
    const result = handResult([endpointTarget()], runs)
    const [cell] = deriveResult(result).cells
    expect(cell!.metrics.tokens_per_second!.repetitions!.mean).toBeCloseTo(64 / 0.1145, 6)
    expect(cell!.metrics.generation_tps!.repetitions!.mean).toBeCloseTo(558.952, 3)
    // 1 / TPOT stays the decode rate of one request: 1000 / 1.5.
    expect(cell!.metrics.decode_tps!.repetitions!.mean).toBeCloseTo(666.667, 3)
  })

  it('a local tg test keeps llama-bench\'s N / time (its prompt is the one BOS token, decoded like the others)', () => {
    const runs = [run('local', 'tg64', 0, [request(0, {nPrompt: 1, nOut: 64, ttft: 2, tpot: 2})])]
    const [cell] = deriveResult(handResult([localTarget()], runs)).cells
    // E2E = 2 + 63 x 2 = 128 ms: 64 / 0.128 = 500 t/s, the same as (1 + 63) / 0.128.
    expect(cell!.metrics.tokens_per_second!.repetitions!.mean).toBeCloseTo(500, 9)
  })
})

describe('a serving engine on this machine\'s loopback gets no hosted-datacenter estimate', () => {
  const runs = [0, 1, 2].map((rep) => run('endpoint', 'tg64', rep, [request(rep * 1000, {nPrompt: 17, nOut: 64, ttft: 20, tpot: 2})]))
  const at = (baseUrl: string, ownedBy?: string): Target => {
    const t = endpointTarget() as Extract<Target, {kind: 'endpoint'}>
    return {...t, endpoint: {...t.endpoint, baseUrl, ...(ownedBy ? {ownedBy} : {})}}
  }

  it('llama-server on 127.0.0.1: missing, naming --meter-on-server; the same server elsewhere, or a proxy on the loopback, keeps the estimate', () => {
    const [local] = deriveResult(handResult([at('http://127.0.0.1:8080/v1', 'llamacpp')], runs)).cells
    expect(local!.energy).toEqual({status: 'missing', code: 'no-power', reason: "endpoint is llamacpp on this machine (loopback port 8080), not a provider: no hosted-datacenter estimate; measure it with this machine's meter and --meter-on-server (or --watts N --meter-on-server)"})
    // A provider's vLLM, and a proxy on the loopback answering for a provider (LiteLLM: owned_by "openai"): the provider's energy.
    expect(deriveResult(handResult([at('https://api.example.com/v1', 'vllm')], runs)).cells[0]!.energy.status).toBe('modelled')
    expect(deriveResult(handResult([at('http://localhost:4000/v1', 'openai')], runs)).cells[0]!.energy.status).toBe('modelled')
  })
})
