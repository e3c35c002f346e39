import {readFile} from 'node:fs/promises'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {parsePrometheusText} from '../../src/metrics/prometheus-text.js'
import {histogramQuantile, phaseMetrics, readMetrics, serverPhaseFigures} from '../../src/metrics/server-metrics.js'
import {ServerMetricsPhaseSchema} from '../../src/results/endpoint-schema.js'
import {repoRoot} from '../helpers/cli.js'

const fixture = (name: string) => readFile(path.join(repoRoot, 'fixtures', 'server-metrics', name), 'utf8')

describe('Prometheus text format', () => {
  it('reads names with colons, escaped label values, NaN, ±Inf and timestamps', () => {
    const {samples, types} = parsePrometheusText(
      ['# HELP llamacpp:x help text', '# TYPE llamacpp:x counter', 'llamacpp:x 12', 'a{path="C:\\\\DIR",msg="say \\"hi\\"\\n",} 1.5e3 1395066363000', 'b NaN', 'c{le="+Inf"} +Inf', '', '# a comment'].join('\n'),
    )
    expect(types.get('llamacpp:x')).toBe('counter')
    expect(samples).toEqual([
      {name: 'llamacpp:x', labels: {}, value: 12},
      {name: 'a', labels: {path: 'C:\\DIR', msg: 'say "hi"\n'}, value: 1500},
      {name: 'b', labels: {}, value: Number.NaN},
      {name: 'c', labels: {le: '+Inf'}, value: Number.POSITIVE_INFINITY},
    ])
  })

  it('names the line that is not the format', () => {
    expect(() => parsePrometheusText('ok 1\nnot a sample line\n')).toThrow('line 2 is not a Prometheus sample: not a sample line')
    expect(() => parsePrometheusText('x{a="1"} twelve')).toThrow(/line 1/)
  })
})

describe('server metrics over a phase', () => {
  it('vLLM: counters and histograms as increases, labelled series kept apart, other families and _created left out', async () => {
    const before = readMetrics(await fixture('vllm-before.prom'))
    const after = readMetrics(await fixture('vllm-after.prom'))
    expect(before.server).toBe('vllm')
    expect([...before.counters.keys()].some((k) => k.startsWith('python_gc') || k.includes('_created'))).toBe(false)
    const running: [number, number][] = [[0, 0], [1000, 3], [2000, 4], [3000, 1]]
    const phase = phaseMetrics(before, after, [0, 3000], {'vllm:num_requests_running{engine="0",model_name="m"}': running, 'vllm:kv_cache_usage_perc{engine="0",model_name="m"}': [[0, 0], [1000, 0.1], [2000, 0.3], [3000, 0]]})
    ServerMetricsPhaseSchema.parse(phase)
    expect(phase.counters).toMatchObject({
      'vllm:prompt_tokens_total{engine="0",model_name="m"}': 40,
      'vllm:request_success_total{engine="0",finished_reason="length",model_name="m"}': 3,
      // A series first seen in the closing reading started from 0.
      'vllm:request_success_total{engine="0",finished_reason="stop",model_name="m"}': 1,
    })
    expect(phase.histograms['vllm:time_to_first_token_seconds{engine="0",model_name="m"}']).toEqual({le: [0.01, 0.02, 0.04, 0.06, 0.08], counts: [0, 0, 1, 3, 4], sum: expect.closeTo(0.18, 12), count: 4})
    const f = serverPhaseFigures(phase)
    expect(f).toMatchObject({server: 'vllm', requestsServed: 4, promptTokens: 40, generatedTokens: 32})
    expect(f.prefixCacheHitRate).toBeCloseTo(16 / 40, 12)
    // Gauges from the samples inside the phase (1000 and 2000 ms); the edge readings at 0 and 3000 are idle by construction.
    expect(f.requestsRunning).toEqual({mean: 3.5, max: 4, samples: 2})
    expect(f.kvCacheUsage!.mean).toBeCloseTo(0.2, 12) // (0.1 + 0.3) / 2
    // TTFT: 4 requests, 0.18 s in all = 45 ms mean; median: rank 2 falls in (0.04, 0.06] holding
    // requests 2-3, so 40 + 20 x (2 - 1) / 2 = 50 ms; p90: rank 3.6 in (0.06, 0.08]: 60 + 20 x 0.6 = 72 ms.
    expect(f.ttft!.n).toBe(4)
    expect(f.ttft!.meanMs).toBeCloseTo(45, 9)
    expect(f.ttft!.p50Ms).toBeCloseTo(50, 9)
    expect(f.ttft!.p90Ms).toBeCloseTo(72, 9)
    expect(f.ttft!.p99Ms).toBeCloseTo(79.2, 9)
    // TPOT per request: 0.044 s over 4 = 11 ms; median rank 2 at the top of (0.005, 0.01]: 10 ms; p90 10 + 5 x 1.6 / 2 = 14 ms.
    expect(f.tpot).toMatchObject({n: 4, meanMs: expect.closeTo(11, 9), p50Ms: expect.closeTo(10, 9), p90Ms: expect.closeTo(14, 9)})
  })

  it('SGLang: requests, tokens and its TTFT histogram (written _sum first) from the documented names', async () => {
    const phase = phaseMetrics(readMetrics(await fixture('sglang-before.prom')), readMetrics(await fixture('sglang-after.prom')), [0, 2000], {'sglang:num_queue_reqs{model_name="m"}': [[0, 0], [1000, 2]], 'sglang:cache_hit_rate{model_name="m"}': [[0, 0.25], [1000, 0.35]]})
    const f = serverPhaseFigures(phase)
    expect(f).toMatchObject({server: 'sglang', requestsServed: 8, promptTokens: 78, generatedTokens: 64, requestsWaiting: {mean: 2, max: 2, samples: 1}})
    expect(f.prefixCacheHitRate).toBeCloseTo(0.35, 12) // the gauge's one sample inside the phase
    // 8 TTFTs, 0.32 s: 40 ms mean; median rank 4 at the top of (0.02, 0.04]; p90 rank 7.2 in (0.06, 0.08]: 60 + 20 x 1.2 / 2.
    expect(f.ttft).toMatchObject({n: 8, meanMs: expect.closeTo(40, 6), p50Ms: expect.closeTo(40, 9), p90Ms: expect.closeTo(72, 9)})
  })

  it('a phase shorter than the sampling interval has no gauge figure, not a false 0', () => {
    const phase = {server: 'llama-server' as const, window: [0, 400] as [number, number], counters: {}, gauges: {'llamacpp:requests_processing': [[0, 0], [400, 0]] as [number, number][]}, histograms: {}}
    expect(serverPhaseFigures(phase).requestsRunning).toBeUndefined()
  })

  it('a counter that went down (server restarted) is dropped and said, never a negative increase', async () => {
    const after = readMetrics(await fixture('vllm-before.prom'))
    const before = readMetrics(await fixture('vllm-after.prom'))
    const phase = phaseMetrics(before, after, [0, 1], {})
    expect(phase.counters['vllm:prompt_tokens_total{engine="0",model_name="m"}']).toBeUndefined()
    expect(phase.failures).toContain('vllm:prompt_tokens_total{engine="0",model_name="m"} went down from 140 to 100 (server restarted?)')
    expect(serverPhaseFigures(phase).promptTokens).toBeUndefined()
  })

  it('histogram quantiles interpolate like Prometheus, and have none in the +Inf bucket', () => {
    const h = {le: [1, 2], counts: [2, 4], sum: 6, count: 5}
    expect(histogramQuantile(0.5, h)).toBe(1.25) // rank 2.5 in (1, 2] holding 2: 1 + 0.5 / 2
    expect(histogramQuantile(0.2, h)).toBe(0.5) // rank 1 in [0, 1]
    expect(histogramQuantile(0.9, h)).toBeUndefined() // rank 4.5 > 4: in (2, +Inf]
    expect(histogramQuantile(0.5, {le: [1], counts: [0], sum: 0, count: 0})).toBeUndefined()
  })
})
