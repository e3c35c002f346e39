import {beforeAll, describe, expect, it} from 'vitest'
import {CSV_COLUMNS, exportCsv} from '../../src/report/csv.js'
import {DEFINITIONS} from '../../src/report/definitions.js'
import {exportMarkdown} from '../../src/report/markdown.js'
import {exportHtml} from '../../src/report/html.js'
import {deriveResult} from '../../src/derive/derive.js'
import type {ResultFile} from '../../src/results/schema.js'
import {fakeRunResult} from '../helpers/report-fixture.js'
import {endpointTarget, handResult, localTarget, request, run} from '../helpers/result-builder.js'
import {promptCountNotes} from '../../src/report/figure-notes.js'
import {renderRunTable} from '../../src/report/terminal-table.js'

function fixtureResult(suite: string, date: string): Promise<ResultFile> {
  return fakeRunResult({suite, date})
}

let quick: ResultFile
let standard: ResultFile

beforeAll(async () => {
  quick = await fixtureResult('quick', '2026-11-01T10:00:00.000Z')
  standard = await fixtureResult('standard', '2026-11-02T10:00:00.000Z')
})

function parseCsv(text: string): string[][] {
  // The fixture has no quoted commas except in the labels column, which is last.
  return text.trim().split('\n').map((line) => line.split(','))
}

describe('exports', () => {
  it('CSV: one row per test per target and load level, every documented column, values from the raw timings', () => {
    const lines = parseCsv(exportCsv([quick]))
    expect(lines[0]).toEqual([...CSV_COLUMNS])
    expect(lines).toHaveLength(1 + 4)
    const row = Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, lines[1 + 1]![i]]))
    expect(row).toMatchObject({test: 'tg64', kind: 'tg', target: 'local', model: 'fake', quantization: 'Q8_0', engine_build: 'prebuilt', backend: 'cpu', threads: '1', repetitions: '3', requests: '3', n_prompt: '1', n_out: '64'})
    // The fake engine: 0.5 ms prompt token + 64 x 10 ms: 64 tokens in 640.5 ms.
    expect(Number(row.tps_mean)).toBeCloseTo(64_000 / 640.5, 10)
    expect(row).toMatchObject({load: 'c1', concurrency: '1', tps_request_mean: row.tps_mean})
    expect(Number(row.tpot_ms_median)).toBe(10)
    expect(Number(row.ttft_ms_median)).toBe(10.5)
    expect(row.j_per_token).toBe('')
  })

  it('Markdown: a table per result, a comparison on shared tests only, and says which were left out', () => {
    const md = exportMarkdown([quick, standard])
    expect(md).toContain('## bench-box 2026-11-01T10:00:00Z')
    expect(md).toMatch(/\| fake +\| +1\.00 KiB \| +1\.00 K \| CPU \(prebuilt\) \| +1 \| tg64 +\|/)
    expect(md).toContain('These results ran different suites (quick 1.0.0, standard 1.1.0): compared only on the tests they share (none).')
    const same = exportMarkdown([quick, quick])
    expect(same).toMatch(/## Comparison[\s\S]*\| tg64 +\| +99\.92 ± 0\.00 \| +99\.92 ± 0\.00 \|/)
  })

  it('Markdown: each definition once, and only those that apply (a local result without energy has no reasoning, server or energy text)', () => {
    const md = exportMarkdown([quick])
    const count = (text: string) => md.split(text).length - 1
    expect(count(DEFINITIONS.tps)).toBe(1)
    expect(count(DEFINITIONS.latency)).toBe(1)
    expect(count(DEFINITIONS.derivation)).toBe(1)
    for (const absent of [DEFINITIONS.reasoning, DEFINITIONS.short, DEFINITIONS.server, DEFINITIONS.energy, DEFINITIONS.scope, DEFINITIONS.validity]) expect(md).not.toContain(absent)
  })

  it('results of different suites keep every row of their own in CSV and HTML; only the comparison is limited to shared tests', () => {
    const rowsOf = (result: ResultFile) => deriveResult(result).cells.length
    const lines = parseCsv(exportCsv([quick, standard]))
    expect(lines).toHaveLength(1 + rowsOf(quick) + rowsOf(standard))
    expect(rowsOf(standard)).toBeGreaterThan(0)
    const html = exportHtml([quick, standard])
    const bodies = [...html.matchAll(/<tbody>([\s\S]*?)<\/tbody>/g)].map((m) => (m[1]!.match(/<tr/g) ?? []).length)
    expect(bodies.slice(0, 2)).toEqual([rowsOf(quick), rowsOf(standard)])
    expect(html).toContain('compared only on the tests they share (none)')
  })

  it('marks a partial result in every format', () => {
    const partial: ResultFile = {...quick, state: 'partial', stateReason: 'interrupted before the suite finished'}
    expect(exportMarkdown([partial])).toContain('(PARTIAL)')
    expect(exportMarkdown([partial])).toContain('is PARTIAL: interrupted before the suite finished.')
    expect(parseCsv(exportCsv([partial]))[1]![2]).toBe('partial')
  })
})

describe('an endpoint prompt counted as another size than the test\'s name', () => {
  it('is said under the table: the server\'s count, which the row\'s rates are per', () => {
    const runs = [0, 1].map((rep) => run('endpoint', 'pp256', rep, [request(rep * 1000, {nPrompt: 559, nOut: 1, ttft: 40})]))
    const result = handResult([endpointTarget()], runs)
    expect(promptCountNotes(result, deriveResult(result).cells)).toEqual(["endpoint pp256: the server counted 559 prompt tokens for the test's 256 words after a unique prefix (its tokenizer); the row's rates are per its count"])
    expect(renderRunTable(result)).toContain("- endpoint pp256: the server counted 559 prompt tokens")
    // A local pp256 evaluates exactly 256 tokens: nothing to say.
    const local = handResult([localTarget()], [run('local', 'pp256', 0, [request(0, {nPrompt: 256, nOut: 0, ttft: 40})])])
    expect(promptCountNotes(local, deriveResult(local).cells)).toEqual([])
  })
})
