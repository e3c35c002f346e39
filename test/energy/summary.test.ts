import {describe, expect, it} from 'vitest'
import {boundaryGroups} from '../../src/energy/boundary.js'
import {requestPhases, unionIntervals} from '../../src/energy/phases.js'
import {EnergySummarySchema} from '../../src/energy/schema.js'
import type {EnergyInput} from '../../src/energy/series-energy.js'
import type {BoundaryFigure, PhaseEnergy} from '../../src/energy/schema.js'
import {computeEnergy} from '../../src/energy/summary.js'
import type {SourceInfo} from '../../src/power/power-source.js'

const info = (id: string, over: Partial<SourceInfo>): SourceInfo => ({id, kind: 'command', boundary: 'wall', method: 'sampled', unit: 'W', intervalMs: 10, ...over})

/** Readings are sparse on purpose (every transition is a reading), so the arithmetic tests allow long gaps. */
const sparse = {maxGapMs: () => 2000}

/**
 * Idle window [-1000, 0], one request: prefill [0, 200] (100 prompt tokens), decode [200, 1200]
 * (11 output tokens: the first comes out of prefill, 10 out of decode).
 * - wall plug: 100 W idle, 300 W in prefill, 250 W in decode (steps);
 * - GPU: 50 W idle, then a ramp from 50 W at 0 ms to 170 W at 1200 ms (0.1 W/ms);
 * - RAPL package-0: a counter, 20 W idle, 40 W during the request;
 * - RAPL core: a part of the package, never added.
 */
const input: EnergyInput = {
  sources: [
    info('shelly:plug', {kind: 'shelly', boundary: 'wall'}),
    info('nvidia:0', {kind: 'nvidia-smi', boundary: 'gpu-board', device: 'GPU 0'}),
    info('rapl:package-0', {kind: 'rapl', boundary: 'cpu-package', method: 'counter', unit: 'J', device: 'package-0', wrapJ: 262143.32885}),
    info('rapl:package-0/core', {kind: 'rapl', boundary: 'cpu-package', method: 'counter', unit: 'J', device: 'core', part: 'core', wrapJ: 262143.32885}),
  ],
  samples: {
    'shelly:plug': [
      [-1000, 100],
      [0, 100],
      [0, 300],
      [200, 300],
      [200, 250],
      [1200, 250],
    ],
    'nvidia:0': [
      [-1000, 50],
      [0, 50],
      [1200, 170],
    ],
    'rapl:package-0': [
      [-1000, 1000],
      [0, 1020],
      [200, 1028],
      [1200, 1068],
    ],
    'rapl:package-0/core': [
      [-1000, 0],
      [0, 10],
      [200, 15],
      [1200, 35],
    ],
  },
  failures: [],
  idle: {t0: -1000, t1: 0},
}

const request = {prefill: [0, 200] as const, decode: [200, 1200] as const, promptTokens: 100, outputTokens: 11}

function figure(phase: PhaseEnergy, boundary: string): BoundaryFigure {
  const found = phase.boundaries.find((b) => b.boundary === boundary)
  if (!found) throw new Error(`no ${boundary} figure`)
  return found
}

describe('computeEnergy', () => {
  const summary = computeEnergy(input, [request], sparse)
  const [prefill, decode, total] = summary.phases as [PhaseEnergy, PhaseEnergy, PhaseEnergy]

  it('measures the idle baseline as the time-weighted mean over the idle window', () => {
    expect(summary.idle!.series).toEqual([
      {sourceId: 'shelly:plug', watts: 100},
      {sourceId: 'nvidia:0', watts: 50},
      {sourceId: 'rapl:package-0', watts: 20}, // 20 J over 1 s
      {sourceId: 'rapl:package-0/core', watts: 10},
    ])
  })

  it('attributes gross and net energy to prefill and decode, by hand', () => {
    const wallPrefill = figure(prefill, 'wall')
    // 300 W x 0.2 s = 60 J; net 60 - 100 W x 0.2 s = 40 J; per prompt token 0.6 and 0.4 J.
    expect(wallPrefill).toMatchObject({method: 'sampled', sourceIds: ['shelly:plug'], grossJ: 60, netJ: 40, avgW: 300, peakW: 300})
    expect(wallPrefill.gross).toEqual({jPerToken: 0.6, whPer1kTokens: 0.6 / 3.6, tokensPerKwh: 6e6})
    expect(wallPrefill.net!.jPerToken).toBeCloseTo(0.4, 12)
    expect(prefill).toMatchObject({tokens: 100, tokenKind: 'prompt', windowMs: 200, overlapMs: 0, widest: 'wall'})

    // Decode: 250 W x 1 s = 250 J over 10 tokens = 25 J/token; net 250 - 100 = 150 J = 15 J/token.
    const wallDecode = figure(decode, 'wall')
    expect(wallDecode).toMatchObject({grossJ: 250, netJ: 150})
    expect(wallDecode.gross!.jPerToken).toBe(25)
    expect(wallDecode.net!.jPerToken).toBe(15)
    expect(decode).toMatchObject({tokens: 10, tokenKind: 'generated', windowMs: 1000})

    // Total: 60 + 250 = 310 J over all 11 output tokens; net 310 - 100 W x 1.2 s = 190 J.
    const wallTotal = figure(total, 'wall')
    expect(wallTotal).toMatchObject({grossJ: 310, netJ: 190})
    expect(wallTotal.gross!.jPerToken).toBeCloseTo(310 / 11, 12)
    expect(total).toMatchObject({tokens: 11, tokenKind: 'generated', windowMs: 1200})
  })

  it('integrates a ramp (trapezoid) and differences a counter, then adds the disjoint boundaries', () => {
    // GPU ramp: prefill 50 -> 70 W, mean 60 W x 0.2 s = 12 J; decode 70 -> 170 W, mean 120 W x 1 s = 120 J.
    expect(figure(prefill, 'gpu-board')).toMatchObject({grossJ: 12, peakW: 70})
    expect(figure(decode, 'gpu-board').grossJ).toBeCloseTo(120, 9)
    // Package counter: 1028 - 1020 = 8 J in prefill (net 8 - 20 W x 0.2 s = 4 J); 1068 - 1028 = 40 J in decode.
    expect(figure(prefill, 'cpu-package')).toMatchObject({method: 'counter', grossJ: 8, avgW: 40, peakW: 40})
    expect(figure(prefill, 'cpu-package').netJ).toBeCloseTo(4, 12)
    // cpu-package + gpu-board: 8 + 12 = 20 J, net 4 + (12 - 50 W x 0.2 s) = 6 J; the weakest method is 'sampled'.
    const both = figure(prefill, 'cpu-package+gpu-board')
    expect(both).toMatchObject({method: 'sampled', sourceIds: ['rapl:package-0', 'nvidia:0']})
    expect(both.grossJ).toBeCloseTo(20, 12)
    expect(both.netJ).toBeCloseTo(6, 12)
    // Peak of the sum: at 200 ms the package draws 40 W and the GPU 70 W.
    expect(both.peakW).toBeCloseTo(110, 12)
    // The core zone is shown on its own, never inside a boundary.
    expect(prefill.boundaries.flatMap((b) => b.sourceIds)).not.toContain('rapl:package-0/core')
    expect(prefill.series.find((s) => s.sourceId === 'rapl:package-0/core')).toMatchObject({part: 'core', grossJ: 5})
  })

  it('orders boundaries widest first', () => {
    expect(prefill.boundaries.map((b) => b.boundary)).toEqual(['wall', 'cpu-package+gpu-board', 'cpu-package', 'gpu-board'])
  })

  it('fits the result schema', () => {
    expect(EnergySummarySchema.parse(summary)).toEqual(summary)
  })

  it('marks a window missing when its source failed, and falls back to the widest covered boundary', () => {
    const failed: EnergyInput = {
      ...input,
      samples: {...input.samples, 'shelly:plug': input.samples['shelly:plug']!.slice(0, 4)},
      failures: [{sourceId: 'shelly:plug', failedAt: 500, reason: 'shelly://10.0.0.9: no reading for 10 s'}],
    }
    const result = computeEnergy(failed, [request], sparse)
    const [p, d] = result.phases as [PhaseEnergy, PhaseEnergy]
    expect(figure(p, 'wall').grossJ).toBe(60)
    const wall = figure(d, 'wall')
    expect(wall).toMatchObject({grossJ: null, netJ: null, gross: null})
    expect(wall.missing).toMatch(/shelly:plug: no reading after the window end .*failed at 500\.0 ms: shelly:\/\/10\.0\.0\.9: no reading for 10 s/)
    expect(d.widest).toBe('cpu-package+gpu-board')
    expect(EnergySummarySchema.parse(result)).toEqual(result)
  })

  it('divides the energy of concurrent windows by all tokens produced in them', () => {
    const flat: EnergyInput = {sources: [info('wall', {})], samples: {wall: [[-100, 100], [1000, 100]]}, failures: []}
    // A: prefill [0, 100], decode [100, 600]; B: prefill [300, 400], decode [400, 900]; 10 prompt and 6 output tokens each.
    const result = computeEnergy(flat, [
      {prefill: [0, 100], decode: [100, 600], promptTokens: 10, outputTokens: 6},
      {prefill: [300, 400], decode: [400, 900], promptTokens: 10, outputTokens: 6},
    ], sparse)
    const [p, d, t] = result.phases as [PhaseEnergy, PhaseEnergy, PhaseEnergy]
    // Prefill windows: 200 ms at 100 W = 20 J over 20 prompt tokens. B's prefill runs during A's decode.
    expect(p).toMatchObject({windowMs: 200, tokens: 20, overlapMs: 100})
    expect(figure(p, 'wall').gross!.jPerToken).toBe(1)
    // Decode union [100, 900]: 80 J over 5 + 5 tokens.
    expect(d).toMatchObject({windowMs: 800, tokens: 10, overlapMs: 100})
    expect(figure(d, 'wall').gross!.jPerToken).toBe(8)
    // Everything [0, 900]: 90 J over 12 output tokens; no idle window, so no net figure.
    expect(figure(t, 'wall')).toMatchObject({grossJ: 90, netJ: null, net: null})
    expect(figure(t, 'wall').gross!.jPerToken).toBe(7.5)
    expect(result.idle).toBeNull()
  })
})

describe('requestPhases', () => {
  it('splits a generation request at its first token', () => {
    const phases = requestPhases({tSend: 10, chunks: [[60, 1], [70, 1], [80, 2]], tEnd: 80, nPrompt: 100, nOut: 4})
    expect(phases).toEqual({prefill: [10, 60], decode: [60, 80], promptTokens: 100, outputTokens: 4})
  })

  it('gives a prompt-only request a prefill window only', () => {
    expect(requestPhases({tSend: 0, tPrefillEnd: 256, chunks: [], tEnd: 256, nPrompt: 512, nOut: 0})).toEqual({prefill: [0, 256], promptTokens: 512, outputTokens: 0})
  })

  it('merges overlapping windows', () => {
    expect(unionIntervals([[5, 8], [0, 2], [1, 3], [8, 9]])).toEqual([[0, 3], [5, 9]])
  })
})

describe('boundary rules', () => {
  const rapl = (id: string, boundary: SourceInfo['boundary'], device: string, part?: string) => info(id, {kind: 'rapl', boundary, method: 'counter', unit: 'J', device, ...(part ? {part} : {})})
  const sources = [
    rapl('rapl:package-0', 'cpu-package', 'package-0'),
    rapl('rapl:package-0/core', 'cpu-package', 'core', 'core'),
    rapl('rapl:package-0/uncore', 'cpu-package', 'uncore', 'uncore'),
    rapl('rapl:package-0/dram', 'dram', 'package-0 dram'),
    rapl('rapl:package-1', 'cpu-package', 'package-1'),
    rapl('rapl:package-1/dram', 'dram', 'package-1 dram'),
    rapl('rapl:psys', 'soc', 'psys'),
    info('cpu-tdp:package', {kind: 'cpu-tdp', boundary: 'cpu-package', method: 'estimated'}),
    info('nvidia:0', {kind: 'nvidia-smi', boundary: 'gpu-board', device: 'H100 (GPU 0)'}),
    info('nvidia:1', {kind: 'nvidia-smi', boundary: 'gpu-board', device: 'H100 (GPU 1)'}),
    info('amd:0', {kind: 'amd-smi', boundary: 'gpu-board', device: 'MI300X (0)'}),
    info('rocm:0', {kind: 'rocm-smi', boundary: 'gpu-board', device: 'MI300X (0)'}),
    info('shelly:a', {kind: 'shelly', boundary: 'wall', device: 'a'}),
    info('constant:wall', {kind: 'constant', boundary: 'wall', method: 'estimated'}),
  ]
  const groups = boundaryGroups(sources)
  const group = (b: string) => groups.find((g) => g.boundary === b)!

  it('never sums nested zones or two meters of the same thing', () => {
    expect(groups.map((g) => g.boundary)).toEqual(['wall', 'soc', 'cpu-package+gpu-board+dram', 'cpu-package', 'gpu-board', 'dram'])
    // The measured plug wins over the declared constant; one wall meter only.
    expect(group('wall')).toMatchObject({sourceIds: ['shelly:a'], method: 'sampled', alternatives: ['constant:wall']})
    // psys contains the packages: alone under 'soc'.
    expect(group('soc').sourceIds).toEqual(['rapl:psys'])
    // Packages add up across sockets; core/uncore (parts) and the TDP estimate (an alternative) do not.
    expect(group('cpu-package')).toMatchObject({sourceIds: ['rapl:package-0', 'rapl:package-1'], method: 'counter', alternatives: ['cpu-tdp:package']})
    // NVIDIA and AMD boards add up; amd-smi and rocm-smi read the same MI300X: one of them.
    expect(group('gpu-board').sourceIds).toEqual(['amd:0', 'nvidia:0', 'nvidia:1'])
    expect(group('gpu-board').alternatives).toEqual(['rocm:0'])
    expect(group('dram').sourceIds).toEqual(['rapl:package-0/dram', 'rapl:package-1/dram'])
    expect(group('cpu-package+gpu-board+dram').sourceIds).toEqual(['rapl:package-0', 'rapl:package-1', 'amd:0', 'nvidia:0', 'nvidia:1', 'rapl:package-0/dram', 'rapl:package-1/dram'])
  })

  it('labels a sum with an estimate in it as estimated', () => {
    const mixed = boundaryGroups([info('cpu-tdp:package', {kind: 'cpu-tdp', boundary: 'cpu-package', method: 'estimated'}), info('nvidia:0', {kind: 'nvidia-smi', boundary: 'gpu-board'})])
    expect(mixed[0]).toMatchObject({boundary: 'cpu-package+gpu-board', method: 'estimated'})
  })
})
