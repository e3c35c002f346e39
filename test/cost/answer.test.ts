import {describe, expect, it} from 'vitest'
import {answerOf, loadAnswerReferences, parametersFromName} from '../../src/cost/answer.js'
import {resolveCostInputs} from '../../src/cost/cost-inputs.js'
import {loadCost} from '../../src/cost/load-costs.js'
import {costsOfResults} from '../../src/cost/report-costs.js'
import {costOfResult} from '../../src/cost/result-costs.js'
import {deriveResult} from '../../src/derive/derive.js'
import {answerParagraph} from '../../src/report/answer-text.js'
import type {ResultFile, Target} from '../../src/results/schema.js'
import {constantPower, endpointTarget, handResult, localTarget, request, run} from '../helpers/result-builder.js'

/** An 8 B model run locally: tg64 in 160 ms (400 tokens/s) three times, at a declared 30 W, 36 GB/s probe, 8 GB of weights. */
function eightB(): ResultFile {
  const base = localTarget() as Extract<Target, {kind: 'local'}>
  const target: Target = {...base, model: {...base.model, name: 'Llama 3.1 8B Instruct', parameters: 8_030_261_248, bytesPerToken: {weightBytes: 8e9, tensorBytes: 8.5e9, kvBytesPerPosition: 131_072, layers: 32, method: 'm'}}}
  const runs = [0, 1, 2].map((rep) => run('local', 'tg64', rep, [request(rep * 1000, {nPrompt: 1, nOut: 64, ttft: 2.5, tpot: 2.5})]))
  const result = handResult([target], runs, {power: constantPower(30, -500, 3000)})
  return {...result, host: {...result.host, memoryBandwidth: {probe: {triadGBs: 36, threads: 2, arrayMiB: 256, passes: 10, method: 'STREAM triad, Float64Array per worker thread, best pass'}, published: []}}}
}

describe('the answer first', () => {
  it('reads a model\'s size from its name, leaving out what the name cannot tell', () => {
    expect(parametersFromName('Llama 3.1 8B Instruct Turbo')).toBe(8e9)
    expect(parametersFromName('gpt-oss-120b')).toBe(120e9)
    expect(parametersFromName('Qwen3 235B A22B')).toBe(235e9)
    expect(parametersFromName('meta-llama/llama-3.1-8b-instruct')).toBe(8e9)
    expect(parametersFromName('qwen2.5-0.5b')).toBe(0.5e9)
    // A mixture written 8x7B has about 47 B parameters: the name does not say how many.
    expect(parametersFromName('Mixtral 8x7B Instruct')).toBeUndefined()
    expect(parametersFromName('DeepSeek V3')).toBeUndefined()
  })

  it('prices a load level: owned hardware over its generated tokens per hour, plus electricity at the cell\'s J per generated token', async () => {
    const result = eightB()
    // 8,760 USD over one year of 24 h a day: 1.00 USD an hour (2024 money, no CPI step); electricity 0.30 USD/kWh in 2024.
    const costs = costOfResult(result, await resolveCostInputs({price: 8760, purchased: '2024', baseYear: '2024', lifetime: 1, hoursPerDay: 24, tariff: 0.3, tariffYear: '2024'}))
    const cell = deriveResult(result).cells[0]!
    // 400 tokens/s = 1.44 M tokens an hour: 1 / 1.44 USD per Mtok for the hardware; 30 W / 400 tokens/s = 0.075 J a token,
    // 0.075e6 / 3.6e6 kWh per Mtok x 0.30 = 0.00625 USD.
    expect(loadCost(costs, result, cell)).toEqual({perMtok: expect.closeTo(1 / 1.44 + 0.00625, 12), basis: 'owned', withElectricity: true, money: 'USD, 2024 dollars'})
    // An endpoint's list price does not depend on the load; a rented machine's hourly price does.
    const endpoint = {...endpointTarget(), pricing: {inputPerMtok: 0.1, outputPerMtok: 0.3}}
    const served = handResult([endpoint], [run('endpoint', 'tg64', 0, [request(0, {nPrompt: 10, nOut: 64, ttft: 5, tpot: 5})])])
    const hosted = costOfResult(served, await resolveCostInputs({baseYear: '2024'}))
    // 10 prompt tokens at 0.1 and 64 generated at 0.3 per Mtok, per generated token: (10 x 0.1 + 64 x 0.3) / 64.
    expect(loadCost(hosted, served, deriveResult(served).cells[0]!)).toMatchObject({perMtok: expect.closeTo((10 * 0.1 + 64 * 0.3) / 64, 9), basis: 'hosted'})
    expect(loadCost(undefined, served, deriveResult(served).cells[0]!)).toBeUndefined()
  })

  it('sets this machine\'s J/token and $/Mtok beside the hosted price and the published datacenter figure for a model of the same size, and the bandwidth share', async () => {
    const result = eightB()
    const costs = costOfResult(result, await resolveCostInputs({price: 8760, purchased: '2024', baseYear: '2024', lifetime: 1, hoursPerDay: 24, tariff: 0.3, tariffYear: '2024'}))
    const answer = answerOf(result, costs, await loadAnswerReferences())
    const [a] = answer.targets
    expect(a!.cell!.test).toBe('tg64')
    // Every 7-8 B offer of data/hosted-prices.csv (not the 8x7B mixtures), and ML.ENERGY's Llama-3.1-8B rows.
    expect('rows' in a!.hosted && a!.hosted.rows.map((r) => r.model).sort()).toEqual(['Llama 3.1 8B Instant', 'Llama 3.1 8B Instruct', 'Llama 3.1 8B Instruct Turbo', 'Llama 3.1 8B Instruct Turbo', 'Mistral 7B Instruct', 'Qwen3 8B'])
    expect('rows' in a!.datacenter && a!.datacenter.rows.map((r) => r.j_per_output_token)).toEqual([0.455, 0.119, 0.07, 0.047])
    const text = answerParagraph(result, answer)
    // 30 W / 400 tokens/s; bytes per token 8e9 + 131,072 x 32.5 = 8,004,259,840 x 400 = 3,201.7 GB/s of a 36 GB/s probe: implausible.
    expect(text).toContain('running Llama 3.1 8B Instruct (8.03 B parameters) on tg64: generates 400.00 tokens/s, 0.0750 J per generated token [wall, estimated], 0.70 per million generated tokens [USD, 2024 dollars; owned hardware amortized + electricity].')
    expect(text).toContain('Hosted, models of about 8.03 B: $0.030–0.20 per million output tokens (input $0.020–0.20; 6 offers in data/hosted-prices.csv, list prices as of 2026-07-24, nominal USD).')
    expect(text).toContain('Datacenter (published), models of about 8.03 B: 0.0470–0.455 J per output token [gpu-board, batch 8–2048; ML.ENERGY leaderboard v3 data; a different boundary from this figure\'s wall].')
    expect(text).toContain('Memory: 3201.70 GB/s read, 8893.62% of the bandwidth limit, 36.00 GB/s (STREAM triad probe on 2 threads, measured): IMPLAUSIBLE, faster than the memory can deliver.')
  })

  it('says why, where a figure cannot be given', async () => {
    const references = await loadAnswerReferences()
    const tiny = handResult([localTarget()], [run('local', 'tg64', 0, [request(0, {nPrompt: 1, nOut: 64, ttft: 2.5, tpot: 2.5})])])
    const text = answerParagraph(tiny, answerOf(tiny, undefined, references))
    // The fake model has 1,000 parameters: nothing of that size is sold or published.
    expect(text).toContain('no J/token: the run sampled no power (run with a meter, or --watts N for a declared draw), no $/Mtok: the run had no cost inputs')
    expect(text).toContain('no $/Mtok: the run had no cost inputs')
    expect(text).toContain('Hosted: data/hosted-prices.csv has no model of about 1 K parameters (its sizes run from 7 B to 480 B).')
    expect(text).toContain('Datacenter (published): data/energy-reference.csv has no model of about 1 K parameters (its sizes run from 8 B to 70 B).')
    expect(text).toContain('No % of the bandwidth limit: this result does not record the bytes a token reads (run before owbench computed them).')
    const none = handResult([localTarget()], [run('local', 'pp256', 0, [request(0, {nPrompt: 256, nOut: 0, ttft: 100})])])
    expect(answerParagraph(none, answerOf(none, undefined, references))).toMatch(/: no answer: no generation test \(tg, pg or chat\) completed\.$/)
  })
})

describe('the answer prices an endpoint by its own pricing', () => {
  it('without a "cost" section: the target\'s pricing from owbench.config.json, as owbench cost prices it', async () => {
    // tg64 behind a 34-token prompt; the target charges $0.02 per million input and $0.05 per million output tokens:
    // per million generated tokens (34 x 0.02 + 64 x 0.05) / 64 = $0.060625 (nominal USD, given: no CPI adjustment asked).
    const target = {...(endpointTarget('api') as Extract<Target, {kind: 'endpoint'}>), pricing: {inputPerMtok: 0.02, outputPerMtok: 0.05, currency: 'USD'}}
    const runs = [0, 1, 2].map((rep) => run('api', 'tg64', rep, [request(rep * 1000, {nPrompt: 34, nOut: 64, ttft: 20, tpot: 5})]))
    const result = handResult([target], runs)
    expect(result.costInputs).toBeUndefined()
    const {costs} = await costsOfResults([result])
    const answer = answerOf(result, costs[0], await loadAnswerReferences())
    const cost = answer.targets[0]!.cost
    expect('missing' in cost ? cost.missing : cost.perMtok).toBeCloseTo((34 * 0.02 + 64 * 0.05) / 64, 9)
  })
})
