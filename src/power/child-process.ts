import {execFile, spawn, type ChildProcess} from 'node:child_process'
import {createInterface} from 'node:readline'

export interface ExitInfo {
  code: number | null
  signal: NodeJS.Signals | null
  /** The last few lines the process wrote to stderr, for the failure reason. */
  stderr: string
  /** Set when the process could not be started at all (ENOENT: not on PATH). */
  spawnError?: Error
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv
  /** Run through /bin/sh (user commands); tool invocations never use a shell. */
  shell?: boolean
}

/**
 * A long-running child whose stdout is read line by line: one process for the whole run, never
 * one per sample. The child and its pipes are unref'd so they never keep the CLI alive on their
 * own, and the child is killed if owbench exits first.
 */
export class LineProcess {
  readonly child: ChildProcess
  readonly exited: Promise<ExitInfo>
  private stderrTail = ''
  private stopping = false
  private readonly group: boolean

  constructor(command: string, args: readonly string[], onLine: (line: string) => void, options: SpawnOptions = {}) {
    // A shell command gets its own process group, so stopping it stops what the shell started too.
    const group = options.shell === true && process.platform !== 'win32'
    this.child = spawn(command, [...args], {env: options.env ?? process.env, shell: options.shell ?? false, stdio: ['ignore', 'pipe', 'pipe'], detached: group})
    this.group = group
    const killOnExit = () => this.kill('SIGKILL')
    process.once('exit', killOnExit)
    this.exited = new Promise((resolve) => {
      let spawnError: Error | undefined
      this.child.once('error', (error) => {
        spawnError = error
        // 'close' does not always follow a failed spawn.
        if (this.child.pid === undefined) resolve({code: null, signal: null, stderr: this.stderrTail, spawnError})
      })
      this.child.once('close', (code, signal) => {
        process.removeListener('exit', killOnExit)
        resolve({code, signal, stderr: this.stderrTail.trim(), spawnError})
      })
    })
    const lines = createInterface({input: this.child.stdout!, crlfDelay: Infinity})
    lines.on('line', onLine)
    this.child.stderr!.setEncoding('utf8')
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-2000)
    })
    this.child.unref()
    unrefStream(this.child.stdout)
    unrefStream(this.child.stderr)
  }

  /** True once stop() was called: an exit after that is not a failure. */
  get isStopping(): boolean {
    return this.stopping
  }

  /** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
  async stop(graceMs = 2000): Promise<ExitInfo> {
    this.stopping = true
    // Waiting for the exit must keep Node alive: with everything unref'd, a CLI whose last
    // task is this stop() would end before 'close' and leave the await unsettled.
    this.child.ref()
    refStream(this.child.stdout)
    refStream(this.child.stderr)
    if (this.child.exitCode === null && this.child.signalCode === null) this.kill('SIGTERM')
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs)
    const info = await this.exited
    clearTimeout(timer)
    return info
  }

  private kill(signal: NodeJS.Signals): void {
    try {
      if (this.group && this.child.pid !== undefined) process.kill(-this.child.pid, signal)
      else this.child.kill(signal)
    } catch {
      // Already gone.
    }
  }
}

export interface CommandResult extends ExitInfo {
  stdout: string
  timedOut: boolean
}

/** Runs a command once and collects its output (one-shot tools: rocm-smi, amd-smi, probes). */
export function runCommand(command: string, args: readonly string[], options: SpawnOptions & {timeoutMs?: number} = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      [...args],
      {env: options.env ?? process.env, shell: options.shell ?? false, timeout: options.timeoutMs ?? 10_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8'},
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0
        const spawnError = error && typeof error.code === 'string' ? error : undefined
        resolve({code, signal: child.signalCode, stderr: stderr.trim().slice(-2000), stdout, timedOut: error?.killed === true && child.signalCode === 'SIGTERM', spawnError})
      },
    )
  })
}

/** One line saying how a process ended, for failure reasons. */
export function describeExit(tool: string, info: ExitInfo): string {
  if (info.spawnError) return `${tool} could not be started: ${info.spawnError.message}`
  const how = info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`
  const lastLine = info.stderr.split('\n').filter((l) => l.trim() !== '').at(-1)
  return lastLine ? `${tool} ${how}: ${lastLine.trim()}` : `${tool} ${how}`
}

function unrefStream(stream: unknown): void {
  if (typeof stream === 'object' && stream !== null && 'unref' in stream && typeof stream.unref === 'function') stream.unref()
}

function refStream(stream: unknown): void {
  if (typeof stream === 'object' && stream !== null && 'ref' in stream && typeof stream.ref === 'function') stream.ref()
}
