import {describe, expect, it} from 'vitest'
import {probeMemoryBandwidth, triadGBs} from '../../src/system/memory-bandwidth.js'

describe('memory bandwidth', () => {
  it('counts 24 bytes per triad element over the fastest pass, as STREAM does', () => {
    // 2 threads x 1e6 elements x 24 bytes = 48 MB in 8 ms = 6 GB/s; slower passes do not count.
    expect(triadGBs(1_000_000, 2, [10, 8, 9])).toBeCloseTo(6, 12)
    expect(() => triadGBs(10, 1, [0])).toThrow(/too small/)
  })

  it('measures triad on worker threads and says how', async () => {
    const probe = await probeMemoryBandwidth({threads: 2, elements: 2_000_000, passes: 3})
    expect(probe).toMatchObject({threads: 2, passes: 3, method: 'STREAM triad, Float64Array per worker thread, best pass'})
    expect(probe.arrayMiB).toBeCloseTo((2_000_000 * 8) / 2 ** 20, 9)
    // Any machine moves more than 100 MB/s and less than 100 TB/s.
    expect(probe.triadGBs).toBeGreaterThan(0.1)
    expect(probe.triadGBs).toBeLessThan(100_000)
  })
})
