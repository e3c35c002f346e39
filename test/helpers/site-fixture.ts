import {mkdir, mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {readResult, serializeResult} from '../../src/results/io.js'
import type {ResultFile} from '../../src/results/schema.js'
import {repoRoot} from './cli.js'

export const fixtureResult = (name: 'quick-default-45w.json' | 'quick-tiny-30w.json'): Promise<ResultFile> => readResult(path.join(repoRoot, 'fixtures', 'results', 'v1', name))

/**
 * Another run like `base`: a new run id and time, optionally another CPU, suite version or a
 * throughput scaled by `tgFactor` (tg test only, so a board has rows to rank).
 */
export function variantOf(base: ResultFile, options: {n: number; cpuBrand?: string; suiteVersion?: string; tgFactor?: number}): ResultFile {
  const r = structuredClone(base)
  r.id = `${base.id.slice(0, 24)}${String(options.n).padStart(12, '0')}`
  r.createdAt = new Date(Date.parse(base.createdAt) + options.n * 86_400_000).toISOString()
  if (options.cpuBrand) r.host.cpu = {...r.host.cpu, brand: options.cpuBrand}
  if (options.suiteVersion) r.suite = {...r.suite, version: options.suiteVersion, sha256: `${options.suiteVersion.length}${r.suite.sha256.slice(1)}`}
  if (options.tgFactor) {
    // The raw timeline of the tg requests runs tgFactor times faster: every figure is derived from it.
    const f = options.tgFactor
    for (const run of r.runs.filter((x) => x.kind === 'tg')) {
      run.requests = run.requests.map((q) => ({...q, chunks: q.chunks.map(([t, k]) => [q.tSend + (t - q.tSend) / f, k] as [number, number]), tEnd: q.tSend + (q.tEnd - q.tSend) / f}))
    }
    delete r.summary
  }
  return r
}

/** A directory of result files, written as `owbench run` writes them. */
export async function resultDir(results: Record<string, ResultFile | string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-site-in-'))
  for (const [name, result] of Object.entries(results)) {
    await mkdir(path.dirname(path.join(dir, name)), {recursive: true})
    await writeFile(path.join(dir, name), typeof result === 'string' ? result : serializeResult(result))
  }
  return dir
}
