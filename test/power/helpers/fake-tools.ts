import fs from 'node:fs'
import path from 'node:path'

/**
 * Stand-ins for nvidia-smi, powermetrics, amd-smi and rocm-smi: small node scripts put on PATH
 * under the real names, so the real spawn code runs. Each checks the exact flags owbench passes
 * (exit 99 otherwise) and prints RECORDED output, configured through FAKE_* environment variables.
 * Error messages whose real wording was not recorded are marked "(fake)"; owbench does not parse
 * them. The unknown-field message is the one captured on driver 580 (fixtures/power/captured).
 */
export function installFakeTools(binDir: string): void {
  fs.mkdirSync(binDir, {recursive: true})
  const write = (name: string, body: string) => {
    const file = path.join(binDir, name)
    fs.writeFileSync(file, `#!${process.execPath}\n'use strict'\n${COMMON}\n${body}\n`)
    fs.chmodSync(file, 0o755)
  }
  write('nvidia-smi', NVIDIA_SMI)
  write('powermetrics', POWERMETRICS)
  write('amd-smi', AMD_TOOL('amd-smi', ['metric', '-p', '--json']))
  write('rocm-smi', AMD_TOOL('rocm-smi', ['--showpower', '--json']))
}

/** PATH with only the fake tools' directory and node's own (no real GPU tools can leak in). */
export function fakeEnv(binDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {PATH: `${binDir}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}/usr/bin${path.delimiter}/bin`, ...extra}
}

const COMMON = `
const fs = require('fs')
const args = process.argv.slice(2)
function die(message, code) { process.stderr.write(message + '\\n'); process.exit(code) }
`

const NVIDIA_SMI = `
const query = args.find((a) => a.startsWith('--query-gpu='))
const format = args.find((a) => a.startsWith('--format='))
const lms = args.indexOf('-lms')
if (!query || format !== '--format=csv,nounits') die('fake nvidia-smi: unexpected arguments: ' + args.join(' '), 99)
if (lms >= 0 && (!/^\\d+$/.test(args[lms + 1] || '') || args.length !== 4)) die('fake nvidia-smi: unexpected loop arguments: ' + args.join(' '), 99)
if (lms < 0 && args.length !== 2) die('fake nvidia-smi: unexpected arguments: ' + args.join(' '), 99)
const fields = query.slice('--query-gpu='.length).split(',')
if (process.env.FAKE_NVSMI_STDOUT_FAIL) { process.stdout.write(process.env.FAKE_NVSMI_STDOUT_FAIL + '\\n'); process.exit(2) }
// As captured on driver 580 for an unknown field: this message and exit code 2.
if (process.env.FAKE_NVSMI_REJECT_INSTANT && fields.includes('power.draw.instant')) die('Field "power.draw.instant" is not a valid field to query.', 2)
// FAKE_NVSMI_LOOP_FILE: a captured -lms loop, printed verbatim, rows spaced as their timestamps say.
if (process.env.FAKE_NVSMI_LOOP_FILE) {
  const lines = fs.readFileSync(process.env.FAKE_NVSMI_LOOP_FILE, 'utf8').split('\\n').filter((l) => l !== '')
  const names = lines[0].split(', ').map((h) => h.replace(/ \\[[^\\]]*\\]$/, ''))
  if (names.join(',') !== fields.join(',')) die('fake nvidia-smi: the capture holds ' + names.join(',') + ', not ' + fields.join(','), 99)
  process.stdout.write(lines[0] + '\\n')
  const at = lines.slice(1).map((l) => { const m = /(\\d\\d):(\\d\\d):(\\d\\d)\\.(\\d{3})/.exec(l); return ((+m[1] * 60 + +m[2]) * 60 + +m[3]) * 1000 + +m[4] })
  lines.slice(1).forEach((line, i) => setTimeout(() => process.stdout.write(line + '\\n'), at[i] - at[0]))
  setTimeout(() => process.exit(0), at[at.length - 1] - at[0] + 5000)
  return
}
// FAKE_NVSMI_GPUS: one recorded CSV per GPU, ';'-separated; 'a.csv|b.csv' alternates per loop.
function parse(file) {
  const lines = fs.readFileSync(file, 'utf8').split(/\\r?\\n/).filter((l) => l !== '')
  const header = lines[0].split(', ')
  const values = lines[1].split(', ')
  const byName = {}
  header.forEach((h, i) => { byName[h.replace(/ \\[[^\\]]*\\]$/, '')] = {header: h, value: values[i]} })
  return byName
}
const gpus = (process.env.FAKE_NVSMI_GPUS || '').split(';').map((list) => list.split('|').map(parse))
for (const f of fields) if (!gpus[0][0][f]) die('Field "' + f + '" is not a valid field to query.', 2)
const pad = (n, w = 2) => String(n).padStart(w, '0')
function timestamp() {
  const d = new Date()
  return d.getFullYear() + '/' + pad(d.getMonth() + 1) + '/' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3)
}
// --format=csv,nounits: the header keeps its unit brackets, the values lose their units.
const unitless = (v) => v.startsWith('[') ? v : v.replace(/ (W|%|MiB|MHz)$/, '')
process.stdout.write(fields.map((f) => gpus[0][0][f].header).join(', ') + '\\n')
let loop = 0
const exitAfter = Number(process.env.FAKE_NVSMI_EXIT_AFTER || 0)
function tick() {
  if (exitAfter && loop >= exitAfter) die('(fake) Unable to determine the device handle for GPU 0: Unknown Error', Number(process.env.FAKE_NVSMI_EXIT_CODE || 15))
  const ts = timestamp()
  gpus.forEach((files, index) => {
    const rec = files[loop % files.length]
    process.stdout.write(fields.map((f) => f === 'index' ? String(index) : f === 'timestamp' ? ts : unitless(rec[f].value)).join(', ') + '\\n')
  })
  loop++
}
tick()
if (lms >= 0) setInterval(tick, Number(args[lms + 1]))
`

const POWERMETRICS = `
const expected = ['--samplers', 'cpu_power,gpu_power', '-i', args[3], '-b', '1']
if (args.length !== 6 || args.some((a, i) => a !== expected[i]) || !/^\\d+$/.test(args[3] || '')) die('fake powermetrics: unexpected arguments: ' + args.join(' '), 99)
if (process.env.FAKE_PM_NOT_ROOT) die('(fake) powermetrics must be invoked as the superuser', 1)
const lines = fs.readFileSync(process.env.FAKE_PM_FILE, 'utf8').split('\\n')
const starts = lines.map((l, i) => (l.startsWith('*** Sampled system activity') ? i : -1)).filter((i) => i >= 0)
const preamble = lines.slice(0, starts[0]).join('\\n') + '\\n'
const samples = starts.map((s, k) => lines.slice(s, starts[k + 1] ?? lines.length).join('\\n') + '\\n')
const elapsed = samples.map((s) => Number(/\\((\\d+(?:\\.\\d+)?)ms elapsed\\)/.exec(s)[1]))
const exitAfter = Number(process.env.FAKE_PM_EXIT_AFTER || 0)
process.stdout.write(preamble)
let k = 0
function next() {
  const i = k % samples.length
  // Like the real tool: a sample is printed when its span has elapsed.
  setTimeout(() => {
    process.stdout.write(samples[i])
    k++
    if (exitAfter && k >= exitAfter) die('(fake) powermetrics stopped', Number(process.env.FAKE_PM_EXIT_CODE || 1))
    if (k < samples.length || process.env.FAKE_PM_LOOP) next()
  }, elapsed[i])
}
next()
setInterval(() => {}, 1 << 30)
`

function AMD_TOOL(name: string, expected: string[]): string {
  return `
const expected = ${JSON.stringify(expected)}
if (args.length !== expected.length || args.some((a, i) => a !== expected[i])) die('fake ${name}: unexpected arguments: ' + args.join(' '), 99)
const state = process.env.FAKE_AMD_STATE
let calls = 0
if (state) { calls = fs.existsSync(state) ? Number(fs.readFileSync(state, 'utf8')) : 0; fs.writeFileSync(state, String(calls + 1)) }
const failAfter = Number(process.env.FAKE_AMD_FAIL_AFTER || 0)
if (failAfter && calls >= failAfter) die('(fake) ${name} failed', 1)
// FAKE_AMD_FILES: recorded outputs, one per call in turn.
const files = (process.env.FAKE_AMD_FILES || '').split('|')
process.stdout.write(fs.readFileSync(files[calls % files.length], 'utf8'))
`
}
