#!/usr/bin/env node
// The endpoint client's own cost, on loopback (a benchmark, not a test: read the figures).
// 1. Parse rate: a server in another process streams SSE chunks as fast as it can; owbench's
//    endpoint engine parses and records them. Goal: at least 20,000 tokens/s on one client core.
// 2. TTFT overhead: owbench's TTFT minus llama-server's own prompt time (timings.prompt_ms) for
//    the same requests. Goal: under 2 ms median.
// Usage: npm run bench:client -- [--tokens 200000] [--requests 40]
import {execFileSync, spawn} from 'node:child_process'
import path from 'node:path'
import {parseArgs} from 'node:util'
import {createEndpointEngine} from '../dist/engines/openai.js'
import {requestMetrics} from '../dist/metrics/request-metrics.js'
import {ensureSyntheticModel} from '../dist/model/synthetic-model.js'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const {values: args} = parseArgs({options: {tokens: {type: 'string', default: '200000'}, requests: {type: 'string', default: '40'}}})
const tokens = Number(args.tokens)
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

// The SSE server runs in its own process so the client's core is measured alone.
const serverScript = `
const http = require('node:http')
const n = Number(process.argv[1])
const line = (t) => 'data: ' + JSON.stringify({id: 'cmpl-1', object: 'text_completion', choices: [{text: ' tok' + (t % 10), index: 0, finish_reason: null}]}) + '\\n\\n'
const pieces = []
for (let i = 0; i < 1000; i++) pieces.push(line(i))
const block = pieces.join('')
const tail = 'data: ' + JSON.stringify({choices: [{text: '', finish_reason: 'length'}], usage: {prompt_tokens: 4, completion_tokens: n}}) + '\\n\\ndata: [DONE]\\n\\n'
http.createServer((req, res) => {
  let body = ''
  req.on('data', (d) => (body += d))
  req.on('end', async () => {
    if (req.method !== 'POST') { res.writeHead(404); return res.end() }
    if (!JSON.parse(body).stream) { res.writeHead(200, {'content-type': 'application/json'}); return res.end('{"choices":[{"text":"x"}]}') }
    res.writeHead(200, {'content-type': 'text/event-stream'})
    for (let sent = 0; sent < n; sent += 1000) if (!res.write(block)) await new Promise((r) => res.once('drain', r))
    res.end(tail)
  })
}).listen(0, '127.0.0.1', function () { process.stdout.write(String(this.address().port) + '\\n') })
`
const child = spawn(process.execPath, ['-e', serverScript, String(tokens)], {stdio: ['ignore', 'pipe', 'inherit']})
const port = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d).trim()))))
const engine = await createEndpointEngine({id: 'blast', baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm', ignoreEos: true, timeoutMs: 600_000})
const results = []
for (let round = 0; round < 3; round++) {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const r = await engine.execute({kind: 'tg', nGen: tokens, seed: round}, {clock: () => performance.now()})
  const wall = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  if (r.error || r.chunks.length !== tokens) throw new Error(`parse run failed: ${r.error ?? r.chunks.length}`)
  results.push({rate: (r.chunks.length * 1000) / wall, cpuUsPerToken: (cpu.user + cpu.system) / r.chunks.length})
}
child.kill()
const best = median(results.map((r) => r.rate))
console.log(`client parse rate: median ${best.toFixed(0)} tokens/s over 3 streams of ${tokens} chunks (client CPU ${median(results.map((r) => r.cpuUsPerToken)).toFixed(2)} µs per token); goal >= 20000`)

// TTFT overhead against llama-server on the default synthetic model.
const bin = execFileSync('bash', [path.join(root, 'scripts', 'build-llama-cpp.sh'), 'native', 'llama-server'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']}).trim()
const model = await ensureSyntheticModel('default')
const lsPort = 18000 + Math.floor(Math.random() * 1000)
const server = spawn(path.join(bin, 'llama-server'), ['-m', model.path, '--host', '127.0.0.1', '--port', String(lsPort), '-t', '1', '-c', '2048', '-np', '1', '--no-webui'], {stdio: 'ignore'})
try {
  for (let i = 0; i < 300; i++) {
    if (await fetch(`http://127.0.0.1:${lsPort}/health`).then((r) => r.ok, () => false)) break
    await new Promise((r) => setTimeout(r, 200))
  }
  const ls = await createEndpointEngine({id: 'ls', baseUrl: `http://127.0.0.1:${lsPort}/v1`, model: 'm', ignoreEos: true, timeoutMs: 60_000})
  const overheads = []
  const rawOverheads = []
  for (let i = 0; i < Number(args.requests); i++) {
    // Alternate owbench's engine with a bare node:http client that only finds the first "text"
    // byte: what the bare client also sees is the server's, not owbench's.
    const r = await ls.execute({kind: 'pg', nPrompt: 64, nGen: 4, seed: i}, {clock: () => performance.now()})
    if (r.error) throw new Error(r.error)
    overheads.push(requestMetrics(r).ttftMs - r.serverTimings.prompt_ms)
    rawOverheads.push(await rawFirstToken(lsPort, i))
  }
  const ours = median(overheads)
  const raw = median(rawOverheads)
  console.log(`TTFT - llama-server prompt_ms: owbench median ${ours.toFixed(3)} ms (min ${Math.min(...overheads).toFixed(3)}, max ${Math.max(...overheads).toFixed(3)}); bare node:http client median ${raw.toFixed(3)} ms; owbench's own share ${(ours - raw).toFixed(3)} ms; ${overheads.length} requests, 64-token prompts, default synthetic model; goal < 2 ms`)
} finally {
  server.kill()
}

async function rawFirstToken(port, seed) {
  const {request} = await import('node:http')
  const prompt = `[raw${seed}x${Math.random().toString(36).slice(2)}] ` + 'the of and to in is it you that he '.repeat(6)
  const body = JSON.stringify({model: 'm', prompt, max_tokens: 4, stream: true, ignore_eos: true})
  return new Promise((resolve, reject) => {
    let first
    let text = ''
    const t0 = performance.now()
    const req = request({host: '127.0.0.1', port, path: '/v1/completions', method: 'POST', headers: {'content-type': 'application/json'}}, (res) => {
      res.on('data', (d) => {
        if (first === undefined && d.includes('"text":"')) first = performance.now() - t0
        text += d
      })
      res.on('end', () => resolve(first - Number(/"prompt_ms":([0-9.]+)/.exec(text)[1])))
    })
    req.on('error', reject)
    req.end(body)
  })
}
