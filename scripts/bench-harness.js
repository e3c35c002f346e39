#!/usr/bin/env node
// Harness overhead benchmark: owbench's local engine vs llama.cpp's own llama-bench on the same
// generated model, threads, batch and context, for each engine build:
//   prebuilt owbench engine (node-llama-cpp's npm binary)   vs  llama-bench built the same way (portable)
//   local owbench engine (`owbench setup`, native+OpenMP)   vs  llama-bench built natively
// Prints pp and tg tokens/s of both and their ratio (owbench / llama-bench). Goal: tg within 5%,
// pp within 10%. Not a test: this machine is shared and noisy, so read the figures, not a verdict.
// Usage: npm run bench:harness -- [--threads 1] [--reps 5] [--rounds 2] [--pp 512] [--tg 128] [--model PATH]
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {parseArgs} from 'node:util'
import {deriveResult} from '../dist/derive/derive.js'
import {ensureSyntheticModel} from '../dist/model/synthetic-model.js'
import {parseResult} from '../dist/results/io.js'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const {values: args} = parseArgs({
  options: {
    threads: {type: 'string', default: '1'},
    reps: {type: 'string', default: '5'},
    rounds: {type: 'string', default: '2'},
    pp: {type: 'string', default: '512'},
    tg: {type: 'string', default: '128'},
    batch: {type: 'string', default: '512'},
    model: {type: 'string'},
    builds: {type: 'string', default: 'prebuilt,local'},
  },
})
const threads = Number(args.threads)
const reps = Number(args.reps)
const rounds = Number(args.rounds)
const pp = Number(args.pp)
const tg = Number(args.tg)
const batch = Number(args.batch)

const model = args.model ?? (await ensureSyntheticModel('default', {onProgress: (m) => console.error(m)})).path
const work = mkdtempSync(path.join(os.tmpdir(), 'owbench-harness-'))
const suiteFile = path.join(work, 'harness.json')
writeFileSync(suiteFile, JSON.stringify({name: 'harness', version: '1.0.0', description: 'llama-bench defaults', repetitions: reps, warmup: 1, tests: [`pp ${pp}`, `tg ${tg}`]}))

function llamaBenchBin(variant) {
  return execFileSync('bash', [path.join(root, 'scripts', 'build-llama-cpp.sh'), variant, 'llama-bench'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']}).trim()
}

function runLlamaBench(bin) {
  const out = execFileSync(path.join(bin, 'llama-bench'), ['-m', model, '-t', String(threads), '-p', String(pp), '-n', String(tg), '-b', String(batch), '-ub', String(batch), '-r', String(reps), '-fa', '0', '-o', 'json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
    // The portable build is shared: its libraries and CPU kernels sit next to the binary.
    env: {...process.env, LD_LIBRARY_PATH: [bin, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':')},
  })
  const rows = JSON.parse(out)
  const pick = (p, g) => rows.find((r) => r.n_prompt === p && r.n_gen === g)
  return {pp: pick(pp, 0).avg_ts, tg: pick(0, tg).avg_ts, systemInfo: rows[0].cpu_info + ' | ' + (rows[0].backends ?? '')}
}

function runOwbench(build) {
  const out = path.join(work, `owbench-${build}.json`)
  const res = spawnSync(process.execPath, [path.join(root, 'bin', 'run.js'), 'run', '--model', model, '--suite', suiteFile, '--threads', String(threads), '--batch', String(batch), '--ctx', String(Math.max(pp, tg + 1)), '--gpu', 'cpu', '--engine-build', build, '--json', '--out', out], {encoding: 'utf8', maxBuffer: 64 << 20})
  if (res.status !== 0) throw new Error(`owbench run (${build}) failed: ${res.stderr.trim()}`)
  const result = parseResult(readFileSync(out, 'utf8'), out)
  const rate = (test) => deriveResult(result).cells.find((s) => s.test === test).metrics.tokens_per_second.repetitions.mean
  return {pp: rate(`pp${pp}`), tg: rate(`tg${tg}`), build: result.targets[0].engine.build, systemInfo: result.targets[0].engine.systemInfo}
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
const pairs = {prebuilt: 'portable', local: 'native'}
const rows = []
for (const build of args.builds.split(',')) {
  const variant = pairs[build]
  const bin = llamaBenchBin(variant)
  const lb = []
  const ow = []
  for (let round = 0; round < rounds; round++) {
    // Alternate the order so a slow spell on the shared machine does not always hit the same tool.
    if (round % 2 === 0) {
      lb.push(runLlamaBench(bin))
      ow.push(runOwbench(build))
    } else {
      ow.push(runOwbench(build))
      lb.push(runLlamaBench(bin))
    }
  }
  if (ow[0].build !== (build === 'local' ? 'localBuild' : 'prebuilt')) {
    console.error(`note: --engine-build ${build} loaded the ${ow[0].build} engine (run \`owbench setup\` to make a local build)`)
  }
  console.error(`owbench ${build}: ${ow[0].systemInfo}\nllama-bench ${variant}: ${lb[0].systemInfo}`)
  for (const test of ['pp', 'tg']) {
    const a = mean(ow.map((r) => r[test]))
    const b = mean(lb.map((r) => r[test]))
    rows.push({build: `${build} vs llama-bench ${variant}`, test: test === 'pp' ? `pp${pp}` : `tg${tg}`, llamaBench: b, owbench: a, ratio: a / b})
  }
}

console.log(`model ${path.basename(model)}, threads ${threads}, batch ${batch}, ${reps} repetitions x ${rounds} rounds`)
console.log('| engine build | test | llama-bench t/s | owbench t/s | owbench / llama-bench | extra ms per token |')
console.log('| --- | --- | ---: | ---: | ---: | ---: |')
// The harness's own cost per token: what owbench spends beyond llama-bench's time for the same token.
for (const r of rows) console.log(`| ${r.build} | ${r.test} | ${r.llamaBench.toFixed(2)} | ${r.owbench.toFixed(2)} | ${r.ratio.toFixed(3)} | ${(1000 / r.owbench - 1000 / r.llamaBench).toFixed(3)} |`)
