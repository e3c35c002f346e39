import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {resolveCostInputs} from '../../src/cost/cost-inputs.js'
import {costOfResult} from '../../src/cost/result-costs.js'
import {chartSpecs} from '../../src/report/charts.js'
import {renderChartPng} from '../../src/report/png.js'
import {readResult} from '../../src/results/io.js'
import type {ResultFile} from '../../src/results/schema.js'
import {repoRoot} from '../helpers/cli.js'

async function fixture(): Promise<ResultFile> {
  return readResult(path.join(repoRoot, 'fixtures', 'results', 'quick-default-45w.json'))
}

describe('chart specs', () => {
  it('throughput bars carry ±1 sd error bars from the summary', async () => {
    const result = await fixture()
    const spec = chartSpecs([result]).find((s) => s.id === 'throughput')!
    const dataset = spec.config.data.datasets[0] as unknown as {data: number[]; errorBars: [number, number][]}
    const tg = result.summary.find((s) => s.test === 'tg64')!.metrics.tokens_per_second!
    const i = (spec.config.data.labels as string[]).indexOf('tg64')
    expect(dataset.data[i]).toBe(tg.mean)
    expect(dataset.errorBars[i]).toEqual([tg.mean - tg.sd, tg.mean + tg.sd])
  })

  it('adds throughput vs concurrency and stacked cost charts when the results have them', async () => {
    const result = await fixture()
    const tg = result.summary.find((s) => s.test === 'tg64')!
    const loaded: ResultFile = {...result, summary: [...result.summary, {...tg, concurrency: 4, metrics: {...tg.metrics, aggregate_tps: {...tg.metrics.tokens_per_second!, mean: 300}}}]}
    loaded.cost = costOfResult(loaded, await resolveCostInputs({price: 2000, purchased: '2024', tariff: 0.3, rentPerHour: 1.5})) as unknown as Record<string, unknown>
    const specs = chartSpecs([loaded])
    const concurrency = specs.find((s) => s.id === 'concurrency')!
    const line = concurrency.config.data.datasets.find((d) => d.label?.endsWith('tg64'))!
    expect(line.data).toEqual([{x: 1, y: tg.metrics.aggregate_tps!.mean}, {x: 4, y: 300}])
    const cost = specs.find((s) => s.id === 'cost')!
    expect(cost.title).toBe('Cost per million generated tokens (USD, 2025 dollars)')
    expect(cost.config.data.datasets.map((d) => d.label)).toEqual(['electricity (owned)', 'hardware (owned)', 'rental', 'hosted'])
    const cpi = specs.find((s) => s.id === 'cpi')!
    expect(cpi.config.data.datasets.map((d) => d.data)).toEqual([[2000], [(2000 * 321.943) / 313.689]])
    expect(specs.find((s) => s.id === 'break-even')).toBeUndefined() // no hosted price given
    for (const spec of [concurrency, cost, cpi]) expect(renderChartPng(spec).length).toBeGreaterThan(5000)
    loaded.cost = costOfResult(loaded, await resolveCostInputs({price: 2000, purchased: '2024', tariff: 0.3, hosted: 'openrouter/openai/gpt-oss-20b'})) as unknown as Record<string, unknown>
    const breakEven = chartSpecs([loaded]).find((s) => s.id === 'break-even')!
    const [owned, hosted] = breakEven.config.data.datasets as unknown as {data: {x: number; y: number}[]}[]
    // At zero volume owning still costs its amortization; hosting costs nothing.
    expect(owned!.data[0]!.y).toBeGreaterThan(0)
    expect(hosted!.data[0]!.y).toBe(0)
    expect(renderChartPng(breakEven).length).toBeGreaterThan(5000)
  })
})
