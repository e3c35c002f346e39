import {type ChildProcess, execFileSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {readResult} from '../../src/results/io.js'
import {type CliRun, owbench} from '../helpers/cli.js'
import {installSkyStandin, type SkyStandin} from '../helpers/sky-standin/install.js'
import {skypilotTaskErrors} from '../helpers/sky-standin/skypilot-schema.mjs'

/**
 * `owbench cloud run` end to end against the stand-in `sky` (test/helpers/sky-standin): the
 * task's setup really installs the packed owbench on the stand-in machine, its run section really
 * serves the synthetic model with llama-server, and owbench really measures it on the machine and
 * from here. SkyPilot itself cannot be installed here and no cloud is reachable.
 */
let dir: string
let sky: SkyStandin
let suite: string

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'owbench-cloud-'))
  sky = installSkyStandin(dir)
  suite = path.join(dir, 'cloud-tiny.json')
  fs.writeFileSync(suite, JSON.stringify({name: 'cloud-tiny', version: '1.0.0', description: 'Two short tests for the cloud flow.', repetitions: 2, warmup: 0, tests: ['pp 16', 'tg 8']}))
})

afterEach(() => {
  sky.setFaults({})
  sky.cleanup()
})

afterAll(() => fs.rmSync(dir, {recursive: true, force: true}))

function cloud(args: string[], options: {onSpawn?: (child: ChildProcess) => void; noSky?: boolean} = {}): Promise<CliRun> {
  const env = options.noSky ? {...sky.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}/usr/bin${path.delimiter}/bin`} : sky.env
  return owbench(['cloud', 'run', ...args], {env, cwd: dir, onSpawn: options.onSpawn})
}

/** The stand-in's own log: which `sky` commands ran for a cluster (repeated polls counted once). */
function skyCommands(cluster: string): string[] {
  const commands = sky.calls().filter((c) => c.includes(cluster)).map((c) => c.slice(0, c[0] === 'api' ? 2 : 1).join(' '))
  return commands.filter((c, i) => c !== commands[i - 1])
}

/** No cluster in the stand-in's state and, within 3 s of `sky down` (signals are delivered asynchronously), no process of its machines. */
async function expectAllTornDown(): Promise<void> {
  expect(sky.clusters()).toEqual([])
  for (let i = 0; i < 30 && sky.livePids().length > 0; i++) await new Promise((r) => setTimeout(r, 100))
  expect(sky.livePids()).toEqual([])
}

describe('owbench cloud run --dry-run', () => {
  it('prints a valid task file, the chosen instance and its price, with no SkyPilot and no credentials', async () => {
    const out = path.join(dir, 'dry-nosky')
    const run = await cloud(['--dry-run', '--gpu', 'H100:1', '--model', 'hf:Qwen/Qwen2.5-7B-Instruct', '--engine', 'vllm', '-o', out], {noSky: true})
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toContain('SkyPilot is not installed; using owbench\'s reference data')
    const taskFile = fs.readdirSync(out).find((f) => f.endsWith('.sky.yaml'))!
    const task = parse(fs.readFileSync(path.join(out, taskFile), 'utf8'))
    expect(skypilotTaskErrors(task)).toEqual([])
    expect(run.stdout).toContain(fs.readFileSync(path.join(out, taskFile), 'utf8').trim())
    // data/gpu-rental-prices.csv line 8: Lambda H100 80GB PCIe, $2.86 dated 2026-05-07; 60 min x $2.86/h.
    expect(run.stdout).toMatch(/\| Lambda \| - \| gpu_1x_h100_pcie \| 2\.86 \| owbench reference data/)
    expect(run.stdout).toContain('estimate: at most $2.86 for the run (1 machine x 60 min')
    expect(task.resources).toMatchObject({accelerators: 'H100:1', image_id: 'docker:vllm/vllm-openai:latest', ports: [8000], autostop: {idle_minutes: 70, down: true, wait_for: 'none'}})
    expect(fs.existsSync(path.join(out, 'owbench-0.1.0.tgz'))).toBe(true)
  })

  it('prices from SkyPilot\'s catalog with its date when `sky` is there; launches nothing', async () => {
    const out = path.join(dir, 'dry-sky')
    const run = await cloud(['--dry-run', '--gpu', 'H100:1,A6000:1', '--model', 'hf:Qwen/Qwen2.5-7B-Instruct', '--engine', 'vllm', '--max-duration', '30', '-o', out])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/\| H100:1 \| Lambda \| us-east-1 \| gpu_1x_h100_pcie \| 3\.29 \| SkyPilot catalog \(sky gpus list\): lambda\/vms\.csv, pulled 2026-11-20 \|/)
    expect(run.stdout).toMatch(/\| A6000:1 \| Lambda \| us-east-1 \| gpu_1x_a6000 \| 1\.09 \|/)
    // (3.29 + 1.09) USD/h x 0.5 h = 2.19.
    expect(run.stdout).toContain('estimate: at most $2.19 for the run (2 machines x 30 min')
    expect(sky.calls().map((c) => c.slice(0, 2).join(' '))).toEqual(['gpus list', 'gpus list'])
  })

  it('refuses a plan above --max-cost before launching anything', async () => {
    const before = sky.calls().length
    const run = await cloud(['--gpu', 'H100:1', '--model', 'synthetic:tiny', '--engine', 'llama-server', '--max-cost', '2', '-o', path.join(dir, 'refused')])
    expect(run.code).toBe(2)
    // 3.29 USD/h x 60 min > 2; 2 / 3.29 h = 36.5 min.
    expect(run.stderr).toContain('the plan may cost up to $3.29 ($3.29/h for 60 min), above --max-cost $2.00 — lower --max-duration to 36 min or less')
    expect(sky.calls().slice(before).map((c) => c[0])).toEqual(['gpus']) // no launch
  })

  it('the README\'s fleet with a GPU nothing prices: the dry run prints the plan with that price unknown; a launch refuses it', async () => {
    const args = ['--gpu', 'H100:1,A100-80GB:1,L40S:1', '--model', 'hf:bartowski/Qwen2.5-7B-Instruct-GGUF:Q4_K_M', '--engine', 'llama-server', '--concurrency', '1,8']
    const dry = await cloud(['--dry-run', ...args, '-o', path.join(dir, 'dry-unpriced')], {noSky: true})
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stderr.split('SkyPilot is not installed')).toHaveLength(2) // said once for three GPUs
    expect(dry.stdout).toContain('| L40S:1 | - | - | - | unknown | no price known for L40S:1: SkyPilot is not installed; data/gpu-rental-prices.csv has no L40S:1 row |')
    // data/gpu-rental-prices.csv: H100 2.86 (line 8) + A100-80GB 1.64 (line 12) = 4.50 USD/h x 1 h.
    expect(dry.stdout).toContain('estimate: unknown: no price for L40S:1; the priced machines alone may cost up to $4.50 (2 machines x 60 min')
    const launch = await cloud([...args, '-o', path.join(dir, 'launch-unpriced')], {noSky: true})
    expect(launch.code).toBe(2)
    expect(launch.stderr).toContain('no price known for L40S:1: SkyPilot is not installed; data/gpu-rental-prices.csv has no L40S:1 row; owbench launches nothing it cannot price — pass --price-per-hour USD')
  })

  it('without SkyPilot installed, a real run refuses before renting anything', async () => {
    const run = await cloud(['--gpu', 'H100:1', '--model', 'synthetic:tiny', '--engine', 'llama-server', '-o', path.join(dir, 'nosky')], {noSky: true})
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('SkyPilot\'s `sky` command is not installed — install SkyPilot for your cloud')
  })
})

describe('owbench cloud run against the stand-in sky', () => {
  it('plans, launches, waits for health, measures on the machine and over the network, copies back and tears down', async () => {
    const out = path.join(dir, 'e2e')
    const run = await cloud(['--gpu', 'H100:1', '--model', 'synthetic:tiny', '--engine', 'llama-server', '--suite', suite, '-o', out])
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0)
    // The plan with its price and bound is shown before anything is launched.
    expect(run.stderr.indexOf('estimate: at most $3.29 for the run')).toBeGreaterThan(-1)
    expect(run.stderr.indexOf('estimate: at most')).toBeLessThan(run.stderr.indexOf('] launching H100:1'))
    const cluster = sky.calls().find((c) => c[0] === 'launch')![2]!
    expect(skyCommands(cluster)).toEqual(['launch', 'status', 'exec', 'down', 'status'])
    await expectAllTornDown()
    const server = await readResult(path.join(out, `${cluster}-server.json`))
    const network = await readResult(path.join(out, `${cluster}-network.json`))
    for (const result of [server, network]) {
      expect(result.state).toBe('completed')
      expect(result.cloud).toMatchObject({orchestrator: 'skypilot', cluster, accelerators: 'H100:1', cloud: 'Lambda', region: 'us-east-1', instanceType: 'gpu_1x_h100_pcie', price: {usdPerHour: 3.29, catalogDate: '2026-11-20'}})
      const rental = result.cloud!.rental
      // launch to teardown at $3.29/h, estimated from the catalog price.
      // (result files keep 7 decimals)
      expect(rental.usd).toBeCloseTo((3.29 * rental.seconds!) / 3600, 6)
      expect(Date.parse(rental.tornDownAt!) - Date.parse(rental.launchedAt)).toBeCloseTo(rental.seconds! * 1000, -1)
      expect(result.targets[0]).toMatchObject({kind: 'endpoint', pricing: {perHour: 3.29, currency: 'USD'}})
      expect(result.runs.filter((r) => !r.warmup && r.state === 'completed')).toHaveLength(4)
      expect(result.labels.some((l) => l.startsWith('rented GPU: H100:1 on Lambda gpu_1x_h100_pcie (us-east-1) at $3.29/h'))).toBe(true)
    }
    expect([server.cloud!.measuredFrom, network.cloud!.measuredFrom]).toEqual(['server', 'client'])
    // The run on the machine sampled its GPU meter (the stand-in machine's nvidia-smi replays a recorded H100).
    expect(server.power?.sources.map((s) => [s.kind, s.boundary])).toEqual([['nvidia-smi', 'gpu-board']])
    expect(network.power).toBeUndefined()
    expect(server.cloud!.engine.version).toMatch(/version: \d+/)
    // The per-run key protected the public port and was never written anywhere.
    const key = /OWBENCH_API_KEY/.test(fs.readFileSync(path.join(out, `${cluster}.sky.yaml`), 'utf8'))
    expect(key).toBe(true)
    expect(fs.readFileSync(path.join(out, `${cluster}.sky.yaml`), 'utf8')).toMatch(/OWBENCH_API_KEY: null/)
  }, 400_000)

  it('a fleet of two in parallel, brought home into one directory that publishes as one site', async () => {
    const out = path.join(dir, 'fleet')
    const before = sky.calls().length
    const run = await cloud(['--gpu', 'H100:1,A6000:1', '--model', 'synthetic:tiny', '--engine', 'llama-server', '--suite', suite, '-o', out])
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0)
    const calls = sky.calls().slice(before).map((c) => c[0])
    // Both launched before either was torn down.
    expect(calls.lastIndexOf('launch')).toBeLessThan(calls.indexOf('down'))
    await expectAllTornDown()
    const files = fs.readdirSync(out).filter((f) => f.endsWith('.json')).sort()
    expect(files.map((f) => f.replace(/-[0-9a-f]{6}-/, '-ID-'))).toEqual(['owbench-a6000x1-ID-network.json', 'owbench-a6000x1-ID-server.json', 'owbench-h100x1-ID-network.json', 'owbench-h100x1-ID-server.json'])
    const site = path.join(dir, 'fleet-site')
    const publish = await owbench(['publish', out, '--out', site], {cwd: dir})
    expect(publish.code, publish.stderr).toBe(0)
    const index = JSON.parse(fs.readFileSync(path.join(site, 'results.json'), 'utf8')) as {results: unknown[]}
    expect(index.results).toHaveLength(4)
    expect(fs.existsSync(path.join(site, 'index.html'))).toBe(true)
    // Each result's page shows where it was measured and at what price.
    const pages = fs.readdirSync(path.join(site, 'results')).filter((f) => f.endsWith('.html')).map((f) => fs.readFileSync(path.join(site, 'results', f), 'utf8'))
    expect(pages.filter((p) => p.includes('rented GPU: A6000:1 on Lambda gpu_1x_a6000 (us-east-1) at $1.09/h'))).toHaveLength(2)
  }, 500_000)
})

describe('every failure tears down and leaves no cluster', () => {
  it('no capacity in any region', async () => {
    sky.setFaults({noCapacity: ['*']})
    const run = await cloud(['--gpu', 'H100:1', '--model', 'synthetic:tiny', '--engine', 'llama-server', '--suite', suite, '-o', path.join(dir, 'nocap')])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('launch failed: sky.exceptions.ResourcesUnavailableError: Failed to provision all possible launchable resources.')
    const cluster = sky.calls().filter((c) => c[0] === 'launch').at(-1)![2]!
    expect(skyCommands(cluster).filter((c) => c !== 'status')).toEqual(['launch', 'down'])
    expect(skyCommands(cluster).at(-1)).toBe('status')
    await expectAllTornDown()
  }, 120_000)

  it('a launch that never finishes: the request is cancelled at --launch-timeout and the cluster torn down', async () => {
    sky.setFaults({hangProvisioning: true})
    const run = await cloud(['--gpu', 'H100:1', '--model', 'synthetic:tiny', '--engine', 'llama-server', '--suite', suite, '--launch-timeout', '0.1', '-o', path.join(dir, 'hang')])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('launch did not finish within --launch-timeout')
    const cluster = sky.calls().filter((c) => c[0] === 'launch').at(-1)![2]!
    expect(sky.calls().some((c) => c[0] === 'api' && c[1] === 'cancel')).toBe(true)
    expect(skyCommands(cluster).filter((c) => c !== 'status' && c !== 'api cancel')).toEqual(['launch', 'down'])
    expect(skyCommands(cluster).at(-1)).toBe('status')
    await expectAllTornDown()
  }, 120_000)

  it('Ctrl-C during the launch: the request is cancelled, the machine torn down, exit 130', async () => {
    sky.setFaults({provisionSeconds: 60})
    const run = await cloud(['--gpu', 'H100:1', '--model', 'synthetic:tiny', '--engine', 'llama-server', '--suite', suite, '-o', path.join(dir, 'ctrlc')], {
      onSpawn: (child) => {
        const poll = setInterval(() => {
          if (sky.clusters().length > 0) {
            clearInterval(poll)
            child.kill('SIGINT')
          }
        }, 200)
      },
    })
    expect(run.code).toBe(130)
    expect(run.stderr).toContain('interrupted: stopping')
    expect(sky.calls().some((c) => c[0] === 'api' && c[1] === 'cancel')).toBe(true)
    expect(sky.calls().at(-2)?.[0]).toBe('down')
    await expectAllTornDown()
  }, 120_000)

  it('a server that exits before it is ready (a broken model file): its last log line, then teardown', async () => {
    const broken = path.join(dir, 'broken.gguf')
    fs.writeFileSync(broken, 'not a GGUF file at all')
    const run = await cloud(['--gpu', 'A6000:1', '--model', broken, '--engine', 'llama-server', '--suite', suite, '-o', path.join(dir, 'broken')])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/the server exited \(FAILED\) before it was ready: .+/)
    const cluster = sky.calls().filter((c) => c[0] === 'launch').at(-1)![2]!
    expect(skyCommands(cluster).filter((c) => c !== 'status')).toEqual(['launch', 'queue', 'logs', 'down'])
    await expectAllTornDown()
  }, 300_000)

  it('a teardown SkyPilot cannot confirm is a loud error naming the fix', async () => {
    sky.setFaults({hangProvisioning: true, downFails: true})
    const before = sky.calls().length
    const run = await cloud(['--gpu', 'H100:1', '--model', 'synthetic:tiny', '--engine', 'llama-server', '--suite', suite, '--launch-timeout', '0.05', '-o', path.join(dir, 'nodown')])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/teardown NOT confirmed for owbench-h100x1-[0-9a-f]{6}: sky down: Reason: stand-in fault: the provider refused to terminate\. — run `owbench cloud down owbench-h100x1-[0-9a-f]{6}` now/)
    expect(sky.calls().slice(before).filter((c) => c[0] === 'down')).toHaveLength(3)
    expect(sky.clusters()).toHaveLength(1) // left for afterEach, which tears it down without the fault
  }, 120_000)

  it('a machine that dies mid-run', async () => {
    sky.setFaults({dieOnExec: {afterSeconds: 1}})
    const run = await cloud(['--gpu', 'H100:1', '--model', 'synthetic:tiny', '--engine', 'llama-server', '--suite', suite, '-o', path.join(dir, 'dies')])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('the run on the machine failed: sky.exceptions.ClusterNotUpError')
    const cluster = sky.calls().filter((c) => c[0] === 'launch').at(-1)![2]!
    expect(skyCommands(cluster)).toEqual(['launch', 'status', 'exec', 'down', 'status'])
    await expectAllTornDown()
  }, 400_000)

  it('--max-cost: SkyPilot fails over to a dearer instance and the spend reaches the limit: everything stops and is torn down', async () => {
    // Planned: gpu_1x_h100_pcie at $3.29/h; no capacity there, so the stand-in's optimizer picks
    // gpu_1x_h100_sxm5 at $4.29/h and provisions it slowly. Bound $3.29 x 1.3 min = $0.0713 <=
    // $0.0715; owbench sees the dearer instance in `sky status` (polled every 5 s during the launch),
    // counts $4.29/h from the launch's start and stops at $0.0715, reached after 60 s, before
    // --max-duration (78 s): the launch request is cancelled and the machine torn down.
    sky.setFaults({noCapacity: ['gpu_1x_h100_pcie'], provisionSeconds: 600})
    const out = path.join(dir, 'maxcost')
    const run = await cloud(['--gpu', 'H100:1', '--model', 'synthetic:tiny', '--engine', 'llama-server', '--suite', suite, '--max-cost', '0.0715', '--max-duration', '1.3', '-o', out])
    expect(run.code, run.stderr).toBe(2)
    expect(run.stderr).toContain('provisioning Lambda gpu_1x_h100_sxm5 in us-east-1 at $4.29/h')
    expect(run.stderr).toMatch(/the spend reached --max-cost \$0\.0715 \(\$0\.07\d+ so far\)/)
    expect(sky.calls().some((c) => c[0] === 'api' && c[1] === 'cancel')).toBe(true)
    await expectAllTornDown()
    // Stopped during the launch: nothing was measured, so no result file, and no machine left.
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.json'))).toEqual([])
  }, 400_000)
})

describe('owbench cloud ls / down', () => {
  it('without SkyPilot, each says what it needs SkyPilot for (not the dry-run hint of cloud run)', async () => {
    const env = {...sky.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}/usr/bin${path.delimiter}/bin`}
    const ls = await owbench(['cloud', 'ls'], {env, cwd: dir})
    expect(ls.code).toBe(2)
    expect(ls.stderr).toContain('owbench cloud ls reads `sky status`, so run it where SkyPilot is installed')
    const down = await owbench(['cloud', 'down', '--all'], {env, cwd: dir})
    expect(down.code).toBe(2)
    expect(down.stderr).toContain('owbench cloud down tears down with `sky down`, so run it where SkyPilot is installed')
    for (const run of [ls, down]) expect(run.stderr).not.toContain('--dry-run')
  })

  it('list and tear down only the clusters owbench started', async () => {
    const task = path.join(dir, 'plain.sky.yaml')
    fs.writeFileSync(task, 'resources:\n  accelerators: A6000:1\n  image_id: docker:ghcr.io/ggml-org/llama.cpp:server-cuda\nrun: sleep 600\n')
    const launch = (name: string) => execFileSync('sky', ['launch', '-c', name, task, '-y', '-d'], {env: {...process.env, ...sky.env}, encoding: 'utf8'})
    launch('owbench-a6000x1-aaaaaa')
    launch('someone-elses')
    const ls = await owbench(['cloud', 'ls', '--json'], {env: sky.env, cwd: dir})
    expect(ls.code, ls.stderr).toBe(0)
    expect(JSON.parse(ls.stdout)).toEqual([
      {name: 'owbench-a6000x1-aaaaaa', status: 'UP', cloud: 'Lambda', region: 'us-east-1', instanceType: 'gpu_1x_a6000', launchedAt: expect.stringMatching(/^\d{4}-/), autostopMin: null, autodown: false},
    ])
    const refused = await owbench(['cloud', 'down', 'someone-elses'], {env: sky.env, cwd: dir})
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('"someone-elses" is not a cluster owbench started')
    const down = await owbench(['cloud', 'down', '--all'], {env: sky.env, cwd: dir})
    expect(down.code, down.stderr).toBe(0)
    expect(down.stdout).toContain('torn down: owbench-a6000x1-aaaaaa')
    expect(sky.clusters()).toEqual(['someone-elses'])
  }, 60_000)
})
