import {readFile} from 'node:fs/promises'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {resolveCostInputs} from '../../src/cost/cost-inputs.js'
import {costOfResult} from '../../src/cost/result-costs.js'
import {parseResult} from '../../src/results/io.js'
import {repoRoot} from '../helpers/cli.js'

async function fixture(name: string) {
  const file = path.join(repoRoot, 'fixtures', 'results', name)
  return parseResult(await readFile(file, 'utf8'), file)
}

describe('owbench cost: every empty money cell says why', () => {
  it('a --watts result without --price: no owned cost, and the note says which tariff electricity would use', async () => {
    const result = await fixture('quick-default-45w.json')
    const costs = costOfResult(result, await resolveCostInputs({rentPerHour: 2.49}))
    const [local] = costs.targets
    expect(local!.owned).toBeUndefined()
    expect(local!.rental?.perMtok.amount).toBeGreaterThan(0)
    expect(costs.notes).toEqual([
      'local: no hardware, electricity or owned total: no purchase price (pass --price and --purchased; electricity is then priced at the US 2024 tariff (--tariff or --region to change it)); no hosted price to compare with: pass --hosted; no break-even or payback: they need both an owned cost and a hosted price; no gCO2e/Mtok: pass --grid (a country or cloud region)',
    ])
  })

  it('with every input given, a local target has no empty cell and no such note', async () => {
    const result = await fixture('quick-default-45w.json')
    const costs = costOfResult(result, await resolveCostInputs({rentPerHour: 2.49, price: 2000, purchased: '2024', hosted: 'openrouter/openai/gpt-oss-20b', grid: 'DEU', tokensPerMonth: 50_000_000}))
    const [local] = costs.targets
    expect([local!.owned?.electricity, local!.rental, local!.hosted, local!.carbon, local!.breakEven?.payback].every(Boolean)).toBe(true)
    expect(costs.notes).toEqual([])
  })

  it('--rent-per-hour and --price on an endpoint-only result: the rental and owned columns name why they stay empty', async () => {
    const result = await fixture('endpoint/endpoint-quirks-c1-c2.json')
    const costs = costOfResult(result, await resolveCostInputs({rentPerHour: 1, price: 1000, purchased: '2024'}))
    expect(costs.targets.every((t) => !t.owned && !t.rental)).toBe(true)
    // llama-server metered here (--meter-on-server); the vLLM replay on the loopback answers owned_by "vllm", a serving
    // engine on this machine, so no hosted estimate (missing); the Ollama replay names no owner: the hosted estimate.
    expect(Object.fromEntries(costs.targets.map((t) => [t.measurement.target, t.measurement.energy.status]))).toEqual({'llama-server': 'metered', 'vllm-replay': 'missing', 'ollama-replay': 'modelled'})
    expect(costs.notes).toContain('vllm-replay: no energy figure: vllm-replay is vllm on this machine (loopback port 46403), not a provider: no hosted-datacenter estimate; measure it with this machine\'s meter and --meter-on-server (or --watts N --meter-on-server); so no electricity or carbon figure')
    for (const target of result.targets) {
      const status = costs.targets.find((t) => t.measurement.target === target.id)!.measurement.energy.status
      // A server metered here (--meter-on-server) has a grid to name; a hosted estimate has none.
      // No energy figure at all: the carbon column's reason is the energy note's (no energy, so no carbon).
      const carbon = status === 'metered' ? '; no gCO2e/Mtok: pass --grid (a country or cloud region)' : status === 'modelled' ? "; no gCO2e/Mtok: its energy is a hosted estimate and the provider's grid is unknown" : ''
      const note = costs.notes.find((n) => n.startsWith(`${target.id}: no hardware`))
      expect(note).toBe(
        `${target.id}: no hardware, electricity or owned total: --price and --purchased price the local machine, and this target is an endpoint; no rental: --rent-per-hour and --rent price the local machine; give this endpoint's price per hour as pricing.perHour of its target in owbench.config.json; no hosted price: give its pricing.inputPerMtok and pricing.outputPerMtok in owbench.config.json; no break-even or payback: they weigh an owned machine against a hosted price${carbon}`,
      )
    }
  })
})
