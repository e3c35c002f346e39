import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {compareResults} from '../../src/compare/compare.js'
import {breakEven} from '../../src/cost/break-even.js'
import {resolveCostInputs} from '../../src/cost/cost-inputs.js'
import {loadCpiSeries} from '../../src/cost/cpi.js'
import {givenHostedPrice, hostedCost} from '../../src/cost/hosted-price.js'
import {ownedHardwareCost} from '../../src/cost/owned-hardware.js'
import {costsOfResults} from '../../src/cost/report-costs.js'
import {costOfResult} from '../../src/cost/result-costs.js'
import {deriveResult} from '../../src/derive/derive.js'
import {chartSpecs} from '../../src/report/charts.js'
import {paybackCell, renderCostTable} from '../../src/report/cost-table.js'
import {exportMarkdown} from '../../src/report/markdown.js'
import {parseResult, readResult, serializeResult} from '../../src/results/io.js'
import type {ResultFile} from '../../src/results/schema.js'
import {repoRoot} from '../helpers/cli.js'
import {constantPower, endpointTarget, handResult, localTarget, request, run} from '../helpers/result-builder.js'
import {thrownUserError} from '../helpers/user-error.js'

/**
 * Each failure issue 12 found, as a test with the hand-computed right value. The results are
 * built request by request (test/helpers/result-builder.ts) so every figure can be checked by hand.
 */

/** tg64 requests of 64 tokens whose evaluated-token rates are the given tok/s (1 prompt + 63 fed back = 64 tokens over e2e). */
function tgAt(t0: number, rates: number[]) {
  return rates.map((rate, i) => {
    const e2e = 64_000 / rate
    return {tSend: t0 + i, chunks: [[t0 + i + 10, 1], [t0 + i + e2e, 63]] as [number, number][], tEnd: t0 + i + e2e, nPrompt: 1, nOut: 64}
  })
}

describe('issue 12 failures, with the right values', () => {
  it('compare takes one target and one load level a side, and refuses an ambiguous side with its choices', () => {
    const result = handResult(
      [localTarget(), endpointTarget()],
      [
        ...[0, 1, 2].map((i) => run('local', 'tg64', i, tgAt(i * 1000, [100 + i]))),
        ...[0, 1, 2].map((i) => run('endpoint', 'tg64', i, tgAt(10_000 + i * 1000, [50 + i]))),
        ...[0, 1, 2].map((i) => run('endpoint', 'tg64', i, tgAt(20_000 + i * 1000, [40, 40, 40, 40 + 4 * i]), 4)),
      ],
    )
    expect(thrownUserError(() => compareResults(result, result, {metric: 'tg'}))).toMatchObject({message: 'A has 2 targets (local, endpoint): which one?', hint: 'pass --target with one of local, endpoint (or A,B for one each)'})
    expect(thrownUserError(() => compareResults(result, result, {metric: 'tg', sides: [{target: 'endpoint'}, {target: 'endpoint'}]}))).toMatchObject({
      message: 'A measured target endpoint at 2 load levels (c1, c4): which one?',
      hint: 'pass --load with one of c1, c4 (or A,B for one each)',
    })
    // Endpoint at c1 against the same endpoint at c4: 3 values a side (one per repetition), not 18 pooled.
    const c = compareResults(result, result, {metric: 'tg', sides: [{target: 'endpoint', load: 'c1'}, {target: 'endpoint', load: 'c4'}]})
    expect(c.a).toMatchObject({target: 'endpoint', load: 'c1', n: 3})
    expect(c.a.values.map((v) => Number(v.toFixed(9)))).toEqual([50, 51, 52])
    // c4 repetition means: (40+40+40+40)/4, (40+40+40+44)/4, (40+40+40+48)/4.
    expect(c.b.values.map((v) => Number(v.toFixed(9)))).toEqual([40, 41, 42])
    expect(c.b.mean).toBeCloseTo(41, 9)
  })

  it('statistics at concurrency 4 are over repetition means when they say so, and over requests beside them', () => {
    // 3 repetitions of 4 requests; per-request t/s by hand; repetition means 90, 100, 109.
    const reps = [[100, 100, 80, 80], [100, 100, 100, 100], [128, 128, 80, 100]]
    const result = handResult([endpointTarget()], reps.map((rates, i) => run('endpoint', 'tg64', i, tgAt(i * 10_000, rates), 4)))
    const tps = deriveResult(result).cells[0]!.metrics.tokens_per_second!
    // mean 99.6667, sample sd sqrt(((90-99.667)^2 + (100-99.667)^2 + (109-99.667)^2) / 2) = 9.50438,
    // 95% CI half-width t(0.975, 2) x sd / sqrt(3) = 4.302653 x 5.48736 = 23.6102.
    expect(tps.repetitions).toMatchObject({sample: 'repetitions', n: 3})
    expect(tps.repetitions!.mean).toBeCloseTo(99.666667, 5)
    expect(tps.repetitions!.sd).toBeCloseTo(9.504385, 5)
    expect(tps.repetitions!.ci95![1] - tps.repetitions!.mean).toBeCloseTo(23.610201, 5)
    // Pooled over the 12 requests the interval is t(0.975, 11) x 15.8592 / sqrt(12) = 10.0765: 2.34x narrower than the truth.
    expect(tps.requests).toMatchObject({sample: 'requests', n: 12})
    expect(tps.requests!.ci95![1] - tps.requests!.mean).toBeCloseTo(10.076474, 5)
    // The table says which: mean ± sd over repetitions.
    expect(exportMarkdown([result])).toMatch(/\| tg64 @c4 +\| +99\.67 ± 9\.50 \|/)
  })

  it('a meter on this machine is never charged to a remote endpoint: its energy is the labelled hosted estimate', async () => {
    // tg64: first token after 200 ms, then 63 tokens 20 ms apart (TPOT 20 ms = 50 tok/s): 1.46 s a request.
    const runs = [0, 1, 2].map((i) => run('endpoint', 'tg64', i, [request(i * 2000, {nPrompt: 1, nOut: 64, ttft: 200, tpot: 20})]))
    const power = constantPower(50, -1000, 7000)
    const remote = handResult([endpointTarget()], runs, {power})
    // How Hungry is AI? (H100 node): (64 / 50 + 0.2) s = 1.48 s held; low 0.19054 kW x 1.48 s = 281.999 J,
    // high 0.2191 kW x 1.48 s = 324.268 J; per generated token 4.40624 and 5.06669 J. The client's
    // 50 W would have given 50 x 1.46 / 64 = 1.1406 J/token.
    const cell = deriveResult(remote).cells[0]!
    expect(cell.energy).toMatchObject({status: 'modelled', boundary: 'facility', method: 'estimated', basis: 'generated'})
    if (cell.energy.status !== 'modelled') throw new Error('modelled')
    expect(cell.energy.low).toBeCloseTo(4.40624, 4)
    expect(cell.energy.high).toBeCloseTo(5.06669, 4)
    expect(cell.phases).toBeNull()
    const costs = costOfResult(remote, await resolveCostInputs({grid: 'DEU'}))
    expect(costs.targets[0]!.carbon).toBeUndefined()
    const table = renderCostTable(costs)
    expect(table).toMatch(/\| endpoint \| +43\.84 \| 4\.41–5\.07 \(facility, estimated: hosted model\) \|/)
    expect(table).not.toMatch(/1\.14/)
    // Said to measure the server (--meter-on-server), the same meter counts: 50 W x 1.46 s / 64 tokens.
    const onServer = handResult([endpointTarget('endpoint', true)], runs, {power})
    expect(deriveResult(onServer).cells[0]!.energy).toMatchObject({status: 'metered', boundary: 'wall', jPerToken: 1.140625})
  })

  it('endpoint pp energy is per prompt token', () => {
    // pp256 at an endpoint: 256 prompt tokens, the one generated token after 256 ms; 50 W on the server.
    const runs = [0, 1, 2].map((i) => run('endpoint', 'pp256', i, [request(i * 1000, {nPrompt: 256, nOut: 1, ttft: 256})]))
    const result = handResult([endpointTarget('endpoint', true)], runs, {power: constantPower(50, -1000, 4000)})
    // 50 W x 0.256 s = 12.8 J per request over 256 prompt tokens = 0.05 J/token (per generated token it read 12.8: 256x).
    const energy = deriveResult(result).cells[0]!.energy
    expect(energy).toMatchObject({status: 'metered', basis: 'prompt', tokens: 768})
    expect((energy as {jPerToken: number}).jPerToken).toBeCloseTo(0.05, 12)
  })

  it('cost charts of several results label each currency and put one currency in one base year by CPI', async () => {
    const base = await readResult(path.join(repoRoot, 'fixtures', 'results', 'v1', 'quick-default-45w.json'))
    const withInputs = (n: number, costInputs: ResultFile['costInputs']): ResultFile => ({...structuredClone(base), id: `${base.id.slice(0, 30)}${n}`, costInputs})
    const pounds = withInputs(1, {cpi: 'uk', baseYear: '2023', price: 1500, purchased: '2022', tariff: 0.25})
    const dollars2024 = withInputs(2, {price: 2000, purchased: '2024', tariff: 0.3, baseYear: '2024'})
    const dollars2025 = withInputs(3, {price: 2000, purchased: '2024', tariff: 0.3})
    const {costs} = await costsOfResults([pounds, dollars2024, dollars2025])
    const specs = chartSpecs([pounds, dollars2024, dollars2025], {costs})
    expect(specs.find((s) => s.id === 'cost-gbp')!.title).toBe('Cost per million generated tokens (GBP, 2023 pounds)')
    const usd = specs.find((s) => s.id === 'cost-usd')!
    expect(usd.title).toBe('Cost per million generated tokens (USD, 2025 dollars)')
    // Both dollar results in 2025 dollars: $2,000 of 2024 x 321.943 / 313.689 = $2,052.62 for each.
    const cpi = specs.find((s) => s.id === 'cpi-usd')!
    expect(cpi.config.data.datasets[1]!.data).toEqual([(2000 * 321.943) / 313.689, (2000 * 321.943) / 313.689])
    // The pound result keeps its own money: £1,500 of 2022 x 130.5 / 121.7 = £1,608.46 in 2023 pounds.
    expect(specs.find((s) => s.id === 'cpi-gbp')!.config.data.datasets[1]!.data).toEqual([(1500 * 130.5) / 121.7])
    expect(costs.map((c) => c?.money)).toEqual(['GBP, 2023 pounds', 'USD, 2025 dollars', 'USD, 2025 dollars'])
  })

  it('payback is marked when it comes after the lifetime or at a volume above capacity', async () => {
    const series = await loadCpiSeries('us')
    const base = {year: 2025, text: '2025'}
    // $2,000 of 2025 over 4 years, 24 h a day at 10 generated tokens/s: capacity 10 x 3600 x 730 = 26.28 M tokens a month.
    const owned = ownedHardwareCost({price: 2000, purchased: '2025', lifetimeYears: 4, hoursPerDay: 24, throughput: {tokensPerSecond: 10, per: 'output'}}, series, base)
    const hosted = hostedCost(givenHostedPrice(0, 1), {input: 0, output: 1000}, series, base)
    // 5 M tokens a month save $5 a month: 2000 / 5 = 400 months, after the 48-month lifetime.
    const slow = breakEven(owned, hosted, 5e6)
    expect(slow.payback).toMatchObject({months: 400, withinLifetime: false, exceedsCapacity: false})
    expect(paybackCell(slow, 4)).toBe('400.00 (after the 48-month lifetime)')
    // 50 M tokens a month: 40 months, but the machine makes only 26.28 M.
    const big = breakEven(owned, hosted, 5e7)
    expect(big.capacityTokensPerMonth).toBeCloseTo(26_280_000, 6)
    expect(paybackCell(big, 4)).toBe('40.00 (50.00 M/month is above capacity (26.28 M))')
  })

  it('a summary edited by hand is never shown: every report derives from the raw timings', async () => {
    const result = await readResult(path.join(repoRoot, 'fixtures', 'results', 'v1', 'quick-default-45w.json'))
    const derived = deriveResult(result)
    const tg = derived.cells.find((c) => c.test === 'tg64')!.metrics.tokens_per_second!.repetitions!
    const edited = structuredClone({...result, summary: derived})
    edited.summary!.cells.find((c) => c.test === 'tg64')!.metrics.tokens_per_second!.repetitions!.mean = 99_999
    const reread = parseResult(serializeResult(edited), 'edited.json')
    const md = exportMarkdown([reread])
    expect(md).not.toContain('99999')
    expect(md).toContain(`${tg.mean.toFixed(2)} ± ${tg.sd!.toFixed(2)}`)
  })
})
