import {mkdir, readFile, rename, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {z} from 'zod'
import {UserError} from '../errors/errors.js'
import type {CpuIdentity} from '../system/cpu-identity.js'

/**
 * A llama.cpp build is checked before it is trusted: compiled with -march=native it uses every instruction the CPU
 * advertises, and some systems advertise instructions they do not enable (an Intel Xeon Sapphire Rapids VM lists
 * `amx_tile amx_int8 amx_bf16` without enabling AMX state: ggml's AMX matmul dies with SIGILL on `tilezero`). Such a
 * build is rebuilt for the CPU's own instruction sets with those left out, checked again, and the build that passed
 * is recorded, so the check runs once per CPU and build, not on every use.
 */

/** ggml's x86 instruction-set options and the Linux /proc/cpuinfo flags each one compiles in (ggml/src/ggml-cpu/CMakeLists.txt: GGML_AVX512 adds -mavx512f -mavx512cd -mavx512vl -mavx512dq -mavx512bw). */
const X86_INSTRUCTION_SETS: ReadonlyArray<readonly [option: string, flags: readonly string[]]> = [
  ['GGML_SSE42', ['sse4_2']],
  ['GGML_AVX', ['avx']],
  ['GGML_AVX2', ['avx2']],
  ['GGML_AVX_VNNI', ['avx_vnni']],
  ['GGML_BMI2', ['bmi2']],
  ['GGML_FMA', ['fma']],
  ['GGML_F16C', ['f16c']],
  ['GGML_AVX512', ['avx512f', 'avx512cd', 'avx512vl', 'avx512dq', 'avx512bw']],
  ['GGML_AVX512_VBMI', ['avx512vbmi']],
  ['GGML_AVX512_VNNI', ['avx512_vnni']],
  ['GGML_AVX512_BF16', ['avx512_bf16']],
]

/** Instructions a CPU can advertise while the system does not enable them (AMX needs OS-managed tile state). */
const MAY_BE_DISABLED: ReadonlyArray<readonly [option: string, flag: string]> = [
  ['GGML_AMX_TILE', 'amx_tile'],
  ['GGML_AMX_INT8', 'amx_int8'],
  ['GGML_AMX_BF16', 'amx_bf16'],
]

export interface InstructionSetBuild {
  cmakeOptions: Record<string, string>
  /** Instruction sets this CPU advertises that the build leaves out. */
  leftOut: string[]
}

/**
 * The cmake options of a build for this CPU's own instruction sets without -march=native: every ggml x86 option whose
 * flags the CPU lists is ON, the AMX options are OFF. Elsewhere than x86-64 only -march=native is dropped.
 */
export function instructionSetBuild(cpu: Pick<CpuIdentity, 'flags' | 'arch'>): InstructionSetBuild {
  if (cpu.arch !== 'x64') return {cmakeOptions: {GGML_NATIVE: 'OFF'}, leftOut: ['-march=native']}
  const has = new Set(cpu.flags)
  const cmakeOptions: Record<string, string> = {GGML_NATIVE: 'OFF'}
  for (const [option, flags] of X86_INSTRUCTION_SETS) cmakeOptions[option] = flags.every((f) => has.has(f)) ? 'ON' : 'OFF'
  const leftOut: string[] = []
  for (const [option, flag] of MAY_BE_DISABLED) {
    cmakeOptions[option] = 'OFF'
    if (has.has(flag)) leftOut.push(flag)
  }
  return {cmakeOptions, leftOut}
}

export const BuildRecordSchema = z.strictObject({
  /** What was built: 'llama.cpp tools (native)', 'node-llama-cpp local build (cpu)'. */
  what: z.string(),
  /** The llama.cpp release (bundle tag) it was built from. */
  release: z.string(),
  cpuKey: z.string(),
  cpu: z.string(),
  cmakeOptions: z.record(z.string(), z.string()),
  /** Instruction sets this CPU advertises that the build leaves out (empty for a -march=native build). */
  leftOut: z.array(z.string()),
  /** Why they are left out: what the native build did on the check. */
  reason: z.string().optional(),
  /** The models the build computed on without dying. */
  checkedOn: z.array(z.string()),
  checkedAt: z.string(),
})
export type BuildRecord = z.infer<typeof BuildRecordSchema>

/** How a check run of the build ended when it did not pass. */
export interface CheckFailure {
  /** The check model it failed on. */
  model: string
  code: number | null
  signal: NodeJS.Signals | null
  /** The last lines it printed. */
  logTail: string
}

export interface CheckedBuildPlan {
  what: string
  release: string
  recordPath: string
  cpu: CpuIdentity
  /** Options of the first build to try (the -march=native one). */
  nativeOptions: Record<string, string>
  /** Whether a build that dies with SIGILL is rebuilt for the CPU's instruction sets (false: a portable build, which has no -march=native to drop). */
  instructionSetFallback?: boolean
  /** Build again even when this CPU has a checked build (`owbench setup`: the user asked for a build). */
  force?: boolean
  /** Whether a build with these options is already there. */
  present: (cmakeOptions: Record<string, string>) => Promise<boolean>
  build: (cmakeOptions: Record<string, string>) => Promise<void>
  /** Runs the build with these options on the check models; undefined when it computed on all of them. */
  check: (cmakeOptions: Record<string, string>) => Promise<CheckFailure | undefined>
  checkModels: readonly string[]
  log?: (message: string) => void
  now?: () => Date
}

/**
 * Makes sure a build that passed its check on this CPU is there, and returns its record. A build recorded as checked
 * on this CPU and release is trusted as it is; otherwise the -march=native build is made (or taken, if present) and
 * checked, and when it dies with SIGILL the instruction-set build replaces it and is checked in turn.
 * Throws a UserError naming the check model, the exit code or signal and the build's last log lines when the build
 * fails its check for any other reason, or when the instruction-set build fails too.
 */
export async function ensureCheckedBuild(plan: CheckedBuildPlan): Promise<BuildRecord> {
  const previous = await readBuildRecord(plan.recordPath)
  const trusted = previous && previous.cpuKey === plan.cpu.key && previous.release === plan.release && !plan.force ? previous : undefined
  let options = trusted?.cmakeOptions ?? plan.nativeOptions
  let leftOut = trusted?.leftOut ?? []
  let reason = trusted?.reason
  const fallback = instructionSetBuild(plan.cpu)
  for (;;) {
    const present = !plan.force && (await plan.present(options))
    if (present && trusted && sameOptions(options, trusted.cmakeOptions)) return trusted
    if (!present) await plan.build(options)
    const failure = await plan.check(options)
    if (!failure) {
      const record: BuildRecord = {what: plan.what, release: plan.release, cpuKey: plan.cpu.key, cpu: plan.cpu.brand, cmakeOptions: options, leftOut, ...(reason ? {reason} : {}), checkedOn: [...plan.checkModels], checkedAt: (plan.now?.() ?? new Date()).toISOString()}
      await writeBuildRecord(plan.recordPath, record)
      return record
    }
    if (failure.signal !== 'SIGILL' || plan.instructionSetFallback === false || sameOptions(options, fallback.cmakeOptions)) throw checkError(plan, options, failure)
    reason = `the -march=native build died with SIGILL (illegal instruction) on ${failure.model}: this CPU advertises instructions the system does not enable${fallback.leftOut.length > 0 ? ` (${fallback.leftOut.join(' ')})` : ''}`
    plan.log?.(`${plan.what}: ${reason}; rebuilding for this CPU's instruction sets without ${fallback.leftOut.length > 0 ? fallback.leftOut.join(', ') : '-march=native'}`)
    options = fallback.cmakeOptions
    leftOut = fallback.leftOut
  }
}

function checkError(plan: CheckedBuildPlan, options: Record<string, string>, failure: CheckFailure): UserError {
  const how = failure.signal ? `was killed by ${failure.signal}` : `exited with code ${failure.code}`
  const tail = failure.logTail.trim().split('\n').slice(-3).join(' | ')
  const built = options.GGML_NATIVE === 'OFF' ? 'built for this CPU\'s instruction sets' : 'built with -march=native'
  return new UserError(`${plan.what} ${built} ${how} on the check model ${failure.model}${tail ? `: ${tail}` : ''}`, 'report it with this line and your CPU (`owbench doctor`); meanwhile use the prebuilt engine (--engine-build prebuilt)')
}

function sameOptions(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  return [...keys].every((k) => a[k] === b[k])
}

/** The record at `file`, or undefined when there is none or it is not one. */
export async function readBuildRecord(file: string): Promise<BuildRecord | undefined> {
  try {
    const parsed = BuildRecordSchema.safeParse(JSON.parse(await readFile(file, 'utf8')))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}

/** Writes a record atomically (a reader never sees half of one). */
export async function writeBuildRecord(file: string, record: BuildRecord): Promise<void> {
  await mkdir(path.dirname(file), {recursive: true})
  const temp = `${file}.${process.pid}.tmp`
  await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`)
  await rename(temp, file)
}
