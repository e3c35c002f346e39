import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deriveResult} from '../../src/derive/derive.js'
import {ensureSyntheticModel} from '../../src/model/synthetic-model.js'
import {compareLoads, loadLabel} from '../../src/results/load.js'
import {parseResult} from '../../src/results/io.js'
import {owbench} from '../helpers/cli.js'
import {type LlamaServer, startLlamaServer} from '../helpers/llama-server.js'
import {testCacheDir} from '../helpers/tiny-model.js'

// llama.cpp's own llama-server with 8 slots (-np 8) and with 2: a real server whose throughput
// grows while slots are free and stops growing when they are all busy (requests then queue for a
// slot and their TTFT rises). The tiny model keeps each request to milliseconds.
let eight: LlamaServer
let two: LlamaServer
let dir: string

beforeAll(async () => {
  const model = await ensureSyntheticModel('tiny', {dir: path.join(testCacheDir, 'models')})
  eight = await startLlamaServer(model.path, {parallel: 8, threads: 1, ctx: 256})
  two = await startLlamaServer(model.path, {parallel: 2, threads: 1, ctx: 256})
  dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-sweep-'))
  await writeFile(path.join(dir, 'tg32.json'), JSON.stringify({name: 'sweep-tg', version: '1.0.0', description: 'one tg test', repetitions: 1, warmup: 0, tests: ['tg 32']}))
})

afterAll(async () => {
  await eight?.stop()
  await two?.stop()
})

describe('sweeps against a real llama-server', () => {
  it('--concurrency sweep doubles until the 8 slots saturate, fills in around the knee and says where and why it stopped', async () => {
    const out = path.join(dir, 'sweep.json')
    const run = await owbench(['run', '--endpoint', eight.baseUrl, '--model-name', 'synthetic', '--suite', path.join(dir, 'tg32.json'), '--concurrency', 'sweep', '--max-requests', '48', '--sweep-max-level', '64', '--power', 'off', '--idle-seconds', '0', '--out', out])
    expect(run.stderr).not.toMatch(/Error/)
    expect(run.code).toBe(0)
    const result = parseResult(await readFile(out, 'utf8'), out)
    const [record] = result.sweeps!
    expect(result.load?.sweep).toMatchObject({mode: 'concurrency', search: 'saturation', requestsPerLevel: 48})
    const doubling = record!.steps.filter((s) => s.stage !== 'fill').map((s) => loadLabel(s.load))
    expect(doubling.slice(0, 2)).toEqual(['c1', 'c2'])
    doubling.slice(1).forEach((level, i) => expect(level).toBe(`c${2 ** (i + 1)}`))
    // It stops on a saturation rule before the highest level allowed, and measures levels between the last doublings.
    expect(['saturated', 'over-saturated']).toContain(record!.stop!.code)
    expect(record!.stop!.reason).toMatch(/ at c\d+: /)
    const fills = record!.steps.filter((s) => s.stage === 'fill').map((s) => s.load)
    expect(fills.length).toBeGreaterThan(0)
    const summary = deriveResult(result).sweeps![0]!
    expect(summary.points).toHaveLength(record!.steps.length)
    // The knee is a measured level no higher than the peak's; its throughput within 1.1x of the peak.
    const knee = summary.saturation!
    expect(compareLoads(knee.load, knee.peakLoad)).toBeLessThanOrEqual(0)
    expect(knee.aggregateTps * 1.1).toBeGreaterThanOrEqual(knee.peakTps)
    // The terminal says it too.
    expect(run.stdout).toContain(`endpoint tg32 concurrency sweep: start: c1 `)
    expect(run.stdout).toContain(`stopped (${record!.stop!.code}): ${record!.stop!.reason}`)
    expect(run.stdout).toMatch(new RegExp(`Saturates at ${loadLabel(knee.load)}: `))
  })

  it('--goodput-target finds the highest concurrency whose requests meet a TTFT objective on a 2-slot server', async () => {
    const out = path.join(dir, 'goodput.json')
    // With 2 slots, a third request in flight waits for a whole request before its first token.
    const run = await owbench(['run', '--endpoint', two.baseUrl, '--model-name', 'synthetic', '--suite', path.join(dir, 'tg32.json'), '--slo', 'ttft=30ms', '--goodput-target', '0.9', '--max-requests', '40', '--power', 'off', '--idle-seconds', '0', '--out', out])
    expect(run.code).toBe(0)
    const result = parseResult(await readFile(out, 'utf8'), out)
    const summary = deriveResult(result).sweeps![0]!
    expect(summary.settings).toMatchObject({mode: 'concurrency', search: 'goodput', goodputTarget: 0.9})
    expect(summary.stop!.code).toBe('converged')
    const best = summary.goodput!.best!
    const worst = summary.goodput!.lowestFailing!
    expect(best.mode === 'concurrency' && worst.mode === 'concurrency' && worst.level - best.level).toBe(1)
    const at = (load: typeof best) => summary.points.find((p) => loadLabel(p.load) === loadLabel(load))!
    expect(at(best).attainment).toBeGreaterThanOrEqual(0.9)
    expect(at(worst).attainment).toBeLessThan(0.9)
    // Each level's attainment is the derivation's own, over every request of the level.
    const cell = deriveResult(result).cells.find((c) => loadLabel(c.load) === loadLabel(best))!
    expect(cell.sloAttainment!.fraction).toBe(at(best).attainment)
    expect(run.stdout).toContain(`Highest load meeting the objectives: ${loadLabel(best)} (`)
  })
})
