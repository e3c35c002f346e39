import fs from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {AmdGpuSource, parseAmdSmiJson, parseRocmSmiJson} from '../../src/power/amd-smi.js'
import {PowerSampler} from '../../src/power/sampler.js'
import {fakeEnv, installFakeTools} from './helpers/fake-tools.js'
import {readRecorded, recorded, recordedSamples, tempDir, waitFor} from './helpers/fixtures.js'

describe('rocm-smi JSON (recorded, ROCm 2019 to 7)', () => {
  const cases: [string, string, [string, number | undefined, string | undefined][]][] = [
    ['samples', 'rocm-smi_json_2019_rainbowminer-issue749.json', [['card0', 222, 'Average Graphics Package Power (W)']]],
    ['rocm-smi-telegraf', 'rocm-smi_json_vega-10-XT.json', [['card0', 15, 'Average Graphics Package Power (W)']]],
    ['rocm-smi-telegraf', 'rocm-smi_json_rx6700xt_rocm430.json', [['card0', 6, 'Average Graphics Package Power (W)']]],
    ['rocm-smi-telegraf', 'rocm-smi_json_rx6700xt_rocm612.json', [['card0', 6, 'Average Graphics Package Power (W)']]],
    ['samples', 'rocm-smi_showpower-json_rx7900xtx_beszel-issue414.json', [['card0', 19, 'Average Graphics Package Power (W)']]],
    ['samples', 'rocm-smi_json_rx9060xt_rocm7_lilbee-fixture.json', [['card0', 17, 'Average Graphics Package Power (W)']]],
    // MI300 and APUs: the socket reading, not an average.
    ['samples', 'rocm-smi_json_mi300x_lilbee-fixture.json', [['card0', 159, 'Current Socket Graphics Package Power (W)']]],
  ]

  it.each(cases)('%s/%s', (dir, file, expected) => {
    const gpus = parseRocmSmiJson(readRecorded('amd', dir, file))
    expect(gpus.map((g) => [g.gpu, g.watts, g.field])).toEqual(expected)
  })

  it('reads every card of a 6x MI100 node and ignores the "system" entry', () => {
    const gpus = parseRocmSmiJson(readRecorded('amd', 'rocm-smi-telegraf', 'rocm-smi_json_mi100_rocm571.json'))
    expect(gpus.map((g) => g.watts)).toEqual([39, 37, 35, 39, 39, 40])
    expect(gpus[0]!.name).toBe('Arcturus GL-XL [Instinct MI100]')
  })

  it('gives no value for "N/A (Secondary die)" (the ROCm 6.0.2 bug on a single-die RX 6700 XT)', () => {
    const [gpu] = parseRocmSmiJson(readRecorded('amd', 'rocm-smi-telegraf', 'rocm-smi_json_rx6700xt_rocm602.json'))
    expect(gpu).toMatchObject({gpu: 'card0', watts: undefined, unavailable: 'N/A (Secondary die)'})
  })
})

describe('amd-smi JSON (recorded shapes)', () => {
  it('reads the ROCm 6.1 bare list with {value, unit} readings', () => {
    expect(parseAmdSmiJson(readRecorded('amd', 'samples', 'amd-smi_metric-p-json_rocm6.1.0_changelog-example.json'))).toEqual([{gpu: '0', watts: 10, field: 'socket_power'}])
  })

  it('reads the AMDSMI 26.x {"gpu_data": [...]} wrapper', () => {
    expect(parseAmdSmiJson(readRecorded('amd', 'samples', 'amd-smi_metric-json_gpu_data-wrapper_mi300x_amdsmi26.0.2_lilbee-fixture.json'))).toEqual([{gpu: '0', watts: 158, field: 'socket_power'}])
  })

  it('skips the watch-mode banner and treats a bare "N/A" reading as none', () => {
    // The recorded watch-mode output is cut off inside "clock"; the closing brackets below are ours.
    const watch = recordedSamples('amd', 'samples', 'amd-smi_text-and-watch_outputs.txt')[3]!
    expect(watch.split('\n')[0]).toBe("'CTRL' + 'C' to stop watching output:")
    expect(() => parseAmdSmiJson(watch)).toThrow()
    const closed = watch.slice(0, watch.indexOf('"clock"')).replace(/,\s*$/, '') + '}]'
    expect(parseAmdSmiJson(closed)).toEqual([{gpu: '0', watts: undefined, field: 'socket_power', unavailable: '"N/A"'}])
  })

  it('reads readings from before units were added (bare numbers) and in mW', () => {
    expect(parseAmdSmiJson('[{"gpu": 1, "power": {"socket_power": 42}}]')[0]!.watts).toBe(42)
    expect(parseAmdSmiJson('[{"gpu": 1, "power": {"socket_power": {"value": 4200, "unit": "mW"}}}]')[0]!.watts).toBe(4.2)
  })
})

describe('AmdGpuSource (recorded output replayed by fake amd-smi / rocm-smi on PATH)', () => {
  let bin: string
  beforeAll(() => {
    bin = tempDir('amd')
    installFakeTools(bin)
  })
  afterAll(() => fs.rmSync(bin, {recursive: true, force: true}))

  it('runs rocm-smi once per interval and reads every card', async () => {
    const file = recorded('amd', 'rocm-smi-telegraf', 'rocm-smi_json_mi100_rocm602.json')
    const sampler = new PowerSampler({sources: [new AmdGpuSource({tool: 'rocm-smi', env: fakeEnv(bin, {FAKE_AMD_FILES: file})})], intervalMs: 100})
    const {sources} = await sampler.start()
    expect(sources.map((s) => [s.id, s.intervalMs, s.field])).toEqual([
      ['amd:0', 1000, 'Average Graphics Package Power (W)'],
      ['amd:1', 1000, 'Average Graphics Package Power (W)'],
      ['amd:2', 1000, 'Average Graphics Package Power (W)'],
      ['amd:3', 1000, 'Average Graphics Package Power (W)'],
    ])
    expect(sources[0]!.notes).toEqual([expect.stringMatching(/firmware averages/)])
    await waitFor(() => (sampler.snapshot().samples['amd:3']?.length ?? 0) >= 2, 10_000, 'a second reading')
    const recording = await sampler.stop()
    expect(recording.samples['amd:1']!.map(([, w]) => w).slice(0, 2)).toEqual([44, 44])
  })

  it('records the failure when amd-smi starts failing mid-run, keeping the readings', async () => {
    const state = path.join(bin, 'amd-calls')
    const file = recorded('amd', 'samples', 'amd-smi_metric-p-json_rocm6.1.0_changelog-example.json')
    const sampler = new PowerSampler({sources: [new AmdGpuSource({tool: 'amd-smi', env: fakeEnv(bin, {FAKE_AMD_FILES: file, FAKE_AMD_STATE: state, FAKE_AMD_FAIL_AFTER: '2'})})]})
    await sampler.start()
    await waitFor(() => sampler.snapshot().failures.length > 0, 10_000, 'the failure')
    const recording = await sampler.stop()
    expect(recording.samples['amd:0']!.map(([, w]) => w)).toEqual([10, 10])
    expect(recording.failures).toEqual([{sourceId: 'amd:0', failedAt: expect.any(Number), reason: 'amd-smi exited with code 1: (fake) amd-smi failed'}])
  })

  it('refuses a GPU that reports no power, with the ROCm fix', async () => {
    const file = recorded('amd', 'rocm-smi-telegraf', 'rocm-smi_json_rx6700xt_rocm602.json')
    const sampler = new PowerSampler({sources: [new AmdGpuSource({tool: 'rocm-smi', env: fakeEnv(bin, {FAKE_AMD_FILES: file})})]})
    const {notStarted} = await sampler.start()
    await sampler.stop()
    expect(notStarted).toEqual([{source: 'rocm-smi', reason: 'rocm-smi reports no GPU power (GPU card0: N/A (Secondary die))', hint: expect.stringMatching(/update ROCm to 6.1/)}])
  })
})
