import path from 'node:path'
import {parseCsv} from '../../src/cost/csv-table.js'
import {describe, expect, it} from 'vitest'
import {answerOf, loadAnswerReferences} from '../../src/cost/answer.js'
import {deriveResult} from '../../src/derive/derive.js'
import {exportCsv} from '../../src/report/csv.js'
import {exportHtml} from '../../src/report/html.js'
import {exportMarkdown} from '../../src/report/markdown.js'
import {renderRunTable} from '../../src/report/terminal-table.js'
import {readResult} from '../../src/results/io.js'
import type {ResultFile, Target} from '../../src/results/schema.js'
import {repoRoot} from '../helpers/cli.js'
import {handResult, localTarget, request, run} from '../helpers/result-builder.js'

/** The default synthetic model's bytes per token, tg64 at 400 tokens/s three times, a 36 GB/s probe. */
function withLimit(msPerRequest = 160): ResultFile {
  const base = localTarget() as Extract<Target, {kind: 'local'}>
  const target: Target = {...base, model: {...base.model, bytesPerToken: {weightBytes: 29_559_328, tensorBytes: 31_787_008, kvBytesPerPosition: 16_384, layers: 8, method: 'm'}}}
  const runs = [0, 1, 2].map((rep) => run('local', 'tg64', rep, [request(rep * 1000, {nPrompt: 1, nOut: 64, ttft: msPerRequest / 64, tpot: msPerRequest / 64})]))
  const result = handResult([target], runs)
  return {...result, host: {...result.host, memoryBandwidth: {probe: {triadGBs: 36, threads: 2, arrayMiB: 256, passes: 10, method: 'STREAM triad, Float64Array per worker thread, best pass'}, published: []}}}
}

describe('the speed-of-light column and sweeps in every renderer', () => {
  it('the run table shows % BW limit for tg rows, the limit under it, and flags an implausible row', () => {
    // 30,091,808 bytes x 400 tokens/s = 12.04 GB/s of 36: 33.44%.
    const table = renderRunTable(withLimit())
    expect(table).toMatch(/\| +% BW limit \| reps \|/)
    expect(table).toMatch(/\| tg64 +\| +400\.00 ± 0\.00 \|.*\| +33\.44% \| +3 \|/)
    expect(table).toContain('- local: bandwidth limit 36.00 GB/s (STREAM triad probe on 2 threads, measured)')
    // 64 tokens in 40 ms: 1600 tokens/s, 133.74% of the limit.
    const fast = renderRunTable(withLimit(40))
    expect(fast).toMatch(/\| +133\.74% implausible \|/)
    expect(fast).toContain('- local tg64: IMPLAUSIBLE: 48.15 GB/s achieved is 133.74% of the 36.00 GB/s limit; the bytes per token or the speed is wrong (owbench publish refuses it without --allow-implausible)')
  })

  it('CSV carries the figure, the limit and its source, or why it is missing', () => {
    const rows = (result: ResultFile) => parseCsv(exportCsv([result]), 'export').rows.map((r) => r.cells)
    const [row] = rows(withLimit())
    expect(Number(row!.bw_limit_pct)).toBeCloseTo((30_091_808 * 400) / 1e9 / 36 * 100, 9)
    expect(Number(row!.bw_achieved_gbs)).toBeCloseTo(12.0367232, 9)
    expect(row).toMatchObject({bw_limit_gbs: '36', bw_limit_source: 'probe: STREAM triad probe on 2 threads', bytes_per_token: '30091808', bw_implausible: 'false', bw_missing: ''})
    const [missing] = rows(handResult([localTarget()], withLimit().runs))
    expect(missing).toMatchObject({bw_limit_pct: '', bw_missing: 'this result does not record the bytes a token reads (run before owbench computed them)'})
  })

  it('the HTML and Markdown reports show the column and each sweep, and open with the answer', async () => {
    const html = exportHtml([withLimit()])
    expect(html).toContain('<th>% BW limit</th>')
    expect(html).toContain('<td class="num">33.44%</td>')
    const sweep = await readResult(path.join(repoRoot, 'fixtures', 'results', 'sweep', 'llama-server-np8-concurrency-sweep.json'))
    const [summary] = deriveResult(sweep).sweeps!
    // The sweep's own record: doubling 1..16, then c6 and c12 between the last doublings.
    expect(sweep.sweeps![0]!.steps.map((s) => `${s.stage}:${s.load.mode === 'concurrency' ? s.load.level : s.load.rps}`)).toEqual(['start:1', 'double:2', 'double:4', 'double:8', 'double:16', 'fill:6', 'fill:12'])
    expect(summary!.stop!.code).toBe('saturated')
    const sweepHtml = exportHtml([sweep])
    expect(sweepHtml).toMatch(/<li class="sweep">llama-server-np8 tg32 concurrency sweep: start: c1 [\d.]+ tok\/s, TTFT [\d.]+ ms; doubling: c2 .*; filled in: c6 .*stopped \(saturated\): throughput stopped growing at c16/)
    const references = await loadAnswerReferences()
    const md = exportMarkdown([sweep], {answers: [answerOf(sweep, undefined, references)]})
    const answerAt = md.indexOf('**The answer first.** owbench-synthetic-tiny @ 127.0.0.1:18931 on tg32: generates')
    expect(answerAt).toBeGreaterThan(0)
    expect(answerAt).toBeLessThan(md.indexOf('| model'))
  })
})
