import {spawn} from 'node:child_process'
import {stripVTControlCharacters} from 'node:util'
import {z} from 'zod'
import {UserError} from '../errors/errors.js'

export interface CommandResult {
  /** Exit code, or null when the process ended on a signal. */
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface CommandOptions {
  /** Each output line as it arrives (progress); stdout and stderr alike. */
  onLine?: (line: string) => void
  /** Aborting sends SIGINT to the command (what Ctrl-C would), and SIGKILL 30 s later. */
  signal?: AbortSignal
  /** Extra environment (secrets for --secret NAME). */
  env?: Record<string, string>
}

/** How to get SkyPilot; each command adds what applies to it (`new Sky(spawn, hint)`). */
export const SKY_INSTALL_HINT = 'install SkyPilot for your cloud (pip install "skypilot[aws]", see docs.skypilot.co) and run `sky check`'

/** `sky` is not on PATH; the hint says what the command at hand needs it for. */
export class SkyNotInstalledError extends UserError {
  constructor(hint: string) {
    super('SkyPilot\'s `sky` command is not installed', hint)
  }
}

/** Runs `sky` (or `ssh`); a separate seam so tests can put a stand-in on PATH. */
export type Spawn = (bin: string, args: string[], options: CommandOptions) => Promise<CommandResult>

/**
 * Runs a command in its own process group, so a Ctrl-C in the terminal reaches owbench only:
 * owbench decides what each child gets (SIGINT to stop waiting on a launch, never to a teardown).
 */
export const spawnCommand: Spawn = (bin, args, options) =>
  new Promise((resolve, reject) => {
    const child = spawn(bin, args, {stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: {...process.env, ...options.env}})
    let stdout = ''
    let stderr = ''
    let pending = ''
    const feed = (text: string) => {
      if (!options.onLine) return
      pending += text
      const lines = pending.split(/\r?\n/)
      pending = lines.pop() ?? ''
      for (const line of lines) options.onLine(line)
    }
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      feed(d.toString())
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      feed(d.toString())
    })
    let killTimer: NodeJS.Timeout | undefined
    const onAbort = () => {
      if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGINT')
      killTimer = setTimeout(() => child.exitCode === null && child.pid && process.kill(-child.pid, 'SIGKILL'), 30_000)
      killTimer.unref()
    }
    if (options.signal?.aborted) queueMicrotask(onAbort)
    else options.signal?.addEventListener('abort', onAbort, {once: true})
    child.on('error', (error: NodeJS.ErrnoException) => {
      options.signal?.removeEventListener('abort', onAbort)
      if (error.code === 'ENOENT') {
        reject(
          bin === 'sky'
            ? new SkyNotInstalledError(SKY_INSTALL_HINT)
            : new UserError(`\`${bin}\` is not installed`, `install it; SkyPilot reaches its machines with ${bin}`),
        )
      } else reject(error)
    })
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort)
      if (killTimer) clearTimeout(killTimer)
      if (pending && options.onLine) options.onLine(pending)
      resolve({code, signal, stdout, stderr})
    })
  })

/** One cluster as `sky status -o json` prints it (sky/schemas/api/responses.py StatusResponse). */
const StatusRecordSchema = z.object({
  name: z.string(),
  launched_at: z.number().nullish(),
  status: z.string(),
  cloud: z.string().nullish(),
  region: z.string().nullish(),
  accelerators: z.string().nullish(),
  resources_str_full: z.string().nullish(),
  autostop: z.number().nullish(),
  to_down: z.boolean().nullish(),
})
export type StatusRecord = z.infer<typeof StatusRecordSchema>

/** `sky queue CLUSTER -o json`: cluster -> jobs (ClusterJobRecord). */
const QueueSchema = z.record(z.string(), z.array(z.object({job_id: z.number(), status: z.string()}).passthrough()))

/**
 * The `sky` commands owbench uses, with the flags and outputs of SkyPilot's CLI
 * (sky/client/cli/command.py): launch, exec, status, queue, logs, cancel, down, api cancel,
 * gpus list; and `ssh CLUSTER`, which SkyPilot's ssh config makes reach the cluster's head.
 */
export class Sky {
  private readonly run: Spawn

  /** `notInstalledHint`: the fix when `sky` is missing, worded for the command that needs it. */
  constructor(spawn: Spawn = spawnCommand, notInstalledHint = SKY_INSTALL_HINT) {
    this.run = async (bin, args, options) => {
      try {
        return await spawn(bin, args, options)
      } catch (error) {
        throw error instanceof SkyNotInstalledError ? new SkyNotInstalledError(notInstalledHint) : error
      }
    }
  }

  /** `sky --version`: "skypilot, version X" (click's version option); a UserError when SkyPilot is not installed. */
  async version(): Promise<string> {
    const result = await this.run('sky', ['--version'], {})
    if (result.code !== 0) throw new SkyError('sky --version', result)
    return /version (\S+)/.exec(result.stdout)?.[1] ?? result.stdout.trim()
  }

  gpusList(accelerator: string, options: {infra?: string} = {}): Promise<CommandResult> {
    return this.run('sky', ['gpus', 'list', accelerator, ...(options.infra ? ['--infra', options.infra] : []), '--all-regions', '-o', 'json'], {})
  }

  /**
   * `sky launch -c NAME TASK -y -d`: provisions, runs setup, submits the run section as job 1 and
   * returns (detached). Secrets are read by sky from the environment given (`--secret NAME`).
   */
  launch(cluster: string, taskFile: string, secrets: Record<string, string>, options: CommandOptions): Promise<CommandResult> {
    const secretArgs = Object.keys(secrets).flatMap((name) => ['--secret', name])
    return this.run('sky', ['launch', '-c', cluster, taskFile, '-y', '-d', ...secretArgs], {...options, env: secrets})
  }

  async status(clusters: string[]): Promise<StatusRecord[]> {
    const result = await this.run('sky', ['status', '-o', 'json', ...clusters], {})
    if (result.code !== 0) throw new SkyError('sky status', result)
    return z.array(StatusRecordSchema).parse(parseJsonOutput(result.stdout, 'sky status -o json'))
  }

  /** `sky status --endpoint PORT CLUSTER`: `host:port` (or a URL) where the port is reachable. */
  async endpoint(cluster: string, port: number): Promise<string> {
    const result = await this.run('sky', ['status', '--endpoint', String(port), cluster], {})
    const line = result.stdout.trim().split('\n').at(-1)?.trim() ?? ''
    if (result.code !== 0 || line === '') throw new SkyError(`sky status --endpoint ${port}`, result)
    return /^https?:\/\//.test(line) ? line.replace(/\/+$/, '') : `http://${line}`
  }

  async jobs(cluster: string): Promise<{job_id: number; status: string}[]> {
    const result = await this.run('sky', ['queue', cluster, '-o', 'json'], {})
    if (result.code !== 0) throw new SkyError('sky queue', result)
    return QueueSchema.parse(parseJsonOutput(result.stdout, 'sky queue -o json'))[cluster] ?? []
  }

  logs(cluster: string, jobId: number, tail = 40): Promise<CommandResult> {
    return this.run('sky', ['logs', cluster, String(jobId), '--no-follow', '--tail', String(tail)], {})
  }

  /** `sky exec CLUSTER COMMAND`: a job beside the server (no GPU demand: 0.5 CPU), its logs streamed; exit 0 or 100 (sky.exceptions.JobExitCode). */
  exec(cluster: string, command: string, secrets: Record<string, string>, options: CommandOptions): Promise<CommandResult> {
    const secretArgs = Object.keys(secrets).flatMap((name) => ['--secret', name])
    return this.run('sky', ['exec', cluster, ...secretArgs, command], {...options, env: secrets})
  }

  cancelJob(cluster: string, jobId: number): Promise<CommandResult> {
    return this.run('sky', ['cancel', cluster, String(jobId), '-y'], {})
  }

  /** `sky api cancel ID`: stops a request the API server still runs after its client was interrupted. */
  cancelRequest(requestId: string): Promise<CommandResult> {
    return this.run('sky', ['api', 'cancel', requestId, '-y'], {})
  }

  down(clusters: string[]): Promise<CommandResult> {
    return this.run('sky', ['down', ...clusters, '-y'], {})
  }

  /** A file's bytes from the cluster's head, over the ssh alias SkyPilot writes for it. */
  async readRemoteFile(cluster: string, remotePath: string): Promise<string | null> {
    const result = await this.run('ssh', ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=30', cluster, `cat ${remotePath}`], {})
    return result.code === 0 ? result.stdout : null
  }
}

/** A `sky` command that failed, with the line SkyPilot gave as the reason. */
export class SkyError extends Error {
  constructor(
    readonly command: string,
    readonly result: CommandResult,
  ) {
    super(`${command} failed (${result.code === null ? `signal ${result.signal}` : `exit ${result.code}`}): ${skyReason(result)}`)
  }
}

/** The most telling line of a failed sky command: its exception line, else its last line. */
export function skyReason(result: Pick<CommandResult, 'stdout' | 'stderr'>): string {
  const lines = `${result.stdout}\n${result.stderr}`.split('\n').map((l) => stripVTControlCharacters(l).trim()).filter((l) => l !== '')
  const exception = lines.filter((l) => /^(sky\.exceptions\.\w+|[A-Z]\w*(Error|Exception)):/.test(l)).at(-1)
  return exception ?? lines.at(-1) ?? 'no output'
}

/** The request id that an interrupted `sky launch` prints ("To cancel the request, run: sky api cancel ID"). */
export function requestIdFrom(output: string): string | null {
  return /sky api cancel ([0-9a-f-]{6,})/.exec(stripVTControlCharacters(output))?.[1] ?? null
}

/** The job id that `sky exec` prints ("Job submitted, ID: N"). */
export function jobIdFrom(output: string): number | null {
  const m = /Job submitted, ID: (\d+)/.exec(output)
  return m ? Number(m[1]) : null
}

/** The instance type inside `resources_str_full`, e.g. "1x(gpus=H100:1, cpus=26, mem=200, gpu_1x_h100_pcie, disk=256)". */
export function instanceTypeFrom(resourcesStrFull: string | null | undefined): string | null {
  const inner = /\((.*)\)/.exec(resourcesStrFull ?? '')?.[1]
  if (!inner) return null
  return inner.split(', ').find((part) => !part.includes('=') && part !== '...') ?? null
}

function parseJsonOutput(stdout: string, what: string): unknown {
  const start = stdout.search(/^[[{]/m)
  try {
    return JSON.parse(start >= 0 ? stdout.slice(start) : stdout)
  } catch {
    throw new Error(`${what} printed no JSON: ${stdout.slice(0, 200)}`)
  }
}
