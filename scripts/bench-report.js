#!/usr/bin/env node
// Rendering speed: 100 result files to one HTML report (goal: under 5 s on 2 cores). A benchmark,
// not a test. Run `npm run build` first.
import path from 'node:path'
import {exportHtml} from '../dist/report/html.js'
import {renderChartPng} from '../dist/report/png.js'
import {readResult} from '../dist/results/io.js'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const base = await readResult(path.join(root, 'fixtures', 'results', 'quick-default-45w.json'))
const results = Array.from({length: 100}, (_, i) => ({...base, id: `${base.id.slice(0, -4)}${String(i).padStart(4, '0')}`, createdAt: new Date(Date.parse(base.createdAt) + i * 60_000).toISOString()}))
for (const withPng of [false, true]) {
  const t0 = performance.now()
  const html = exportHtml(results, withPng ? {png: (spec) => renderChartPng(spec)} : {})
  const ms = performance.now() - t0
  console.log(`100 results -> HTML ${withPng ? 'with PNG fallbacks' : 'without PNG fallbacks'}: ${(ms / 1000).toFixed(2)} s, ${(html.length / 1e6).toFixed(2)} MB; goal < 5 s`)
}
