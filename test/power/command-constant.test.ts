import {describe, expect, it} from 'vitest'
import {computeEnergy} from '../../src/energy/summary.js'
import {isUserError} from '../../src/errors/errors.js'
import {CommandSource, parseWattsLine} from '../../src/power/command-source.js'
import {ConstantSource} from '../../src/power/constant-source.js'
import {PowerSampler} from '../../src/power/sampler.js'
import {parseSourceSpec} from '../../src/power/source-spec.js'
import {manualContext, waitFor} from './helpers/fixtures.js'

describe('command source', () => {
  it('reads watts lines, with or without a unit', () => {
    expect(parseWattsLine('87.5')).toBe(87.5)
    expect(parseWattsLine(' 87.5 W ')).toBe(87.5)
    expect(parseWattsLine('')).toBeUndefined()
    expect(() => parseWattsLine('ERROR: meter offline')).toThrow("printed 'ERROR: meter offline' where watts were expected")
  })

  it('reads a long-running command line by line, from one process', async () => {
    const sampler = new PowerSampler({sources: [new CommandSource({command: 'i=0; while true; do i=$((i+1)); echo "$((100 + i)) W"; sleep 0.05; done', boundary: 'gpu-board'})], intervalMs: 50})
    const {sources} = await sampler.start()
    expect(sources).toEqual([
      {id: 'command:cmd', scope: 'host', kind: 'command', boundary: 'gpu-board', method: 'sampled', unit: 'W', intervalMs: 50, device: expect.any(String), notes: [expect.stringMatching(/user command/)]},
    ])
    await waitFor(() => (sampler.snapshot().samples['command:cmd']?.length ?? 0) >= 4, 5000, 'four lines')
    const recording = await sampler.stop()
    expect(recording.samples['command:cmd']!.map(([, w]) => w).slice(0, 4)).toEqual([101, 102, 103, 104])
    expect(recording.failures).toEqual([])
  })

  it('runs a command that prints once and exits again every interval', async () => {
    const sampler = new PowerSampler({sources: [parseSourceSpec(`cmd:"echo 42.5"@cpu-package`)], intervalMs: 60})
    const {sources} = await sampler.start()
    expect(sources[0]).toMatchObject({boundary: 'cpu-package', device: 'echo 42.5'})
    await waitFor(() => (sampler.snapshot().samples['command:cmd']?.length ?? 0) >= 3, 5000, 'three runs')
    const recording = await sampler.stop()
    expect(new Set(recording.samples['command:cmd']!.map(([, w]) => w))).toEqual(new Set([42.5]))
    expect(recording.failures).toEqual([])
  })

  it('fails the series on a line that is not watts, keeping what came before', async () => {
    const sampler = new PowerSampler({sources: [new CommandSource({command: 'echo 10; echo 11; sleep 0.2; echo oops; sleep 5'})], intervalMs: 50})
    await sampler.start()
    await waitFor(() => sampler.snapshot().failures.length > 0, 5000, 'the failure')
    const recording = await sampler.stop()
    expect(recording.samples['command:cmd']!.map(([, w]) => w)).toEqual([10, 11])
    expect(recording.failures[0]!.reason).toBe("the command printed 'oops' where watts were expected")
  })

  it('records a failure when the command exits with an error mid-run', async () => {
    const sampler = new PowerSampler({sources: [new CommandSource({command: 'echo 10; sleep 0.1; echo "meter unplugged" >&2; exit 3'})], intervalMs: 50})
    await sampler.start()
    await waitFor(() => sampler.snapshot().failures.length > 0, 5000, 'the failure')
    const recording = await sampler.stop()
    expect(recording.failures[0]!.reason).toMatch(/exited with code 3: meter unplugged/)
  })

  it('refuses a command that prints nothing usable', async () => {
    const error = await new CommandSource({command: 'exit 1'}).start(manualContext().context).catch((e: unknown) => e)
    expect(isUserError(error)).toBe(true)
  })
})

describe('constant source', () => {
  it('is always an estimate, with the assumption written next to it', async () => {
    const source = parseSourceSpec('watts:65')
    const {context, sink, clock} = manualContext()
    const [info] = await source.start(context)
    expect(info).toMatchObject({id: 'constant:wall', kind: 'constant', boundary: 'wall', method: 'estimated', formula: 'watts = 65 (constant)'})
    expect(info!.assumptions![0]).toBe('user-declared constant draw of 65 W at the wall boundary')
    clock.now = 2000
    await source.stop()
    // 65 W x 2 s = 130 J, labelled estimated.
    const summary = computeEnergy({sources: [info!], samples: Object.fromEntries(sink.samples), failures: []}, [{prefill: [0, 2000], promptTokens: 10, outputTokens: 0}])
    expect(summary.phases[0]!.boundaries[0]).toMatchObject({boundary: 'wall', method: 'estimated', grossJ: 130})
  })

  it('records that the user measured the draw, and still calls it an estimate', async () => {
    const source = new ConstantSource({watts: 300, boundary: 'gpu-board', measuredByUser: true})
    const [info] = await source.start(manualContext().context)
    await source.stop()
    expect(info).toMatchObject({method: 'estimated', boundary: 'gpu-board'})
    expect(info!.assumptions).toContain('the user measured this draw with their own meter; owbench did not')
  })

  it('rejects a draw that is not a number', () => {
    expect(() => parseSourceSpec('watts:lots')).toThrow(/--watts must be a number/)
    expect(() => parseSourceSpec('hamster-wheel')).toThrow(/unknown power source/)
  })
})
