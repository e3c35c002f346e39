import {execFileSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {monotonicMs, offsetTo} from '../../src/engines/monotonic-clock.js'

describe('the monotonic clock shared by owbench and the engine process', () => {
  it('a reading taken in another process falls between two taken here', () => {
    for (let i = 0; i < 3; i++) {
      const before = monotonicMs()
      const child = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.hrtime.bigint()))'], {encoding: 'utf8'})) / 1e6
      const after = monotonicMs()
      expect(child).toBeGreaterThan(before)
      expect(child).toBeLessThan(after)
    }
  })

  it('turns its readings into performance.now() readings, to the microsecond, and the offset does not drift', async () => {
    const offset = offsetTo(() => performance.now())
    const before = performance.now()
    const mono = monotonicMs()
    const after = performance.now()
    expect(mono + offset).toBeGreaterThanOrEqual(before - 0.002)
    expect(mono + offset).toBeLessThanOrEqual(after + 0.002)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(Math.abs(offsetTo(() => performance.now()) - offset)).toBeLessThan(0.01)
  })
})
