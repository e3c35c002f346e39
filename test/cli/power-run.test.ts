import {existsSync} from 'node:fs'
import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deriveResult} from '../../src/derive/derive.js'
import {parseResult} from '../../src/results/io.js'
import {owbench} from '../helpers/cli.js'
import {tinyModelPath} from '../helpers/tiny-model.js'

let dir: string
/** A meter that prints 0 W every 20 ms (one process, no fork per reading). */
const ZERO_METER = `cmd:${process.execPath} -e "setInterval(() => console.log(0), 20)"`
const servers: http.Server[] = []

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-power-cli-'))
  await tinyModelPath()
})

afterAll(() => {
  for (const server of servers) {
    server.closeAllConnections()
    server.close()
  }
})

/** A Shelly Gen2+ plug answering like the firmware, its apower fixed at `watts`. */
async function plug(watts: number): Promise<{host: string; requests: () => number}> {
  let requests = 0
  const server = http.createServer((req, res) => {
    requests++
    const status = {id: 0, source: 'init', output: true, apower: watts, voltage: 230.1, current: watts / 230.1}
    if (req.url === '/rpc/Shelly.GetStatus') return void res.writeHead(200, {'Content-Type': 'application/json'}).end(JSON.stringify({'switch:0': status}))
    if (req.url === '/rpc/Switch.GetStatus?id=0') return void res.writeHead(200, {'Content-Type': 'application/json'}).end(JSON.stringify(status))
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  servers.push(server)
  return {host: `127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests}
}

describe('owbench run with meters (built CLI)', () => {
  it('stops before the run when a meter named on the command line cannot be read', async () => {
    const out = path.join(dir, 'never.json')
    const run = await owbench(['run', '--model', 'synthetic:tiny', '--threads', '1', '--meter', 'shelly://127.0.0.1:9', '--out', out])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/power: the meter shelly:\/\/127\.0\.0\.1:9 cannot be read: cannot reach shelly:\/\/127\.0\.0\.1:9: .*ECONNREFUSED.* — check the address and that this machine is on the same network as the plug/)
    // Nothing was measured, so nothing was written.
    expect(existsSync(out)).toBe(false)
  })

  it('--require-power exits 3 when a figure is invalid (a meter reading 0 W under load), the result saved with the reason', async () => {
    const out = path.join(dir, 'zero.json')
    const run = await owbench(['run', '--model', 'synthetic:tiny', '--threads', '1', '-r', '1', '--warmup', '0', '--idle-seconds', '0', '--require-power', '--meter', ZERO_METER, '--out', out])
    expect(run.code).toBe(3)
    expect(run.stderr).toMatch(/--require-power: 4 energy figures are missing or invalid: local pp256: zero-under-load \(command:cmd: read 0 W throughout .* in which the benchmark ran: zero watts under load is not a reading\)/)
    expect(run.stderr).toContain(`the result is saved to ${out} with every figure and its reason`)
    const result = parseResult(await readFile(out, 'utf8'), out)
    expect(result.state).toBe('completed')
    // The derivation (what every table shows) has each figure missing with its code.
    expect(deriveResult(result).cells.map((c) => [c.test, c.energy.status, c.energy.status === 'missing' && c.energy.code])).toEqual(['pp256', 'tg64', 'pp256+tg64', 'chat-short'].map((t) => [t, 'missing', 'zero-under-load']))
    // Without --require-power the same run succeeds and shows the figure as missing, with its code.
    const shown = await owbench(['run', '--model', 'synthetic:tiny', '--threads', '1', '-r', '1', '--warmup', '0', '--idle-seconds', '0', '--meter', ZERO_METER, '--out', path.join(dir, 'zero2.json')])
    expect(shown.code).toBe(0)
    expect(shown.stdout).toMatch(/\| pp256 +\| .* \| missing \(zero-under-load\) \|/)
  })

  it('stretches pp256 on the default model by back-to-back runs for a plug updating once a second; J/token matches its constant draw within 2%', async () => {
    const meter = await plug(120)
    const suite = path.join(dir, 'pp256.json')
    await writeFile(suite, JSON.stringify({name: 'pp256-only', version: '1.0.0', description: 'one pp256', repetitions: 1, warmup: 0, tests: ['pp 256']}))
    const out = path.join(dir, 'plug.json')
    const run = await owbench(['run', '--suite', suite, '--threads', '1', '--idle-seconds', '0', '--meter', `shelly://${meter.host}`, '--out', out])
    expect(run.stderr).not.toMatch(/Error/)
    expect(run.code).toBe(0)
    expect(run.stderr).toContain('power: energy windows span at least 10 meter updates (10.0 s); shorter tests run back to back')
    const result = parseResult(await readFile(out, 'utf8'), out)
    expect(result.targets[0]!.kind === 'local' && result.targets[0]!.model.synthetic?.id).toBe('default')
    expect(result.power!.sources[0]).toMatchObject({kind: 'shelly', updateMs: 1000, intervalMs: 500})
    const [rep] = result.runs
    // A pp256 takes well under a second here, so it ran back to back until the window reached 10 s.
    expect(rep!.backToBack).toBeGreaterThan(5)
    expect(rep!.requests).toHaveLength(rep!.backToBack!)
    const windowMs = Math.max(...rep!.requests.map((r) => r.tEnd)) - Math.min(...rep!.requests.map((r) => r.tSend))
    expect(windowMs).toBeGreaterThanOrEqual(10_000)
    const tokens = rep!.requests.reduce((n, r) => n + r.nPrompt, 0)
    expect(tokens).toBe(256 * rep!.backToBack!)
    // The known draw: 120 W over the whole window, per prompt token.
    const expected = (120 * windowMs) / 1000 / tokens
    const [cell] = deriveResult(result).cells
    expect(cell!.energy).toMatchObject({status: 'metered', boundary: 'wall', method: 'sampled', basis: 'prompt', tokens})
    expect(cell!.backToBack).toEqual([rep!.backToBack])
    expect(Math.abs((cell!.energy as {jPerToken: number}).jPerToken / expected - 1)).toBeLessThan(0.02)
    expect(run.stdout).toMatch(new RegExp(`\\| 1 ×${rep!.backToBack} back to back \\|`))
    expect(meter.requests()).toBeGreaterThanOrEqual(20)
  }, 240_000)

  it('records the run conditions of every repetition and warns when the machine was busy (the test makes it busy)', async () => {
    const {spawn} = await import('node:child_process')
    // Two processes spinning on the two cores while the run goes on.
    const hogs = [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], {stdio: 'ignore'}))
    try {
      // tg64 on the default model: each repetition lasts long enough (>= 100 ms) for /proc/stat's
      // 10 ms ticks to measure the load within a few percent; a tiny model's few-ms repetitions
      // cannot be judged that finely, by owbench or by anything reading the kernel's tick counters.
      const suite = path.join(dir, 'tg64.json')
      await writeFile(suite, JSON.stringify({name: 'tg64-only', version: '1.0.0', description: 'one tg64', repetitions: 2, warmup: 0, tests: ['tg 64']}))
      const out = path.join(dir, 'busy.json')
      const run = await owbench(['run', '--suite', suite, '--threads', '1', '--power', 'off', '--out', out])
      expect(run.code).toBe(0)
      expect(run.stdout).toMatch(/- warning: this machine was busy: other processes used \d\.\d of \d+ CPUs during or right before tg64 — rerun on a quiet machine/)
      const result = parseResult(await readFile(out, 'utf8'), out)
      expect(result.runs).toHaveLength(2)
      for (const rep of result.runs) {
        expect(rep.conditions).toMatchObject({logicalCpus: expect.any(Number), during: {durationMs: expect.any(Number), stealShare: expect.any(Number)}})
        expect(rep.conditions!.during.durationMs).toBeGreaterThanOrEqual(100)
        // Two spinning processes and the engine's one thread share two cores: others hold about 1.3.
        expect(rep.conditions!.during.otherCores).toBeGreaterThan(0.5)
      }
    } finally {
      for (const hog of hogs) hog.kill()
    }
  }, 120_000)
})
