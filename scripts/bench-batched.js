#!/usr/bin/env node
// Agreement benchmark: owbench's local engine vs llama.cpp's own tools on the default synthetic model.
//   Parallel sequences: llama-batched-bench -npp P -ntg T -npl N (prompts not shared) vs owbench's
//   pg P,T+1 at --concurrency N (owbench counts the token the prompt produces; llama-batched-bench's
//   tg counts the tokens decoded after it), each llama-batched-bench level in the context owbench
//   makes for it (-c N x (P + T + 1): llama.cpp rounds each sequence's stream up to 256 cells, and
//   the context size changes decode speed). Compared: total S t/s, and S_PP, S_TG.
//   Depth: llama-bench -p 0 -n 128 -d 0,1024,4096 vs owbench tg 128 @ d0 / d1024 / d4096.
// Rounds alternate which tool runs first; each round gives a ratio owbench / llama.cpp per figure, and
// the table shows the median over rounds. Goal: within 10%. Not a test: this machine is shared, so
// it prints the load average before -> after every round.
// Usage: npm run bench:batched -- [--threads 1] [--rounds 3] [--reps 3] [--npp 128] [--ntg 128]
//          [--npl 1,2,4] [--tg 128] [--depths 0,1024,4096] [--llama-build portable|native] [--model PATH]
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {parseArgs} from 'node:util'
import {deriveResult} from '../dist/derive/derive.js'
import {parseResult} from '../dist/results/io.js'
import {harnessModel} from './harness-models.js'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const {values: args} = parseArgs({
  options: {
    threads: {type: 'string', default: '1'},
    rounds: {type: 'string', default: '3'},
    reps: {type: 'string', default: '3'},
    npp: {type: 'string', default: '128'},
    ntg: {type: 'string', default: '128'},
    npl: {type: 'string', default: '1,2,4'},
    tg: {type: 'string', default: '128'},
    depths: {type: 'string', default: '0,1024,4096'},
    batch: {type: 'string', default: '512'},
    // owbench's prebuilt engine is built like llama.cpp's portable variant; a local engine build (`owbench setup`) like native.
    'llama-build': {type: 'string', default: 'portable'},
    model: {type: 'string'},
  },
})
const threads = Number(args.threads)
const rounds = Number(args.rounds)
const reps = Number(args.reps)
const npp = Number(args.npp)
const ntg = Number(args.ntg)
const levels = args.npl.split(',').map(Number)
const tg = Number(args.tg)
const depths = args.depths.split(',').map(Number)
const batch = Number(args.batch)
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ')

// Like with like: the portable tools run the prebuilt engine's own CPU kernels, the native tools compare with the
// local engine build (`owbench setup`), whichever the engine would pick by itself.
const engineBuild = args['llama-build'] === 'native' ? 'local' : 'prebuilt'
const bin = execFileSync('bash', [path.join(root, 'scripts', 'build-llama-cpp.sh'), args['llama-build'], 'llama-batched-bench', 'llama-bench'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']}).trim()
const env = {...process.env, LD_LIBRARY_PATH: [bin, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':')}
const model = args.model ?? (await harnessModel('default', {log: (m) => console.error(m)}))
const work = mkdtempSync(path.join(os.tmpdir(), 'owbench-batched-'))
const pg = `pg ${npp},${ntg + 1}`
const depthTest = (d) => (d > 0 ? `tg ${tg} @ d${d}` : `tg ${tg}`)
const suite = (name, tests) => {
  const file = path.join(work, `${name}.json`)
  writeFileSync(file, JSON.stringify({name, version: '1.0.0', description: 'agreement with llama.cpp', repetitions: reps, warmup: 1, tests}))
  return file
}
const batchedSuite = suite('batched', [pg])
const depthSuite = suite('depth', depths.map(depthTest))

function llamaBatchedBench() {
  const out = {}
  for (const pl of levels) {
    const text = execFileSync(path.join(bin, 'llama-batched-bench'), ['-m', model, '-t', String(threads), '-tb', String(threads), '-c', String(pl * (npp + ntg + 1)), '-b', String(batch), '-ub', String(batch), '-fa', 'off', '-npp', String(npp), '-ntg', String(ntg), '-npl', String(pl), '--output-format', 'jsonl'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env, maxBuffer: 64 << 20})
    const row = text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((r) => r.pl === pl)
    out[pl] = {pp: row.speed_pp, tg: row.speed_tg, total: row.speed}
  }
  return out
}

function llamaBench() {
  const text = execFileSync(path.join(bin, 'llama-bench'), ['-m', model, '-t', String(threads), '-p', '0', '-n', String(tg), '-d', depths.join(','), '-b', String(batch), '-ub', String(batch), '-r', String(reps), '-fa', '0', '-o', 'json'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env, maxBuffer: 64 << 20})
  return Object.fromEntries(JSON.parse(text).map((r) => [r.n_depth, r.avg_ts]))
}

function owbench(suiteFile, concurrency) {
  const out = path.join(work, `owbench-${path.basename(suiteFile)}`)
  const res = spawnSync(process.execPath, [path.join(root, 'bin', 'run.js'), 'run', '--model', model, '--suite', suiteFile, '--threads', String(threads), '--batch', String(batch), '--gpu', 'cpu', '--power', 'off', '--engine-build', engineBuild, '--concurrency', concurrency, '--json', '--out', out], {encoding: 'utf8', maxBuffer: 64 << 20})
  if (res.status !== 0) throw new Error(`owbench run failed: ${res.stderr.trim()}`)
  const result = parseResult(readFileSync(out, 'utf8'), out)
  return {cells: deriveResult(result).cells, engine: `${result.targets[0].engine.build}: ${result.targets[0].engine.systemInfo}`}
}

function owbenchBatched() {
  const {cells, engine} = owbench(batchedSuite, levels.join(','))
  const mean = (cell, name) => cell.metrics[name]?.repetitions?.mean
  const out = {engine}
  for (const pl of levels) {
    const cell = cells.find((c) => c.load.level === pl)
    out[pl] = {pp: mean(cell, 's_pp_tps'), tg: mean(cell, 's_tg_tps'), total: mean(cell, 's_tps')}
  }
  return out
}

function owbenchDepth() {
  const {cells} = owbench(depthSuite, '1')
  return Object.fromEntries(depths.map((d) => [d, cells.find((c) => c.test === `tg${tg}${d > 0 ? ` @ d${d}` : ''}`).metrics.tokens_per_second.repetitions.mean]))
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}
const measured = []
let engine = ''
for (let round = 0; round < rounds; round++) {
  const before = load()
  const first = round % 2 === 0
  // Alternate the order so a slow spell on the shared machine does not always hit the same tool.
  let lbb, lb, ob, od
  if (first) {
    lbb = llamaBatchedBench()
    ob = owbenchBatched()
    lb = llamaBench()
    od = owbenchDepth()
  } else {
    ob = owbenchBatched()
    lbb = llamaBatchedBench()
    od = owbenchDepth()
    lb = llamaBench()
  }
  engine = ob.engine
  measured.push({lbb, ob, lb, od, load: `${before} -> ${load()}`})
  console.error(`round ${round + 1}: ${levels.map((pl) => `S@${pl} ${lbb[pl].total.toFixed(1)}/${ob[pl].total.toFixed(1)}`).join(', ')}; ${depths.map((d) => `tg@d${d} ${lb[d].toFixed(1)}/${od[d].toFixed(1)}`).join(', ')}; load ${measured.at(-1).load}`)
}

console.log(`model ${path.basename(model)}, threads ${threads}, batch ${batch}, flash attention off, ${reps} repetitions per owbench level and llama-bench test, ${rounds} alternating rounds; figures are medians over rounds`)
console.log(`owbench engine ${engine}; llama.cpp tools: ${args['llama-build']} build in ${bin}`)
console.log(`| figure | llama.cpp | owbench | owbench / llama.cpp (median of rounds) | rounds (llama.cpp / owbench = ratio) |`)
console.log('| --- | ---: | ---: | ---: | --- |')
const row = (label, pairs) => {
  const ratios = pairs.map(([a, b]) => b / a)
  console.log(`| ${label} | ${median(pairs.map((p) => p[0])).toFixed(2)} | ${median(pairs.map((p) => p[1])).toFixed(2)} | ${median(ratios).toFixed(3)} | ${pairs.map(([a, b], i) => `${a.toFixed(1)} / ${b.toFixed(1)} = ${ratios[i].toFixed(3)}`).join('; ')} |`)
}
for (const pl of levels) {
  for (const [name, key] of [['S', 'total'], ['S_PP', 'pp'], ['S_TG', 'tg']]) {
    row(`${name} t/s, npp ${npp} ntg ${ntg} npl ${pl} (owbench ${pg} @c${pl})`, measured.map((m) => [m.lbb[pl][key], m.ob[pl][key]]))
  }
}
for (const d of depths) row(`tg${tg} @ d${d} t/s (llama-bench -d ${d})`, measured.map((m) => [m.lb[d], m.od[d]]))
console.log(`load average (1, 5, 15 min) before -> after each round: ${measured.map((m) => m.load).join('; ')}`)
