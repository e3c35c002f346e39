import {Flags} from '@oclif/core'
import {type BuildGpu, engineBuildInfo, setupLocalEngine, systemInfoFlags} from '../engines/engine-build.js'
import {BaseCommand} from '../cli/base-command.js'

interface SetupResult {
  before: {build: string; systemInfo: string} | null
  after: {build: string; systemInfo: string} | null
  gained: string[]
  /** The cmake options of the build that passed its check, and the instruction sets it leaves out with the reason. */
  cmakeOptions: Record<string, string>
  leftOut: string[]
  reason: string | null
}

export default class Setup extends BaseCommand {
  static override summary = 'Build the llama.cpp engine for this machine (faster than the prebuilt binary).'

  static override description = `node-llama-cpp ships prebuilt llama.cpp binaries compiled for any CPU of a family. Compiling llama.cpp on this machine enables what this CPU has (for example OpenMP threading and its exact SIMD set): measured on a 2-core EPYC with one thread, prompt processing went from 869 to 1,650 tokens/s, generation was unchanged.
The build uses the llama.cpp source bundled in node-llama-cpp (no download), takes about 6 minutes on 2 cores, and needs cmake and a C++ compiler. It is checked before it is used: it must compute on a tiny Q8_0 and a tiny Q4_K model. A -march=native build that dies with SIGILL (a CPU that advertises AMX which the system does not enable, as on some cloud VMs) is rebuilt for the CPU's own instruction sets without the ones left out, and checked again. Afterwards \`owbench run\` uses the build that passed; every result records which build produced it and what it leaves out.`

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
    const record = await setupLocalEngine({gpu: flags.gpu as BuildGpu, onOutput: (chunk) => process.stderr.write(chunk), log: (m) => this.note(m)})
    const after = await engineBuildInfo('auto', record.cmakeOptions)
    const gained = gainedFlags(before?.systemInfo ?? '', after?.systemInfo ?? '')
    this.note(`engine now: ${after ? `${after.build} (${after.systemInfo})` : 'none loads'}; checked on ${record.checkedOn.join(', ')}`)
    if (gained.length > 0) this.note(`gained: ${gained.join(', ')}`)
    if (record.leftOut.length > 0) this.note(`left out: ${record.leftOut.join(', ')} (${record.reason})`)
    return {before: before ?? null, after: after ?? null, gained, cmakeOptions: record.cmakeOptions, leftOut: record.leftOut, reason: record.reason ?? null}
  }
}

export function gainedFlags(before: string, after: string): string[] {
  const a = systemInfoFlags(before)
  return Object.entries(systemInfoFlags(after))
    .filter(([key, value]) => value === '1' && a[key] !== '1')
    .map(([key]) => key)
}
