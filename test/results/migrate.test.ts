import {readFile} from 'node:fs/promises'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {deriveResult} from '../../src/derive/derive.js'
import {parseResult} from '../../src/results/io.js'
import {SCHEMA_VERSION} from '../../src/results/schema.js'
import {repoRoot} from '../helpers/cli.js'

const v1 = (name: string) => readFile(path.join(repoRoot, 'fixtures', 'results', 'v1', name), 'utf8')

describe('schema versions', () => {
  it('reads the committed version 1 files as the current version: sources measure this host, derived caches dropped', async () => {
    for (const name of ['quick-default-45w.json', 'quick-tiny-30w.json']) {
      const text = await v1(name)
      expect(JSON.parse(text).schemaVersion).toBe(1)
      const result = parseResult(text, name)
      expect(result.schemaVersion).toBe(SCHEMA_VERSION)
      expect(result.power!.sources.map((s) => s.scope)).toEqual(['host'])
      // The version 1 summary (statistics without their sample unit) is a cache: dropped, derived again.
      expect(result.summary).toBeUndefined()
      expect(deriveResult(result).cells.map((c) => c.test)).toEqual(['pp256', 'tg64', 'pp256+tg64', 'chat-short'])
    }
  })

  it('reads a version 2 file as version 3 unchanged but for the version (3 added the interrupted state)', async () => {
    const v2 = JSON.parse(await readFile(path.join(repoRoot, 'fixtures', 'results', 'quick-tiny-30w.json'), 'utf8')) as {schemaVersion: number; runs: unknown[]}
    expect(v2.schemaVersion).toBe(2)
    const result = parseResult(JSON.stringify(v2), 'v2.json')
    expect(result.schemaVersion).toBe(3)
    expect(JSON.parse(JSON.stringify(result.runs))).toEqual(v2.runs)
  })

  it('a version 1 endpoint target did not say its server was metered, so it was not', async () => {
    const file = JSON.parse(await v1('quick-tiny-30w.json')) as {targets: unknown[]; cost?: unknown}
    file.targets.push({id: 'api', kind: 'endpoint', endpoint: {baseUrl: 'https://api.example.com/v1', model: 'm', api: 'chat', apiKeyEnv: null}, settings: {ignoreEos: false, timeoutMs: 1000}})
    file.cost = {money: 'USD, 2025 dollars', anything: 'untyped in version 1'}
    const result = parseResult(JSON.stringify(file), 'v1-endpoint.json')
    const api = result.targets[1]!
    expect(api.kind === 'endpoint' && api.settings).toEqual({ignoreEos: false, timeoutMs: 1000, meterOnServer: false})
    expect(result.cost).toBeUndefined()
  })
})
