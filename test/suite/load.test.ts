import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {builtinSuiteNames, contextNeeded, loadSuite, parseSuite} from '../../src/suite/load.js'
import {thrownUserError} from '../helpers/user-error.js'

const valid = {name: 'mine', version: '1.0.0', description: 'd', repetitions: 2, warmup: 1, tests: ['pp 512', 'tg 128', 'pg 512,128']}


describe('suites', () => {
  it('ships quick, standard and long, each loading and versioned', async () => {
    expect(await builtinSuiteNames()).toEqual(['long', 'quick', 'standard'])
    const standard = await loadSuite('standard')
    expect(standard.source.kind).toBe('builtin')
    expect(standard.suite.version).toMatch(/^\d+\.\d+\.\d+$/)
    expect(standard.suite.tests.slice(0, 3).map((t) => t.id)).toEqual(['pp512', 'tg128', 'pp512+tg128'])
    const long = await loadSuite('long')
    expect(Math.max(...long.suite.tests.map(contextNeeded))).toBe(16384)
    expect(Math.min(...long.suite.tests.map(contextNeeded))).toBe(4096)
  })

  it('normalizes llama-bench shorthand into tests named like llama-bench', () => {
    const suite = parseSuite(JSON.stringify(valid), 'mine.json')
    expect(suite.tests).toEqual([
      {id: 'pp512', kind: 'pp', nPrompt: 512, repetitions: 2},
      {id: 'tg128', kind: 'tg', nGen: 128, repetitions: 2},
      {id: 'pp512+tg128', kind: 'pg', nPrompt: 512, nGen: 128, repetitions: 2},
    ])
  })

  it('reads tests at a KV depth the way llama-bench prints them, and counts the depth in the context a sequence needs', () => {
    const suite = parseSuite(JSON.stringify({...valid, tests: ['tg 128 @ d4096', 'pp 512 @d1024', 'pg 64,16 @ d0', {kind: 'tg', nGen: 8, depth: 300}]}), 'x')
    expect(suite.tests).toEqual([
      {id: 'tg128 @ d4096', kind: 'tg', nGen: 128, depth: 4096, repetitions: 2},
      {id: 'pp512 @ d1024', kind: 'pp', nPrompt: 512, depth: 1024, repetitions: 2},
      // Depth 0 is no depth: the test and its suite hash are what they were before depths existed.
      {id: 'pp64+tg16', kind: 'pg', nPrompt: 64, nGen: 16, repetitions: 2},
      {id: 'tg8 @ d300', kind: 'tg', nGen: 8, depth: 300, repetitions: 2},
    ])
    expect(suite.tests.map(contextNeeded)).toEqual([4096 + 1 + 128, 1024 + 512, 80, 309])
    expect(() => parseSuite(JSON.stringify({...valid, tests: ['tg 128 @ 4096']}), 'x')).toThrow(/"tg 128 @ 4096" is not a test: write "pp N", "tg N", "pg N,M" \(each optionally "@ dDEPTH"\)/)
  })

  it('keeps a test\'s own load levels: a list, "sweep", or a sweep with bounds', () => {
    const suite = parseSuite(JSON.stringify({...valid, tests: [{kind: 'tg', nGen: 8, concurrency: [1, 2, 4]}, {kind: 'pp', nPrompt: 8, concurrency: 'sweep'}, {kind: 'pg', nPrompt: 8, nGen: 8, concurrency: {sweep: {maxLevel: 16, maxSeconds: 60}}}]}), 'x')
    expect(suite.tests.map((t) => t.concurrency)).toEqual([[1, 2, 4], {sweep: {}}, {sweep: {maxLevel: 16, maxSeconds: 60}}])
    const error = thrownUserError(() => parseSuite(JSON.stringify({...valid, tests: [{kind: 'tg', nGen: 8, concurrency: [0]}]}), 'x'))
    expect(error.message).toMatch(/tests\[0\]\.concurrency/)
  })

  it('standard measures tg128 as a bounded batch sweep and at a depth of 4096', async () => {
    const {suite} = await loadSuite('standard')
    expect(suite.tests.find((t) => t.id === 'tg128')?.concurrency).toEqual({sweep: {maxLevel: 64, maxSeconds: 300}})
    expect(suite.tests.find((t) => t.id === 'tg128 @ d4096')).toMatchObject({kind: 'tg', nGen: 128, depth: 4096})
  })

  it('keeps per-test repetitions and chat defaults', () => {
    const suite = parseSuite(JSON.stringify({...valid, tests: [{kind: 'tg', nGen: 8, repetitions: 7}, {kind: 'chat', id: 'hi', messages: [{role: 'user', content: 'hello'}], maxTokens: 16}]}), 'x')
    expect(suite.tests[0]).toEqual({id: 'tg8', kind: 'tg', nGen: 8, repetitions: 7})
    expect(suite.tests[1]).toMatchObject({id: 'hi', kind: 'chat', ignoreEos: false, maxTokens: 16, repetitions: 2})
  })

  it.each([
    [{...valid, repetitions: 0}, /repetitions: .*>=1|repetitions: .*positive|repetitions: Too small/i],
    [{...valid, tests: ['pp 512', {kind: 'pp', nPrompt: -4}]}, /tests\[1\]\.nPrompt/],
    [{...valid, tests: ['pp 512', 'xx 3']}, /tests\[1\]: "xx 3" is not a test/],
    [{...valid, tests: ['pg 512']}, /tests\[0\]: "pg 512": pg needs two counts/],
    [{...valid, tests: [{kind: 'chat', id: 'a', messages: [], maxTokens: 3}]}, /tests\[0\]\.messages/],
    [{...valid, colour: 'red'}, /colour/],
    [{...valid, version: 'one'}, /version: use a semantic version/],
    [{...valid, tests: ['pp 64', 'pp 64']}, /tests\[1\]: duplicate test "pp64"/],
  ])('rejects a malformed suite with an error naming the field (%#)', (suite, message) => {
    const error = thrownUserError(() => parseSuite(JSON.stringify(suite), 'bad.json'))
    expect(error.message).toMatch(/^suite bad\.json is malformed: /)
    expect(error.message).toMatch(message)
  })

  it('rejects invalid JSON and unknown names with a fix', async () => {
    expect(thrownUserError(() => parseSuite('{"name": ', 'broken.json')).message).toMatch(/broken\.json is not valid JSON/)
    await expect(loadSuite('nope')).rejects.toThrow(/unknown suite "nope"/)
    await expect(loadSuite('/no/such/suite.json')).rejects.toThrow(/cannot read suite file .*ENOENT/)
  })

  it('loads a suite file by path and hashes its normalized content', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-suite-'))
    const a = path.join(dir, 'a.json')
    const b = path.join(dir, 'b.json')
    await writeFile(a, JSON.stringify(valid))
    await writeFile(b, JSON.stringify({...valid, tests: [{kind: 'pp', nPrompt: 512}, 'tg 128', 'pg 512,128']}, null, 2))
    const [la, lb] = await Promise.all([loadSuite(a), loadSuite(b)])
    expect(la.source).toEqual({kind: 'file', path: a})
    expect(la.sha256).toBe(lb.sha256)
    expect(la.sha256).not.toBe((await loadSuite('quick')).sha256)
  })
})
