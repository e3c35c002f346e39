import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ensureSyntheticModel} from '../../src/model/synthetic-model.js'
import {OTHER_LOAD_WARN} from '../../src/metrics/reliability.js'
import {parseResult} from '../../src/results/io.js'
import {owbench} from '../helpers/cli.js'
import {type LlamaServer, startLlamaServer} from '../helpers/llama-server.js'
import {testCacheDir} from '../helpers/tiny-model.js'

// A real llama-server on this machine, decoding the default synthetic model on one thread: while owbench measures it,
// it keeps about one of the machine's cores busy, which /proc/stat counts like any other process's load.
let server: LlamaServer
let dir: string
let suite: string

beforeAll(async () => {
  const model = await ensureSyntheticModel('default', {dir: path.join(testCacheDir, 'models')})
  server = await startLlamaServer(model.path, {parallel: 1, threads: 1, ctx: 512})
  dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-local-server-'))
  // tg128: each repetition lasts well over 100 ms (about 4 ms a token here), long enough for /proc's 10 ms ticks.
  suite = path.join(dir, 'tg128.json')
  await writeFile(suite, JSON.stringify({name: 'tg128-only', version: '1.0.0', description: 'one tg128', repetitions: 3, warmup: 1, tests: ['tg 128']}))
}, 180_000)

afterAll(async () => {
  await server?.stop()
  if (dir) await rm(dir, {recursive: true, force: true})
})

/** utime + stime + cutime + cstime of /proc/<pid>/stat (fields 14-17, after the command name), in ms of 10 ms ticks. */
async function serverCpuMs(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number)
  return (fields[11]! + fields[12]! + fields[13]! + fields[14]!) * 10
}

async function runAgainstServer(out: string) {
  const run = await owbench(['run', '--endpoint', server.baseUrl, '--model-name', 'synthetic', '--suite', suite, '--power', 'off', '--out', out])
  expect(run.code, run.stderr).toBe(0)
  return {run, result: parseResult(await readFile(out, 'utf8'), out)}
}

describe('the busy-machine check against a server on this machine', () => {
  it('counts the server\'s own CPU time as the measured server\'s, as the kernel counts it, and names the server', async () => {
    const cpuBefore = await serverCpuMs(server.pid)
    const {run, result} = await runAgainstServer(path.join(dir, 'quiet.json'))
    const cpuAfter = await serverCpuMs(server.pid)
    const port = Number(new URL(server.baseUrl).port)
    const reps = result.runs.filter((r) => !r.warmup && r.state === 'completed')
    expect(reps).toHaveLength(3)
    let windowsMs = 0
    for (const rep of reps) {
      const c = rep.conditions!
      expect(c.server).toEqual({port, processes: [{pid: server.pid, name: 'llama-server'}]})
      expect(c.during.durationMs).toBeGreaterThanOrEqual(100)
      // Other processes' load is what is left once owbench's and the server's are taken out (values rounded in the file).
      expect(c.during.otherCores).toBeCloseTo(Math.max(0, c.during.busyCores - c.during.ownCores - c.during.serverCores!), 2)
      windowsMs += c.during.serverCores! * c.during.durationMs + (c.before ? c.before.serverCores! * c.before.durationMs : 0)
    }
    // The windows (each repetition, and the time before it: the warm-up among it) hold the server's CPU time that the
    // kernel counted for the whole run, all but the preflight's requests before the first window: llama-server decoding
    // 128 tokens a repetition on one thread, hundreds of ms, which before this change counted as other processes' load
    // (a quarter of the CPUs warns: 0.5 of 2 here). Not a timing: CPU time, which a busy machine stretches in wall time only.
    const kernelMs = cpuAfter - cpuBefore
    expect(kernelMs).toBeGreaterThan(300)
    expect(windowsMs).toBeGreaterThan(0.8 * kernelMs)
    expect(windowsMs).toBeLessThanOrEqual(kernelMs + 10)
    expect(run.stdout).toContain(`- endpoint: served on this machine by llama-server (pid ${server.pid}) on port ${port}: its CPU time (threads and child processes included) counts as the measured server's own, not as other processes' load`)
    // Nothing in the stored conditions names a path or a command line: only the pid and the kernel's command name.
    expect(JSON.stringify(reps.map((r) => r.conditions))).not.toMatch(/\/|--/)
  }, 240_000)

  it('still flags a separate process spinning beside the server', async () => {
    const {spawn} = await import('node:child_process')
    // Two spinning processes, as test/cli/power-run.test.ts makes the machine busy: with the server, three runnable
    // processes share two cores, and the spinners hold well over half of one between them whatever else runs.
    const hogs = [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], {stdio: 'ignore'}))
    try {
      const {run, result} = await runAgainstServer(path.join(dir, 'busy.json'))
      expect(run.stdout).toMatch(/- warning: this machine was busy: other processes used \d\.\d of \d+ CPUs during or right before tg128 — rerun on a quiet machine/)
      for (const rep of result.runs.filter((r) => !r.warmup && r.state === 'completed')) {
        const c = rep.conditions!
        expect(c.server).toMatchObject({processes: [{pid: server.pid, name: 'llama-server'}]})
        expect(c.during.otherCores).toBeGreaterThanOrEqual(OTHER_LOAD_WARN * c.logicalCpus)
        expect(c.during.serverCores).toBeGreaterThan(0)
      }
    } finally {
      for (const hog of hogs) hog.kill()
    }
  }, 240_000)
})
