import {describe, expect, it} from 'vitest'
import {counterJoules, counterWatts, coverage, peakValue, trapezoidJoules, unwrapCounter, valueAt} from '../../src/energy/integrate.js'
import {perToken} from '../../src/energy/per-token.js'

describe('trapezoid integration of watts', () => {
  // A ramp from 100 W to 200 W over 1 s, then flat at 200 W for 1 s (t in ms).
  const trace: [number, number][] = [
    [0, 100],
    [1000, 200],
    [2000, 200],
  ]

  it('integrates the whole trace exactly', () => {
    // (100 + 200) / 2 W x 1 s + 200 W x 1 s = 150 + 200 = 350 J
    expect(trapezoidJoules(trace, 0, 2000)).toBe(350)
  })

  it('interpolates at window edges that fall between samples', () => {
    // [500, 1500]: at 500 ms the ramp is at 150 W; (150 + 200) / 2 x 0.5 s + 200 x 0.5 s = 87.5 + 100 = 187.5 J
    expect(trapezoidJoules(trace, 500, 1500)).toBe(187.5)
    // [250, 750] inside one segment: 125 W .. 175 W, mean 150 W x 0.5 s = 75 J
    expect(trapezoidJoules(trace, 250, 750)).toBe(75)
    expect(valueAt(trace, 250)).toBe(125)
  })

  it('integrates a step (a reading averaged over its span, stored at both ends) exactly', () => {
    // powermetrics-style: 2 W over [0, 100], 4 W over [100, 300].
    const steps: [number, number][] = [
      [0, 2],
      [100, 2],
      [100, 4],
      [300, 4],
    ]
    // 2 W x 0.1 s + 4 W x 0.2 s = 0.2 + 0.8 = 1.0 J
    expect(trapezoidJoules(steps, 0, 300)).toBeCloseTo(1.0, 12)
    // [50, 150]: 2 W x 0.05 + 4 W x 0.05 = 0.3 J
    expect(trapezoidJoules(steps, 50, 150)).toBeCloseTo(0.3, 12)
    expect(valueAt(steps, 100, 'left')).toBe(2)
    expect(valueAt(steps, 100, 'right')).toBe(4)
    expect(peakValue(steps, 0, 99)).toBe(2)
    expect(peakValue(steps, 0, 300)).toBe(4)
  })

  it('reports windows the samples do not cover', () => {
    expect(coverage(trace, 0, 2000, 1000)).toBeUndefined()
    expect(coverage(trace, -1, 2000, 1000)).toMatch(/no reading before the window start/)
    expect(coverage(trace, 0, 2001, 1000)).toMatch(/no reading after the window end/)
    expect(coverage(trace, 0, 2000, 999)).toMatch(/a gap of 1000 ms/)
    expect(coverage([], 0, 1, 1)).toBe('no readings')
  })
})

describe('counters', () => {
  it('differences a counter over a window, interpolating between readings', () => {
    // Cumulative joules read every second: 10 W, then 30 W.
    const counter: [number, number][] = [
      [0, 1000],
      [1000, 1010],
      [2000, 1040],
    ]
    // [500, 1500]: E(500) = 1005, E(1500) = 1025, so 20 J.
    expect(counterJoules(counter, 500, 1500)).toBe(20)
    expect(counterJoules(counter, 0, 2000)).toBe(40)
    expect(counterWatts(counter)).toEqual([
      [0, 10],
      [1000, 10],
      [1000, 30],
      [2000, 30],
    ])
  })

  it('undoes a wrap at max_energy_range_uj', () => {
    // RAPL wraps at 262143.328850 J (max_energy_range_uj 262143328850 of the recorded client).
    const wrapJ = 262143.32885
    const raw: [number, number][] = [
      [0, wrapJ - 3],
      [1000, wrapJ - 1],
      [2000, 4],
    ]
    const {series, wraps, unresolved} = unwrapCounter(raw, wrapJ)
    expect(wraps).toEqual([2000])
    expect(unresolved).toEqual([])
    // 2 J in the first second; (wrapJ - (wrapJ - 1)) + 4 = 5 J in the second.
    expect(counterJoules(series, 0, 1000)).toBeCloseTo(2, 9)
    expect(counterJoules(series, 1000, 2000)).toBeCloseTo(5, 9)
    expect(counterJoules(series, 0, 2000)).toBeCloseTo(7, 9)
  })

  it('reports a backwards step it cannot undo without the wrap value', () => {
    const {unresolved} = unwrapCounter(
      [
        [0, 100],
        [1000, 5],
      ],
      undefined,
    )
    expect(unresolved).toEqual([1000])
  })
})

describe('per-token units', () => {
  it('converts J/token to Wh per 1k tokens and tokens per kWh', () => {
    // 36 J over 10 tokens = 3.6 J/token; x 1000 / 3600 = 1 Wh per 1k tokens; 3.6e6 / 3.6 = 1e6 tokens per kWh.
    expect(perToken(36, 10)).toEqual({jPerToken: 3.6, whPer1kTokens: 1, tokensPerKwh: 1e6})
    expect(perToken(36, 0)).toBeNull()
    expect(perToken(-1, 10)!.tokensPerKwh).toBeNull()
  })
})
