import {spawn} from 'node:child_process'
import {rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {UserError} from '../errors/errors.js'

// The package exports no ./package.json; its entry is <dir>/dist/index.js.
const nodeLlamaCppDir = path.resolve(path.dirname(fileURLToPath(import.meta.resolve('node-llama-cpp'))), '..')

export interface EngineBuildInfo {
  build: 'prebuilt' | 'localBuild'
  backend: string
  systemInfo: string
  release: string
}

/**
 * Compiles llama.cpp for this machine with node-llama-cpp's own CLI (`source download`), which
 * uses the git bundle shipped inside the package when the release matches, so it works offline.
 * The result lands in node-llama-cpp's local build folder, where getLlama() prefers it.
 */
export async function buildLocalEngine(options: {gpu: 'auto' | 'cpu' | 'cuda' | 'vulkan' | 'metal'; onOutput: (chunk: string) => void}): Promise<void> {
  const cli = path.join(nodeLlamaCppDir, 'dist', 'cli', 'cli.js')
  const gpu = options.gpu === 'cpu' ? 'false' : options.gpu
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'source', 'download', '--gpu', gpu, '--noUsageExample'], {stdio: ['ignore', 'pipe', 'pipe']})
    child.stdout.on('data', (d: Buffer) => options.onOutput(d.toString()))
    child.stderr.on('data', (d: Buffer) => options.onOutput(d.toString()))
    child.on('error', reject)
    child.on('close', resolve)
  })
  if (code !== 0) {
    throw new UserError(`building llama.cpp failed (node-llama-cpp source download exited with ${code})`, 'install cmake and a C++ compiler (apt-get install -y cmake g++, or xcode-select --install), then run `owbench setup` again')
  }
}

/**
 * The llama.cpp system info of one engine build, read in a child process: two builds of the same
 * native addon cannot be loaded side by side in one process.
 */
export async function engineBuildInfo(which: 'prebuilt' | 'auto'): Promise<EngineBuildInfo | undefined> {
  const options = which === 'prebuilt' ? "{gpu: false, build: 'never', cmakeOptions: {OWBENCH_REQUIRE_PREBUILT: '1'}, progressLogs: false}" : "{gpu: false, build: 'never', progressLogs: false}"
  const script = `import {getLlama, LlamaLogLevel} from ${JSON.stringify(import.meta.resolve('node-llama-cpp'))}
const llama = await getLlama({...${options}, logLevel: LlamaLogLevel.error})
process.stdout.write(JSON.stringify({build: llama.buildType, backend: llama.gpu === false ? 'cpu' : llama.gpu, systemInfo: llama.systemInfo.trim(), release: llama.llamaCppRelease.release}))
await llama.dispose()`
  // A file, not `node -e`: node-llama-cpp forks a binary test with process.execArgv, which `-e` would poison.
  const file = path.join(os.tmpdir(), `owbench-engine-info-${process.pid}.mjs`)
  await writeFile(file, script)
  const output = await new Promise<string | undefined>((resolve) => {
    const child = spawn(process.execPath, [file], {stdio: ['ignore', 'pipe', 'ignore']})
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.on('error', () => resolve(undefined))
    child.on('close', (code) => resolve(code === 0 ? out : undefined))
  })
  await rm(file, {force: true})
  if (!output) return undefined
  try {
    return JSON.parse(output) as EngineBuildInfo
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
