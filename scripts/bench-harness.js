#!/usr/bin/env node
// Harness overhead benchmark: owbench's local engine vs llama.cpp's own llama-bench on the same
// model, threads, batch and context, for each engine build:
//   prebuilt owbench engine (node-llama-cpp's npm binary)   vs  llama-bench built the same way (portable)
//   local owbench engine (`owbench setup`, native+OpenMP)   vs  llama-bench built natively
// on each model of scripts/harness-models.js (the synthetic default, and a Q4_K_M model with Llama 2's
// real tokenizer). Rounds alternate which tool runs first; each round gives a ratio owbench /
// llama-bench per test, and the table shows every round and the median ratio. Goal: >= 0.95.
// Not a test: this machine is shared and noisy, so it prints the load average beside every round.
// Usage: npm run bench:harness -- [--threads 1] [--reps 5] [--rounds 3] [--pp 512] [--tg 128]
//          [--models default,spm-q4_k_m | --model PATH] [--builds prebuilt,local]
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {parseArgs} from 'node:util'
import {deriveResult} from '../dist/derive/derive.js'
import {parseResult} from '../dist/results/io.js'
import {HARNESS_MODELS, harnessModel} from './harness-models.js'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const {values: args} = parseArgs({
  options: {
    threads: {type: 'string', default: '1'},
    reps: {type: 'string', default: '5'},
    rounds: {type: 'string', default: '3'},
    pp: {type: 'string', default: '512'},
    tg: {type: 'string', default: '128'},
    batch: {type: 'string', default: '512'},
    model: {type: 'string'},
    models: {type: 'string', default: HARNESS_MODELS.join(',')},
    builds: {type: 'string', default: 'prebuilt,local'},
  },
})
const threads = Number(args.threads)
const reps = Number(args.reps)
const rounds = Number(args.rounds)
const pp = Number(args.pp)
const tg = Number(args.tg)
const batch = Number(args.batch)
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ')

function llamaCppBin(variant, target) {
  return execFileSync('bash', [path.join(root, 'scripts', 'build-llama-cpp.sh'), variant, target], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']}).trim()
}

const models = args.model ? [args.model] : await Promise.all(args.models.split(',').map((name) => harnessModel(name, {quantizeBin: name === 'default' ? undefined : llamaCppBin('portable', 'llama-quantize'), log: (m) => console.error(m)})))
const work = mkdtempSync(path.join(os.tmpdir(), 'owbench-harness-'))
const suiteFile = path.join(work, 'harness.json')
writeFileSync(suiteFile, JSON.stringify({name: 'harness', version: '1.0.0', description: 'llama-bench defaults', repetitions: reps, warmup: 1, tests: [`pp ${pp}`, `tg ${tg}`]}))

function runLlamaBench(bin, model) {
  const out = execFileSync(path.join(bin, 'llama-bench'), ['-m', model, '-t', String(threads), '-p', String(pp), '-n', String(tg), '-b', String(batch), '-ub', String(batch), '-r', String(reps), '-fa', '0', '-o', 'json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
    // The portable build is shared: its libraries and CPU kernels sit next to the binary.
    env: {...process.env, LD_LIBRARY_PATH: [bin, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':')},
  })
  const rows = JSON.parse(out)
  const pick = (p, g) => rows.find((r) => r.n_prompt === p && r.n_gen === g)
  return {pp: pick(pp, 0).avg_ts, tg: pick(0, tg).avg_ts, best: {pp: Math.max(...pick(pp, 0).samples_ts), tg: Math.max(...pick(0, tg).samples_ts)}, systemInfo: rows[0].cpu_info + ' | ' + (rows[0].backends ?? '')}
}

// No --ctx: each test gets its own context of n_prompt + n_gen tokens, as llama-bench makes one per test.
function runOwbench(build, model) {
  const out = path.join(work, `owbench-${build}.json`)
  const res = spawnSync(process.execPath, [path.join(root, 'bin', 'run.js'), 'run', '--model', model, '--suite', suiteFile, '--threads', String(threads), '--batch', String(batch), '--gpu', 'cpu', '--engine-build', build, '--power', 'off', '--json', '--out', out], {encoding: 'utf8', maxBuffer: 64 << 20})
  if (res.status !== 0) throw new Error(`owbench run (${build}) failed: ${res.stderr.trim()}`)
  const result = parseResult(readFileSync(out, 'utf8'), out)
  const cells = deriveResult(result).cells
  const stats = (test) => cells.find((s) => s.test === test).metrics.tokens_per_second.repetitions
  return {pp: stats(`pp${pp}`).mean, tg: stats(`tg${tg}`).mean, best: {pp: stats(`pp${pp}`).max, tg: stats(`tg${tg}`).max}, build: result.targets[0].engine.build, systemInfo: result.targets[0].engine.systemInfo}
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}
const pairs = {prebuilt: 'portable', local: 'native'}
const rows = []
for (const model of models) {
  for (const build of args.builds.split(',')) {
    const variant = pairs[build]
    const bin = llamaCppBin(variant, 'llama-bench')
    const measured = []
    for (let round = 0; round < rounds; round++) {
      const before = load()
      // Alternate the order so a slow spell on the shared machine does not always hit the same tool.
      let lb, ow
      if (round % 2 === 0) {
        lb = runLlamaBench(bin, model)
        ow = runOwbench(build, model)
      } else {
        ow = runOwbench(build, model)
        lb = runLlamaBench(bin, model)
      }
      measured.push({lb, ow, load: `${before} -> ${load()}`})
      console.error(`${path.basename(model)} ${build} round ${round + 1}: pp llama-bench ${lb.pp.toFixed(2)} owbench ${ow.pp.toFixed(2)} (${(ow.pp / lb.pp).toFixed(3)}), tg llama-bench ${lb.tg.toFixed(2)} owbench ${ow.tg.toFixed(2)} (${(ow.tg / lb.tg).toFixed(3)}); load ${measured.at(-1).load}`)
    }
    if (measured[0].ow.build !== (build === 'local' ? 'localBuild' : 'prebuilt')) {
      console.error(`note: --engine-build ${build} loaded the ${measured[0].ow.build} engine (run \`owbench setup\` to make a local build)`)
    }
    console.error(`owbench ${build}: ${measured[0].ow.systemInfo}\nllama-bench ${variant}: ${measured[0].lb.systemInfo}`)
    for (const test of ['pp', 'tg']) {
      const ratios = measured.map((m) => m.ow[test] / m.lb[test])
      rows.push({
        model: path.basename(model),
        build: `${build} vs llama-bench ${variant}`,
        test: test === 'pp' ? `pp${pp}` : `tg${tg}`,
        rounds: measured.map((m, i) => `${m.lb[test].toFixed(1)} / ${m.ow[test].toFixed(1)} = ${ratios[i].toFixed(3)}`).join('; '),
        llamaBench: median(measured.map((m) => m.lb[test])),
        owbench: median(measured.map((m) => m.ow[test])),
        ratio: median(ratios),
        // Noise on a shared machine only ever slows a repetition down: the fastest of all rounds is the least disturbed.
        best: Math.max(...measured.map((m) => m.ow.best[test])) / Math.max(...measured.map((m) => m.lb.best[test])),
        loads: measured.map((m) => m.load).join('; '),
      })
    }
  }
}

console.log(`threads ${threads}, batch ${batch}, ${reps} repetitions per round, ${rounds} alternating rounds; t/s are means of the repetitions, figures the median over rounds`)
console.log('| model | engine build | test | llama-bench t/s | owbench t/s | owbench / llama-bench (median) | fastest repetitions, owbench / llama-bench | rounds (llama-bench / owbench = ratio) | load average (1, 5, 15 min) before -> after each round |')
console.log('| --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- |')
for (const r of rows) console.log(`| ${r.model} | ${r.build} | ${r.test} | ${r.llamaBench.toFixed(2)} | ${r.owbench.toFixed(2)} | ${r.ratio.toFixed(3)} | ${r.best.toFixed(3)} | ${r.rounds} | ${r.loads} |`)
