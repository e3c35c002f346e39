#!/usr/bin/env node
// Regenerates the example reports from the committed fixture results, so a visitor sees what owbench
// produces without running it: reports/example/ from fixtures/results/*.json, and
// reports/example-endpoint/ from fixtures/results/endpoint/*.json (endpoints as real servers stream:
// a reasoning model, short outputs, multi-token chunks, a llama-server's own /metrics), and
// reports/example-sweep/ from fixtures/results/sweep/*.json (a concurrency sweep and a rate goodput
// search against llama-server -np 8, with their Pareto charts). Run `npm run build` first.
import {mkdirSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {costsOfResults} from '../dist/cost/report-costs.js'
import {answerOf, loadAnswerReferences} from '../dist/cost/answer.js'
import {chartSpecs} from '../dist/report/charts.js'
import {exportCsv} from '../dist/report/csv.js'
import {exportHtml} from '../dist/report/html.js'
import {exportMarkdown} from '../dist/report/markdown.js'
import {renderChartPng} from '../dist/report/png.js'
import {readResult} from '../dist/results/io.js'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const EXAMPLES = [
  {fixtures: path.join(root, 'fixtures', 'results'), out: path.join(root, 'reports', 'example')},
  {fixtures: path.join(root, 'fixtures', 'results', 'endpoint'), out: path.join(root, 'reports', 'example-endpoint')},
  {fixtures: path.join(root, 'fixtures', 'results', 'sweep'), out: path.join(root, 'reports', 'example-sweep')},
]
for (const {fixtures, out} of EXAMPLES) {
  const results = []
  for (const file of readdirSync(fixtures).filter((f) => f.endsWith('.json')).sort()) results.push(await readResult(path.join(fixtures, file)))
  const {costs, notes} = await costsOfResults(results)
  rmSync(out, {recursive: true, force: true})
  mkdirSync(path.join(out, 'charts'), {recursive: true})
  const references = await loadAnswerReferences()
  const energyReference = references.energyReference
  const answers = results.map((r, i) => answerOf(r, costs[i], references))
  const specs = chartSpecs(results, {costs, energyReference})
  writeFileSync(path.join(out, 'report.md'), exportMarkdown(results, {answers, charts: specs.map((spec) => ({title: spec.title, file: `charts/${spec.id}.png`}))}))
  writeFileSync(path.join(out, 'results.csv'), exportCsv(results))
  writeFileSync(path.join(out, 'report.html'), exportHtml(results, {png: (spec) => renderChartPng(spec), costs, costNotes: notes, energyReference, answers}))
  for (const spec of specs) writeFileSync(path.join(out, 'charts', `${spec.id}.png`), renderChartPng(spec, {scale: 2}))
  console.log(`${path.relative(root, out)}/ rebuilt from ${results.length} fixture results`)
}
