import {readFile} from 'node:fs/promises'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {parseResult, serializeResult} from '../../src/results/io.js'
import {resultJsonSchema} from '../../src/results/json-schema.js'
import {siteIndexJsonSchema} from '../../src/site/site-index.js'
import {repoRoot} from '../helpers/cli.js'

describe('result file', () => {
  it('the committed JSON Schemas (result file, site index) are the ones generated from the zod schema (npm run schema)', async () => {
    const committed = JSON.parse(await readFile(path.join(repoRoot, 'schemas', 'result.schema.json'), 'utf8')) as unknown
    expect(committed).toEqual(resultJsonSchema())
    const site = JSON.parse(await readFile(path.join(repoRoot, 'schemas', 'site-index.schema.json'), 'utf8')) as unknown
    expect(site).toEqual(siteIndexJsonSchema())
  })

  it('rejects a corrupt, foreign, newer or invalid file with a clear error', () => {
    expect(() => parseResult('{"schemaVersion": 1, "id": ', 'r.json')).toThrow(/result file r\.json is not valid JSON \(truncated or corrupt\)/)
    expect(() => parseResult('{"name": "x"}', 'r.json')).toThrow(/r\.json is not an owbench result file \(no schemaVersion\)/)
    expect(() => parseResult('{"schemaVersion": 99}', 'r.json')).toThrow(/schemaVersion 99, newer than this owbench understands \(3\)/)
    expect(() => parseResult('{"schemaVersion": 1, "id": "x"}', 'r.json')).toThrow(/result file r\.json is invalid: createdAt: /)
  })

  it('rounds times to the microsecond and keeps six significant digits of small figures', () => {
    const text = serializeResult({x: 1.23456789, n: 5, list: [[0.0000004123456, 2]], j: 0.0584912345} as never)
    expect(JSON.parse(text)).toEqual({x: 1.235, n: 5, list: [[0.000000412346, 2]], j: 0.0584912})
  })
})
