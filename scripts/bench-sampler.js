#!/usr/bin/env node
// The power sampler's own cost (a benchmark, not a test: read the figures).
// 1. CPU time owbench spends per second of sampling at 10 Hz, polling a Shelly-compatible plug
//    over HTTP (the in-process path: one request per reading) served from another process.
//    Goal: under 1% of one core.
// 2. The change it causes in tg tok/s on the default synthetic model: `owbench run` with the
//    plug sampled vs --power off, alternating. Goal: under 1% (noise on a shared machine is larger:
//    read both spreads).
// Usage: npm run bench:sampler -- [--seconds 20] [--rounds 4]
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {parseArgs} from 'node:util'
import {deriveResult} from '../dist/derive/derive.js'
import {PowerSampler} from '../dist/power/sampler.js'
import {parseResult} from '../dist/results/io.js'
import {parseSourceSpec} from '../dist/power/source-spec.js'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const {values: args} = parseArgs({options: {seconds: {type: 'string', default: '20'}, rounds: {type: 'string', default: '4'}}})
const body = readFileSync(path.join(root, 'fixtures/power/recorded/smart-plugs/shelly/shelly-gen2_switch-getstatus_evcc-test_A.json'), 'utf8')
const plug = spawn(process.execPath, ['-e', `require('node:http').createServer((q, s) => { s.writeHead(200, {'content-type': 'application/json'}); s.end(${JSON.stringify(body)}) }).listen(0, '127.0.0.1', function () { console.log(this.address().port) })`], {stdio: ['ignore', 'pipe', 'inherit']})
const port = await new Promise((resolve) => plug.stdout.once('data', (d) => resolve(Number(String(d).trim()))))
const meter = `shelly://127.0.0.1:${port}`

try {
  // A plug answers at most every 500 ms; a long-running command printing 10 readings a second
  // exercises the 10 Hz path (one child process, a line parser).
  const tenHz = `cmd:"while true; do echo 50; sleep 0.1; done"`
  for (const [label, spec] of [['Shelly plug over HTTP', meter], ['command at 10 Hz', tenHz]]) {
    const sampler = new PowerSampler({sources: [parseSourceSpec(spec)], intervalMs: 100})
    await sampler.start()
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    await new Promise((r) => setTimeout(r, Number(args.seconds) * 1000))
    const cpu = process.cpuUsage(cpu0)
    const wall = performance.now() - t0
    const recording = await sampler.stop()
    const readings = Object.values(recording.samples)[0]?.length ?? 0
    const share = ((cpu.user + cpu.system) / 1000 / wall) * 100
    console.log(`sampler CPU (${label}): ${share.toFixed(3)}% of one core over ${(wall / 1000).toFixed(1)} s, ${readings} readings (${((readings * 1000) / wall).toFixed(1)} Hz); goal < 1%`)
  }

  const work = mkdtempSync(path.join(os.tmpdir(), 'owbench-sampler-'))
  const suite = path.join(work, 'tg.json')
  writeFileSync(suite, JSON.stringify({name: 'tg', version: '1.0.0', description: 'tg128', repetitions: 5, warmup: 1, tests: ['tg 128']}))
  const rate = (extra) => {
    const out = path.join(work, `r-${Math.random().toString(36).slice(2)}.json`)
    const res = spawnSync(process.execPath, [path.join(root, 'bin/run.js'), 'run', '--suite', suite, '-t', '1', '--idle-seconds', '0', '--out', out, ...extra], {encoding: 'utf8'})
    if (res.status !== 0) throw new Error(res.stderr)
    return deriveResult(parseResult(readFileSync(out, 'utf8'), out)).cells[0].metrics.generation_tps.repetitions
  }
  const on = []
  const off = []
  for (let round = 0; round < Number(args.rounds); round++) {
    on.push(rate(['--meter', meter]))
    off.push(rate(['--power', 'off']))
  }
  const mean = (xs) => xs.reduce((a, b) => a + b.mean, 0) / xs.length
  const sd = (xs) => xs.reduce((a, b) => a + b.sd, 0) / xs.length
  console.log(`tg128 with the plug sampled: ${mean(on).toFixed(2)} tok/s (mean sd ${sd(on).toFixed(2)}); without: ${mean(off).toFixed(2)} (mean sd ${sd(off).toFixed(2)}); change ${((mean(on) / mean(off) - 1) * 100).toFixed(2)}%; goal within 1%`)
} finally {
  plug.kill()
}
