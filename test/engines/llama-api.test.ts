import {mkdir, mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {libllamaBeside} from '../../src/engines/llama-api.js'

async function folder(names: string[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-bins-'))
  await mkdir(dir, {recursive: true})
  for (const name of names) await writeFile(path.join(dir, name), '')
  return path.join(dir, 'llama-addon.node')
}

describe('libllama beside node-llama-cpp\'s addon', () => {
  it('finds the versioned library of a prebuilt, CPU or CUDA, and never libllama-common', async () => {
    const cpu = await folder(['llama-addon.node', 'libllama-common.so', 'libggml-base.so', 'libggml.v0.4.0.so', 'libllama.v0.4.0.so'])
    expect(path.basename(libllamaBeside(cpu))).toBe('libllama.v0.4.0.so')
    const cuda = await folder(['llama-addon.node', 'libllama-common.so', 'libllama.cuda.v0.4.0.so', 'libggml-cuda.so'])
    expect(path.basename(libllamaBeside(cuda))).toBe('libllama.cuda.v0.4.0.so')
  })

  it('finds a local build\'s, macOS\'s and Windows\' names', async () => {
    expect(path.basename(libllamaBeside(await folder(['llama-addon.node', 'libllama.so'])))).toBe('libllama.so')
    expect(path.basename(libllamaBeside(await folder(['llama-addon.node', 'libllama.dylib', 'libllama-common.dylib'])))).toBe('libllama.dylib')
    expect(path.basename(libllamaBeside(await folder(['llama-addon.node', 'llama.dll', 'ggml.dll'])))).toBe('llama.dll')
  })

  it('says which addon had none', async () => {
    const addon = await folder(['llama-addon.node', 'libllama-common.so'])
    expect(() => libllamaBeside(addon)).toThrow(`no libllama library beside ${addon}`)
  })
})
