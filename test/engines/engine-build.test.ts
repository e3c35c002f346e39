import {describe, expect, it} from 'vitest'
import type {BuildRecord} from '../../src/engines/build-check.js'
import {checkLocalEngine, engineBinaryFor, engineBuildInfo, systemInfoFlags} from '../../src/engines/engine-build.js'
import {thrownUserError} from '../helpers/user-error.js'
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

  it('a checked local build is loaded with the cmake options it passed its check with, and what it leaves out is recorded', () => {
    const record: BuildRecord = {
      what: 'node-llama-cpp local build (cpu)', release: 'b7000', cpuKey: 'GenuineIntel/6/143/8', cpu: 'Intel Xeon Platinum 8481C',
      cmakeOptions: {GGML_NATIVE: 'OFF', GGML_AVX512: 'ON', GGML_AMX_TILE: 'OFF', GGML_AMX_INT8: 'OFF', GGML_AMX_BF16: 'OFF'},
      leftOut: ['amx_tile', 'amx_int8', 'amx_bf16'], reason: 'the -march=native build was killed by SIGILL on check-q8_0',
      checkedOn: ['check-q8_0', 'check-q4_k'], checkedAt: '2026-11-29T10:00:00.000Z',
    }
    const checked = {kind: 'checked' as const, cmakeOptions: record.cmakeOptions, record}
    const leftOut = {features: ['amx_tile', 'amx_int8', 'amx_bf16'], reason: 'the -march=native build was killed by SIGILL on check-q8_0'}
    // auto: that build, or node-llama-cpp's prebuilt binary if it has gone since; local: that build or nothing.
    expect(engineBinaryFor('auto', checked)).toEqual({binary: {kind: 'local', cmakeOptions: record.cmakeOptions, prebuiltFallback: true}, leftOut})
    expect(engineBinaryFor('local', checked)).toEqual({binary: {kind: 'local', cmakeOptions: record.cmakeOptions, prebuiltFallback: false}, leftOut})
    // A -march=native build that passed leaves nothing out: nothing to record.
    const {reason: _reason, ...native} = record
    expect(engineBinaryFor('auto', {kind: 'checked', cmakeOptions: {}, record: {...native, cmakeOptions: {}, leftOut: []}})).toEqual({binary: {kind: 'local', cmakeOptions: {}, prebuiltFallback: true}})
  })

  it('a local build that failed its check is never loaded: auto runs the prebuilt engine and says why, local refuses with the fix', () => {
    const unusable = {kind: 'unusable' as const, reason: 'the local engine build was killed by SIGILL on the check model check-q8_0'}
    expect(engineBinaryFor('auto', unusable)).toEqual({
      binary: {kind: 'prebuilt'},
      localBuildUnusable: 'the local engine build was killed by SIGILL on the check model check-q8_0; the prebuilt engine was used (run `owbench setup` to rebuild)',
    })
    const refused = thrownUserError(() => engineBinaryFor('local', unusable))
    expect(refused).toMatchObject({message: 'the local engine build cannot run on this machine: the local engine build was killed by SIGILL on the check model check-q8_0', hint: expect.stringMatching(/^run `owbench setup` again .*--engine-build prebuilt$/)})
  })

  it('without a local build, auto and prebuilt load the prebuilt binary and local refuses', () => {
    expect(engineBinaryFor('auto', {kind: 'none'})).toEqual({binary: {kind: 'prebuilt'}})
    expect(engineBinaryFor('prebuilt', undefined)).toEqual({binary: {kind: 'prebuilt'}})
    expect(() => engineBinaryFor('local', {kind: 'none'})).toThrow('no local engine build was found for this machine')
  })
})
