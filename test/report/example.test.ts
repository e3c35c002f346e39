import {readdir, readFile} from 'node:fs/promises'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {costsOfResults} from '../../src/cost/report-costs.js'
import {answerOf, loadAnswerReferences} from '../../src/cost/answer.js'
import {chartSpecs} from '../../src/report/charts.js'
import {exportCsv} from '../../src/report/csv.js'
import {exportMarkdown} from '../../src/report/markdown.js'
import {readResult} from '../../src/results/io.js'
import {repoRoot} from '../helpers/cli.js'

async function rendered(fixtures: string, example: string) {
  const dir = path.join(repoRoot, ...fixtures.split('/'))
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()
  const results = await Promise.all(files.map((f) => readResult(path.join(dir, f))))
  const out = path.join(repoRoot, 'reports', example)
  const {costs} = await costsOfResults(results)
  const references = await loadAnswerReferences()
  const answers = results.map((r, i) => answerOf(r, costs[i], references))
  expect(await readFile(path.join(out, 'report.md'), 'utf8')).toBe(exportMarkdown(results, {answers, charts: chartSpecs(results, {costs, energyReference: references.energyReference}).map((spec) => ({title: spec.title, file: `charts/${spec.id}.png`}))}))
  expect(await readFile(path.join(out, 'results.csv'), 'utf8')).toBe(exportCsv(results))
  return {results, charts: (await readdir(path.join(out, 'charts'))).sort()}
}

describe('example reports (npm run report:example)', () => {
  it('reports/example is what the committed fixture results render to', async () => {
    const {results, charts} = await rendered('fixtures/results', 'example')
    expect(results.length).toBeGreaterThanOrEqual(2)
    expect(charts).toEqual(expect.arrayContaining(['energy.png', 'latency.png', 'throughput.png', 'cost.png', 'cpi.png', 'break-even.png']))
  })

  it('reports/example-endpoint is what the endpoint fixture renders to', async () => {
    const {results, charts} = await rendered('fixtures/results/endpoint', 'example-endpoint')
    expect(results).toHaveLength(1)
    expect(charts).toEqual(expect.arrayContaining(['latency.png', 'throughput.png']))
  })

  it('reports/example-sweep is what the sweep fixtures render to: the sweeps, their Pareto charts and the answer', async () => {
    const {results, charts} = await rendered('fixtures/results/sweep', 'example-sweep')
    expect(results).toHaveLength(2)
    expect(charts).toEqual(expect.arrayContaining(['pareto-throughput.png', 'pareto-energy.png', 'pareto-cost.png', 'concurrency.png']))
    const md = await readFile(path.join(repoRoot, 'reports', 'example-sweep', 'report.md'), 'utf8')
    expect(md).toMatch(/llama-server-np8 tg32 concurrency sweep: start: c1 .*; stopped \(saturated\): throughput stopped growing at c16: .* Saturates at c8: /)
    expect(md).toMatch(/llama-server-np8 tg32 goodput search \(rate, ≥ 90\.00% of requests meeting --slo\): .* Highest load meeting the objectives: r71\.4 \(/)
    expect(md.match(/\*\*The answer first\.\*\* /g)).toHaveLength(2)
  })
})
