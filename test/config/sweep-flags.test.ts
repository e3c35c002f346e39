import {describe, expect, it} from 'vitest'
import {parseSweep} from '../../src/config/sweep-flags.js'

describe('--concurrency sweep, --rate sweep, --goodput-target', () => {
  it('gives a sweep\'s settings with the documented defaults, or none for fixed levels', () => {
    expect(parseSweep('sweep', undefined, {}, undefined)).toEqual({mode: 'concurrency', search: 'saturation', minGain: 0.1, ttftRise: 2, keepUp: 0.9, maxErrorRate: 0.05, maxLevel: 256, maxSeconds: 900, maxRequests: 4000, fill: 1})
    expect(parseSweep(undefined, 'sweep', {minGain: 0.2, maxSeconds: 60, requestsPerLevel: 100}, undefined)).toMatchObject({mode: 'rate', minGain: 0.2, maxSeconds: 60, requestsPerLevel: 100})
    expect(parseSweep('1,4,16', undefined, {}, undefined)).toBeUndefined()
    expect(parseSweep(undefined, '2.5', {}, undefined)).toBeUndefined()
  })

  it('searches concurrency for a goodput target unless told to search rates', () => {
    const slo = {ttftMs: 500, tpotMs: 50}
    expect(parseSweep(undefined, undefined, {goodputTarget: 0.99}, slo)).toMatchObject({mode: 'concurrency', search: 'goodput', goodputTarget: 0.99})
    expect(parseSweep(undefined, 'sweep', {goodputTarget: 0.9}, slo)).toMatchObject({mode: 'rate', search: 'goodput', goodputTarget: 0.9})
  })

  it('refuses what cannot mean anything, naming the fix', () => {
    expect(() => parseSweep(undefined, undefined, {goodputTarget: 0.99}, undefined)).toThrow('--goodput-target needs objectives to meet')
    expect(() => parseSweep('1,4', undefined, {goodputTarget: 0.99}, {ttftMs: 1})).toThrow('it does not apply to fixed levels')
    expect(() => parseSweep(undefined, undefined, {goodputTarget: 1.5}, {ttftMs: 1})).toThrow('--goodput-target must be a share of requests above 0 and at most 1, not 1.5')
    expect(() => parseSweep('sweep', '2', {}, undefined)).toThrow('--concurrency sweep and --rate are alternatives')
    expect(() => parseSweep('4', 'sweep', {}, undefined)).toThrow('--rate sweep and --concurrency are alternatives')
    expect(() => parseSweep('4', undefined, {maxSeconds: 10, minGain: 0.2}, undefined)).toThrow('--sweep-min-gain, --sweep-max-seconds only shape a sweep')
    expect(() => parseSweep('sweep', undefined, {minGain: 0}, undefined)).toThrow('--sweep-min-gain must be above 0')
  })
})
