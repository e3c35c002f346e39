import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {deriveResult} from '../../src/derive/derive.js'
import {exportMarkdown} from '../../src/report/markdown.js'
import {parseResult} from '../../src/results/io.js'
import type {ResultFile, RunRecord} from '../../src/results/schema.js'
import {owbench} from '../helpers/cli.js'
import {tinyModelPath} from '../helpers/tiny-model.js'

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-batched-cli-'))
  await tinyModelPath()
})

async function suiteFile(name: string, tests: string[]): Promise<string> {
  const file = path.join(dir, `${name}.json`)
  await writeFile(file, JSON.stringify({name, version: '1.0.0', description: 'parallel sequences', repetitions: 2, warmup: 1, tests}))
  return file
}

async function run(args: string[], name: string): Promise<ResultFile> {
  const out = path.join(dir, `${name}-result.json`)
  const cli = await owbench(['run', '--model', 'synthetic:tiny', '--threads', '1', '--idle-seconds', '0', '--out', out, ...args])
  expect(cli.stderr).not.toMatch(/error/i)
  expect(cli.code).toBe(0)
  return parseResult(await readFile(out, 'utf8'), out)
}

const measured = (result: ResultFile, test: string, level: number): RunRecord[] => result.runs.filter((r) => r.test === test && r.concurrency === level && !r.warmup && r.state === 'completed')

describe('owbench run --concurrency on the local engine: parallel sequences (built CLI)', () => {
  it('--watts 50 --concurrency 1,4: J/token is 50 W over the aggregate tokens/s at each level, from the raw request times', async () => {
    const result = await run(['--suite', await suiteFile('watts', ['tg 16']), '--watts', '50', '--concurrency', '1,4'], 'watts')
    const cells = deriveResult(result).cells
    for (const level of [1, 4]) {
      const runs = measured(result, 'tg16', level)
      expect(runs).toHaveLength(2)
      // By hand: each repetition's span (first send to last end) at 50 W, over every generated token.
      let seconds = 0
      let tokens = 0
      const aggregates: number[] = []
      for (const r of runs) {
        const span = (Math.max(...r.requests.map((q) => q.tEnd)) - Math.min(...r.requests.map((q) => q.tSend))) / 1000
        const out = r.requests.reduce((n, q) => n + q.nOut, 0)
        seconds += span
        tokens += out
        aggregates.push(out / span)
      }
      const cell = cells.find((c) => c.test === 'tg16' && c.load.mode === 'concurrency' && c.load.level === level)!
      expect(cell.energy.status).toBe('metered')
      if (cell.energy.status !== 'metered') return
      expect(cell.energy.jPerToken).toBeCloseTo((50 * seconds) / tokens, 9)
      // The level's aggregate rate over all its repetitions (tokens over their spans): J/token = 50 / it.
      expect(Math.abs(cell.energy.jPerToken / (50 / (tokens / seconds)) - 1)).toBeLessThan(0.01)
      // And each repetition's own: its J/token is 50 W over its aggregate tokens/s.
      expect(cell.repetitionValues.aggregate_tps).toHaveLength(2)
      aggregates.forEach((aggregate, i) => {
        expect(cell.repetitionValues.aggregate_tps![i]).toBeCloseTo(aggregate, 9)
        expect(Math.abs(cell.repetitionValues.j_per_token![i]! / (50 / aggregate) - 1)).toBeLessThan(0.01)
      })
      if (level === 4) {
        // Four sequences of one context: sent together, each token of a step arriving at the same time.
        for (const r of runs) {
          expect(r.sequences).toBe(4)
          expect(r.requests).toHaveLength(4)
          expect(new Set(r.requests.map((q) => q.tSend)).size).toBe(1)
          expect(r.requests.every((q) => q.nOut === 16 && JSON.stringify(q.chunks) === JSON.stringify(r.requests[0]!.chunks))).toBe(true)
        }
        expect(cell.sequences).toBe(4)
        expect(cell.metrics.s_tps?.repetitions?.mean).toBeGreaterThan(0)
      }
    }
  }, 120_000)

  it('--ctx bounds the sequences of a test (n_seq x tokens must fit), and a depth beyond the context is skipped, each with the reason', async () => {
    // pg 32,32 needs 64 tokens a sequence: a 256-token context holds 4.
    const result = await run(['--suite', await suiteFile('ctx', ['pg 32,32', 'tg 8 @ d64', 'tg 8 @ d512']), '--ctx', '256', '--concurrency', '1,4,8'], 'ctx')
    expect(measured(result, 'pp32+tg32', 4)).toHaveLength(2)
    const c8 = result.runs.find((r) => r.test === 'pp32+tg32' && r.concurrency === 8)!
    expect(c8.state).toBe('skipped')
    expect(c8.reason).toBe('the context of 256 tokens (--ctx) holds 4 sequences of 64 tokens; c8 needs 8')
    // tg 8 at depth 64: 73 tokens a sequence, 3 fit; measured one at a time.
    const depth = measured(result, 'tg8 @ d64', 1)
    expect(depth).toHaveLength(2)
    expect(depth[0]!.requests[0]!.nOut).toBe(8)
    expect(result.runs.find((r) => r.test === 'tg8 @ d64' && r.concurrency === 4)!.reason).toBe('the context of 256 tokens (--ctx) holds 3 sequences of 73 tokens; c4 needs 4')
    const deep = result.runs.filter((r) => r.test === 'tg8 @ d512')
    expect(deep.every((r) => r.state === 'skipped' && r.reason === 'needs 521 tokens of context, the target allows 256 (raise --ctx if the model allows it)')).toBe(true)
    // Every report says why, under the table, where the table shows `skipped`.
    const markdown = exportMarkdown([result])
    expect(markdown).toContain('- local pp32+tg32 @c8: skipped: the context of 256 tokens (--ctx) holds 4 sequences of 64 tokens; c8 needs 8')
    expect(markdown).toContain('- local tg8 @ d512: skipped: needs 521 tokens of context, the target allows 256 (raise --ctx if the model allows it)')
  }, 120_000)
})
