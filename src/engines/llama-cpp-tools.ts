import {spawn} from 'node:child_process'
import {access, constants, copyFile, cp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {UserError} from '../errors/errors.js'
import {ensureSyntheticModel} from '../model/synthetic-model.js'
import {cpuIdentity, type CpuIdentity} from '../system/cpu-identity.js'
import {cacheDir} from '../paths/paths.js'
import {type BuildRecord, type CheckFailure, ensureCheckedBuild} from './build-check.js'
import {nodeLlamaCppDir} from './node-llama-cpp-dir.js'

/**
 * llama.cpp's own tools (llama-bench, llama-server, llama-batched-bench, llama-quantize...) built from the source
 * node-llama-cpp ships (llama/gitRelease.bundle), so the reference tools run the exact llama.cpp release owbench's
 * engine uses. Cached outside the checkout, keyed by the bundled tag and variant; each build is checked on tiny
 * Q8_0 and Q4_K models before it is used (see build-check.ts).
 *   native   compiled for this CPU with OpenMP, like `owbench setup`'s local engine build
 *   portable compiled like node-llama-cpp's prebuilt binary: no -march=native, no OpenMP, and the prebuilt's own
 *            CPU kernel libraries picked at run time, so it compares with the prebuilt engine build (Linux)
 */
export type ToolsVariant = 'native' | 'portable'

/** The tool every build is checked with: it loads a model and computes pp and tg, nothing else. */
const CHECK_TOOL = 'llama-bench'
export const CHECK_MODELS = ['check-q8_0', 'check-q4_k'] as const

/**
 * Both variants link llama.cpp's libraries as shared libraries (llama.cpp's default build), found beside the binaries
 * ($ORIGIN) wherever the bin folder is: the engine loads libllama and libggml as shared libraries, and a statically
 * linked llama-bench calls ggml without position-independent code and PLT stubs, which made its tg128 on a 60M-parameter
 * model about 9% faster than the same kernels in shared libraries here (a difference of linking, not of engines).
 */
const SHARED_LIBS = {BUILD_SHARED_LIBS: 'ON', CMAKE_BUILD_WITH_INSTALL_RPATH: 'ON', CMAKE_INSTALL_RPATH: '$ORIGIN'}

const VARIANT_OPTIONS: Record<ToolsVariant, {fixed: Record<string, string>; first: Record<string, string>; fallback: boolean}> = {
  native: {fixed: SHARED_LIBS, first: {GGML_NATIVE: 'ON'}, fallback: true},
  portable: {fixed: SHARED_LIBS, first: {GGML_NATIVE: 'OFF', GGML_OPENMP: 'OFF', GGML_BACKEND_DL: 'ON'}, fallback: false},
}

/** Every cmake option of a build: the variant's fixed ones and the checked ones (native, or this CPU's instruction sets). */
function allOptions(variant: ToolsVariant, cmakeOptions: Record<string, string>): Record<string, string> {
  return {...VARIANT_OPTIONS[variant].fixed, ...cmakeOptions}
}

export interface ToolsBuildOptions {
  variant: ToolsVariant
  targets: readonly string[]
  /** Build output and progress (cmake's own lines). */
  onOutput?: (chunk: string) => void
  log?: (message: string) => void
  /** Injected for tests: the CPU, the builder and the checker. */
  cpu?: CpuIdentity
  build?: (dirs: ToolsDirs, cmakeOptions: Record<string, string>, targets: string[]) => Promise<void>
  check?: (dirs: ToolsDirs) => Promise<CheckFailure | undefined>
  cache?: string
}

export interface ToolsDirs {
  /** The cache folder of this release and variant. */
  root: string
  bin: string
  release: string
  variant: ToolsVariant
}

/**
 * The bin folder holding `targets` (and llama-bench), built and checked on this CPU. Builds take about 10 minutes on
 * 2 cores the first time; afterwards a checked build is returned at once. Throws a UserError when cmake is missing,
 * the build fails, or the build fails its check (see ensureCheckedBuild).
 */
export async function ensureLlamaCppTools(options: ToolsBuildOptions): Promise<{bin: string; record: BuildRecord}> {
  const release = await bundledRelease()
  const root = path.join(options.cache ?? cacheDir(), 'llama.cpp', release, options.variant)
  const dirs: ToolsDirs = {root, bin: path.join(root, 'bin'), release, variant: options.variant}
  const targets = [...new Set([...options.targets, CHECK_TOOL])]
  const variant = VARIANT_OPTIONS[options.variant]
  const build = options.build ?? ((d, cmakeOptions, t) => buildTools(d, cmakeOptions, t, options.onOutput))
  const check = options.check ?? ((d) => checkTools(d))
  const record = await ensureCheckedBuild({
    what: `llama.cpp tools (${options.variant})`,
    release,
    recordPath: path.join(root, 'build.json'),
    cpu: options.cpu ?? (await cpuIdentity()),
    nativeOptions: variant.first,
    instructionSetFallback: variant.fallback,
    checkModels: CHECK_MODELS,
    present: async (cmakeOptions) => (await missingTargets(dirs.bin, targets)).length === 0 && sameBuild(await builtWith(dirs), allOptions(options.variant, cmakeOptions)),
    build: async (cmakeOptions) => {
      // Tools already built with the same options are rebuilt too, so one folder never mixes two builds.
      const kept = sameBuild(await builtWith(dirs), allOptions(options.variant, cmakeOptions)) ? await executables(dirs.bin) : []
      await build(dirs, cmakeOptions, [...new Set([...targets, ...kept])])
      await writeFile(path.join(dirs.bin, BUILT_WITH), `${JSON.stringify(allOptions(options.variant, cmakeOptions))}\n`)
    },
    check: () => check(dirs),
    log: options.log,
  })
  return {bin: dirs.bin, record}
}

/** Written beside the binaries: every cmake option they were built with (a folder without it is rebuilt). */
const BUILT_WITH = 'built-with.json'

async function builtWith(dirs: ToolsDirs): Promise<Record<string, string> | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dirs.bin, BUILT_WITH), 'utf8')) as Record<string, string>
  } catch {
    return undefined
  }
}

function sameBuild(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  return a !== undefined && JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort())
}

async function missingTargets(bin: string, targets: readonly string[]): Promise<string[]> {
  const missing: string[] = []
  for (const t of targets) {
    try {
      await access(path.join(bin, t), constants.X_OK)
    } catch {
      missing.push(t)
    }
  }
  return missing
}

async function executables(bin: string): Promise<string[]> {
  const names = await readdir(bin).catch(() => [] as string[])
  return names.filter((n) => n.startsWith('llama-') && !n.includes('.'))
}

/** The llama.cpp tag node-llama-cpp's bundle holds, which names the cache folder. */
export async function bundledRelease(): Promise<string> {
  const info = JSON.parse(await readFile(path.join(nodeLlamaCppDir, 'llama', 'llama.cpp.info.json'), 'utf8')) as {tag: string}
  return info.tag
}

/** Clones the bundle, configures and builds `targets`, and copies the binaries into the bin folder. */
async function buildTools(dirs: ToolsDirs, cmakeOptions: Record<string, string>, targets: readonly string[], onOutput?: (chunk: string) => void): Promise<void> {
  const bundle = path.join(nodeLlamaCppDir, 'llama', 'gitRelease.bundle')
  try {
    await access(bundle)
  } catch {
    throw new UserError('node-llama-cpp\'s llama/gitRelease.bundle is missing', 'run `npm ci` first')
  }
  const src = path.join(dirs.root, 'src')
  const build = path.join(dirs.root, 'build')
  await rm(src, {recursive: true, force: true})
  await rm(build, {recursive: true, force: true})
  const out = onOutput ?? ((chunk: string) => process.stderr.write(chunk))
  out(`building llama.cpp ${dirs.release} (${dirs.variant}: ${targets.join(' ')}) into ${dirs.bin}; about 10 minutes on 2 cores\n`)
  await run('git', ['clone', '-q', bundle, src], out, 'git is required to unpack llama.cpp\'s source: apt-get install -y git')
  const defines = Object.entries(allOptions(dirs.variant, cmakeOptions)).map(([k, v]) => `-D${k}=${v}`)
  await run('cmake', ['-S', src, '-B', build, '-DCMAKE_BUILD_TYPE=Release', '-DLLAMA_CURL=OFF', '-DLLAMA_BUILD_TESTS=OFF', '-DLLAMA_BUILD_EXAMPLES=OFF', ...defines], out, 'cmake is required to build llama.cpp: apt-get install -y cmake g++ (or brew install cmake)')
  await run('cmake', ['--build', build, '--config', 'Release', '-j', String(os.availableParallelism()), '--target', ...targets], out, 'install a C++ compiler (apt-get install -y g++)')
  await installBuiltFiles(path.join(build, 'bin'), dirs.bin)
  if (dirs.variant === 'portable') await usePrebuiltKernels(dirs.bin)
  await rm(build, {recursive: true, force: true})
  await rm(src, {recursive: true, force: true})
}

/**
 * Replaces `bin` with the files of a build's bin folder, modes kept (the tools stay executable) and symbolic links
 * kept as links: a shared build names one library three ways (libggml-base.so -> .so.0 -> .so.0.23.0), and three
 * copies would be three libraries to the dynamic loader. The prebuilt CPU kernels need `libggml-base.so` while
 * llama-bench loads `libggml-base.so.0`: as copies, each kernel variant tried loads and unloads a second ggml-base,
 * and its reload at the same address aborts on ggml's terminate-handler check
 * (GGML_ASSERT(prev != ggml_uncaught_exception), skipped only under GGML_NO_BACKTRACE).
 */
export async function installBuiltFiles(from: string, bin: string): Promise<void> {
  await rm(bin, {recursive: true, force: true})
  await cp(from, bin, {recursive: true, verbatimSymlinks: true})
}

/**
 * The CPU kernels of a portable build are loaded at run time (GGML_BACKEND_DL): use the very libggml-cpu-*.so files of
 * node-llama-cpp's prebuilt binary, so llama-bench computes with the prebuilt engine's kernels.
 */
async function usePrebuiltKernels(bin: string): Promise<void> {
  const bins = path.join(path.dirname(nodeLlamaCppDir), '@node-llama-cpp', `${process.platform}-${process.arch}`, 'bins')
  const folders = await readdir(bins).catch(() => [] as string[])
  const folder = folders.length > 0 ? path.join(bins, folders[0]!) : undefined
  const kernels = folder ? (await readdir(folder)).filter((n) => /^libggml-cpu-.*\.so$/.test(n)) : []
  if (kernels.length === 0) throw new UserError(`no node-llama-cpp prebuilt binary for ${process.platform}-${process.arch}`, 'the portable variant compares with the prebuilt engine, which this platform lacks; use the native variant')
  await rm(path.join(bin, 'libggml-cpu.so'), {force: true})
  for (const k of kernels) await copyFile(path.join(folder!, k), path.join(bin, k))
}

/**
 * llama-bench on each check model: a 32-token prompt and 4 generated tokens, one thread. The first model it does not
 * finish is the failure, with its exit code or signal and its last log lines.
 */
async function checkTools(dirs: ToolsDirs): Promise<CheckFailure | undefined> {
  for (const id of CHECK_MODELS) {
    const model = await ensureSyntheticModel(id, {dir: path.join(cacheDir(), 'models')})
    const outcome = await runCaptured(path.join(dirs.bin, CHECK_TOOL), ['-m', model.path, '-p', '32', '-n', '4', '-r', '1', '-t', '1', '-o', 'json'], {...process.env, LD_LIBRARY_PATH: [dirs.bin, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':')})
    if (outcome.code !== 0 || outcome.signal) return {model: id, code: outcome.code, signal: outcome.signal, logTail: outcome.output.split('\n').slice(-12).join('\n')}
  }
  return undefined
}

/** Runs a command to its end and keeps what it printed; a command that cannot start is exit code 127. */
export function runCaptured(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 120_000): Promise<{code: number | null; signal: NodeJS.Signals | null; output: string}> {
  return new Promise((resolve) => {
    let output = ''
    const child = spawn(command, args, {stdio: ['ignore', 'pipe', 'pipe'], env, timeout: timeoutMs})
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    child.on('error', (error) => resolve({code: 127, signal: null, output: `${output}${error.message}`}))
    child.on('close', (code, signal) => resolve({code, signal, output}))
  })
}

async function run(command: string, args: readonly string[], out: (chunk: string) => void, missingHint: string): Promise<void> {
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(command, args, {stdio: ['ignore', 'pipe', 'pipe']})
    child.stdout.on('data', (d: Buffer) => out(d.toString()))
    child.stderr.on('data', (d: Buffer) => out(d.toString()))
    child.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? reject(new UserError(`${command} was not found`, missingHint)) : reject(error)))
    child.on('close', resolve)
  })
  if (code !== 0) throw new UserError(`building llama.cpp failed: ${command} ${args.slice(0, 2).join(' ')} exited with ${code}`, missingHint)
}
