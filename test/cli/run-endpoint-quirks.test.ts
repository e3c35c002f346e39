import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {parseCsv} from '../../src/cost/csv-table.js'
import {parseResult} from '../../src/results/io.js'
import {owbench, repoRoot} from '../helpers/cli.js'
import {loadRecording, type ReplayServer, startReplayServer} from '../helpers/replay-server.js'

// `owbench run` (the built CLI) against servers that replay the field cases and owbench's own
// recordings byte for byte: a vLLM with multi-token chunks and a reasoning model, an Ollama that
// accepts ignore_eos and stops early anyway, and an Azure-style server rejecting stream_options.
// Nothing measured is lost, no case ends as "every request failed", and what each case does to
// the figures is shown where the user reads them: the run's table and `owbench report`.
const recording = (name: string) => loadRecording(path.join(repoRoot, 'fixtures', 'endpoint-streams', name))

describe('owbench run against streams as real servers send them', () => {
  it('shows TTFA and reasoning, marks short rows with n_out of n_asked and the finish reason, flags the target and the fallback, labels ITL per chunk', async () => {
    const servers: ReplayServer[] = []
    try {
      const vllm = await startReplayServer([{recording: await recording('vllm-models.get.json')}, {recording: await recording('vllm-usage-total.completions.json')}, {recording: await recording('field-cases/reasoning-field.chat.json')}])
      const ollama = await startReplayServer([{recording: await recording('field-cases/eos-early.chat.json')}])
      const azure = await startReplayServer([{recording: await recording('field-cases/stream-options-400.chat.json'), when: (body) => 'stream_options' in body}, {recording: await recording('azure-no-stream-options.chat.json')}])
      servers.push(vllm, ollama, azure)
      const dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-quirks-'))
      await writeFile(path.join(dir, 'owbench.config.json'), JSON.stringify({targets: {vllm: {baseUrl: vllm.baseUrl, model: 'gpt-oss-20b'}, ollama: {baseUrl: ollama.baseUrl, model: 'llama3.2:1b'}, azure: {baseUrl: azure.baseUrl, model: 'gpt-4o-mini'}}}))
      await writeFile(path.join(dir, 'suite.json'), JSON.stringify({name: 'quirks', version: '1.0.0', description: 'd', repetitions: 2, warmup: 0, tests: ['tg 12', {kind: 'chat', id: 'chat8', messages: [{role: 'user', content: 'Say something.'}], maxTokens: 8, ignoreEos: true}]}))
      const out = path.join(dir, 'result.json')
      const run = await owbench(['run', '--suite', 'suite.json', '--target', 'vllm', '--target', 'ollama', '--target', 'azure', '--power', 'off', '--out', out], {cwd: dir})
      expect(run.code, run.stderr).toBe(0)
      const result = parseResult(await readFile(out, 'utf8'), out)
      expect(result.state).toBe('completed')
      // Every request of every target measured: none failed.
      expect(result.runs.flatMap((r) => r.requests).filter((q) => q.error)).toEqual([])
      const line = (model: string, test: string) => run.stdout.split('\n').find((l) => l.startsWith(`| ${model} `) && l.includes(`| ${test} `))!
      // Ollama: 3 of 12 (and 3 of 8) tokens, finish_reason stop: no t/s as a tg12 figure.
      expect(line('llama3.2:1b', 'tg12 (short)')).toMatch(/\| +short: 3 of 12 tokens, finish_reason stop \|/)
      expect(line('llama3.2:1b', 'chat8 (short)')).toMatch(/\| +short: 3 of 8 tokens, finish_reason stop \|/)
      expect(run.stdout).not.toMatch(/\| llama3\.2:1b [^\n]*\| tg12 +\|/)
      // The reasoning model: TTFT at the first reasoning token (79.9 ms recorded), TTFA at the first answer token (143.2 ms).
      const cells = (l: string) => l.split('|').slice(1, -1).map((c) => c.trim())
      const header = cells(run.stdout.split('\n').find((l) => l.startsWith('| model '))!)
      const chat = cells(line('gpt-oss-20b', 'chat8'))
      const ttft = Number(chat[header.indexOf('TTFT ms')])
      expect(ttft).toBeGreaterThanOrEqual(79.4)
      expect(Number(chat[header.indexOf('TTFA ms')]) - ttft).toBeGreaterThan(40)
      expect(chat[header.indexOf('reasoning')]).toBe('75.00% (6.00 per request, usage)')
      expect(run.stdout).toContain('- vllm tg12: ITL per chunk: the server counted more tokens than token-bearing chunks in 2 requests (multi-token chunks)')
      expect(run.stdout).toContain('- ollama: accepted ignore_eos but did not honour it (3 of 12 tokens, finish_reason "stop"): output lengths are the model\'s, not the suite\'s')
      expect(run.stdout).toContain('- azure: the server rejected stream_options (first request, re-sent): sent without it; token counts come from counting streamed chunks, the prompt size is unknown')
      // The same from the file, in the CSV report.
      const csv = await owbench(['report', out, '--format', 'csv', '--out', '-'], {cwd: dir})
      expect(csv.code, csv.stderr).toBe(0)
      const rows = parseCsv(csv.stdout, 'report.csv').rows.map((r) => r.cells)
      const tg12 = rows.find((r) => r.target === 'ollama' && r.test === 'tg12' && r.load === 'c1')!
      expect([tg12.short_requests, tg12.n_asked, tg12.n_out_min, tg12.finish_reasons, tg12.tps_mean, tg12.tpot_ms_median]).toEqual(['2', '12', '3', 'stop:2', '', ''])
      expect(rows.find((r) => r.target === 'vllm' && r.test === 'tg12')!.itl_basis).toBe('chunk')
      expect(rows.find((r) => r.target === 'vllm' && r.test === 'chat8')!.reasoning_tokens).toBe('12')
    } finally {
      await Promise.all(servers.map((s) => s.close()))
    }
  }, 120_000)
})
