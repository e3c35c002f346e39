import {readFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {mkdtemp} from 'node:fs/promises'
import {describe, expect, it} from 'vitest'
import {compareResults} from '../../src/compare/compare.js'
import {resolveCostInputs} from '../../src/cost/cost-inputs.js'
import {costOfResult} from '../../src/cost/result-costs.js'
import {deriveResult} from '../../src/derive/derive.js'
import {requiredPowerProblems} from '../../src/derive/require-power.js'
import {parseCsv} from '../../src/cost/csv-table.js'
import {renderCostTable} from '../../src/report/cost-table.js'
import {exportCsv} from '../../src/report/csv.js'
import {exportHtml} from '../../src/report/html.js'
import {exportMarkdown} from '../../src/report/markdown.js'
import {renderRunTable} from '../../src/report/terminal-table.js'
import type {ResultFile, RunRecord} from '../../src/results/schema.js'
import type {RunConditions} from '../../src/system/run-conditions.js'
import {siteEntries} from '../../src/site/entries.js'
import {publishSite} from '../../src/site/publish.js'
import type {SiteIndex} from '../../src/site/site-index.js'
import {constantPower, handResult, localTarget, request, run} from '../helpers/result-builder.js'
import {resultDir} from '../helpers/site-fixture.js'
import {thrownUserError} from '../helpers/user-error.js'

/**
 * Issue 16 on top of the derivation: a figure whose readings fail their checks is missing with
 * its validity code and reason, a partial one is shown and marked, a repetition stretched back to
 * back for a slow meter is one repetition, and run conditions turn into warnings; each shown by
 * every renderer that reads the derivation. Results are built by hand so each value is too.
 */

/** pp256 (100 ms prefill) at 0, 1000, 2000 ms and tg64 (10 ms to the first token, then 63 x 10 ms) at 3000, 4000, 5000 ms. */
function ppAndTg(options: {ppMs?: number; ppAt?: number[]; tgAt?: number[]} = {}): RunRecord[] {
  const ppAt = options.ppAt ?? [0, 1000, 2000]
  const tgAt = options.tgAt ?? [3000, 4000, 5000]
  return [
    ...ppAt.map((t, i) => run('local', 'pp256', i, [request(t, {nPrompt: 256, nOut: 1, ttft: options.ppMs ?? 100})])),
    ...tgAt.map((t, i) => run('local', 'tg64', i, [request(t, {nPrompt: 1, nOut: 64, ttft: 10, tpot: 10})])),
  ]
}

const every = (from: number, to: number, step: number): number[] => Array.from({length: Math.floor((to - from) / step) + 1}, (_, k) => from + k * step)

/** RAPL package-0 stuck at 5 J while its DRAM counter advances at 6 W, read every 50 ms (issue 16's quirk). */
function stuckPackage(): ResultFile {
  const times = every(-100, 6000, 50)
  const rapl = (id: string, boundary: 'cpu-package' | 'dram', device: string) => ({id, scope: 'host' as const, kind: 'rapl' as const, boundary, method: 'counter' as const, unit: 'J' as const, intervalMs: 50, updateMs: 1, device, field: 'energy_uj'})
  return handResult([localTarget()], ppAndTg(), {
    power: {
      sources: [rapl('rapl:package-0', 'cpu-package', 'intel-rapl:0 (package-0)'), rapl('rapl:package-0/dram', 'dram', 'intel-rapl:0:0 (package-0 dram)')],
      samples: {'rapl:package-0': times.map((t): [number, number] => [t, 5]), 'rapl:package-0/dram': times.map((t): [number, number] => [t, 1 + (6 * t) / 1000])},
      failures: [],
      notStarted: [],
      startedAt: -100,
    },
  })
}

const STUCK_PP = 'rapl:package-0: the counter did not advance over 300.0 ms (stuck at 5 J) while rapl:package-0/dram advanced: not a reading'
const STUCK_TG = 'rapl:package-0: the counter did not advance over 1.92 s (stuck at 5 J) while rapl:package-0/dram advanced: not a reading'

/** nvidia-smi reading GPU 1 at a constant 200 W every 100 ms, GPU 0 printing [Not Supported]; pp256 of 1 s each. */
function partialGpus(): ResultFile {
  return handResult([localTarget()], ppAndTg({ppMs: 1000, ppAt: [0, 1500, 3000], tgAt: [5000, 6000, 7000]}), {
    power: {
      sources: [{id: 'nvidia:1', scope: 'host', kind: 'nvidia-smi', boundary: 'gpu-board', method: 'sampled', unit: 'W', intervalMs: 100, updateMs: 100, device: 'NVIDIA L40S (GPU 1)', field: 'power.draw.instant'}],
      samples: {'nvidia:1': every(-500, 8000, 100).map((t): [number, number] => [t, 200])},
      failures: [],
      notStarted: [],
      uncovered: [{source: 'nvidia-smi', boundary: 'gpu-board', device: 'NVIDIA L40S (GPU 0)', reason: 'power.draw [Not Supported]'}],
      // As with --min-meter-updates 5: a 640 ms tg64 spans 6.4 updates of 100 ms (10 would mark it window-too-short).
      minUpdates: 5,
      startedAt: -500,
    },
  })
}
const PARTIAL = 'covers 1 of 2 GPUs; not NVIDIA L40S (GPU 0): power.draw [Not Supported]'

describe('a figure whose readings fail their checks (RAPL package stuck at 0 while DRAM advances)', () => {
  const result = stuckPackage()
  const cells = deriveResult(result).cells

  it('is missing in the derivation with its validity code and every series\' reason; the headline never falls back to a narrower boundary', () => {
    expect(deriveResult(result).targets[0]!.energy).toMatchObject({source: 'meter', boundary: 'cpu-package+dram'})
    expect(cells.map((c) => c.energy)).toEqual([
      {status: 'missing', code: 'counter-stuck', reason: STUCK_PP, invalid: [{code: 'counter-stuck', sourceId: 'rapl:package-0', reason: STUCK_PP}]},
      {status: 'missing', code: 'counter-stuck', reason: STUCK_TG, invalid: [{code: 'counter-stuck', sourceId: 'rapl:package-0', reason: STUCK_TG}]},
    ])
    // The DRAM figure itself is fine (6 W x 1.92 s over 64 x 3 tokens) and stays in the phases for who wants it.
    const dram = cells[1]!.phases!.phases.find((p) => p.phase === 'total')!.boundaries.find((b) => b.boundary === 'dram')!
    expect(dram.gross!.jPerToken).toBeCloseTo((6 * 1.92) / 192, 12)
    // No per-repetition J/token to compare either.
    expect(cells[1]!.repetitionValues.j_per_token).toBeUndefined()
  })

  it('fails --require-power, judged on the derived figures', () => {
    expect(requiredPowerProblems(deriveResult(result))).toEqual([`local pp256: counter-stuck (${STUCK_PP})`, `local tg64: counter-stuck (${STUCK_TG})`])
    // A J/token withheld because the outputs stopped short (10 of 64 tokens) is no power problem.
    const short = handResult([localTarget()], [0, 1, 2].map((i) => run('local', 'tg64', i, [{...request(i * 1000, {nPrompt: 1, nOut: 10, ttft: 10, tpot: 10}), nAsked: 64}])), {power: constantPower(40, -500, 3000)})
    expect(deriveResult(short).cells[0]!.energy).toMatchObject({status: 'missing', code: 'short-outputs'})
    expect(requiredPowerProblems(deriveResult(short))).toEqual([])
  })

  it('the terminal table and Markdown show it missing with its code, and the reason in a note', () => {
    const table = renderRunTable(result)
    expect(table.split('\n').find((l) => l.includes('| tg64 '))).toMatch(/\|\s+missing \(counter-stuck\) \|/)
    expect(table).toContain(`- local tg64: J/token missing (counter-stuck): ${STUCK_TG}`)
    expect(table).toContain('- An energy figure is shown only when its readings pass their checks')
    expect(exportMarkdown([result])).toContain(`- local pp256: J/token missing (counter-stuck): ${STUCK_PP}`)
  })

  it('CSV: no J/token, the code in energy_invalid and the reason in energy_missing', () => {
    const rows = parseCsv(exportCsv([result]), 'export.csv').rows.map((r) => r.cells)
    expect(rows.map((r) => [r.test, r.j_per_token, r.energy_invalid, r.energy_missing])).toEqual([
      ['pp256', '', 'counter-stuck', STUCK_PP],
      ['tg64', '', 'counter-stuck', STUCK_TG],
    ])
  })

  it('HTML: the cell says missing with the code and reason, and a note under the table', () => {
    const html = exportHtml([result])
    expect(html).toContain(`<td class="num">missing (counter-stuck: ${STUCK_TG})</td>`)
    expect(html).toContain(`<li class="energy-note">local tg64: J/token missing (counter-stuck): ${STUCK_TG}</li>`)
  })

  it('compare refuses the side with the code and the reason', () => {
    const error = thrownUserError(() => compareResults(result, result, {metric: 'j_per_token', test: 'tg64'}))
    expect(error.message).toBe(`A's energy for tg64 is not a measurement (counter-stuck): ${STUCK_TG}`)
  })

  it('cost: no J/token, no electricity and no carbon from it, and a note saying why', async () => {
    const costs = costOfResult(result, await resolveCostInputs({price: 2000, purchased: '2024', tariff: 0.3, grid: 'DEU'}))
    const target = costs.targets[0]!
    expect(target.measurement.energy).toMatchObject({status: 'missing', code: 'counter-stuck', reason: STUCK_TG})
    expect(target.owned!.electricity).toBeUndefined()
    expect(target.carbon).toBeUndefined()
    expect(costs.notes).toContain(`local: no energy figure (counter-stuck): ${STUCK_TG}; so no electricity or carbon figure`)
    const row = renderCostTable(costs).split('\n').find((l) => l.startsWith('| local'))!
    expect(row.split('|').map((c) => c.trim())[3]).toBe('missing (counter-stuck)')
  })

  it('the site: the leaderboard entry carries the code and reason instead of a number', () => {
    const [entry] = siteEntries(result, 'r1')
    expect(entry!.energy).toBeUndefined()
    expect(entry!.energyMissing).toEqual({code: 'counter-stuck', reason: STUCK_TG})
  })
})

describe('a figure that covers only some of its devices (nvidia-smi [Not Supported] for GPU 0)', () => {
  const result = partialGpus()
  const cells = deriveResult(result).cells

  it('is shown, marked partial with the devices it leaves out: 200 W over the windows per token', () => {
    expect(cells.map((c) => c.energy.status === 'metered' && [c.energy.boundary, c.energy.jPerToken, c.energy.partial])).toEqual([
      ['gpu-board', (200 * 3) / 768, PARTIAL],
      ['gpu-board', (200 * 1.92) / 192, PARTIAL],
    ])
    expect(requiredPowerProblems(deriveResult(result))).toEqual([])
  })

  it('every renderer marks it: table, Markdown, CSV, HTML, cost and the site', async () => {
    const table = renderRunTable(result)
    expect(table).toMatch(/\| tg64 .*\|\s+2\.00 \(gpu-board, sampled, partial\) \|/)
    expect(table).toContain(`- local pp256, tg64: J/token covers part of gpu-board: ${PARTIAL}`)
    expect(exportMarkdown([result])).toContain(`- local pp256, tg64: J/token covers part of gpu-board: ${PARTIAL}`)
    const rows = parseCsv(exportCsv([result]), 'export.csv').rows.map((r) => r.cells)
    expect(rows.map((r) => [r.test, Number(r.j_per_token), r.energy_partial])).toEqual([
      ['pp256', 0.78125, PARTIAL],
      ['tg64', 2, PARTIAL],
    ])
    expect(exportHtml([result])).toContain(`<li class="energy-note">local pp256, tg64: J/token covers part of gpu-board: ${PARTIAL}</li>`)
    const costs = costOfResult(result, await resolveCostInputs({price: 2000, purchased: '2024', tariff: 0.3}))
    expect(costs.notes).toContain(`local: J/token covers part of gpu-board (${PARTIAL}), so electricity and carbon count only the devices it covers`)
    // 2 J per generated token is 2 x 1e6 / 3.6e6 = 0.5556 kWh per Mtok, at $0.30.
    expect(costs.targets[0]!.owned!.electricity!.kwhPerMtok).toBeCloseTo(2 / 3.6, 12)
    expect(siteEntries(result, 'r1')[0]!.energy).toEqual({jPerToken: 2, boundary: 'gpu-board', method: 'sampled', partial: PARTIAL})
  })
})

describe('repetitions stretched back to back for a slow meter', () => {
  // Three pp256 repetitions, each 4 requests of 100 ms run back to back with 5 ms between them: 415 ms each.
  const runs = [0, 1000, 2000].map((t0, i): RunRecord => ({...run('local', 'pp256', i, [0, 1, 2, 3].map((k) => request(t0 + k * 105, {nPrompt: 256, nOut: 1, ttft: 100}))), backToBack: 4}))
  const result = handResult([localTarget()], runs, {power: constantPower(50, -1000, 4000)})
  const cell = deriveResult(result).cells[0]!

  it('take the energy of each repetition\'s whole span (the gaps between its requests included) over all its tokens', () => {
    // 50 W x 3 x 0.415 s over 3 x 4 x 256 prompt tokens; without the spans it would be 50 x 1.2 / 3072.
    expect(cell.energy).toMatchObject({status: 'metered', basis: 'prompt', tokens: 3072})
    expect((cell.energy as {jPerToken: number}).jPerToken).toBeCloseTo((50 * 3 * 0.415) / 3072, 12)
    expect(cell.phases!.phases.find((p) => p.phase === 'total')!.windowMs).toBeCloseTo(3 * 415, 9)
  })

  it('stay one repetition each: statistics over repetitions have n = 3, the pooled requests n = 12, and J/token one value per burst', () => {
    expect(cell.backToBack).toEqual([4, 4, 4])
    expect(cell.completed).toBe(3)
    expect(cell.metrics.tokens_per_second!.repetitions).toMatchObject({sample: 'repetitions', n: 3})
    expect(cell.metrics.tokens_per_second!.requests).toMatchObject({sample: 'requests', n: 12})
    expect(cell.repetitionValues.tokens_per_second).toHaveLength(3)
    // Each burst: 50 W x 0.415 s over 1024 prompt tokens.
    expect(cell.repetitionValues.j_per_token).toHaveLength(3)
    for (const v of cell.repetitionValues.j_per_token!) expect(v).toBeCloseTo((50 * 0.415) / 1024, 12)
    expect(renderRunTable(result).split('\n').find((l) => l.includes('| pp256 '))).toMatch(/\| 3 ×4 back to back \|$/)
    expect(parseCsv(exportCsv([result]), 'export.csv').rows[0]!.cells.back_to_back).toBe('4;4;4')
  })
})

describe('run conditions and the warnings they call for', () => {
  const busy: RunConditions = {logicalCpus: 8, during: {durationMs: 640, busyCores: 4, ownCores: 1, otherCores: 3, stealShare: 0.38}}
  const quiet: RunConditions = {logicalCpus: 8, during: {durationMs: 100, busyCores: 1, ownCores: 1, otherCores: 0, stealShare: 0}}
  const hot: RunConditions = {...busy, gpus: [{index: 0, name: 'NVIDIA L40S', smClockMHz: 1200, throttleReasons: ['sw_power_cap', 'hw_thermal_slowdown']}]}
  const runs = ppAndTg().map((r) => ({...r, conditions: r.test === 'tg64' ? (r.repetition === 2 ? hot : busy) : quiet}))
  // A wall meter whose idle readings alternate 40 and 60 W every 100 ms: 50 W with a spread of about 20%.
  const idle = every(-2000, 0, 100).map((t, k): [number, number] => [t, k % 2 === 0 ? 40 : 60])
  const wall = every(100, 6000, 100).map((t): [number, number] => [t, 80])
  const result = handResult([localTarget()], runs, {
    power: {
      sources: [{id: 'command:cmd', scope: 'host', kind: 'command', boundary: 'wall', method: 'sampled', unit: 'W', intervalMs: 10, device: 'a wall meter'}],
      samples: {'command:cmd': [...idle, ...wall]},
      failures: [],
      notStarted: [],
      idle: {t0: -2000, t1: 0},
      minUpdates: 1,
      startedAt: -2000,
    },
  })
  const derived = deriveResult(result)
  const TG = [
    'this machine was busy: 38% steal time during tg64 — rerun on a quiet machine',
    'this machine was busy: other processes used 3.0 of 8 CPUs during or right before tg64 — rerun on a quiet machine',
    'the GPU was slowed during tg64 (GPU 0 hw_thermal_slowdown) — let it cool and rerun',
  ]
  // The 19 readings inside the idle window (its edges excluded), 10 of 60 W and 9 of 40 W: sample
  // sd sqrt((10 x 9.474² + 9 x 10.526²) / 18) = 10.26 W, 21% of the time-weighted mean of 50 W.
  const IDLE = 'the idle baseline of command:cmd varied by ±10.3 W around 50.0 W (21%): net energy is unreliable — rerun with a quiet machine or a longer --idle-seconds'

  it('are derived per cell from the conditions recorded with its repetitions, and once for the idle baseline', () => {
    expect(derived.cells.map((c) => c.warnings)).toEqual([undefined, TG])
    expect(derived.warnings).toEqual([IDLE])
  })

  it('show in the run table, Markdown, HTML and the site\'s result page', async () => {
    const lines = [...TG, IDLE].map((w) => `warning: ${w}`)
    const table = renderRunTable(result)
    const md = exportMarkdown([result])
    const html = exportHtml([result])
    for (const line of lines) {
      expect(table).toContain(`- ${line}`)
      expect(md).toContain(`- ${line}`)
      expect(html).toContain(`<li class="warn">${line}</li>`)
    }
    const out = path.join(await mkdtemp(path.join(os.tmpdir(), 'owbench-warn-site-')), 'site')
    await publishSite({inputs: [await resultDir({'busy.json': result})], out, env: {}})
    const index = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as SiteIndex
    const page = await readFile(path.join(out, index.results[0]!.page), 'utf8')
    for (const line of lines) expect(page).toContain(`<li class="warn">${line}</li>`)
  }, 60_000)

  it('compare names them beside its verdict', () => {
    const c = compareResults(result, result, {metric: 'tg', test: 'tg64', labels: ['A', 'B']})
    expect(c.warnings).toEqual(expect.arrayContaining(TG.map((w) => `A: ${w}`)))
    expect(c.warnings).toEqual(expect.arrayContaining(TG.map((w) => `B: ${w}`)))
  })
})
