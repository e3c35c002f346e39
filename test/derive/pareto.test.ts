import {describe, expect, it} from 'vitest'
import {deriveResult} from '../../src/derive/derive.js'
import {energyValue, paretoFrontier, paretoSeries} from '../../src/derive/pareto.js'
import {handResult, localTarget, request, run} from '../helpers/result-builder.js'

type P = {name: string; speed: number; perUser?: number; joules?: number}

describe('Pareto frontiers', () => {
  it('keeps the points no other point beats on both objectives, in order of the first', () => {
    const points: P[] = [
      {name: 'c1', speed: 100, perUser: 100, joules: 1},
      {name: 'c2', speed: 180, perUser: 90, joules: 0.6},
      {name: 'c4', speed: 300, perUser: 75, joules: 0.4},
      // Slower in total and for each user than c4: dominated.
      {name: 'c6', speed: 290, perUser: 48, joules: 0.45},
      {name: 'c8', speed: 400, perUser: 50, joules: 0.3},
      // No per-user figure: cannot be placed.
      {name: 'c16', speed: 410},
    ]
    const total = [(p: P) => p.speed, 'max'] as const
    const user = [(p: P) => p.perUser, 'max'] as const
    expect(paretoFrontier(points, total, user).map((p) => p.name)).toEqual(['c1', 'c2', 'c4', 'c8'])
    // J/token against per-user speed: less energy and more speed both win; c1 is fastest per user, c8 cheapest.
    expect(paretoFrontier(points, user, [(p: P) => p.joules, 'min']).map((p) => p.name)).toEqual(['c8', 'c4', 'c2', 'c1'])
    // Equal points do not dominate each other.
    expect(paretoFrontier([{name: 'a', speed: 1, perUser: 1}, {name: 'b', speed: 1, perUser: 1}], total, user).map((p) => p.name)).toEqual(['a', 'b'])
  })

  it('takes each target\'s test measured at the most load levels, from the derivation\'s cells', () => {
    // tg64 at c1 and at c4 (4 requests together, each 64 tokens in 320 ms); pp256 at c1 only.
    const tg = (load: number) => [0, 1].map((rep) => run('local', 'tg64', rep, Array.from({length: load}, () => request(rep * 1000, {nPrompt: 1, nOut: 64, ttft: 5, tpot: 5})), load))
    const result = handResult([localTarget()], [run('local', 'pp256', 0, [request(0, {nPrompt: 256, nOut: 0, ttft: 100})]), ...tg(1), ...tg(4)])
    const [series] = paretoSeries(deriveResult(result))
    expect(series!.test).toBe('tg64')
    expect(series!.points.map((p) => p.load)).toEqual([{mode: 'concurrency', level: 1}, {mode: 'concurrency', level: 4}])
    // 1 / TPOT = 200 tokens/s per user; total: 64 (or 256) tokens over the 320 ms phase.
    expect(series!.points.map((p) => [p.perUserTps, p.totalTps])).toEqual([[200, 200], [200, 800]])
  })

  it('places a hosted model\'s energy at the middle of its range, a meter\'s at its figure, a missing one nowhere', () => {
    expect(energyValue({status: 'modelled', boundary: 'facility', method: 'estimated', basis: 'generated', tokens: 10, low: 0.1, high: 0.3, model: 'm', request: {} as never})).toEqual({value: 0.2, low: 0.1, high: 0.3})
    expect(energyValue({status: 'metered', boundary: 'wall', method: 'counter', basis: 'generated', tokens: 10, grossJ: 5, jPerToken: 0.5, netJPerToken: null, sourceIds: []})).toEqual({value: 0.5})
    expect(energyValue({status: 'missing', code: 'no-power', reason: 'r'})).toBeUndefined()
  })
})
