import {readdir, readFile} from 'node:fs/promises'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {costsOfResults} from '../../src/cost/report-costs.js'
import {chartSpecs} from '../../src/report/charts.js'
import {exportCsv} from '../../src/report/csv.js'
import {exportMarkdown} from '../../src/report/markdown.js'
import {readResult} from '../../src/results/io.js'
import {repoRoot} from '../helpers/cli.js'

describe('reports/example', () => {
  it('is what the committed fixture results render to (npm run report:example)', async () => {
    const dir = path.join(repoRoot, 'fixtures', 'results')
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()
    const results = await Promise.all(files.map((f) => readResult(path.join(dir, f))))
    expect(results.length).toBeGreaterThanOrEqual(2)
    const example = path.join(repoRoot, 'reports', 'example')
    const {costs} = await costsOfResults(results)
    expect(await readFile(path.join(example, 'report.md'), 'utf8')).toBe(exportMarkdown(results, {charts: chartSpecs(results, {costs}).map((spec) => ({title: spec.title, file: `charts/${spec.id}.png`}))}))
    expect(await readFile(path.join(example, 'results.csv'), 'utf8')).toBe(exportCsv(results))
    expect((await readdir(path.join(example, 'charts'))).sort()).toEqual(expect.arrayContaining(['energy.png', 'latency.png', 'throughput.png', 'cost.png', 'cpi.png', 'break-even.png']))
  })
})
