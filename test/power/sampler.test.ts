import {describe, expect, it} from 'vitest'
import {requestPhases} from '../../src/energy/phases.js'
import {EnergySummarySchema} from '../../src/energy/schema.js'
import {computeEnergy} from '../../src/energy/summary.js'
import {UserError} from '../../src/errors/errors.js'
import type {PowerSource, SourceInfo, StartContext} from '../../src/power/power-source.js'
import {PowerSampler, rebaseRecording} from '../../src/power/sampler.js'
import {PowerRecordSchema} from '../../src/power/schema.js'

/** A meter on a hand-driven clock: `draw` is what it reads whenever the test (or a mark) asks. */
class ScriptedSource implements PowerSource {
  readonly minIntervalMs = 10
  context: StartContext | undefined
  draw = 0
  marks = 0
  stopped = false

  constructor(
    readonly name: string,
    private readonly infos: SourceInfo[],
    private readonly early?: number,
  ) {}

  async start(context: StartContext): Promise<SourceInfo[]> {
    this.context = context
    // A reading delivered before start() resolves must not be lost.
    if (this.early !== undefined) context.sink.sample(this.infos[0]!.id, context.clock(), this.early)
    return this.infos
  }

  read(): void {
    for (const info of this.infos) this.context!.sink.sample(info.id, this.context!.clock(), this.draw)
  }

  mark(): void {
    this.marks++
    this.read()
  }

  async stop(): Promise<void> {
    this.stopped = true
  }
}

class BrokenSource implements PowerSource {
  readonly name = 'broken'
  readonly minIntervalMs = 10
  stopped = false
  async start(): Promise<SourceInfo[]> {
    throw new UserError('broken meter is unplugged', 'plug it in')
  }
  async stop(): Promise<void> {
    this.stopped = true
  }
}

const wallInfo = (id: string): SourceInfo => ({id, kind: 'command', boundary: 'wall', method: 'sampled', unit: 'W', intervalMs: 10})

describe('PowerSampler', () => {
  it('measures idle, keeps every series, renames clashing ids and lists sources that did not start', async () => {
    const clock = {now: 1000}
    const a = new ScriptedSource('a', [wallInfo('command:cmd')], 5)
    const b = new ScriptedSource('b', [wallInfo('command:cmd')])
    const broken = new BrokenSource()
    const sampler = new PowerSampler({
      sources: [a, b, broken],
      clock: () => clock.now,
      intervalMs: 10,
      settleMs: 0,
      sleep: async (ms) => {
        clock.now += ms
      },
    })
    const started = await sampler.start()
    expect(started.sources.map((s) => s.id)).toEqual(['command:cmd', 'command:cmd#2'])
    expect(started.notStarted).toEqual([{source: 'broken', reason: 'broken meter is unplugged', hint: 'plug it in'}])
    expect(broken.stopped).toBe(true)

    a.draw = 50
    b.draw = 20
    const idle = await sampler.measureIdle(2)
    expect(idle).toEqual({t0: 1000, t1: 3000})
    expect(a.marks).toBe(2)

    clock.now = 3500
    a.draw = 80
    a.read()
    // A source whose device clock steps back by a jitter's worth stays in time order.
    a.context!.sink.sample('command:cmd', 3400, 81)
    a.context!.sink.failure('command:cmd', 3600, 'unplugged')
    a.context!.sink.sample('command:cmd', 3700, 99)
    const recording = await sampler.stop()
    expect(recording.samples['command:cmd']).toEqual([
      [1000, 5],
      [1000, 50],
      [3000, 50],
      [3500, 80],
      [3500, 81],
    ])
    expect(recording.samples['command:cmd#2']).toEqual([
      [1000, 20],
      [3000, 20],
      [3500, 20],
    ])
    expect(recording.failures).toEqual([{sourceId: 'command:cmd', failedAt: 3600, reason: 'unplugged'}])
    expect(recording).toMatchObject({idle: {t0: 1000, t1: 3000}, startedAt: 1000, stoppedAt: 3500})
    expect(a.stopped && b.stopped).toBe(true)
    expect(PowerRecordSchema.parse(recording)).toEqual(recording)

    const rebased = rebaseRecording(recording, 3000)
    expect(rebased.idle).toEqual({t0: -2000, t1: 0})
    expect(rebased.samples['command:cmd#2']![2]).toEqual([500, 20])
    expect(rebased.failures[0]!.failedAt).toBe(600)
    expect(recording.samples['command:cmd#2']![2]).toEqual([3500, 20])
  })

  it('drives one run the way the runner will, and gives per-phase energy', async () => {
    // The runner's clock is the sampler's clock; the sampler starts first and measures idle.
    const clock = {now: 0}
    const plug = new ScriptedSource('plug', [{...wallInfo('shelly:plug'), kind: 'shelly'}])
    const sampler = new PowerSampler({sources: [plug], clock: () => clock.now, settleMs: 0, sleep: async (ms) => void (clock.now += ms)})
    await sampler.start()
    plug.draw = 100
    await sampler.measureIdle(1) // idle [0, 1000] at 100 W

    // One request: sent at 1000 ms, first token at 1100 ms, 5 tokens, done at 1500 ms. The runner
    // marks the edges (counters read there); this scripted meter reads at every mark. The draw
    // steps to 300 W as the request starts and to 200 W when decoding starts.
    plug.draw = 300
    sampler.mark()
    clock.now = 1100
    sampler.mark()
    plug.draw = 200
    sampler.mark()
    clock.now = 1500
    sampler.mark()
    const request = {tSend: 1000, chunks: [[1100, 1], [1200, 1], [1300, 1], [1400, 1], [1500, 1]] as [number, number][], tEnd: 1500, nPrompt: 50, nOut: 5}
    const power = await sampler.stop()
    const energy = computeEnergy(power, [requestPhases(request)])

    const [prefill, decode, total] = energy.phases
    // Prefill [1000, 1100]: 300 W x 0.1 s = 30 J; net 30 - 100 W x 0.1 s = 20 J over 50 prompt tokens.
    expect(prefill!.boundaries[0]).toMatchObject({boundary: 'wall', grossJ: 30, netJ: 20, gross: {jPerToken: 0.6}})
    // Decode [1100, 1500]: 200 W x 0.4 s = 80 J; net 40 J over the 4 tokens after the first.
    expect(decode!.boundaries[0]).toMatchObject({grossJ: 80, netJ: 40, net: {jPerToken: 10}})
    // Whole request: 110 J over 5 output tokens = 22 J/token; net 110 - 100 W x 0.5 s = 60 J = 12 J/token.
    expect(total!.boundaries[0]).toMatchObject({grossJ: 110, netJ: 60, gross: {jPerToken: 22}, net: {jPerToken: 12}})
    expect(total!.tokens).toBe(5)
    expect(EnergySummarySchema.parse(energy)).toEqual(energy)
  })
})
