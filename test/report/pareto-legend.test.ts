import {describe, expect, it} from 'vitest'
import {loadLevelsText} from '../../src/report/labels.js'
import {throughputFrontierChart} from '../../src/report/pareto-charts.js'
import type {Load} from '../../src/results/load.js'

const c = (level: number): Load => ({mode: 'concurrency', level})
const r = (rps: number): Load => ({mode: 'rate', rps})

describe('Pareto legends', () => {
  it('name every load level a series spans, lightest first, a long run shortened to its ends and count', () => {
    expect(loadLevelsText([c(4), c(1), c(2), c(1)])).toBe('c1, c2, c4')
    expect(loadLevelsText([r(2.5), c(2), c(1)])).toBe('c1, c2, r2.5')
    expect(loadLevelsText([1, 2, 4, 8, 16, 32, 64].map(c).concat([r(1), r(4)]))).toBe('c1–c64 (7 levels), r1, r4')
  })

  it("a group measured at c1, c2, c4 and 2 requests/s is not named after c1: each dataset names the levels it holds", () => {
    // Per-user and total tokens/s by hand: r2 (40, 80) is beaten on both by c2 (45, 90), so it is off the frontier.
    const spec = throughputFrontierChart([
      {
        name: 'AMD EPYC (2 cores) · CPU (prebuilt) · threads 2, batch 512',
        color: '#1f77b4',
        kind: 'local',
        points: [
          {load: c(1), perUserTps: 50, totalTps: 50},
          {load: c(2), perUserTps: 45, totalTps: 90},
          {load: c(4), perUserTps: 30, totalTps: 120},
          {load: r(2), perUserTps: 40, totalTps: 80},
        ],
      },
    ])!
    const datasets = spec.config.data.datasets as unknown as {label: string; data: {x: number; y: number; level: string}[]}[]
    expect(datasets.map((d) => d.label)).toEqual(['AMD EPYC (2 cores) · CPU (prebuilt) · threads 2, batch 512 · c1, c2, c4', 'AMD EPYC (2 cores) · CPU (prebuilt) · threads 2, batch 512 · r2: off its frontier'])
    expect(datasets.map((d) => d.data.map((p) => p.level))).toEqual([['c1', 'c2', 'c4'], ['r2']])
  })
})
