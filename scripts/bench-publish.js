#!/usr/bin/env node
// Publishing speed and size: N generated results (default 10,000) through `owbench publish` (the
// CLI, end to end), then again unchanged, then with one new result. Goals: under 60 s on this
// 2-core machine, index.html under 2 MB. A benchmark, not a test. Run `npm run build` first.
//   node scripts/bench-publish.js [--count 10000] [--dir /tmp/owbench-publish-bench]
import {execFileSync} from 'node:child_process'
import {mkdirSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {parseArgs} from 'node:util'
import {readResult, serializeResult} from '../dist/results/io.js'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const {values} = parseArgs({options: {count: {type: 'string', default: '10000'}, dir: {type: 'string', default: '/tmp/owbench-publish-bench'}}})
const count = Number(values.count)
const inputs = path.join(values.dir, 'results')
const out = path.join(values.dir, 'site')

// Generated, not measured: variations of the committed fixture over 50 machines x 40 models x 2
// suite versions, with throughput scaled per machine and model so boards have something to rank.
const base = await readResult(path.join(root, 'fixtures', 'results', 'quick-default-45w.json'))
const machines = Array.from({length: 50}, (_, i) => ({
  cpu: {...base.host.cpu, manufacturer: ['AMD', 'Intel', 'Apple'][i % 3], brand: `Bench CPU ${i}`, physicalCores: 4 + (i % 12) * 2},
  speed: 0.5 + (i % 17) / 8,
}))
const models = Array.from({length: 40}, (_, i) => ({name: `bench-model-${i}`, sha256: `${i.toString(16).padStart(4, '0')}${base.targets[0].model.sha256.slice(4)}`, quantization: ['Q4_K_M', 'Q8_0', 'F16'][i % 3], speed: 1.5 - (i % 10) / 10}))
function generate(i) {
  const m = machines[i % machines.length]
  const model = models[Math.floor(i / machines.length) % models.length]
  const jitter = 1 + (((i * 7919) % 101) - 50) / 1000
  const factor = m.speed * model.speed * jitter
  const r = JSON.parse(JSON.stringify(base))
  r.id = `${base.id.slice(0, 24)}${String(i).padStart(12, '0')}`
  r.createdAt = new Date(Date.parse(base.createdAt) + i * 60_000).toISOString()
  r.host = {...r.host, hostname: `bench-host-${i % machines.length}`, cpu: m.cpu}
  r.labels = [...r.labels, 'generated for the publish benchmark: not a measurement']
  r.targets[0].model = {...r.targets[0].model, name: model.name, sha256: model.sha256, quantization: model.quantization}
  if (i % 2 === 1) r.suite = {...r.suite, version: `${r.suite.version}-b`, sha256: `b${r.suite.sha256.slice(1)}`}
  // Every figure is derived from the raw timeline: each request runs `factor` times faster.
  for (const run of r.runs) {
    run.requests = run.requests.map((q) => ({...q, ...(q.tPrefillEnd === undefined ? {} : {tPrefillEnd: q.tSend + (q.tPrefillEnd - q.tSend) / factor}), chunks: q.chunks.map(([t, k]) => [q.tSend + (t - q.tSend) / factor, k]), tEnd: q.tSend + (q.tEnd - q.tSend) / factor}))
  }
  return r
}

function ensureInputs() {
  let have
  try {
    have = readdirSync(inputs).length
  } catch {
    have = 0
  }
  if (have === count) return
  rmSync(inputs, {recursive: true, force: true})
  mkdirSync(inputs, {recursive: true})
  const t0 = performance.now()
  for (let i = 0; i < count; i++) writeFileSync(path.join(inputs, `r${String(i).padStart(6, '0')}.json`), serializeResult(generate(i)))
  console.log(`generated ${count} results in ${((performance.now() - t0) / 1000).toFixed(1)} s (${inputs})`)
}

function publish(what) {
  const t0 = performance.now()
  const stdout = execFileSync(process.execPath, [path.join(root, 'bin', 'run.js'), 'publish', inputs, '--out', out], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']})
  const s = (performance.now() - t0) / 1000
  console.log(`${what}: ${s.toFixed(1)} s — ${stdout.trim().split('\n').join(' / ')}`)
  return s
}

function duBytes(dir) {
  let total = 0
  for (const e of readdirSync(dir, {withFileTypes: true})) total += e.isDirectory() ? duBytes(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).size
  return total
}

ensureInputs()
rmSync(out, {recursive: true, force: true})
const first = publish(`publish ${count} results (fresh)`)
const again = publish('publish again, nothing changed')
writeFileSync(path.join(inputs, 'extra.json'), serializeResult(generate(count + 1)))
const one = publish('publish again with one new result')
rmSync(path.join(inputs, 'extra.json'))
const index = statSync(path.join(out, 'index.html')).size
console.log(`index.html ${(index / 1e6).toFixed(2)} MB (goal < 2 MB); results.json ${(statSync(path.join(out, 'results.json')).size / 1e6).toFixed(1)} MB; whole site ${(duBytes(out) / 1e6).toFixed(0)} MB`)
console.log(`fresh publish ${first.toFixed(1)} s (goal < 60 s: ${first < 60 ? 'met' : 'NOT met'}); unchanged ${again.toFixed(1)} s; one new ${one.toFixed(1)} s`)
