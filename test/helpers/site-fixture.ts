import {mkdir, mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {readResult, serializeResult} from '../../src/results/io.js'
import type {ResultFile} from '../../src/results/schema.js'
import {repoRoot} from './cli.js'

export const fixtureResult = (name: 'quick-default-45w.json' | 'quick-tiny-30w.json'): Promise<ResultFile> => readResult(path.join(repoRoot, 'fixtures', 'results', name))

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
    const row = r.summary.find((s) => s.kind === 'tg')!
    const s = row.metrics.tokens_per_second!
    row.metrics.tokens_per_second = {...s, mean: s.mean * options.tgFactor, median: s.median * options.tgFactor}
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
