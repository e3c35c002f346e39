import {Flags} from '@oclif/core'
import {buildLocalEngine, engineBuildInfo, systemInfoFlags} from '../engines/engine-build.js'
import {BaseCommand} from '../cli/base-command.js'

interface SetupResult {
  before: {build: string; systemInfo: string} | null
  after: {build: string; systemInfo: string} | null
  gained: string[]
}

export default class Setup extends BaseCommand {
  static override summary = 'Build the llama.cpp engine for this machine (faster than the prebuilt binary).'

  static override description = `node-llama-cpp ships prebuilt llama.cpp binaries compiled for any CPU of a family. Compiling llama.cpp on this machine enables what this CPU has (for example OpenMP threading and its exact SIMD set): measured on a 2-core EPYC with one thread, prompt processing went from 869 to 1,650 tokens/s, generation was unchanged.
The build uses the llama.cpp source bundled in node-llama-cpp (no download), takes about 6 minutes on 2 cores, and needs cmake and a C++ compiler. Afterwards \`owbench run\` uses the local build; every result records which build produced it.`

  static override examples = [
    {description: 'Build for the CPU', command: '<%= config.bin %> <%= command.id %> --gpu cpu'},
    {description: 'Build with CUDA', command: '<%= config.bin %> <%= command.id %> --gpu cuda'},
  ]

  static override flags = {
    gpu: Flags.string({summary: 'Backend to build for.', options: ['auto', 'cpu', 'cuda', 'vulkan', 'metal'], default: 'auto'}),
  }

  public async run(): Promise<SetupResult> {
    const {flags} = await this.parse(Setup)
    const before = await engineBuildInfo('auto')
    this.note(`engine now: ${before ? `${before.build} (${before.systemInfo})` : 'none loads'}`)
    this.note('building llama.cpp for this machine; about 6 minutes on 2 cores')
    // node-llama-cpp draws its own progress bars: pass its output through untouched.
    await buildLocalEngine({gpu: flags.gpu as 'auto', onOutput: (chunk) => process.stderr.write(chunk)})
    const after = await engineBuildInfo('auto')
    const gained = gainedFlags(before?.systemInfo ?? '', after?.systemInfo ?? '')
    this.note(`engine now: ${after ? `${after.build} (${after.systemInfo})` : 'none loads'}`)
    if (gained.length > 0) this.note(`gained: ${gained.join(', ')}`)
    return {before: before ?? null, after: after ?? null, gained}
  }
}

export function gainedFlags(before: string, after: string): string[] {
  const a = systemInfoFlags(before)
  return Object.entries(systemInfoFlags(after))
    .filter(([key, value]) => value === '1' && a[key] !== '1')
    .map(([key]) => key)
}
