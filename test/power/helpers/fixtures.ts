import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import type {SampleSink, SourceFailure, StartContext} from '../../../src/power/power-source.js'

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'power')
export const RECORDED = path.join(FIXTURES, 'recorded')

export function recorded(...parts: string[]): string {
  return path.join(RECORDED, ...parts)
}

/** Outputs captured while building owbench (fixtures/power/captured). */
export function captured(...parts: string[]): string {
  return path.join(FIXTURES, 'captured', ...parts)
}

export function readRecorded(...parts: string[]): string {
  return fs.readFileSync(recorded(...parts), 'utf8')
}

/**
 * The samples of a compilation file (`*_examples.txt`, `*_outputs.txt`): each sample starts after
 * a `# ===` header line; the `#` lines are dropped (README: "Tests must drop lines starting with #").
 */
export function recordedSamples(...parts: string[]): string[] {
  const blocks: string[][] = []
  for (const line of readRecorded(...parts).split('\n')) {
    if (line.startsWith('# ===')) blocks.push([])
    else if (!line.startsWith('#') && blocks.length > 0) blocks.at(-1)!.push(line)
  }
  return blocks.map((b) => b.join('\n').trim())
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `owbench-${prefix}-`))
}

/** A sink that records everything, plus a start context on a clock the test moves by hand. */
export class RecordingSink implements SampleSink {
  readonly samples = new Map<string, [number, number][]>()
  readonly failures: SourceFailure[] = []

  sample(sourceId: string, t: number, value: number): void {
    const series = this.samples.get(sourceId) ?? []
    series.push([t, value])
    this.samples.set(sourceId, series)
  }

  failure(sourceId: string, t: number, reason: string): void {
    this.failures.push({sourceId, failedAt: t, reason})
  }
}

export function manualContext(intervalMs = 1_000_000): {context: StartContext; sink: RecordingSink; clock: {now: number}} {
  const clock = {now: 0}
  const sink = new RecordingSink()
  return {context: {clock: () => clock.now, intervalMs, sink}, sink, clock}
}

export async function waitFor(condition: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
