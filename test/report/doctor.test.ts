import {describe, expect, it} from 'vitest'
import type {Detection} from '../../src/power/detect.js'
import {renderDoctor} from '../../src/report/doctor.js'
import {fakeHost} from '../helpers/fake-host.js'

describe('owbench doctor text', () => {
  const rapl: Detection = {kind: 'rapl', status: 'unavailable', reason: 'energy_uj is readable by root only', fix: 'sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj', spec: 'rapl', method: 'counter', boundaries: ['cpu-package', 'dram']}
  const nvidia: Detection = {kind: 'nvidia-smi', status: 'available', reason: '1 GPU: NVIDIA H100 80GB HBM3', spec: 'nvidia', method: 'sampled', boundaries: ['gpu-board']}

  it('prints the host, each source with its status and the exact fix or flag', () => {
    const text = renderDoctor(fakeHost(), [rapl, nvidia])
    expect(text).toContain('cpu      AMD EPYC, 2 cores / 2 threads, avx2 fma')
    expect(text).toContain('memory   24.00 GiB')
    expect(text).toMatch(/✗ rapl +unavailable energy_uj is readable by root only\n +fix: sudo chmod o\+r \/sys\/class\/powercap\/intel-rapl:\*\/energy_uj/)
    expect(text).toMatch(/✓ nvidia-smi +available +1 GPU: NVIDIA H100 80GB HBM3\n +use: --meter nvidia \(sampled; gpu-board\)/)
    expect(text).toMatch(/owbench run samples nvidia-smi by default\.$/)
  })

  it('says when nothing can be measured', () => {
    expect(renderDoctor(fakeHost(), [rapl])).toMatch(/No meter is available: .*--watts N, labelled estimated/)
  })
})
