import {spawn} from 'node:child_process'
import {access, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {UserError} from '../errors/errors.js'
import {ensureSyntheticModel} from '../model/synthetic-model.js'
import {cpuIdentity, type CpuIdentity} from '../system/cpu-identity.js'
import {cacheDir} from '../paths/paths.js'
import {type BuildRecord, type CheckFailure, ensureCheckedBuild, readBuildRecord, writeBuildRecord} from './build-check.js'
import {bundledRelease, CHECK_MODELS} from './llama-cpp-tools.js'
import {nodeLlamaCppDir} from './node-llama-cpp-dir.js'

export interface EngineBuildInfo {
  build: 'prebuilt' | 'localBuild'
  backend: string
  systemInfo: string
  release: string
}

export type BuildGpu = 'auto' | 'cpu' | 'cuda' | 'vulkan' | 'metal'

/**
 * Compiles llama.cpp for this machine with node-llama-cpp's own CLI (`source download`), which uses the git bundle
 * shipped inside the package when the release matches, so it works offline. `cmakeOptions` reach its build as
 * NODE_LLAMA_CPP_CMAKE_OPTION_* variables; a build with options lands in its own local build folder, which getLlama()
 * finds only when given the same options (see checkedLocalBuild).
 */
export async function buildLocalEngine(options: {gpu: BuildGpu; cmakeOptions?: Record<string, string>; onOutput: (chunk: string) => void}): Promise<void> {
  const cli = path.join(nodeLlamaCppDir, 'dist', 'cli', 'cli.js')
  const gpu = options.gpu === 'cpu' ? 'false' : options.gpu
  const env = {...process.env}
  for (const [key, value] of Object.entries(options.cmakeOptions ?? {})) env[`NODE_LLAMA_CPP_CMAKE_OPTION_${key}`] = value
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'source', 'download', '--gpu', gpu, '--noUsageExample'], {stdio: ['ignore', 'pipe', 'pipe'], env})
    child.stdout.on('data', (d: Buffer) => options.onOutput(d.toString()))
    child.stderr.on('data', (d: Buffer) => options.onOutput(d.toString()))
    child.on('error', reject)
    child.on('close', resolve)
  })
  if (code !== 0) {
    throw new UserError(`building llama.cpp failed (node-llama-cpp source download exited with ${code})`, 'install cmake and a C++ compiler (apt-get install -y cmake g++, or xcode-select --install), then run `owbench setup` again')
  }
}

/** Where the record of the checked local engine build for a backend lives. */
function localRecordPath(gpu: BuildGpu, release: string): string {
  return path.join(cacheDir(), 'engine-build', `node-llama-cpp-${gpu}-${release}.json`)
}

/**
 * `owbench setup`: builds the local engine with -march=native, checks it on the Q8_0 and Q4_K check models in a child
 * process, and when it dies with SIGILL rebuilds it for this CPU's own instruction sets (AMX left out) and checks
 * again. Returns the record of the build that passed; `run` loads exactly that build.
 */
export async function setupLocalEngine(options: {gpu: BuildGpu; onOutput: (chunk: string) => void; log: (message: string) => void; cpu?: CpuIdentity}): Promise<BuildRecord> {
  const release = await bundledRelease()
  return ensureCheckedBuild({
    what: `node-llama-cpp local build (${options.gpu})`,
    release,
    recordPath: localRecordPath(options.gpu, release),
    cpu: options.cpu ?? (await cpuIdentity()),
    nativeOptions: {},
    force: true,
    checkModels: CHECK_MODELS,
    present: async () => false,
    build: (cmakeOptions) => buildLocalEngine({gpu: options.gpu, cmakeOptions, onOutput: options.onOutput}),
    check: async (cmakeOptions) => {
      const outcome = await checkLocalEngine(options.gpu, cmakeOptions)
      return outcome === 'absent' ? {model: CHECK_MODELS[0], code: null, signal: null, logTail: 'node-llama-cpp found no local build after building one'} : outcome
    },
    log: options.log,
  })
}

/** What `run` may load as the local engine for a backend. */
export type LocalBuildChoice =
  | {kind: 'checked'; cmakeOptions: Record<string, string>; record: BuildRecord}
  | {kind: 'none'}
  | {kind: 'unusable'; reason: string}

/**
 * The local engine build `run` may use: the one `owbench setup` recorded as checked on this CPU, or a local build made
 * some other way (or checked on another CPU), checked once now in a child process and recorded. A build that fails
 * its check is unusable, with the reason, and is never loaded into owbench's own process.
 */
export async function checkedLocalBuild(gpu: BuildGpu): Promise<LocalBuildChoice> {
  // No local build folder at all (most machines): nothing to check, no child process to start.
  if (!(await access(path.join(nodeLlamaCppDir, 'llama', 'localBuilds')).then(() => true, () => false))) return {kind: 'none'}
  const release = await bundledRelease()
  const file = localRecordPath(gpu, release)
  const [record, cpu] = await Promise.all([readBuildRecord(file), cpuIdentity()])
  if (record && record.cpuKey === cpu.key && record.release === release) return {kind: 'checked', cmakeOptions: record.cmakeOptions, record}
  const options = record?.cmakeOptions ?? {}
  const outcome = await checkLocalEngine(gpu, options)
  if (outcome === 'absent') return {kind: 'none'}
  if (outcome) return {kind: 'unusable', reason: `the local engine build ${outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`} on the check model ${outcome.model}`}
  const checked: BuildRecord = {what: `node-llama-cpp local build (${gpu})`, release, cpuKey: cpu.key, cpu: cpu.brand, cmakeOptions: options, leftOut: record?.leftOut ?? [], ...(record?.reason ? {reason: record.reason} : {}), checkedOn: [...CHECK_MODELS], checkedAt: new Date().toISOString()}
  await writeBuildRecord(file, checked)
  return {kind: 'checked', cmakeOptions: options, record: checked}
}

/** `--engine-build`: a checked local build if there is one, else prebuilt ('auto'); only node-llama-cpp's prebuilt binary; only the local build. */
export type EngineBuild = 'auto' | 'prebuilt' | 'local'

/**
 * The llama.cpp binary the local engine's process loads, decided in owbench's own process once the local build has
 * passed its check: node-llama-cpp's prebuilt binary, or the local build made with exactly these cmake options (a
 * build with other options sits in another folder, which node-llama-cpp finds only when given the same options);
 * `prebuiltFallback` lets node-llama-cpp load its prebuilt binary when that build is gone (`--engine-build auto`).
 */
export type EngineBinary = {kind: 'prebuilt'} | {kind: 'local'; cmakeOptions: Record<string, string>; prebuiltFallback: boolean}

/** What `run` loads for `--engine-build`, and what its result records about that choice. */
export interface EngineBinaryChoice {
  binary: EngineBinary
  /** Instruction sets the checked local build leaves out, and why: recorded in EngineInfo.leftOut when that build is the one loaded. */
  leftOut?: {features: string[]; reason: string}
  /** Why a local build was there but not used ('auto' fell back to the prebuilt engine): EngineInfo.localBuildUnusable. */
  localBuildUnusable?: string
}

/**
 * The binary for `--engine-build` given what checkedLocalBuild found (undefined for 'prebuilt', which never looks): a
 * checked local build with its recorded cmake options; else, for 'auto', the prebuilt binary (saying why a local
 * build there was unusable). Throws a UserError for 'local' without a checked local build.
 */
export function engineBinaryFor(build: EngineBuild, local: LocalBuildChoice | undefined): EngineBinaryChoice {
  if (local?.kind === 'checked' && build !== 'prebuilt') {
    const {leftOut, reason} = local.record
    return {
      binary: {kind: 'local', cmakeOptions: local.cmakeOptions, prebuiltFallback: build === 'auto'},
      ...(leftOut.length > 0 ? {leftOut: {features: leftOut, reason: reason ?? 'left out when the build was checked'}} : {}),
    }
  }
  if (build === 'local') {
    if (local?.kind === 'unusable') throw new UserError(`the local engine build cannot run on this machine: ${local.reason}`, 'run `owbench setup` again (it rebuilds without the instructions this system does not enable), or use --engine-build prebuilt')
    throw new UserError('no local engine build was found for this machine', 'run `owbench setup` to build llama.cpp for this CPU, or use --engine-build prebuilt')
  }
  return {binary: {kind: 'prebuilt'}, ...(local?.kind === 'unusable' ? {localBuildUnusable: `${local.reason}; the prebuilt engine was used (run \`owbench setup\` to rebuild)`} : {})}
}

/**
 * What `run` loads for `--engine-build` on this backend: a local build only once it has passed its check on this CPU
 * (a -march=native build can die with SIGILL where the CPU advertises instructions the system does not enable).
 */
export async function chooseEngineBinary(gpu: BuildGpu, build: EngineBuild): Promise<EngineBinaryChoice> {
  return engineBinaryFor(build, build === 'prebuilt' ? undefined : await checkedLocalBuild(gpu))
}

const NO_LOCAL_BUILD_EXIT = 3

/**
 * Runs the local build with these cmake options on every check model (a 32-token prompt, then 4 generated tokens, one
 * thread) in a child process, so an illegal instruction kills the child, not owbench. 'absent' when there is no such
 * local build; undefined when it computed on every model.
 */
export async function checkLocalEngine(gpu: BuildGpu, cmakeOptions: Record<string, string>): Promise<CheckFailure | undefined | 'absent'> {
  const models = await Promise.all(CHECK_MODELS.map(async (id) => ({id, path: (await ensureSyntheticModel(id, {dir: path.join(cacheDir(), 'models')})).path})))
  const script = `import {getLlama, LlamaLogLevel} from ${JSON.stringify(import.meta.resolve('node-llama-cpp'))}
let llama
try {
  llama = await getLlama({gpu: ${JSON.stringify(gpu === 'cpu' ? false : gpu)}, build: 'never', usePrebuiltBinaries: false, cmakeOptions: ${JSON.stringify(cmakeOptions)}, logLevel: LlamaLogLevel.error, progressLogs: false})
} catch {
  process.exit(${NO_LOCAL_BUILD_EXIT})
}
for (const {id, path} of ${JSON.stringify(models)}) {
  process.stderr.write('checking ' + id + '\\n')
  const model = await llama.loadModel({modelPath: path})
  const context = await model.createContext({contextSize: 256, threads: 1, sequences: 1})
  const sequence = context.getSequence()
  await sequence.evaluateWithoutGeneratingNewTokens(model.tokenize('the cost of a token '.repeat(8)).slice(0, 32))
  let n = 0
  for await (const _ of sequence.evaluate([model.tokens.bos], {temperature: 0})) if (++n >= 4) break
  await context.dispose()
  await model.dispose()
}
await llama.dispose()`
  const outcome = await runNodeScript(script)
  if (outcome.code === NO_LOCAL_BUILD_EXIT) return 'absent'
  if (outcome.code === 0 && !outcome.signal) return undefined
  const last = [...outcome.output.matchAll(/checking (\S+)/g)].at(-1)?.[1] ?? CHECK_MODELS[0]
  return {model: last, code: outcome.code, signal: outcome.signal, logTail: outcome.output.split('\n').slice(-12).join('\n')}
}

/**
 * Runs an ES module script in a child Node process. A file, not `node -e`: node-llama-cpp forks a binary test with
 * process.execArgv, which `-e` would poison.
 */
async function runNodeScript(script: string): Promise<{code: number | null; signal: NodeJS.Signals | null; stdout: string; output: string}> {
  const file = path.join(os.tmpdir(), `owbench-engine-${process.pid}-${Math.random().toString(36).slice(2)}.mjs`)
  await writeFile(file, script)
  try {
    return await new Promise((resolve) => {
      const child = spawn(process.execPath, [file], {stdio: ['ignore', 'pipe', 'pipe']})
      let stdout = ''
      let output = ''
      child.stdout.on('data', (d: Buffer) => ((stdout += d.toString()), (output += d.toString())))
      child.stderr.on('data', (d: Buffer) => (output += d.toString()))
      child.on('error', (error) => resolve({code: 127, signal: null, stdout, output: output + error.message}))
      child.on('close', (code, signal) => resolve({code, signal, stdout, output}))
    })
  } finally {
    await rm(file, {force: true})
  }
}

/**
 * The llama.cpp system info of one engine build, read in a child process: two builds of the same native addon cannot
 * be loaded side by side in one process. 'auto' is what `run` loads by default (a checked local build, else the
 * prebuilt one); undefined when none loads.
 */
export async function engineBuildInfo(which: 'prebuilt' | 'auto', cmakeOptions?: Record<string, string>): Promise<EngineBuildInfo | undefined> {
  const options = which === 'prebuilt' ? {gpu: false, build: 'never', cmakeOptions: {OWBENCH_REQUIRE_PREBUILT: '1'}, progressLogs: false} : {gpu: false, build: 'never', progressLogs: false, ...(cmakeOptions ? {cmakeOptions} : {})}
  const script = `import {getLlama, LlamaLogLevel} from ${JSON.stringify(import.meta.resolve('node-llama-cpp'))}
const llama = await getLlama({...${JSON.stringify(options)}, logLevel: LlamaLogLevel.error})
process.stdout.write(JSON.stringify({build: llama.buildType, backend: llama.gpu === false ? 'cpu' : llama.gpu, systemInfo: llama.systemInfo.trim(), release: llama.llamaCppRelease.release}))
await llama.dispose()`
  const outcome = await runNodeScript(script)
  if (outcome.code !== 0) return undefined
  try {
    return JSON.parse(outcome.stdout) as EngineBuildInfo
  } catch {
    return undefined
  }
}

/** llama.cpp's system info names what a build was compiled with; these flags explain most speed gaps. */
export function systemInfoFlags(systemInfo: string): Record<string, string> {
  const flags: Record<string, string> = {}
  for (const match of systemInfo.matchAll(/([A-Z0-9_]+)\s*=\s*([^|\s]+)/g)) flags[match[1]!] = match[2]!
  return flags
}
