import fs from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {trapezoidJoules} from '../../src/energy/integrate.js'
import {parsePowermetrics, PowermetricsParser, PowermetricsSource} from '../../src/power/powermetrics.js'
import {PowerSampler} from '../../src/power/sampler.js'
import {PowerRecordSchema} from '../../src/power/schema.js'
import {fakeEnv, installFakeTools} from './helpers/fake-tools.js'
import {readRecorded, recorded, tempDir, waitFor} from './helpers/fixtures.js'

const M1 = 'apple-m1_MacBookAir10-1_macOS12-21G115_cpu_power_10-samples.txt'
const M1MAX = 'apple-m1max_MacBookPro18-4_macOS13-22G120_1-sample.txt'
const M4 = 'apple-m4_Mac16-6_macOS15-24F74_default-samplers_1-sample.txt'
const M2 = 'apple-m2_Mac14-2_macOS12-21G72_STITCHED.txt'
const INTEL = 'intel_MacBookPro15-1_macOS14-23C71_cpu_power_5-samples.txt'
const text = (file: string) => readRecorded('macos-powermetrics', file)

describe('powermetrics text (recorded, macOS 12 to 15, Apple Silicon and Intel)', () => {
  it('macOS 12 (M1): Package Power and no Combined line; integer mW', () => {
    const samples = parsePowermetrics(text(M1))
    expect(samples).toHaveLength(10)
    expect(samples[0]).toEqual({date: 'Fri Nov 10 12:37:08 2023 +0100', elapsedMs: 104.51, readings: {ane: 0, dram: 0.22, cpu: 0.947, gpu: 0.153, package: 1.473}})
    expect(samples.map((s) => s.readings.combined)).toEqual(Array(10).fill(undefined))
  })

  it('macOS 13 (M1 Max): CPU, GPU, ANE and Combined Power', () => {
    expect(parsePowermetrics(text(M1MAX))).toEqual([{date: 'Mon Oct 23 16:51:12 2023 +0200', elapsedMs: 1012.07, readings: {cpu: 0.211, gpu: 0.147, ane: 0, combined: 0.359}}])
  })

  it('macOS 15 (M4): GPU Power printed twice is read once', () => {
    expect(parsePowermetrics(text(M4))).toEqual([{date: 'Sat Nov  8 15:54:21 2025 +0900', elapsedMs: 5021.96, readings: {cpu: 0.954, gpu: 0.028, ane: 0, combined: 0.983}}])
  })

  it('Intel Mac: one package figure in W without a space', () => {
    const samples = parsePowermetrics(text(INTEL))
    expect(samples.map((s) => s.readings)).toEqual([4.87, 3.43, 3.38, 4.21, 3.21].map((w) => ({'intel-package': w})))
    expect(samples.map((s) => s.elapsedMs)).toEqual([1002.8, 1004.07, 1003.46, 1003.06, 1003.03])
  })

  it('the stitched M2 file: a sample without power lines is skipped; DCS Power is read', () => {
    expect(parsePowermetrics(text(M2))).toEqual([{date: 'Tue Nov 28 11:28:55 2023 +0100', elapsedMs: 1002.8, readings: {ane: 0, dram: 0.019, dcs: 0.036, cpu: 0.01, gpu: 0, package: 0.025}}])
  })

  it('emits a sample as soon as its last reading arrives, once the first sample showed which that is', () => {
    const parser = new PowermetricsParser()
    const emittedAt: string[] = []
    for (const line of text(M1).split('\n')) for (const _ of parser.push(line)) emittedAt.push(line)
    // The first sample is only known complete at the second header; later ones at their own Package Power line.
    expect(emittedAt[0]).toMatch(/^\*\*\* Sampled system activity/)
    expect(emittedAt.slice(1)).toEqual(Array(9).fill(expect.stringMatching(/^Package Power: /)))
  })
})

describe('PowermetricsSource (recorded samples replayed in real time by a fake powermetrics on PATH)', () => {
  let bin: string
  beforeAll(() => {
    bin = tempDir('pm')
    installFakeTools(bin)
  })
  afterAll(() => fs.rmSync(bin, {recursive: true, force: true}))

  it('stores each reading as a step over its span, so the energy is exactly what powermetrics measured', async () => {
    const sampler = new PowerSampler({sources: [new PowermetricsSource({env: fakeEnv(bin, {FAKE_PM_FILE: recorded('macos-powermetrics', M1)})})], intervalMs: 100})
    const {sources} = await sampler.start()
    expect(sources.map((s) => [s.id, s.boundary, s.part ?? ''])).toEqual([
      ['powermetrics:ane', 'soc', 'ane'],
      ['powermetrics:dram', 'dram', ''],
      ['powermetrics:cpu', 'cpu-package', ''],
      ['powermetrics:gpu', 'gpu-board', ''],
      ['powermetrics:package', 'soc', ''],
    ])
    await waitFor(() => (sampler.snapshot().samples['powermetrics:package']?.length ?? 0) >= 20, 10_000, 'ten samples')
    const recording = await sampler.stop()
    const series = recording.samples['powermetrics:package']!
    // Spans abut: each sample starts where the one before ended, and lasts its own elapsed time.
    const samples = parsePowermetrics(text(M1))
    for (let k = 0; k < 10; k++) {
      expect(series[2 * k + 1]![0] - series[2 * k]![0]).toBeCloseTo(samples[k]!.elapsedMs, 9)
      if (k > 0) expect(series[2 * k]![0]).toBe(series[2 * k - 1]![0])
    }
    // sum(Package W x elapsed s) over the ten recorded samples.
    const expected = samples.reduce((sum, s) => sum + (s.readings.package! * s.elapsedMs) / 1000, 0)
    expect(trapezoidJoules(series, series[0]![0], series.at(-1)![0])).toBeCloseTo(expected, 9)
    expect(() => PowerRecordSchema.parse(recording)).not.toThrow()
  })

  it('keeps the samples and records a failure when powermetrics exits mid-run', async () => {
    const sampler = new PowerSampler({sources: [new PowermetricsSource({env: fakeEnv(bin, {FAKE_PM_FILE: recorded('macos-powermetrics', M1), FAKE_PM_EXIT_AFTER: '3'})})], intervalMs: 100})
    await sampler.start()
    await waitFor(() => sampler.snapshot().failures.length > 0, 10_000, 'the failure')
    const recording = await sampler.stop()
    expect(recording.samples['powermetrics:cpu']!.map(([, w]) => w)).toEqual([0.947, 0.947, 0.42, 0.42, 0.208, 0.208])
    expect(recording.failures.map((f) => f.reason)).toEqual(Array(5).fill('powermetrics exited with code 1: (fake) powermetrics stopped'))
  })

  it('reports a refusal to start with the way to give it root', async () => {
    const sampler = new PowerSampler({sources: [new PowermetricsSource({env: fakeEnv(bin, {FAKE_PM_FILE: recorded('macos-powermetrics', M1), FAKE_PM_NOT_ROOT: '1'})})]})
    const {notStarted} = await sampler.start()
    await sampler.stop()
    expect(notStarted).toEqual([{source: 'powermetrics', reason: 'powermetrics exited with code 1: (fake) powermetrics must be invoked as the superuser', hint: expect.stringMatching(/powermetrics/)}])
  })
})
