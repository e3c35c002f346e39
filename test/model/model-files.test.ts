import {createHash} from 'node:crypto'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {modelFiles, modelIdentity} from '../../src/model/model-files.js'
import {testCacheDir} from '../helpers/tiny-model.js'
import {rejectedUserError} from '../helpers/user-error.js'

process.env.OWBENCH_CACHE_DIR = testCacheDir

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-shards-'))
  // Content does not matter for identity: three shards of 5, 3 and 4 bytes.
  await writeFile(path.join(dir, 'm-00001-of-00003.gguf'), 'GGUF1')
  await writeFile(path.join(dir, 'm-00002-of-00003.gguf'), 'abc')
  await writeFile(path.join(dir, 'm-00003-of-00003.gguf'), 'defg')
  await writeFile(path.join(dir, 'single.gguf'), 'GGUF-single')
})

describe('model identity', () => {
  it('a single file is itself: its size, its own sha256, one shard', async () => {
    const file = path.join(dir, 'single.gguf')
    expect(await modelIdentity(file)).toEqual({files: [file], bytes: 11, sha256: createHash('sha256').update('GGUF-single').digest('hex'), shards: 1})
  })

  it('a split model is all its shards: sizes summed, sha256 of the shards one after the other', async () => {
    const first = path.join(dir, 'm-00001-of-00003.gguf')
    const identity = await modelIdentity(first)
    expect(identity.files.map((f) => path.basename(f))).toEqual(['m-00001-of-00003.gguf', 'm-00002-of-00003.gguf', 'm-00003-of-00003.gguf'])
    expect(identity.bytes).toBe(12)
    expect(identity.shards).toBe(3)
    expect(identity.sha256).toBe(createHash('sha256').update('GGUF1abcdefg').digest('hex'))
  })

  it('two split models sharing a first shard get different hashes', async () => {
    const other = await mkdtemp(path.join(os.tmpdir(), 'owbench-shards-'))
    for (const [name, content] of [['m-00001-of-00002.gguf', 'GGUF1'], ['m-00002-of-00002.gguf', 'zzz']]) await writeFile(path.join(other, name!), content!)
    const a = await modelIdentity(path.join(dir, 'm-00001-of-00003.gguf'))
    const b = await modelIdentity(path.join(other, 'm-00001-of-00002.gguf'))
    expect(a.sha256).not.toBe(b.sha256)
    expect(b.sha256).toBe(createHash('sha256').update('GGUF1zzz').digest('hex'))
  })

  it('refuses a later shard, naming the first', async () => {
    const error = await rejectedUserError(modelFiles(path.join(dir, 'm-00002-of-00003.gguf')))
    expect(error.message).toBe(`${path.join(dir, 'm-00002-of-00003.gguf')} is shard 2 of a split model`)
    expect(error.hint).toBe(`pass its first shard with --model: ${path.join(dir, 'm-00001-of-00003.gguf')}`)
  })

  it('refuses a split model with a shard missing, naming it', async () => {
    const gap = await mkdtemp(path.join(os.tmpdir(), 'owbench-shards-'))
    await writeFile(path.join(gap, 'g-00001-of-00002.gguf'), 'GGUF')
    const error = await rejectedUserError(modelFiles(path.join(gap, 'g-00001-of-00002.gguf')))
    expect(error.message).toBe(`split model ${path.join(gap, 'g-00001-of-00002.gguf')}: shard ${path.join(gap, 'g-00002-of-00002.gguf')} is missing`)
    await rm(gap, {recursive: true})
  })

  it('remembers a hash by path, size and mtime, and rehashes when a shard changes', async () => {
    const changing = await mkdtemp(path.join(os.tmpdir(), 'owbench-shards-'))
    const first = path.join(changing, 'c-00001-of-00002.gguf')
    await writeFile(first, 'GGUF')
    await writeFile(path.join(changing, 'c-00002-of-00002.gguf'), 'one')
    expect((await modelIdentity(first)).sha256).toBe(createHash('sha256').update('GGUFone').digest('hex'))
    await writeFile(path.join(changing, 'c-00002-of-00002.gguf'), 'other')
    expect((await modelIdentity(first)).sha256).toBe(createHash('sha256').update('GGUFother').digest('hex'))
    expect(JSON.stringify(JSON.parse(await readFile(path.join(testCacheDir, 'model-hashes.json'), 'utf8')))).toContain('c-00002-of-00002.gguf')
  })
})
