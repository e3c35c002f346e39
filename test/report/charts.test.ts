import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {resolveCostInputs} from '../../src/cost/cost-inputs.js'
import {costOfResult} from '../../src/cost/result-costs.js'
import {createCanvas} from '@napi-rs/canvas'
import {Chart} from 'chart.js'
import {type ChartSpec, chartSpecs} from '../../src/report/charts.js'
import {deriveResult} from '../../src/derive/derive.js'
import {renderChartPng} from '../../src/report/png.js'
import {readResult} from '../../src/results/io.js'
import type {ResultFile} from '../../src/results/schema.js'
import {repoRoot} from '../helpers/cli.js'

async function fixture(): Promise<ResultFile> {
  return readResult(path.join(repoRoot, 'fixtures', 'results', 'quick-default-45w.json'))
}

/** The x tick labels chart.js lays out for a spec (on @napi-rs/canvas, as the PNG renderer draws it). */
function xTicks(spec: ChartSpec): string[] {
  const chart = new Chart(createCanvas(900, 450) as unknown as ConstructorParameters<typeof Chart>[0], structuredClone(spec.config))
  const ticks = chart.scales.x!.ticks.map((t) => String(t.label))
  chart.destroy()
  return ticks
}

describe('chart specs', () => {
  it('throughput bars carry ±1 sd error bars over repetitions, from the raw timings', async () => {
    const result = await fixture()
    const spec = chartSpecs([result]).find((s) => s.id === 'throughput')!
    const dataset = spec.config.data.datasets[0] as unknown as {data: number[]; errorBars: [number, number][]}
    // By hand: one request per repetition, 64 tokens evaluated (1 prompt + 63 fed back) over its time.
    const tps = result.runs.filter((r) => r.test === 'tg64' && !r.warmup).map((r) => (64 * 1000) / (r.requests[0]!.tEnd - r.requests[0]!.tSend))
    const m = tps.reduce((a, b) => a + b, 0) / tps.length
    const sd = Math.sqrt(tps.reduce((a, b) => a + (b - m) ** 2, 0) / (tps.length - 1))
    const i = (spec.config.data.labels as string[]).indexOf('tg64')
    expect(dataset.data[i]).toBeCloseTo(m, 9)
    expect(dataset.errorBars[i]![0]).toBeCloseTo(m - sd, 9)
    expect(dataset.errorBars[i]![1]).toBeCloseTo(m + sd, 9)
  })

  it('adds throughput vs concurrency and stacked cost charts when the results have them', async () => {
    const result = await fixture()
    // tg64 again at 4 in flight: four copies of each repetition's request, started together.
    const tgRuns = result.runs.filter((r) => r.test === 'tg64' && !r.warmup)
    const loaded: ResultFile = {...result, runs: [...result.runs, ...tgRuns.map((r) => ({...r, concurrency: 4, requests: [0, 1, 2, 3].map(() => r.requests[0]!)}))]}
    const aggregate = (n: number) => tgRuns.map((r) => (n * 64 * 1000) / (r.requests[0]!.tEnd - r.requests[0]!.tSend)).reduce((a, b) => a + b, 0) / tgRuns.length
    const costs = [costOfResult(loaded, await resolveCostInputs({price: 2000, purchased: '2024', tariff: 0.3, rentPerHour: 1.5}))]
    const specs = chartSpecs([loaded], {costs})
    const concurrency = specs.find((s) => s.id === 'concurrency')!
    const line = concurrency.config.data.datasets.find((d) => d.label?.endsWith('tg64'))! as unknown as {data: number[]}
    expect(concurrency.config.data.labels).toEqual(['1', '4'])
    expect(line.data[0]).toBeCloseTo(aggregate(1), 9)
    expect(line.data[1]).toBeCloseTo(aggregate(4), 9)
    // Drawn by chart.js: ticks at the two levels measured, not 1, 1.5, 2, ... 4.
    expect(xTicks(concurrency)).toEqual(['1', '4'])
    const cost = specs.find((s) => s.id === 'cost')!
    expect(cost.title).toBe('Cost per million generated tokens (USD, 2025 dollars)')
    expect(cost.config.data.datasets.map((d) => d.label)).toEqual(['electricity (owned)', 'hardware (owned)', 'rental', 'hosted'])
    const cpi = specs.find((s) => s.id === 'cpi')!
    expect(cpi.config.data.datasets.map((d) => d.data)).toEqual([[2000], [(2000 * 321.943) / 313.689]])
    expect(specs.find((s) => s.id === 'break-even')).toBeUndefined() // no hosted price given
    for (const spec of [concurrency, cost, cpi]) expect(renderChartPng(spec).length).toBeGreaterThan(5000)
    const hostedCosts = [costOfResult(loaded, await resolveCostInputs({price: 2000, purchased: '2024', tariff: 0.3, hosted: 'openrouter/openai/gpt-oss-20b'}))]
    const breakEven = chartSpecs([loaded], {costs: hostedCosts}).find((s) => s.id === 'break-even')!
    const [owned, hosted] = breakEven.config.data.datasets as unknown as {data: {x: number; y: number}[]}[]
    // At zero volume owning still costs its amortization; hosting costs nothing.
    expect(owned!.data[0]!.y).toBeGreaterThan(0)
    expect(hosted!.data[0]!.y).toBe(0)
    expect(renderChartPng(breakEven).length).toBeGreaterThan(5000)
  })

  it('a concurrency sweep is drawn over the levels measured, integer ticks only', async () => {
    // A real llama-server sweep at 1, 2, 4, 6, 8, 12 and 16 requests in flight.
    const sweep = await readResult(path.join(repoRoot, 'fixtures', 'results', 'sweep', 'llama-server-np8-concurrency-sweep.json'))
    const concurrency = chartSpecs([sweep]).find((s) => s.id === 'concurrency')!
    expect(concurrency.config.options?.scales?.x).toMatchObject({type: 'category'})
    expect(concurrency.config.data.labels).toEqual(['1', '2', '4', '6', '8', '12', '16'])
    const [line] = concurrency.config.data.datasets as unknown as {data: (number | null)[]}[]
    const c4 = deriveResult(sweep).cells.find((c) => c.test === 'tg32' && c.load.mode === 'concurrency' && c.load.level === 4)!
    expect(line!.data[2]).toBe(c4.metrics.aggregate_tps!.repetitions!.mean)
    expect(line!.data.every((y) => typeof y === 'number' && y > 0)).toBe(true)
    expect(xTicks(concurrency)).toEqual(['1', '2', '4', '6', '8', '12', '16'])
  })
})
