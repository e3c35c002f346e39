import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {createServer} from 'node:net'
import path from 'node:path'
import {repoRoot} from './cli.js'

export interface LlamaServer {
  baseUrl: string
  /** Everything the server printed, for a failing test's message. */
  log: () => string
  stop: () => Promise<void>
}

/**
 * llama.cpp's own llama-server, built from the source bundled in node-llama-cpp (cached outside the
 * checkout by scripts/build-llama-cpp.sh; .ci/run builds it first), on a free loopback port.
 */
export async function startLlamaServer(modelPath: string, options: {parallel?: number; threads?: number; ctx?: number} = {}): Promise<LlamaServer> {
  const bin = execFileSync('bash', [path.join(repoRoot, 'scripts', 'build-llama-cpp.sh'), 'native', 'llama-server'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']}).trim()
  const port = await freePort()
  const parallel = options.parallel ?? 4
  const child: ChildProcess = spawn(
    path.join(bin, 'llama-server'),
    ['-m', modelPath, '--host', '127.0.0.1', '--port', String(port), '-t', String(options.threads ?? 1), '-c', String((options.ctx ?? 2048) * parallel), '-np', String(parallel), '--no-webui'],
    {stdio: ['ignore', 'pipe', 'pipe']},
  )
  let log = ''
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()))
  const baseUrl = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  while (true) {
    if (child.exitCode !== null) throw new Error(`llama-server exited with ${child.exitCode}:\n${log}`)
    const ok = await fetch(`${baseUrl}/health`).then((r) => r.ok, () => false)
    if (ok) break
    if (Date.now() > deadline) {
      child.kill()
      throw new Error(`llama-server did not become healthy in 60 s:\n${log}`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  return {
    baseUrl: `${baseUrl}/v1`,
    log: () => log,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
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
