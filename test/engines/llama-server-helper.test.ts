import {chmod, mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startLlamaServer} from '../helpers/llama-server.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-server-helper-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

async function rejection(promise: Promise<unknown>): Promise<{message: string; seconds: number}> {
  const started = performance.now()
  try {
    await promise
  } catch (error) {
    return {message: (error as Error).message, seconds: (performance.now() - started) / 1000}
  }
  throw new Error('expected startLlamaServer to reject')
}

describe('starting llama-server for a test', () => {
  it('reports a server killed by a signal at once, with the signal and its last log lines', async () => {
    // What a -march=native llama-server did on a CPU that advertises AMX the system does not enable.
    const bin = path.join(dir, 'llama-server')
    await writeFile(bin, '#!/bin/sh\necho "main: loading model"\necho "llama threadpool init, n_threads = 1" >&2\nkill -ILL $$\n')
    await chmod(bin, 0o755)
    const {message, seconds} = await rejection(startLlamaServer(path.join(dir, 'model.gguf'), {bin}))
    expect(message).toBe('llama-server was killed by SIGILL before it became healthy (model.gguf); its last log lines:\nmain: loading model\nllama threadpool init, n_threads = 1')
    expect(seconds).toBeLessThan(10)
  })

  it('reports the real llama-server exiting on a broken model with its exit code, long before the health timeout', async () => {
    const broken = path.join(dir, 'broken.gguf')
    await writeFile(broken, 'GGUF but not really a model')
    const {message, seconds} = await rejection(startLlamaServer(broken, {threads: 1, parallel: 1, ctx: 256}))
    expect(message).toMatch(/^llama-server exited with code 1 before it became healthy \(broken\.gguf\); its last log lines:\n/)
    expect(message).toMatch(/failed to load model|error loading model/)
    expect(seconds).toBeLessThan(30)
  })
})
