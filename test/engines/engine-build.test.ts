import {describe, expect, it} from 'vitest'
import {checkLocalEngine, engineBuildInfo, systemInfoFlags} from '../../src/engines/engine-build.js'
import {gainedFlags} from '../../src/commands/setup.js'

const prebuilt = 'CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | LLAMAFILE = 1 | REPACK = 1 |'
const local = 'CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | AVX512 = 0 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 |'

describe('engine builds', () => {
  it('parses llama.cpp system info into flags', () => {
    expect(systemInfoFlags(local)).toMatchObject({AVX2: '1', OPENMP: '1', AVX512: '0', REPACK: '1'})
    expect(systemInfoFlags(prebuilt).OPENMP).toBeUndefined()
  })

  it('names what a local build gained over the prebuilt one', () => {
    expect(gainedFlags(prebuilt, local)).toEqual(['OPENMP'])
    expect(gainedFlags(local, local)).toEqual([])
  })

  it('reads the prebuilt binary\'s build and system info in a child process', async () => {
    const info = await engineBuildInfo('prebuilt')
    expect(info).toMatchObject({build: 'prebuilt', backend: 'cpu', release: expect.stringMatching(/^v?\d/)})
    expect(info!.systemInfo).toMatch(/^CPU : /)
  })

  it('checks a local build in a child process and says when there is none to check', async () => {
    // No local build was ever made with this option, so node-llama-cpp finds none (and never falls back to the
    // prebuilt binary, which is not what is being checked).
    expect(await checkLocalEngine('cpu', {OWBENCH_NO_SUCH_BUILD: '1'})).toBe('absent')
  })
})
