import {type ChildProcess, fork} from 'node:child_process'
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import type {HostCommand, HostMessage, HostReply} from './local-host.js'

/** How many of llama.cpp's last log lines (the child's stderr and stdout) are kept for an error message. */
const KEPT_LINES = 200

/** How the engine process ended, with llama.cpp's last log lines. */
export interface ProcessExit {
  code: number | null
  signal: NodeJS.Signals | null
  log: string[]
}

/**
 * The engine's child process (local-host.js) seen from owbench: one command at a time, replies
 * routed back, progress passed on, and an exit at any moment turned into `onExit` with the log.
 * llama.cpp logs to the child's stderr; the last lines are kept here, never printed.
 */
export class EngineProcess {
  private readonly child: ChildProcess
  private readonly lines: string[] = []
  private partial = ''
  private pending?: {expect: HostReply['type'][]; resolve: (reply: HostReply) => void; reject: (error: ProcessExit) => void; onProgress?: (nOut: number) => void}
  private exitInfo?: ProcessExit
  private readonly closed: Promise<ProcessExit>
  private lastCpuMs?: number

  constructor() {
    this.child = fork(hostEntry(), [], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // ggml attaches gdb to print a backtrace when it aborts: seconds of delay and a page of output.
      env: {...process.env, GGML_NO_BACKTRACE: '1'},
      // The parent's flags (a test runner's loaders, --inspect) are not the engine's.
      execArgv: [],
    })
    for (const stream of [this.child.stdout, this.child.stderr]) stream?.on('data', (chunk: Buffer) => this.keep(chunk.toString('utf8')))
    this.child.on('message', (message: HostMessage) => {
      this.lastCpuMs = message.cpuMs
      this.route(message)
    })
    this.closed = new Promise((resolve) => {
      this.child.on('error', (error) => this.keep(`${error.message}\n`))
      this.child.on('close', (code, signal) => {
        if (this.partial) this.lines.push(this.partial)
        this.exitInfo = {code, signal, log: [...this.lines]}
        this.pending?.reject(this.exitInfo)
        this.pending = undefined
        resolve(this.exitInfo)
      })
    })
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  /** CPU ms the process had used when it sent its last message (its getrusage; undefined before the first). */
  get cpuMs(): number | undefined {
    return this.lastCpuMs
  }

  /** The exit, once the process has ended and its output is read to the end. */
  get exited(): Promise<ProcessExit> {
    return this.closed
  }

  /** Sends a command and waits for one of the replies it may get; rejects with the exit if the process ends first. */
  request<T extends HostReply['type']>(command: HostCommand, expect: T[], onProgress?: (nOut: number) => void): Promise<Extract<HostReply, {type: T}>> {
    if (this.exitInfo) return Promise.reject(this.exitInfo)
    if (this.pending) return Promise.reject(new Error('the engine process is busy with another command'))
    return new Promise((resolve, reject) => {
      this.pending = {expect, resolve: resolve as (reply: HostReply) => void, reject, onProgress}
      try {
        this.child.send(command)
      } catch {
        // The channel is closing because the process is ending: its 'close' rejects this request.
      }
    })
  }

  /** Sends a command that has no reply (abort); ignored once the process has ended. */
  notify(command: HostCommand): void {
    if (!this.exitInfo && this.child.connected) this.child.send(command)
  }

  /** Ends the process: asks it to free the model, then kills it if it has not exited within `graceMs`. */
  async stop(graceMs = 5000): Promise<ProcessExit> {
    if (!this.exitInfo && !this.pending && this.child.connected) {
      this.request({type: 'dispose'}, ['disposed']).catch(() => undefined)
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    try {
      return await this.closed
    } finally {
      clearTimeout(timer)
    }
  }

  /** Kills the process at once (a request that must not finish). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child.kill(signal)
  }

  private route(reply: HostReply): void {
    const pending = this.pending
    if (!pending) return
    if (reply.type === 'progress') {
      pending.onProgress?.(reply.nOut)
      return
    }
    if (!pending.expect.includes(reply.type)) return
    this.pending = undefined
    pending.resolve(reply)
  }

  private keep(text: string): void {
    const parts = (this.partial + text).split('\n')
    this.partial = parts.pop() ?? ''
    for (const line of parts) if (line.trim()) this.lines.push(line)
    if (this.lines.length > KEPT_LINES) this.lines.splice(0, this.lines.length - KEPT_LINES)
  }
}

/**
 * local-host.js next to this module; when this module runs from the TypeScript sources (tests),
 * the built copy in dist/, since the child is a plain node process.
 */
function hostEntry(): string {
  const here = fileURLToPath(new URL('./local-host.js', import.meta.url))
  if (existsSync(here)) return here
  const built = here.replace(/([/\\])src([/\\]engines[/\\])/, '$1dist$2')
  if (existsSync(built)) return built
  throw new Error(`the engine process entry ${here} is missing: run \`npm run build\``)
}
