import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {compareResults} from '../../src/compare/compare.js'
import {welchTest} from '../../src/metrics/welch.js'
import {readResult} from '../../src/results/io.js'
import type {ResultFile} from '../../src/results/schema.js'
import {repoRoot} from '../helpers/cli.js'

const fixture = (name: string) => readResult(path.join(repoRoot, 'fixtures', 'results', 'v1', name))

describe('Welch t-test', () => {
  it('matches a hand computation', () => {
    // means 12 and 16, variances 2.5 each, n = 5: se = sqrt(0.5 + 0.5) = 1, t = 4, df = 1 / (2 x 0.25 / 4) = 8,
    // CI = 4 ± t(0.975, 8) = 4 ± 2.306004, p = 2 (1 - T8(4)) = 0.003949.
    const w = welchTest([10, 11, 12, 13, 14], [14, 15, 16, 17, 18])
    expect(w.difference).toBe(4)
    expect(w.t).toBe(4)
    expect(w.df).toBeCloseTo(8, 10)
    expect(w.ci95[0]).toBeCloseTo(4 - 2.306004, 5)
    expect(w.ci95[1]).toBeCloseTo(4 + 2.306004, 5)
    expect(w.p).toBeCloseTo(0.003949, 5)
  })
})

describe('compare', () => {
  it('finds a clear difference and says which way is better', async () => {
    const [slow, fast] = await Promise.all([fixture('quick-default-45w.json'), fixture('quick-tiny-30w.json')])
    const c = compareResults(slow, fast, {metric: 'tg', labels: ['default', 'tiny']})
    expect(c.test).toBe('tg64')
    expect(c.a.n).toBe(3)
    expect(c.welch!.p).toBeLessThan(0.05)
    expect(c.verdict).toMatch(/^tiny is [\d.]+% higher than default \(better\); difference/)
    expect(c.warnings).toContain('few repetitions (n=3 and 3): the test can miss a real difference; 5 or more are better')
    const energy = compareResults(slow, fast, {metric: 'j_per_token', labels: ['default', 'tiny']})
    expect(energy.verdict).toMatch(/tiny is [\d.]+% lower than default \(better\)/)
    // The fixtures' power is a declared draw at the wall: the figures say so.
    expect(energy.unit).toBe('J/token (wall, estimated, per generated token)')
    expect(energy.verdict).toContain('J/token (wall, estimated, per generated token), 95% CI')
    expect(c.unit).toBe('tokens/s')
  })

  it('says "no significant difference" when that is the truth', async () => {
    const a = await fixture('quick-default-45w.json')
    const c = compareResults(a, a, {metric: 'ttft'})
    expect(c.welch!.difference).toBe(0)
    expect(c.verdict).toMatch(/^no significant difference \(p = 1\.0\)/)
  })

  it('refuses n = 1 with the reason, and cost without repetitions', async () => {
    const a = await fixture('quick-default-45w.json')
    const one: ResultFile = {...a, runs: a.runs.filter((r) => r.warmup || r.repetition === 0)}
    const c = compareResults(one, a, {metric: 'tg', labels: ['one', 'three']})
    expect(c.welch).toBeUndefined()
    expect(c.verdict).toBe('refused: one has n=1, so there is no variance to test against; run with --repetitions 5 or more')
    expect(() => compareResults(a, a, {metric: 'usd_per_mtok'})).toThrow('usd_per_mtok has one value per result, no repetitions to test')
  })
})
