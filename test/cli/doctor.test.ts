import os from 'node:os'
import {describe, expect, it} from 'vitest'
import {owbench} from '../helpers/cli.js'

describe('owbench doctor', () => {
  it('--json lists the host and every power source with its status and reason', async () => {
    const run = await owbench(['doctor', '--json'])
    expect(run.code).toBe(0)
    const report = JSON.parse(run.stdout) as {host: {hostname: string}; power: {kind: string; status: string; reason: string}[]}
    expect(report.host.hostname).toBe(os.hostname())
    expect(report.power.map((p) => p.kind)).toEqual(['rapl', 'nvml', 'nvidia-smi', 'amd-smi', 'rocm-smi', 'powermetrics', 'wall-meter', 'cpu-tdp', 'constant'])
    for (const p of report.power) expect(p.reason.length).toBeGreaterThan(0)
    expect(report.power.find((p) => p.kind === 'constant')!.status).toBe('available')
  })
})
