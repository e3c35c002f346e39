import {describe, expect, it} from 'vitest'
import {aggregateThroughput, requestMetrics} from '../../src/metrics/request-metrics.js'
import {summarize} from '../../src/metrics/statistics.js'

describe('request metrics', () => {
  it('computes TTFT, E2E, TPOT, ITL and rates from a streamed timeline', () => {
    // sent at 10 ms; chunks at 60 (1 token), 70 (1), 90 (3 tokens together), 100 (1); 6 tokens.
    const m = requestMetrics({tSend: 10, chunks: [[60, 1], [70, 1], [90, 3], [100, 1]], tEnd: 100, nPrompt: 100, nOut: 6})
    expect(m.ttftMs).toBe(50)
    expect(m.e2eMs).toBe(90)
    expect(m.tpotMs).toBe(8) // (100 - 60) / (6 - 1)
    expect(m.decodeTps).toBe(125)
    expect(m.itlMs).toEqual([10, 20, 0, 0, 10])
    expect(m.prefillTps).toBe(2000) // 100 prompt tokens over the 50 ms TTFT
    expect(m.tokensPerSecond).toBeCloseTo((105 * 1000) / 90, 10) // 100 prompt + 5 fed back
  })

  it('uses a separately timed prefill when the engine measured one', () => {
    const m = requestMetrics({tSend: 0, tPrefillEnd: 200, chunks: [], tEnd: 200, nPrompt: 512, nOut: 0})
    expect(m.prefillTps).toBe(2560)
    expect(m.tokensPerSecond).toBe(2560)
    expect(m.ttftMs).toBeUndefined()
    expect(m.tpotMs).toBeUndefined()
  })

  it('has no TPOT for a single generated token', () => {
    const m = requestMetrics({tSend: 0, chunks: [[5, 1]], tEnd: 5, nPrompt: 1, nOut: 1})
    expect(m.ttftMs).toBe(5)
    expect(m.tpotMs).toBeUndefined()
    expect(m.itlMs).toEqual([])
  })

  it('TTFT is the first token of either kind; the first answer token has its own time', () => {
    // Reasoning at 30, 40, 50 ms, answer at 70 and 80; 5 tokens, one a chunk, confirmed by usage.
    const m = requestMetrics({tSend: 10, chunks: [[30, 1], [40, 1], [50, 1], [70, 1], [80, 1]], chunkKinds: 'rrrcc', tEnd: 80, nPrompt: 20, nOut: 5, countSource: 'usage', nReasoning: 3, reasoningCountSource: 'usage'})
    expect(m.ttftMs).toBe(20)
    expect(m.ttfaMs).toBe(60)
    expect(m.tpotMs).toBe(12.5) // (80 - 30) / 4
    expect(m.hiddenReasoningTokens).toBe(0)
    expect(m.itlBasis).toBe('token')
  })

  it('keeps reasoning the server counted but never streamed out of TPOT', () => {
    // OpenAI reasoning model: 10 completion tokens of which 6 reasoning, only 4 content chunks streamed.
    const m = requestMetrics({tSend: 0, chunks: [[400, 1], [410, 1], [420, 1], [430, 1]], tEnd: 430, nPrompt: 12, nOut: 10, countSource: 'usage', nReasoning: 6, reasoningCountSource: 'usage'})
    expect(m.hiddenReasoningTokens).toBe(6)
    expect(m.tpotMs).toBe(10) // (430 - 400) / (4 - 1), not / 9
    expect(m.multiTokenChunks).toBe(false)
  })

  it('says so when a total exceeds the token-bearing chunks, and then gives ITL per chunk', () => {
    const m = requestMetrics({tSend: 0, chunks: [[10, 1], [20, 1], [35, 1]], chunkCounts: 'one-per-chunk', tEnd: 35, nPrompt: 5, nOut: 7, countSource: 'usage'})
    expect(m).toMatchObject({multiTokenChunks: true, itlBasis: 'chunk', itlMs: [10, 15]})
    expect(m.tpotMs).toBeCloseTo(25 / 6, 12) // (35 - 10) / (7 - 1)
  })

  it('uses no prompt count when tokens were counted from the stream, and marks short outputs', () => {
    const m = requestMetrics({tSend: 0, chunks: [[50, 1], [60, 1], [70, 1]], chunkCounts: 'one-per-chunk', tEnd: 70, nPrompt: 0, nOut: 3, countSource: 'stream', nAsked: 8})
    expect(m.prefillTps).toBeUndefined()
    expect(m.tokensPerSecond).toBeUndefined()
    expect(m.tpotMs).toBe(10)
    expect(m.itlBasis).toBe('chunk') // one token a chunk is never confirmed without the server's count
    expect(m.short).toBe(true)
  })

  it('computes aggregate throughput over the whole span of concurrent requests', () => {
    const value = aggregateThroughput([
      {tSend: 0, chunks: [], tEnd: 1000, nPrompt: 1, nOut: 100},
      {tSend: 500, chunks: [], tEnd: 2000, nPrompt: 1, nOut: 300},
    ])
    expect(value).toBe(200)
    expect(aggregateThroughput([])).toBeUndefined()
  })
})

describe('statistics', () => {
  it('matches hand-computed mean, sample sd, quantiles and the t-based 95% CI', () => {
    const s = summarize([2, 4, 4, 4, 5, 5, 7, 9], 'repetitions')!
    expect(s.sample).toBe('repetitions')
    expect(s.n).toBe(8)
    expect(s.mean).toBe(5)
    expect(s.sd).toBeCloseTo(Math.sqrt(32 / 7), 12)
    expect(s.median).toBe(4.5)
    expect(s.min).toBe(2)
    expect(s.max).toBe(9)
    // t(0.975, 7) = 2.364624252
    const half = 2.364624252 * (Math.sqrt(32 / 7) / Math.sqrt(8))
    expect(s.ci95![0]).toBeCloseTo(5 - half, 6)
    expect(s.ci95![1]).toBeCloseTo(5 + half, 6)
    // Linear interpolation between order statistics (R-7, numpy's default): x[6] + 0.3 (x[7] - x[6]).
    expect(s.p90).toBeCloseTo(7.6, 12)
  })

  it('gives sd 0 and no CI for one value, and nothing for no values', () => {
    expect(summarize([3], 'requests')).toMatchObject({n: 1, mean: 3, sd: null, ci95: null})
    expect(summarize([], 'requests')).toBeUndefined()
    expect(summarize([Number.NaN], 'requests')).toBeUndefined()
  })
})
