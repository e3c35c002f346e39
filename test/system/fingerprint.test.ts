import os from 'node:os'
import {describe, expect, it} from 'vitest'
import {HostSchema} from '../../src/system/host.js'
import {hostFingerprint} from '../../src/system/fingerprint.js'

describe('host fingerprint', () => {
  it('describes this machine with real values and validates', async () => {
    const host = await hostFingerprint()
    expect(HostSchema.parse(host)).toEqual(host)
    expect(host.hostname).toBe(os.hostname())
    expect(host.memoryBytes).toBe(os.totalmem())
    expect(host.cpu.threads).toBe(os.cpus().length)
    expect(host.cpu.physicalCores).toBeGreaterThanOrEqual(1)
    expect(host.cpu.brand.length).toBeGreaterThan(0)
    expect(host.os.arch).toBe(os.arch())
    expect(host.runtime.node).toBe(process.version)
    if (os.arch() === 'x64') expect(host.cpu.flags).toContain('sse2')
  })
})
