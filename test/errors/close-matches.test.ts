import {describe, expect, it} from 'vitest'
import {resolveCostInputs} from '../../src/cost/cost-inputs.js'
import {dataFile} from '../../src/cost/reference-data.js'
import {choiceHint, closeMatches} from '../../src/errors/close-matches.js'
import {formatUserError} from '../../src/errors/errors.js'
import {rejectedUserError} from '../helpers/user-error.js'

const self = (s: string) => [s]

describe('closeMatches', () => {
  it('ranks names containing the query first (shortest first), then by edit distance within 40% of the query', () => {
    const keys = ['groq/llama-3.1-8b-instant', 'together_ai/meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo', 'deepinfra/openai/gpt-oss-20b', 'openrouter/openai/gpt-oss-120b']
    // "gpt-oss-20" is in one key; "gpt-oss-120b" is 2 edits from it (within 40% of 10 characters = 4).
    expect(closeMatches('gpt-oss-20', keys, self)).toEqual(['deepinfra/openai/gpt-oss-20b', 'openrouter/openai/gpt-oss-120b'])
    // The query's last segment is looked for in each name's last segment.
    expect(closeMatches('openrouter/meta-llama/llama-3.1-8b', keys, self)).toEqual(['groq/llama-3.1-8b-instant', 'together_ai/meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo'])
    expect(closeMatches('nosuch/model', keys, self)).toEqual([])
    // Short queries allow few edits: "XXX" (3 characters) is 1 edit from nothing here.
    expect(closeMatches('XXX', ['LUX', 'MEX', 'DEU'], self)).toEqual([])
    expect(closeMatches('Germny', ['DEU', 'FRA'], (c) => [c, c === 'DEU' ? 'Germany' : 'France'])).toEqual(['DEU'])
    expect(closeMatches('a', ['ab', 'ac', 'ad', 'ae'], self)).toEqual(['ab', 'ac', 'ad'])
  })

  it('says where the full list is, with or without matches', () => {
    const forty = Array.from({length: 40}, (_, i) => `k${i}`)
    expect(choiceHint(['a', 'b', 'c'], forty, 'data/x.csv')).toBe('did you mean "a", "b" or "c"? all 40 are in data/x.csv')
    expect(choiceHint(['a'], forty, 'data/x.csv')).toBe('did you mean "a"? all 40 are in data/x.csv')
    expect(choiceHint([], forty, 'data/x.csv')).toBe('no close match; all 40 are in data/x.csv')
    // A few choices are all named.
    expect(choiceHint([], ['Lambda', 'RunPod'], 'data/x.csv')).toBe('use one of Lambda, RunPod')
  })
})

describe('unknown cost references: one short line with close matches and where the list is', () => {
  it.each([
    [{hosted: 'nosuch/model'}, 'no hosted price for "nosuch/model" — no close match; all 46 are in the litellm_key column of HOSTED'],
    [{hosted: 'gpt-oss-20'}, 'no hosted price for "gpt-oss-20" — did you mean "together_ai/openai/gpt-oss-20b", "fireworks_ai/accounts/fireworks/models/gpt-oss-20b" or "deepinfra/openai/gpt-oss-20b"? all 46 are in the litellm_key column of HOSTED'],
    [{grid: 'XXX'}, 'unknown country or region "XXX" — no close match; all 213 are in COUNTRIES; or provider:region from REGIONS'],
    [{grid: 'Germny'}, 'unknown country or region "Germny" — did you mean "DEU (Germany)"? all 213 are in COUNTRIES; or provider:region from REGIONS'],
    [{grid: 'gcp:europe-west'}, 'unknown gcp region "europe-west" — did you mean "gcp:europe-west1", "gcp:europe-west2" or "gcp:europe-west3"? all 40 are in REGIONS'],
    [{rent: 'Lamda:H100'}, 'no rental prices for provider "Lamda" — use one of Lambda, RunPod, or pass a price per hour'],
  ])('%j', async (flags, expected) => {
    const error = await rejectedUserError(resolveCostInputs(flags))
    const line = formatUserError(error)
    const paths = {HOSTED: dataFile('hosted-prices.csv'), COUNTRIES: dataFile('country-energy-mix.json'), REGIONS: dataFile('cloud-region-carbon.csv'), RENTALS: dataFile('gpu-rental-prices.csv')}
    expect(line).toBe(expected.replace(/HOSTED|COUNTRIES|REGIONS|RENTALS/g, (name) => paths[name as keyof typeof paths]))
    expect(line).not.toContain('\n')
    expect(error.exitCode).toBe(2)
  })
})
