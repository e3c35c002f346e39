import {beforeAll, describe, expect, it} from 'vitest'
import {carbonPerMtok, type GridData, gridIntensity, loadGridData} from '../../src/cost/carbon.js'
import {compareWithReference, estimateRange, loadEnergyReference} from '../../src/cost/hosted-energy.js'
import {estimateHostedEnergy, HOW_HUNGRY_LARGE_H100} from '../../src/energy/hosted-estimate.js'
import type {EnergyReferenceRow} from '../../src/results/cost-schema.js'
import type {EnergyPerToken} from '../../src/cost/measurements.js'
import {thrownUserError} from '../helpers/user-error.js'


let grid: GridData
let reference: EnergyReferenceRow[]

beforeAll(async () => {
  grid = await loadGridData()
  reference = await loadEnergyReference()
})

const wall: EnergyPerToken = {joulesPerToken: 1.8, per: 'output', boundary: 'wall', method: 'measured'}

describe('carbon', () => {
  it('gCO2e per Mtok = kWh/Mtok x gCO2e/kWh, by country', () => {
    // 1.8 J/token = 0.5 kWh/Mtok; France 56.039 g/kWh (2023) -> 28.0195 g/Mtok
    const fra = gridIntensity('FRA', grid)
    expect(fra).toMatchObject({gramsPerKwh: 56.039, where: 'FRA (France)', year: 2023})
    const carbon = carbonPerMtok(wall, fra)
    expect(carbon.kwhPerMtok).toBe(0.5)
    expect(carbon.gramsPerMtok).toBeCloseTo(28.0195, 6)
    // USA 369.473 g/kWh (2023) -> 184.7365 g/Mtok
    expect(carbonPerMtok(wall, gridIntensity('USA', grid)).gramsPerMtok).toBeCloseTo(184.7365, 6)
  })

  it('accepts two-letter codes and names, and cloud regions as provider:region', () => {
    expect(gridIntensity('fr', grid).where).toBe('FRA (France)')
    expect(gridIntensity('Germany', grid).where).toBe('DEU (Germany)')
    // gcp europe-west9 (Paris): 34 g/kWh -> 0.5 x 34 = 17 g/Mtok
    const paris = gridIntensity('gcp:europe-west9', grid)
    expect(paris).toMatchObject({gramsPerKwh: 34, where: 'gcp:europe-west9 (France)'})
    expect(carbonPerMtok(wall, paris).gramsPerMtok).toBe(17)
  })

  it('unknown countries, providers and regions list the valid ones', () => {
    const country = thrownUserError(() => gridIntensity('Atlantis', grid))
    expect(country.message).toBe('unknown country or region "Atlantis"')
    expect(country.hint).toMatch(/^(did you mean .*|no close match;) all 213 are in .*data\/country-energy-mix\.json; or provider:region from .*data\/cloud-region-carbon\.csv$/)
    // The shipped cloud table holds Google Cloud regions only.
    const provider = thrownUserError(() => gridIntensity('aws:us-east-1', grid))
    expect(provider.message).toBe('unknown cloud provider "aws"')
    expect(provider.hint).toMatch(/^use gcp:REGION \(all 40 are in .*data\/cloud-region-carbon\.csv\), or a country code$/)
    const region = thrownUserError(() => gridIntensity('gcp:mars-1', grid))
    expect(region.message).toBe('unknown gcp region "mars-1"')
    expect(region.hint).toMatch(/^no close match; all 40 are in .*data\/cloud-region-carbon\.csv$/)
    expect(thrownUserError(() => gridIntensity('gcp:us-central', grid)).hint).toMatch(/^did you mean "gcp:us-central1"[ ,?]/)
  })
})

describe('hosted energy estimate', () => {
  it('low and high cases from node power x utilization x time x PUE, every assumption returned', () => {
    // 300 output tokens at 50 tok/s + 0.6 s TTFT = 6.6 s; share = G / (N x B) = 8 / 64 = 0.125
    // low:  10.2 x 0.125 x 0.055 + 1.6 x 0.125 x 0.5 = 0.070125 + 0.1 = 0.170125 kW; x 1.12 = 0.19054 kW
    //       0.19054 kW x 1000 x 6.6 / 3600 h = 0.349323 Wh; x 3600 / 300 = 4.19188 J per output token
    // high: 10.2 x 0.125 x 0.075 + 0.1 = 0.195625 kW; x 1.12 = 0.2191 kW
    //       219.1 W x 6.6 / 3600 = 0.401683 Wh; x 3600 / 300 = 4.8202 J per output token
    const estimate = estimateHostedEnergy({outputTokens: 300, outputTokensPerSecond: 50, ttftSeconds: 0.6})
    expect(estimate).toMatchObject({method: 'estimated', boundary: 'facility'})
    expect(estimate.secondsPerRequest).toBeCloseTo(6.6, 10)
    expect(estimate.low.itPowerKw).toBeCloseTo(0.170125, 9)
    expect(estimate.low.facilityPowerKw).toBeCloseTo(0.19054, 9)
    expect(estimate.low.whPerRequest).toBeCloseTo(0.349323, 6)
    expect(estimate.low.joulesPerOutputToken).toBeCloseTo(4.19188, 5)
    expect(estimate.high.facilityPowerKw).toBeCloseTo(0.2191, 9)
    expect(estimate.high.whPerRequest).toBeCloseTo(0.401683, 6)
    expect(estimate.high.joulesPerOutputToken).toBeCloseTo(4.8202, 4)
    expect(estimate.assumptions.map((a) => a.name)).toEqual(['P_gpu', 'P_non-gpu', 'N', 'G', 'B', 'D_gpu low', 'D_gpu high', 'D_non-gpu', 'PUE low', 'PUE high', 'output tokens', 'TPS', 'TTFT'])
    expect(estimate.assumptions.find((a) => a.name === 'P_gpu')).toEqual({name: 'P_gpu', value: 10.2, unit: 'kW', note: 'maximum GPU power of the node'})
  })

  it('reproduces the paper\'s 1.788 Wh for a long GPT-4o query', () => {
    // 1500 tokens taking 0.0094 h = 33.84 s: 0.19054 kW x 0.0094 h = 1.791 Wh (paper: about 1.788)
    const estimate = estimateHostedEnergy({outputTokens: 1500, outputTokensPerSecond: 1500 / 33.84, ttftSeconds: 0})
    expect(estimate.low.whPerRequest).toBeCloseTo(1.791, 3)
  })

  it('a PUE range makes low and high differ by PUE too', () => {
    // IT power at D_gpu 0.055 is 0.170125 kW: x 1.1 = 0.1871375, x 1.58 = 0.2688 (at D_gpu 0.055 both)
    const node = {...HOW_HUNGRY_LARGE_H100, gpuUtilization: {low: 0.055, high: 0.055}, pue: {low: 1.1, high: 1.58}}
    const estimate = estimateHostedEnergy({outputTokens: 300, outputTokensPerSecond: 50, ttftSeconds: 0.6}, node)
    expect(estimate.low.facilityPowerKw).toBeCloseTo(0.1871375, 9)
    expect(estimate.high.facilityPowerKw).toBeCloseTo(0.2687975, 9)
  })

  it('is compared only with published figures of the same (facility) boundary', () => {
    const comparisons = compareWithReference(estimateRange(estimateHostedEnergy({outputTokens: 300, outputTokensPerSecond: 50, ttftSeconds: 0.6})), reference)
    expect(comparisons.map((c) => [c.row.model, c.unit, c.theirs])).toEqual([
      ['Gemini Apps median text prompt', 'Wh/request', 0.24],
      ['GPT-4o typical query', 'Wh/request', 0.3],
      ['GPT-4o short query', 'Wh/request', 0.42],
    ])
    // 0.349323 / 0.24 = 1.45551
    expect(comparisons[0]!.ratio.low).toBeCloseTo(1.45551, 5)
    expect(comparisons[0]!.caveat).toBe('per prompt of undisclosed length: a longer request costs more')
  })

  it('a measured wall figure compares with the home rows, in J per output token', () => {
    const comparisons = compareWithReference({boundary: 'wall', joulesPerOutputToken: {low: 1.8, high: 1.8}}, reference)
    expect(comparisons).toHaveLength(5)
    // Mac mini M4, Llama 3.1 8B: 1.44 J/token; 1.8 / 1.44 = 1.25
    expect(comparisons[0]).toMatchObject({unit: 'J/output token', theirs: 1.44, ratio: {low: 1.25, high: 1.25}})
  })

  it('refuses impossible assumptions and measurements', () => {
    expect(thrownUserError(() => estimateHostedEnergy({outputTokens: 0, outputTokensPerSecond: 1, ttftSeconds: 0})).message).toMatch(/needs output tokens > 0/)
    expect(thrownUserError(() => estimateHostedEnergy({outputTokens: 1, outputTokensPerSecond: 1, ttftSeconds: 0}, {...HOW_HUNGRY_LARGE_H100, pue: {low: 0.9, high: 1.2}})).message).toBe('hosted node model: PUE must be at least 1 with low <= high, not 0.9-1.2')
    expect(thrownUserError(() => estimateHostedEnergy({outputTokens: 1, outputTokensPerSecond: 1, ttftSeconds: 0}, {...HOW_HUNGRY_LARGE_H100, gpuUtilization: {low: 0.5, high: 1.5}})).message).toMatch(/GPU utilization must be between 0 and 1/)
  })
})
