import {execFileSync} from 'node:child_process'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {beforeAll, describe, expect, it} from 'vitest'
import type {EnergyInput} from '../../src/energy/series-energy.js'
import {computeEnergy} from '../../src/energy/summary.js'
import {isUserError} from '../../src/errors/errors.js'
import {decodeClocksEventReasons, NvmlSource, nvmlConditionsReader} from '../../src/power/nvml.js'
import {PowerSampler} from '../../src/power/sampler.js'
import {tempDir, waitFor} from './helpers/fixtures.js'

/** The fake libnvidia-ml, compiled once with the system's C compiler. */
let library: string
beforeAll(() => {
  const dir = tempDir('nvml')
  library = path.join(dir, 'libnvidia-ml.so.1')
  const source = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'fake-nvml.c')
  execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', library, source])
})

describe('NVML energy counter through koffi (a fake libnvidia-ml, no GPU here)', () => {
  it('reads the counter of the Volta+ GPU in joules, lists the older one as uncovered, and measures the draw', async () => {
    const sampler = new PowerSampler({sources: [new NvmlSource({library})], intervalMs: 100})
    const {sources} = await sampler.start()
    expect(sources).toEqual([
      {
        id: 'nvml:1',
        scope: 'host',
        kind: 'nvml',
        boundary: 'gpu-board',
        method: 'counter',
        unit: 'J',
        intervalMs: 100,
        updateMs: 100,
        device: 'NVIDIA H100 80GB HBM3 (GPU 1)',
        field: 'nvmlDeviceGetTotalEnergyConsumption',
        notes: [expect.stringMatching(/^mJ since the driver was loaded/)],
      },
    ])
    await waitFor(() => (sampler.snapshot().samples['nvml:1']?.length ?? 0) >= 15, 10_000, '15 readings')
    sampler.mark()
    const recording = await sampler.stop()
    expect(recording.uncovered).toEqual([{source: 'nvml', boundary: 'gpu-board', device: 'Tesla P100-PCIE-16GB (GPU 0)', reason: 'nvmlDeviceGetTotalEnergyConsumption: Not Supported (the energy counter needs Volta or newer)'}])
    const series = recording.samples['nvml:1']!
    // The counter started at 123456789012 mJ plus the monotonic clock's ms x 300 W: joules, far above 1e8.
    expect(series[0]![1]).toBeGreaterThan(123_456_789)
    const t0 = series[0]![0]
    const t1 = series.at(-1)![0]
    expect(t1 - t0).toBeGreaterThanOrEqual(1000)
    const input: EnergyInput = recording
    const phase = computeEnergy(input, [{prefill: [t0, t0 + 1] as const, decode: [t0 + 1, t1] as const, promptTokens: 1, outputTokens: 100}]).phases[2]!
    const gpu = phase.boundaries.find((b) => b.boundary === 'gpu-board')!
    expect(gpu.invalid).toBeUndefined()
    expect(gpu.method).toBe('counter')
    expect(gpu.partial).toBe('covers 1 of 2 GPUs; not Tesla P100-PCIE-16GB (GPU 0): nvmlDeviceGetTotalEnergyConsumption: Not Supported (the energy counter needs Volta or newer)')
    // 300 W: the sampler's clock and the library's are both monotonic, read microseconds apart.
    expect(gpu.avgW!).toBeGreaterThan(297)
    expect(gpu.avgW!).toBeLessThan(303)
  })

  it('says why it cannot start: no library, no driver (NVML\'s own words)', async () => {
    const missing = await new NvmlSource({library: '/nonexistent/libnvidia-ml.so.1'}).start({clock: () => 0, intervalMs: 100, sink: {sample() {}, failure() {}}}).catch((e: unknown) => e)
    expect(isUserError(missing) && missing.message).toMatch(/^\/nonexistent\/libnvidia-ml\.so\.1 cannot be loaded: /)
    process.env['FAKE_NVML_INIT'] = '9'
    try {
      const noDriver = await new NvmlSource({library}).start({clock: () => 0, intervalMs: 100, sink: {sample() {}, failure() {}}}).catch((e: unknown) => e)
      expect(isUserError(noDriver) && noDriver.message).toBe(`NVML could not start: Driver Not Loaded (${library})`)
    } finally {
      delete process.env['FAKE_NVML_INIT']
    }
  })

  it('reads clocks, temperatures and throttle reasons for the run conditions', async () => {
    const read = await nvmlConditionsReader(library)
    expect(read!()).toEqual([
      {index: 0, name: 'Tesla P100-PCIE-16GB', smClockMHz: 1755, memClockMHz: 2619, temperatureC: 41, throttleReasons: ['gpu_idle']},
      {index: 1, name: 'NVIDIA H100 80GB HBM3', smClockMHz: 1755, memClockMHz: 2619, temperatureC: 83, throttleReasons: ['sw_power_cap', 'hw_thermal_slowdown']},
    ])
    expect(await nvmlConditionsReader('/nonexistent/libnvidia-ml.so.1')).toBeUndefined()
    expect(decodeClocksEventReasons(0x80n | 0x8n)).toEqual(['hw_slowdown', 'hw_power_brake_slowdown'])
  })
})
