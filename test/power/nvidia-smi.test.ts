import fs from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {choosePowerField, nvidiaNumber, nvidiaTimestamp, NvidiaSmiSource, parseNvidiaCsv} from '../../src/power/nvidia-smi.js'
import {PowerSampler} from '../../src/power/sampler.js'
import {PowerRecordSchema} from '../../src/power/schema.js'
import {fakeEnv, installFakeTools} from './helpers/fake-tools.js'
import {captured, readRecorded, recorded, recordedSamples, tempDir, waitFor} from './helpers/fixtures.js'

const CSV_DIR = recorded('nvidia-smi', 'query-gpu-csv')
const csv = (name: string) => `${CSV_DIR}/${name}`

describe('nvidia-smi CSV parsing (recorded outputs)', () => {
  // [file, power.draw, power.draw.average, power.draw.instant] as recorded.
  const cases: [string, number, number | undefined, number][] = [
    ['linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load.csv', 631.95, 631.95, 625.68],
    ['linux-x86_64__nvidia-h100-mig__590.48.01__load.csv', 433.78, 433.78, 447.35],
    ['linux-x86_64__nvidia-h200__590.48.01__idle.csv', 77.71, 77.71, 78.21],
    ['linux-x86_64__nvidia-l40s__595.80__idle.csv', 144.97, 144.97, 127.67],
    ['linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05__load.csv', 84.24, 84.24, 86.41],
    // Turing: no 1 s average at all ([N/A]), power.draw is the instant reading.
    ['linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__idle.csv', 39.32, undefined, 39.32],
    ['windows-x86_64__nvidia-geforce-rtx-2080-super__591.86__load.csv', 97.43, undefined, 97.43],
  ]

  it.each(cases)('%s: reads power fields by header name and prefers the instant reading', (file, draw, average, instant) => {
    const rows = parseNvidiaCsv(readRecorded('nvidia-smi', 'query-gpu-csv', file))
    expect(rows).toHaveLength(1)
    const row = rows[0]!
    expect(nvidiaNumber(row['power.draw'])).toBe(draw)
    expect(nvidiaNumber(row['power.draw.average'])).toBe(average)
    expect(nvidiaNumber(row['power.draw.instant'])).toBe(instant)
    expect(choosePowerField(row)).toEqual({field: 'power.draw.instant'})
    // Columns move between drivers, and values carry units: neither matters when reading by name.
    expect(row['index']).toBe('0')
    expect(nvidiaTimestamp(row['timestamp'])).toBeTypeOf('number')
  })

  it('treats every bracketed value as no value', () => {
    const row = parseNvidiaCsv(readRecorded('nvidia-smi', 'query-gpu-csv', 'linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__idle.csv'))[0]!
    expect(row['power.management']).toBe('[Requested functionality has been deprecated]')
    expect(nvidiaNumber(row['power.management'])).toBeUndefined()
    expect(nvidiaNumber(row['module.power.draw.instant'])).toBeUndefined()
    expect(nvidiaNumber('[Not Supported]')).toBeUndefined()
  })

  it('parses small queries, two GPUs, expanded aliases and looped lines', () => {
    const [twoGpus, loop, multiGpu] = recordedSamples('nvidia-smi', 'query-gpu_csv_small-queries_and_loops_examples.txt')
    const rows = parseNvidiaCsv(twoGpus!)
    // Asked for gpu_name, got header 'name'; no instant field was asked for: power.draw is used, with a note.
    expect(rows.map((r) => [r['name'], nvidiaNumber(r['power.draw'])])).toEqual([
      ['GeForce GTX 1080 Ti', 106.56],
      ['GeForce GTX 1060 6GB', 5.68],
    ])
    expect(choosePowerField(rows[0]!)).toMatchObject({field: 'power.draw', note: expect.stringMatching(/1 s average/)})
    expect(parseNvidiaCsv(loop!).map((r) => nvidiaNumber(r['power.draw']))).toEqual([208.36, 249.62, 205.51])
    const interleaved = parseNvidiaCsv(multiGpu!).filter((r) => nvidiaNumber(r['power.draw']) !== undefined)
    expect(interleaved.map((r) => r['index'])).toEqual(['0', '1', '2', '3'])
    // One timestamp per GPU line, a few ms apart.
    const t = interleaved.map((r) => nvidiaTimestamp(r['timestamp'])!)
    expect(t[3]! - t[0]!).toBe(7)
  })

  it('reads timestamps as local time with milliseconds', () => {
    expect(nvidiaTimestamp('2026/07/14 08:12:53.353')).toBe(new Date(2026, 6, 14, 8, 12, 53, 353).getTime())
    expect(nvidiaTimestamp('not a time')).toBeUndefined()
  })
})

describe('NvidiaSmiSource (recorded rows replayed by a fake nvidia-smi on PATH)', () => {
  let bin: string
  beforeAll(() => {
    bin = tempDir('nvsmi')
    installFakeTools(bin)
  })
  afterAll(() => fs.rmSync(bin, {recursive: true, force: true}))

  const run = async (env: Record<string, string>, until: (s: PowerSampler) => boolean) => {
    const sampler = new PowerSampler({sources: [new NvidiaSmiSource({env: fakeEnv(bin, env)})], intervalMs: 100})
    const started = await sampler.start()
    await waitFor(() => until(sampler), 10_000, 'nvidia-smi samples')
    const recording = await sampler.stop()
    return {started, recording}
  }

  it('runs one process for all GPUs and reads power.draw.instant', async () => {
    const h100 = `${csv('linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__idle.csv')}|${csv('linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load.csv')}`
    const gpus = [h100, csv('linux-x86_64__nvidia-l40s__595.80__load.csv')].join(';')
    const {started, recording} = await run({FAKE_NVSMI_GPUS: gpus}, (s) => (s.snapshot().samples['nvidia:1']?.length ?? 0) >= 4)
    expect(started.notStarted).toEqual([])
    expect(started.sources).toEqual([
      {id: 'nvidia:0', scope: 'host', kind: 'nvidia-smi', boundary: 'gpu-board', method: 'sampled', unit: 'W', intervalMs: 100, updateMs: 100, device: 'NVIDIA H100 80GB HBM3 (GPU 0)', field: 'power.draw.instant', notes: ['nvidia-smi: accurate to within +/- 5 W']},
      {id: 'nvidia:1', scope: 'host', kind: 'nvidia-smi', boundary: 'gpu-board', method: 'sampled', unit: 'W', intervalMs: 100, updateMs: 100, device: 'NVIDIA L40S (GPU 1)', field: 'power.draw.instant', notes: ['nvidia-smi: accurate to within +/- 5 W']},
    ])
    // GPU 0 alternates between the idle and the load capture: 69.62 and 625.68 W instant.
    const gpu0 = recording.samples['nvidia:0']!.map(([, w]) => w)
    expect(gpu0.slice(0, 4)).toEqual([69.62, 625.68, 69.62, 625.68])
    expect(new Set(recording.samples['nvidia:1']!.map(([, w]) => w))).toEqual(new Set([112.38]))
    // Stamped from nvidia-smi's own timestamps: about 100 ms apart, in order.
    const times = recording.samples['nvidia:0']!.map(([t]) => t)
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!)
    expect(times.at(-1)! - times[0]!).toBeGreaterThan(50 * (times.length - 1))
    expect(recording.failures).toEqual([])
    expect(() => PowerRecordSchema.parse(recording)).not.toThrow()
  })

  it('falls back to power.draw when the driver rejects power.draw.instant, and says so', async () => {
    const {started, recording} = await run(
      {FAKE_NVSMI_GPUS: csv('linux-x86_64__nvidia-h200__590.48.01__load.csv'), FAKE_NVSMI_REJECT_INSTANT: '1'},
      (s) => (s.snapshot().samples['nvidia:0']?.length ?? 0) >= 2,
    )
    expect(started.sources[0]).toMatchObject({field: 'power.draw', notes: [expect.stringMatching(/power.draw.instant is not available.*1 s average/), 'nvidia-smi: accurate to within +/- 5 W']})
    expect(recording.samples['nvidia:0']![0]![1]).toBe(627.4)
  })

  it('keeps the samples and records a failure when nvidia-smi exits mid-run', async () => {
    const sampler = new PowerSampler({sources: [new NvidiaSmiSource({env: fakeEnv(bin, {FAKE_NVSMI_GPUS: csv('linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__load.csv'), FAKE_NVSMI_EXIT_AFTER: '3'})})], intervalMs: 100})
    await sampler.start()
    await waitFor(() => sampler.snapshot().failures.length > 0, 10_000, 'the failure')
    const recording = await sampler.stop()
    expect(recording.samples['nvidia:0']!.map(([, w]) => w)).toEqual([111.5, 111.5, 111.5])
    expect(recording.failures).toEqual([{sourceId: 'nvidia:0', failedAt: expect.any(Number), reason: 'nvidia-smi exited with code 15: (fake) Unable to determine the device handle for GPU 0: Unknown Error'}])
    expect(recording.failures[0]!.failedAt).toBeGreaterThanOrEqual(recording.samples['nvidia:0']!.at(-1)![0])
  })

  it('reads the real -lms 100 loop captured on an H200 (driver 580), replayed verbatim', async () => {
    const capture = captured('nvidia-smi', 'h200_580.159.04_idle_query-gpu_csv-nounits_lms100.csv')
    const {started, recording} = await run({FAKE_NVSMI_LOOP_FILE: capture}, (s) => (s.snapshot().samples['nvidia:0']?.length ?? 0) >= 15)
    expect(started.sources[0]).toMatchObject({device: 'NVIDIA H200 (GPU 0)', field: 'power.draw.instant'})
    const rows = parseNvidiaCsv(fs.readFileSync(capture, 'utf8'))
    const series = recording.samples['nvidia:0']!
    // Every row, the instant column (power.draw, the lagging 1 s average, is not used).
    expect(series.map(([, w]) => w)).toEqual(rows.map((r) => nvidiaNumber(r['power.draw.instant'])))
    // Stamped by nvidia-smi's own timestamps (shifted onto the sampler clock), not by when the pipe
    // delivered the line: the shift only ever moves earlier, and by no more than delivery jitter.
    const shifts = rows.map((r, i) => series[i]![0] - nvidiaTimestamp(r['timestamp'])!)
    for (let i = 1; i < shifts.length; i++) expect(shifts[i]).toBeLessThanOrEqual(shifts[i - 1]!)
    expect(shifts[0]! - shifts.at(-1)!).toBeLessThan(100)
  })

  it('shows an error nvidia-smi prints on stdout instead of taking it for a header', async () => {
    const env = fakeEnv(bin, {FAKE_NVSMI_STDOUT_FAIL: '(fake) the driver is not loaded'})
    const sampler = new PowerSampler({sources: [new NvidiaSmiSource({env})]})
    const {notStarted} = await sampler.start()
    await sampler.stop()
    expect(notStarted[0]!.reason).toBe('nvidia-smi exited with code 2: (fake) the driver is not loaded')
  })

  it('reports a missing nvidia-smi as a source that did not start, with the fix', async () => {
    const sampler = new PowerSampler({sources: [new NvidiaSmiSource({env: {PATH: '/nonexistent'}})]})
    const {sources, notStarted} = await sampler.start()
    await sampler.stop()
    expect(sources).toEqual([])
    expect(notStarted).toEqual([{source: 'nvidia-smi', reason: expect.stringMatching(/nvidia-smi could not be started: spawn nvidia-smi ENOENT/), hint: expect.stringMatching(/NVIDIA driver/)}])
  })
})
