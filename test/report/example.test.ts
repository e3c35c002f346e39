import {readdir, readFile} from 'node:fs/promises'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {costsOfResults} from '../../src/cost/report-costs.js'
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
  expect(await readFile(path.join(out, 'report.md'), 'utf8')).toBe(exportMarkdown(results, {charts: chartSpecs(results, {costs}).map((spec) => ({title: spec.title, file: `charts/${spec.id}.png`}))}))
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
})
