import fs from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCommand} from '../../src/power/child-process.js'
import {detectPowerSources, type Detection, type Exec} from '../../src/power/detect.js'
import {nodePowercapFs, type PowercapFs} from '../../src/power/rapl.js'
import {sourcesFromDetections} from '../../src/power/source-spec.js'
import {fakeEnv, installFakeTools} from './helpers/fake-tools.js'
import {recorded, tempDir} from './helpers/fixtures.js'
import {extractTtar} from './helpers/ttar.js'

let dir: string
let bin: string
let powercap: string
beforeAll(() => {
  dir = tempDir('detect')
  bin = path.join(dir, 'bin')
  installFakeTools(bin)
  extractTtar(recorded('linux-rapl', 'procfs-testdata_fixtures_sys-class-powercap.ttar'), dir)
  powercap = path.join(dir, 'fixtures', 'sys', 'class', 'powercap')
})
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}))

const byKind = (list: Detection[], kind: Detection['kind']) => list.find((d) => d.kind === kind)!

/** Runs the fake tools for real; `sudo` answers as the test says. */
const execWith = (sudoAllows: boolean): Exec => async (command, args, options) => {
  if (command === 'sudo') return {code: sudoAllows ? 0 : 1, signal: null, stdout: sudoAllows ? '/usr/bin/powermetrics\n' : '', stderr: sudoAllows ? '' : 'sudo: a password is required', timedOut: false}
  return runCommand(command, args, options)
}

describe('detectPowerSources', () => {
  it('finds RAPL, nvidia-smi, amd-smi and rocm-smi when they work, and what each reads', async () => {
    const env = fakeEnv(bin, {
      FAKE_NVSMI_GPUS: recorded('nvidia-smi', 'query-gpu-csv', 'linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load.csv'),
      FAKE_AMD_FILES: recorded('amd', 'samples', 'amd-smi_metric-json_gpu_data-wrapper_mi300x_amdsmi26.0.2_lilbee-fixture.json'),
    })
    // rocm-smi gets the same FAKE_AMD_FILES: an amd-smi body, with no cardN in it.
    const found = await detectPowerSources({powercapRoot: powercap, env, platform: 'linux', uid: 0, exec: execWith(false), cpuModel: 'AMD EPYC 7763 64-Core Processor'})
    expect(byKind(found, 'rapl')).toMatchObject({status: 'available', reason: 'counters: intel-rapl:0 (package-0), intel-rapl:0:0 (core)', method: 'counter', boundaries: ['cpu-package']})
    expect(byKind(found, 'nvidia-smi')).toMatchObject({status: 'available', reason: 'GPU 0 NVIDIA H100 80GB HBM3: power.draw.instant'})
    expect(byKind(found, 'amd-smi')).toMatchObject({status: 'available', reason: 'GPU 0: socket_power'})
    expect(byKind(found, 'rocm-smi')).toMatchObject({status: 'unavailable', reason: 'no GPU power: no GPU listed'})
    expect(byKind(found, 'powermetrics')).toMatchObject({status: 'unavailable', reason: 'powermetrics is macOS only'})
    expect(byKind(found, 'wall-meter')).toMatchObject({status: 'unavailable', fix: expect.stringMatching(/--meter shelly:\/\/192\.168\.1\.20/)})
    expect(byKind(found, 'cpu-tdp')).toMatchObject({status: 'available', method: 'estimated', reason: "estimate: TDP 280 W ('AMD EPYC 7763') x CPU utilization"})
    expect(byKind(found, 'constant')).toMatchObject({status: 'available', method: 'estimated'})

    // Without a meter named, start the meters; amd-smi, not rocm-smi; no CPU estimate next to RAPL.
    expect(sourcesFromDetections(found).map((s) => s.name)).toEqual(['rapl', 'nvidia-smi', 'amd-smi'])
  })

  it('says what to run when a source is there but unusable', async () => {
    const denied: PowercapFs = {
      ...nodePowercapFs,
      readFile: (file) => {
        if (file.endsWith('energy_uj')) throw Object.assign(new Error('EACCES'), {code: 'EACCES'})
        return nodePowercapFs.readFile(file)
      },
    }
    const found = await detectPowerSources({powercapRoot: powercap, fs: denied, env: {PATH: path.join(dir, 'empty')}, platform: 'linux', uid: 1000, exec: execWith(false), cpuModel: 'Apple M2 Pro'})
    expect(byKind(found, 'rapl')).toMatchObject({status: 'unavailable', reason: expect.stringMatching(/readable by root only/), fix: expect.stringContaining(`sudo chmod o+r ${powercap}/intel-rapl:*/energy_uj`)})
    expect(byKind(found, 'nvidia-smi')).toMatchObject({status: 'unavailable', reason: 'nvidia-smi is not on PATH', fix: expect.stringMatching(/NVIDIA driver/)})
    expect(byKind(found, 'amd-smi')).toMatchObject({status: 'unavailable', reason: 'amd-smi is not on PATH'})
    expect(byKind(found, 'cpu-tdp')).toMatchObject({status: 'unavailable', reason: "no row of data/cpu-tdp.csv matches 'Apple M2 Pro'", fix: expect.stringMatching(/--watts N/)})
    expect(sourcesFromDetections(found)).toEqual([])
  })

  it('finds the nvidia-smi fallback field on drivers without power.draw.instant, and a GPU without power', async () => {
    const env = fakeEnv(bin, {FAKE_NVSMI_GPUS: recorded('nvidia-smi', 'query-gpu-csv', 'linux-x86_64__nvidia-l40s__595.80__idle.csv'), FAKE_NVSMI_REJECT_INSTANT: '1'})
    const found = await detectPowerSources({powercapRoot: path.join(dir, 'none'), env, platform: 'linux', exec: execWith(false), cpuModel: ''})
    expect(byKind(found, 'nvidia-smi')).toMatchObject({status: 'available', reason: 'GPU 0 NVIDIA L40S: power.draw'})
    expect(byKind(found, 'rapl')).toMatchObject({status: 'unavailable', fix: expect.stringMatching(/modprobe intel_rapl_msr/)})
  })

  it('on macOS, finds powermetrics through sudo -n or explains how to allow it', async () => {
    const env = fakeEnv(bin)
    const refused = await detectPowerSources({env, platform: 'darwin', uid: 501, exec: execWith(false), cpuModel: 'Apple M2 Pro'})
    expect(byKind(refused, 'powermetrics')).toMatchObject({status: 'unavailable', reason: 'powermetrics needs root', fix: expect.stringMatching(/NOPASSWD: \/usr\/bin\/powermetrics/)})
    expect(byKind(refused, 'rapl')).toMatchObject({status: 'unavailable', reason: 'RAPL counters are read through Linux powercap'})
    const allowed = await detectPowerSources({env, platform: 'darwin', uid: 501, exec: execWith(true), cpuModel: 'Apple M2 Pro'})
    expect(byKind(allowed, 'powermetrics')).toMatchObject({status: 'available', sudo: true})
    const root = await detectPowerSources({env, platform: 'darwin', uid: 0, exec: execWith(false), cpuModel: 'Apple M2 Pro'})
    expect(byKind(root, 'powermetrics')).toMatchObject({status: 'available', reason: 'running as root'})
    expect(sourcesFromDetections(root).map((s) => s.name)).toEqual(['powermetrics'])
  })
})
