import {chmod, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ensureCheckedBuild, instructionSetBuild, readBuildRecord} from '../../src/engines/build-check.js'
import {bundledRelease, ensureLlamaCppTools, type ToolsDirs} from '../../src/engines/llama-cpp-tools.js'
import {cpuIdentity, type CpuIdentity} from '../../src/system/cpu-identity.js'
import {rejectedUserError} from '../helpers/user-error.js'

// /proc/cpuinfo flags of an Intel Xeon Sapphire Rapids VM (KVM) that advertises AMX without enabling it.
const SAPPHIRE_RAPIDS = 'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pdcm pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch cpuid_fault ssbd ibrs ibpb stibp ibrs_enhanced fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves avx_vnni avx512_bf16 wbnoinvd arat avx512vbmi umip pku ospke waitpkg avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg tme avx512_vpopcntdq rdpid cldemote movdiri movdir64b md_clear serialize tsxldtrk amx_bf16 avx512_fp16 amx_tile amx_int8 arch_capabilities'.split(' ')
// An AMD EPYC (Zen 4) VM: AVX-512 with VNNI and BF16, no AVX-VNNI, no AMX.
const ZEN4 = 'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid extd_apicid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw topoext vmmcall fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves avx512_bf16 clzero xsaveerptr arat avx512vbmi umip avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg avx512_vpopcntdq rdpid fsrm'.split(' ')

const spr: CpuIdentity = {key: 'spr000000000', brand: 'Intel Xeon Platinum 8480+', flags: SAPPHIRE_RAPIDS, arch: 'x64'}

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-build-check-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

describe('the instruction-set build', () => {
  it('turns on every ggml x86 option the CPU lists and leaves the advertised AMX out', () => {
    expect(instructionSetBuild(spr)).toEqual({
      cmakeOptions: {
        GGML_NATIVE: 'OFF', GGML_SSE42: 'ON', GGML_AVX: 'ON', GGML_AVX2: 'ON', GGML_AVX_VNNI: 'ON', GGML_BMI2: 'ON', GGML_FMA: 'ON', GGML_F16C: 'ON',
        GGML_AVX512: 'ON', GGML_AVX512_VBMI: 'ON', GGML_AVX512_VNNI: 'ON', GGML_AVX512_BF16: 'ON',
        GGML_AMX_TILE: 'OFF', GGML_AMX_INT8: 'OFF', GGML_AMX_BF16: 'OFF',
      },
      leftOut: ['amx_tile', 'amx_int8', 'amx_bf16'],
    })
  })

  it('leaves out only what the CPU lacks, and nothing when it has no AMX', () => {
    const zen4 = instructionSetBuild({flags: ZEN4, arch: 'x64'})
    expect(zen4.leftOut).toEqual([])
    expect(zen4.cmakeOptions).toMatchObject({GGML_AVX512: 'ON', GGML_AVX512_VNNI: 'ON', GGML_AVX512_BF16: 'ON', GGML_AVX_VNNI: 'OFF', GGML_AMX_INT8: 'OFF'})
    // AVX-512 in ggml means F, CD, VL, DQ and BW together: a CPU with F alone gets none of it.
    expect(instructionSetBuild({flags: ['avx', 'avx2', 'fma', 'f16c', 'avx512f'], arch: 'x64'}).cmakeOptions.GGML_AVX512).toBe('OFF')
    expect(instructionSetBuild({flags: [], arch: 'arm64'})).toEqual({cmakeOptions: {GGML_NATIVE: 'OFF'}, leftOut: ['-march=native']})
  })
})

/**
 * A stand-in for llama.cpp's build: it "compiles" a llama-bench that really dies with SIGILL when built with
 * -march=native (as on a CPU that advertises AMX the system does not enable) and computes otherwise.
 */
function fakeToolsBuilder(calls: Record<string, string>[]) {
  return async (dirs: ToolsDirs, cmakeOptions: Record<string, string>, targets: string[]) => {
    calls.push(cmakeOptions)
    await rm(dirs.bin, {recursive: true, force: true})
    await mkdir(dirs.bin, {recursive: true})
    const body = cmakeOptions.GGML_NATIVE === 'ON'
      ? 'echo "llama threadpool init, n_threads = 1"; echo "load_tensors: AMX model buffer size" >&2; kill -ILL $$'
      : 'echo \'[{"n_prompt": 32, "n_gen": 0, "avg_ts": 100}]\''
    for (const t of targets) {
      await writeFile(path.join(dirs.bin, t), `#!/bin/sh\n${body}\n`)
      await chmod(path.join(dirs.bin, t), 0o755)
    }
  }
}

describe('a build that dies with SIGILL on its check', () => {
  it('is rebuilt for the CPU\'s instruction sets without AMX, checked again, recorded, and trusted afterwards', async () => {
    const cache = path.join(dir, 'sigill')
    const calls: Record<string, string>[] = []
    const logs: string[] = []
    const first = await ensureLlamaCppTools({variant: 'native', targets: ['llama-server'], cache, cpu: spr, build: fakeToolsBuilder(calls), log: (m) => logs.push(m)})
    // Native first, then the instruction-set build; both hold llama-server and the checker.
    expect(calls).toEqual([{GGML_NATIVE: 'ON'}, instructionSetBuild(spr).cmakeOptions])
    expect(first.record.leftOut).toEqual(['amx_tile', 'amx_int8', 'amx_bf16'])
    expect(first.record.reason).toMatch(/^the -march=native build died with SIGILL \(illegal instruction\) on check-q8_0: .*amx_tile amx_int8 amx_bf16/)
    expect(first.record.checkedOn).toEqual(['check-q8_0', 'check-q4_k'])
    expect(first.record.cpuKey).toBe(spr.key)
    expect(logs.join('\n')).toMatch(/rebuilding for this CPU's instruction sets without amx_tile, amx_int8, amx_bf16/)
    const release = path.basename(path.dirname(path.dirname(first.bin)))
    expect(await readBuildRecord(path.join(cache, 'llama.cpp', release, 'native', 'build.json'))).toEqual(first.record)
    // Beside the binaries: every option, the shared-library ones included (llama.cpp's default build, as the engine links it).
    expect(JSON.parse(await readFile(path.join(first.bin, 'built-with.json'), 'utf8'))).toEqual({BUILD_SHARED_LIBS: 'ON', CMAKE_BUILD_WITH_INSTALL_RPATH: 'ON', CMAKE_INSTALL_RPATH: '$ORIGIN', ...instructionSetBuild(spr).cmakeOptions})

    // The next caller on this CPU gets the checked build without building or checking again.
    let checks = 0
    const again = await ensureLlamaCppTools({variant: 'native', targets: ['llama-server'], cache, cpu: spr, build: fakeToolsBuilder(calls), check: async () => (checks++, undefined)})
    expect(again.record).toEqual(first.record)
    expect(calls).toHaveLength(2)
    expect(checks).toBe(0)

    // A tool not built yet is built with the options that passed, and checked, never with -march=native again.
    await ensureLlamaCppTools({variant: 'native', targets: ['llama-batched-bench'], cache, cpu: spr, build: fakeToolsBuilder(calls)})
    expect(calls.at(-1)).toEqual(instructionSetBuild(spr).cmakeOptions)

    // On another CPU (the key changes) the build is checked again before it is trusted.
    const other = await ensureLlamaCppTools({variant: 'native', targets: ['llama-server'], cache, cpu: {...spr, key: 'other0000000'}, build: fakeToolsBuilder(calls), check: async () => (checks++, undefined)})
    expect(checks).toBe(1)
    expect(other.record.cpuKey).toBe('other0000000')
  })

  it('fails with one line naming the model, the exit and the last log lines when the check fails otherwise', async () => {
    const cache = path.join(dir, 'exit1')
    const build = async (dirs: ToolsDirs, _options: Record<string, string>, targets: string[]) => {
      await mkdir(dirs.bin, {recursive: true})
      for (const t of targets) {
        await writeFile(path.join(dirs.bin, t), '#!/bin/sh\necho "llama_model_load: error loading model: unknown model architecture" >&2\nexit 1\n')
        await chmod(path.join(dirs.bin, t), 0o755)
      }
    }
    const error = await rejectedUserError(ensureLlamaCppTools({variant: 'native', targets: [], cache, cpu: spr, build}))
    expect(error.message).toBe('llama.cpp tools (native) built with -march=native exited with code 1 on the check model check-q8_0: llama_model_load: error loading model: unknown model architecture')
    expect(error.hint).toMatch(/--engine-build prebuilt/)
    expect(await readBuildRecord(path.join(cache, 'llama.cpp', await bundledRelease(), 'native', 'build.json'))).toBeUndefined()
  })

  it('gives up when the instruction-set build dies too, and never falls back for the portable variant', async () => {
    const always = {model: 'check-q8_0', code: null, signal: 'SIGILL' as const, logTail: 'Illegal instruction'}
    const built: Record<string, string>[] = []
    const plan = {what: 'engine', release: 'r1', recordPath: path.join(dir, 'never.json'), cpu: spr, nativeOptions: {GGML_NATIVE: 'ON'}, checkModels: ['check-q8_0'], present: async () => false, build: async (o: Record<string, string>) => void built.push(o), check: async () => always}
    const twice = await rejectedUserError(ensureCheckedBuild(plan))
    expect(built).toHaveLength(2)
    expect(twice.message).toBe('engine built for this CPU\'s instruction sets was killed by SIGILL on the check model check-q8_0: Illegal instruction')
    built.length = 0
    const portable = await rejectedUserError(ensureCheckedBuild({...plan, instructionSetFallback: false}))
    expect(built).toHaveLength(1)
    expect(portable.message).toMatch(/^engine built with -march=native was killed by SIGILL/)
  })
})

describe('the real native tools build on this machine', () => {
  it('passed its check on the Q8_0 and Q4_K check models and is recorded for this CPU', async () => {
    const {bin, record} = await ensureLlamaCppTools({variant: 'native', targets: ['llama-server']})
    expect(path.basename(bin)).toBe('bin')
    expect(record.checkedOn).toEqual(['check-q8_0', 'check-q4_k'])
    const cpu = await cpuIdentity()
    expect(record.cpuKey).toBe(cpu.key)
    // Whichever build passed here, the record says what it is: native, or without what this CPU does not enable.
    if (record.cmakeOptions.GGML_NATIVE === 'ON') {
      expect(record.leftOut).toEqual([])
    } else {
      expect(record.cmakeOptions).toEqual(instructionSetBuild(cpu).cmakeOptions)
      expect(record.reason).toMatch(/SIGILL/)
    }
  })
})
