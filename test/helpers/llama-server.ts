import {type ChildProcess, spawn} from 'node:child_process'
import {createServer} from 'node:net'
import path from 'node:path'
import {ensureLlamaCppTools} from '../../src/engines/llama-cpp-tools.js'

export interface LlamaServer {
  baseUrl: string
  /** The server's process id. */
  pid: number
  /** Everything the server printed, for a failing test's message. */
  log: () => string
  stop: () => Promise<void>
}

export interface LlamaServerOptions {
  parallel?: number
  threads?: number
  ctx?: number
  /** Extra command-line arguments (e.g. --metrics). */
  args?: readonly string[]
  /** The llama-server binary; by default llama.cpp's own, built and checked by ensureLlamaCppTools. */
  bin?: string
  /** How long to wait for /health (ms). */
  healthTimeoutMs?: number
}

/**
 * llama.cpp's own llama-server, built from the source bundled in node-llama-cpp (cached outside the checkout and
 * checked on this CPU by src/engines/llama-cpp-tools.ts; .ci/run builds it first), on a free loopback port. When the
 * server process exits before it is healthy, this rejects at once with its exit code or signal and its last log
 * lines, instead of waiting out the health timeout.
 */
export async function startLlamaServer(modelPath: string, options: LlamaServerOptions = {}): Promise<LlamaServer> {
  const bin = options.bin ?? path.join((await ensureLlamaCppTools({variant: 'native', targets: ['llama-server']})).bin, 'llama-server')
  const port = await freePort()
  const parallel = options.parallel ?? 4
  const child: ChildProcess = spawn(
    bin,
    ['-m', modelPath, '--host', '127.0.0.1', '--port', String(port), '-t', String(options.threads ?? 1), '-c', String((options.ctx ?? 2048) * parallel), '-np', String(parallel), '--no-webui', ...(options.args ?? [])],
    {stdio: ['ignore', 'pipe', 'pipe']},
  )
  let log = ''
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()))
  const exited = new Promise<never>((_, reject) => {
    const report = (code: number | null, signal: NodeJS.Signals | null) => {
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`
      const tail = log.trim().split('\n').slice(-8).join('\n')
      reject(new Error(`llama-server ${how} before it became healthy (${path.basename(modelPath)}); its last log lines:\n${tail}`))
    }
    // 'close' waits for the output pipes, so the last lines are in the log.
    child.once('close', report)
    child.once('error', (error) => reject(new Error(`llama-server could not start (${bin}): ${error.message}`)))
  })
  // Nobody awaits `exited` after the server is up; its rejection when the server stops later is expected.
  exited.catch(() => {})
  const baseUrl = `http://127.0.0.1:${port}`
  const timeoutMs = options.healthTimeoutMs ?? 60_000
  let gone = false
  child.once('exit', () => (gone = true))
  const healthy = (async () => {
    const deadline = Date.now() + timeoutMs
    while (Date.now() <= deadline) {
      // `exited` reports a server that is gone.
      if (gone) return
      if (await fetch(`${baseUrl}/health`).then((r) => r.ok, () => false)) return
      await new Promise((r) => setTimeout(r, 100))
    }
    child.kill()
    throw new Error(`llama-server did not become healthy in ${timeoutMs / 1000} s:\n${log}`)
  })()
  await Promise.race([healthy, exited])
  return {
    baseUrl: `${baseUrl}/v1`,
    pid: child.pid!,
    log: () => log,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}
