// A stand-in for SkyPilot's `sky` CLI, for the commands owbench uses, with their flags, outputs and
// exit codes as SkyPilot's own source has them (sky/client/cli/command.py, sky/exceptions.py,
// sky/schemas/api/responses.py at skypilot-org/skypilot 93a24d47; see fixtures/skypilot/README.md).
// A "cluster" is a directory under $SKY_STANDIN_HOME/machines with its own home, a loopback
// address of its own (127.0.0.N) and processes on this machine: setup and run sections really run,
// so the served engine is real. Faults ($SKY_STANDIN_HOME/faults.json) make it fail as clouds do.
import {spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parse} from 'yaml'
import {skypilotTaskErrors} from './skypilot-schema.mjs'

const self = fileURLToPath(import.meta.url)
const root = process.env.SKY_STANDIN_HOME
if (!root) die('stand-in sky: SKY_STANDIN_HOME is not set', 2)
const dirs = {clusters: path.join(root, 'clusters'), requests: path.join(root, 'requests'), machines: path.join(root, 'machines')}
for (const d of Object.values(dirs)) fs.mkdirSync(d, {recursive: true})
const config = readJson(path.join(root, 'config.json')) ?? {}
const faults = readJson(path.join(root, 'faults.json')) ?? {}
const argv = process.argv.slice(2)
fs.appendFileSync(path.join(root, 'calls.log'), `${JSON.stringify(argv)}\n`)

function die(message, code = 1) {
  process.stderr.write(`${message}\n`)
  process.exit(code)
}
function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch {
    return null
  }
}
function writeJson(file, value) {
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2))
  fs.renameSync(`${file}.tmp`, file)
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const clusterFile = (name) => path.join(dirs.clusters, `${name}.json`)
const getCluster = (name) => readJson(clusterFile(name))
const allClusters = () => fs.readdirSync(dirs.clusters).filter((f) => f.endsWith('.json')).map((f) => readJson(path.join(dirs.clusters, f))).filter(Boolean)
const alive = (pid) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
const killGroup = (pid, signal = 'SIGKILL') => {
  try {
    process.kill(-pid, signal)
  } catch {
    // already gone
  }
}

/** click-style option parsing: flags that take a value, repeatable --secret. */
function options(args, withValue) {
  const out = {positional: [], secret: []}
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (withValue.includes(a)) {
      const v = args[++i]
      if (a === '--secret') out.secret.push(v)
      else out[a] = v
    } else if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) out[a] = true
    else out.positional.push(a)
  }
  return out
}

// ---------- catalog (what `sky gpus list` and the optimizer read: ~/.sky/catalogs/v8/<cloud>/vms.csv)
function catalogRows() {
  const base = path.join(process.env.HOME ?? '', '.sky', 'catalogs', 'v8')
  const rows = []
  if (!fs.existsSync(base)) return rows
  const clouds = fs.readdirSync(base)
  for (const cloud of clouds) {
    const file = path.join(base, cloud, 'vms.csv')
    if (!fs.existsSync(file)) continue
    const [header, ...lines] = fs.readFileSync(file, 'utf8').trim().split('\n')
    const names = header.split(',')
    for (const line of lines) {
      const cells = line.match(/("[^"]*"|[^,]*)(,|$)/g).map((c) => c.replace(/,$/, '').replace(/^"|"$/g, ''))
      const row = Object.fromEntries(names.map((n, i) => [n, cells[i] ?? '']))
      if (!row.AcceleratorName || !row.GpuInfo) continue
      rows.push({cloud, display: {lambda: 'Lambda', aws: 'AWS', gcp: 'GCP', runpod: 'RunPod'}[cloud] ?? cloud, ...row})
    }
  }
  return rows
}

// ---------- machines
function machineEnv(cluster, extra) {
  const imageBin = path.join(cluster.dir, 'image-bin')
  const base = {
    HOME: path.join(cluster.dir, 'home'),
    PATH: [imageBin, config.toolsBin, path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].filter(Boolean).join(':'),
    LANG: 'C.UTF-8',
    // The stand-in machines share this machine's npm cache, like an image with a warm cache.
    npm_config_cache: config.npmCache,
    npm_config_prefer_offline: 'true',
    STANDIN_NODE_IP: cluster.ip,
    STANDIN_LLAMA_SERVER: config.llamaServer,
    SKYPILOT_NODE_IPS: cluster.ip,
    SKYPILOT_NODE_RANK: '0',
    SKYPILOT_NUM_NODES: '1',
    SKYPILOT_NUM_GPUS_PER_NODE: String(cluster.gpuCount),
    SKYPILOT_CLUSTER_INFO: JSON.stringify({cluster_name: cluster.name, cloud: cluster.cloudDisplay, region: cluster.region, zone: null}),
    ...config.toolsEnv,
  }
  return {...base, ...extra}
}

function installImage(cluster) {
  const imageBin = path.join(cluster.dir, 'image-bin')
  fs.mkdirSync(imageBin, {recursive: true})
  if (!/^ghcr\.io\/ggml-org\/llama\.cpp:server/.test(cluster.image)) return `the stand-in emulates only llama.cpp's server images, not ${cluster.image}`
  // The image's llama-server: the real binary, bound to this machine's own address (each
  // stand-in machine has one, as each cloud VM has its own interface), one thread per server.
  fs.writeFileSync(
    path.join(imageBin, 'llama-server'),
    `#!/usr/bin/env bash
args=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--host" ]; then args+=(--host "$STANDIN_NODE_IP"); shift 2; else args+=("$1"); shift; fi
done
exec "$STANDIN_LLAMA_SERVER" -t 1 "\${args[@]}"
`,
    {mode: 0o755},
  )
  return null
}

function startJob(cluster, id, command, env) {
  const jobs = path.join(cluster.dir, 'jobs')
  fs.mkdirSync(jobs, {recursive: true})
  fs.writeFileSync(path.join(jobs, `${id}.sh`), command)
  const log = path.join(jobs, `${id}.log`)
  const exit = path.join(jobs, `${id}.exit`)
  const child = spawn('bash', ['-c', `bash ${JSON.stringify(path.join(jobs, `${id}.sh`))} > ${JSON.stringify(log)} 2>&1; echo $? > ${JSON.stringify(exit)}`], {
    cwd: env.HOME,
    env,
    detached: true,
    stdio: 'ignore',
  })
  child.unref()
  fs.appendFileSync(path.join(root, 'pids.log'), `${child.pid}\n`)
  const record = getCluster(cluster.name)
  record.jobs.push({job_id: id, pid: child.pid, submitted_at: Date.now() / 1000, cancelled: false})
  writeJson(clusterFile(cluster.name), record)
  return {log, exit}
}

function jobStatus(cluster, job) {
  const exitFile = path.join(cluster.dir, 'jobs', `${job.job_id}.exit`)
  if (job.cancelled) return 'CANCELLED'
  if (fs.existsSync(exitFile)) return fs.readFileSync(exitFile, 'utf8').trim() === '0' ? 'SUCCEEDED' : 'FAILED'
  if (cluster.dead) return 'FAILED_DRIVER'
  return alive(job.pid) ? 'RUNNING' : 'FAILED_DRIVER'
}

/** The machine dies (a preempted or failed VM): every process on it is killed, `sky status` says INIT. */
function killMachine(name) {
  const cluster = getCluster(name)
  if (!cluster) return
  for (const job of cluster.jobs) killGroup(job.pid)
  cluster.dead = true
  cluster.status = 'INIT'
  writeJson(clusterFile(name), cluster)
}

function statusRecord(c) {
  return {
    name: c.name,
    launched_at: c.launched_at,
    last_use: 'sky launch',
    status: c.status,
    autostop: c.autostop,
    to_down: c.to_down,
    owner: null,
    metadata: {},
    cluster_hash: c.hash,
    cluster_ever_up: c.status === 'UP' || c.dead === true,
    status_updated_at: Math.floor(Date.now() / 1000),
    user_hash: 'abcd1234',
    user_name: 'standin',
    workspace: 'default',
    is_managed: false,
    nodes: 1,
    cloud: c.cloudDisplay,
    region: c.region,
    cpus: c.cpus,
    memory: c.memory,
    accelerators: `{'${c.accelerator}': ${c.gpuCount}}`,
    resources_str: `1x(gpus=${c.accelerator}:${c.gpuCount}, ${c.instanceType.slice(0, 15)}, ...)`,
    resources_str_full: `1x(gpus=${c.accelerator}:${c.gpuCount}, cpus=${c.cpus}, mem=${c.memory}, ${c.instanceType}, image_id={'${c.region}': 'docker:${c.image}'}, disk=${c.disk}, ports=['${c.port}'])`,
    labels: {},
    cluster_name_on_cloud: `${c.name}-${c.hash.slice(0, 4)}`,
  }
}

// ---------- requests (sky launch runs on the API server; an interrupted client leaves it running)
function requestFile(id) {
  return path.join(dirs.requests, `${id}.json`)
}
function findRequest(prefix) {
  return fs.readdirSync(dirs.requests).filter((f) => f.endsWith('.json') && f.startsWith(prefix)).map((f) => readJson(path.join(dirs.requests, f)))[0] ?? null
}

async function launch(args) {
  const o = options(args, ['-c', '--cluster', '--secret', '--env', '--infra', '--gpus'])
  const name = o['-c'] ?? o['--cluster']
  const entry = o.positional[0]
  if (!name || !entry) die('Error: stand-in sky launch needs -c NAME and a task YAML', 2)
  if (!o['-y'] && !o['--yes']) die('Error: stand-in sky launch runs non-interactively only: pass -y', 2)
  let task
  try {
    task = parse(fs.readFileSync(entry, 'utf8'))
  } catch (error) {
    die(`ValueError: Invalid task YAML: ${error.message}`)
  }
  const errors = skypilotTaskErrors(task)
  if (errors.length > 0) die(`ValueError: Invalid task YAML: ${errors[0]}`)
  const secrets = {}
  for (const s of o.secret) {
    if (s.includes('=')) secrets[s.split('=')[0]] = s.slice(s.indexOf('=') + 1)
    else if (process.env[s] === undefined) die(`Error: ${s} is not set in local environment.`, 2)
    else secrets[s] = process.env[s]
  }
  for (const [k, v] of Object.entries(task.secrets ?? {})) {
    if (v === null && secrets[k] === undefined) die(`ValueError: Secret variable '${k}' is None. Please set a value for it in task YAML or with --secret flag. To set it to be empty, use an empty string (${k}: "" in task YAML or --secret ${k}="" in CLI).`)
  }
  if (getCluster(name)) die(`stand-in sky: cluster ${name} exists; the stand-in launches new clusters only`)
  const id = randomBytes(16).toString('hex')
  const log = path.join(dirs.requests, `${id}.log`)
  fs.writeFileSync(log, '')
  writeJson(requestFile(id), {id, name: 'sky.launch', cluster: name, status: 'PENDING', task, taskDir: path.dirname(path.resolve(entry)), secrets, log})
  const worker = spawn(process.execPath, [self, '__launch-worker', id], {detached: true, stdio: 'ignore', env: process.env})
  worker.unref()
  const request = readJson(requestFile(id))
  request.pid = worker.pid
  request.status = 'RUNNING'
  writeJson(requestFile(id), request)
  process.on('SIGINT', () => {
    // sky/client/cli/command.py _async_call_or_wait on KeyboardInterrupt.
    const short = id.slice(0, 8)
    process.stdout.write(`\n⚙︎ Request will continue running asynchronously.\n├── View logs: sky api logs ${short}\n├── Or, visit: http://127.0.0.1:46580/api/stream?request_id=${short}\n└── To cancel the request, run: sky api cancel ${short}\n`)
    process.exit(130)
  })
  let offset = 0
  for (;;) {
    const text = fs.readFileSync(log, 'utf8')
    if (text.length > offset) {
      process.stdout.write(text.slice(offset))
      offset = text.length
    }
    const r = readJson(requestFile(id))
    if (r && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(r.status)) {
      const rest = fs.readFileSync(log, 'utf8')
      process.stdout.write(rest.slice(offset))
      process.exit(r.status === 'SUCCEEDED' ? 0 : 1)
    }
    await sleep(100)
  }
}

async function launchWorker(id) {
  const request = readJson(requestFile(id))
  const out = (line) => fs.appendFileSync(request.log, `${line}\n`)
  const finish = (status) => {
    const r = readJson(requestFile(id))
    r.status = status
    writeJson(requestFile(id), r)
    process.exit(0)
  }
  const task = request.task
  const res = task.resources
  const [accelerator, countText] = String(res.accelerators).split(':')
  const count = Number(countText ?? 1)
  const infraCloud = res.infra ? res.infra.split('/')[0].toLowerCase() : null
  const enabled = faults.enabledClouds ?? null
  // The optimizer: the cheapest launchable offering of the enabled clouds, then failover in price order.
  const candidates = catalogRows()
    .filter((r) => r.AcceleratorName.toLowerCase() === accelerator.toLowerCase() && Number(r.AcceleratorCount) === count)
    .filter((r) => (!infraCloud || r.cloud === infraCloud) && (!enabled || enabled.includes(r.cloud)))
    .sort((a, b) => Number(a.Price) - Number(b.Price))
  out(`Considered resources (1 node):`)
  for (const c of candidates.slice(0, 5)) out(`  ${c.display} (${c.Region})  ${c.InstanceType}  ${c.vCPUs}  ${c.MemoryGiB}  ${accelerator}:${count}  ${Number(c.Price).toFixed(2)}`)
  const noCapacity = faults.noCapacity ?? []
  const chosen = candidates.find((c) => !(noCapacity.includes('*') || noCapacity.includes(c.InstanceType)))
  for (const c of candidates) {
    if (c === chosen) break
    out(`⨯ Failed to acquire resources in ${c.Region} for {${c.display}(${c.InstanceType}, {'${accelerator}': ${count}})}. Try changing resource requirements or use another region.`)
  }
  if (!chosen) {
    out(`Failed to provision resources. Try changing resource requirements or use another region.`)
    out(`sky.exceptions.ResourcesUnavailableError: Failed to provision all possible launchable resources. Relax the task's resource requirements: 1x ${infraCloud ?? ''}({'${accelerator}': ${count}})`)
    out('To keep retrying until the cluster is up, use the `--retry-until-up` flag.')
    finish('FAILED')
  }
  // Each machine gets a loopback address of its own (mkdir is atomic: parallel launches never share one).
  fs.mkdirSync(path.join(root, 'ips'), {recursive: true})
  let ip = null
  for (let n = 2; n < 255 && !ip; n++) {
    try {
      fs.mkdirSync(path.join(root, 'ips', String(n)))
      ip = `127.0.0.${n}`
    } catch {
      // taken
    }
  }
  const dir = path.join(dirs.machines, request.cluster)
  fs.mkdirSync(path.join(dir, 'home'), {recursive: true})
  const cluster = {
    name: request.cluster,
    hash: randomBytes(4).toString('hex'),
    launched_at: Math.floor(Date.now() / 1000),
    status: 'INIT',
    autostop: res.autostop?.idle_minutes ?? -1,
    to_down: res.autostop?.down === true,
    cloud: chosen.cloud,
    cloudDisplay: chosen.display,
    region: chosen.Region,
    instanceType: chosen.InstanceType,
    accelerator: chosen.AcceleratorName,
    gpuCount: count,
    cpus: String(Number(chosen.vCPUs)),
    memory: String(Number(chosen.MemoryGiB)),
    image: String(res.image_id ?? '').replace(/^docker:/, ''),
    disk: res.disk_size ?? 256,
    port: Array.isArray(res.ports) ? res.ports[0] : res.ports,
    ip,
    dir,
    jobs: [],
    dead: false,
    requestPid: process.pid,
  }
  writeJson(clusterFile(cluster.name), cluster)
  out(`⚙︎ Launching on ${chosen.display} ${chosen.Region} (${chosen.InstanceType}).`)
  if (faults.hangProvisioning) {
    out('  Provisioning... (the stand-in fault: the provider never finishes)')
    for (;;) await sleep(1000)
  }
  await sleep((faults.provisionSeconds ?? 0) * 1000)
  cluster.status = 'UP'
  writeJson(clusterFile(cluster.name), cluster)
  const imageError = installImage(cluster)
  if (imageError) {
    out(`sky.exceptions.CommandError: stand-in: ${imageError}`)
    finish('FAILED')
  }
  const home = path.join(dir, 'home')
  const expand = (p) => (p.startsWith('~/') ? path.join(home, p.slice(2)) : p)
  for (const [dst, src] of Object.entries(task.file_mounts ?? {})) {
    fs.mkdirSync(path.dirname(expand(dst)), {recursive: true})
    fs.copyFileSync(path.resolve(request.taskDir, src), expand(dst))
  }
  out('⚙︎ Syncing files.')
  const env = machineEnv(cluster, {...(task.envs ?? {}), ...request.secrets})
  if (task.setup) {
    out('⚙︎ Running setup on 1 VM.')
    const setup = spawnSync('bash', ['-c', task.setup], {cwd: home, env: {...env, SKYPILOT_SETUP_NODE_RANK: '0', SKYPILOT_SETUP_NODE_IPS: ip}, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024})
    for (const line of `${setup.stdout}${setup.stderr}`.split('\n').filter((l) => l !== '')) out(`(setup pid=${process.pid}) ${line}`)
    if (setup.status !== 0) {
      out(`sky.exceptions.CommandError: Command ... failed with return code ${setup.status}.\nFailed to run setup commands on an instance. (exit code ${setup.status})`)
      finish('FAILED')
    }
  }
  if (task.run) {
    startJob(cluster, 1, task.run, env)
    out('⚙︎ Job submitted, ID: 1')
  }
  out(`\n📋 Useful Commands\nJob ID: 1\n├── To cancel the job:\t\tsky cancel ${cluster.name} 1\n├── To stream job logs:\t\tsky logs ${cluster.name} 1\n└── To view job queue:\t\tsky queue ${cluster.name}`)
  finish('SUCCEEDED')
}

async function exec(args) {
  const o = options(args, ['--secret', '--env', '-c', '--cluster', '--gpus'])
  const [name, ...rest] = o.positional
  const cluster = getCluster(name)
  if (!cluster) die(`ValueError: Cluster '${name}' does not exist.`)
  if (cluster.status !== 'UP' || cluster.dead) die(`sky.exceptions.ClusterNotUpError: Cluster '${name}' with status ${cluster.status} is not up.`)
  const secrets = {}
  for (const s of o.secret) {
    if (process.env[s] === undefined) die(`Error: ${s} is not set in local environment.`, 2)
    secrets[s] = process.env[s]
  }
  const id = Math.max(0, ...cluster.jobs.map((j) => j.job_id)) + 1
  let command = rest.join(' ')
  const {log, exit} = startJob(cluster, id, command, machineEnv(cluster, secrets))
  process.stdout.write(`Submitting job to cluster: ${name}\n⚙︎ Job submitted, ID: ${id}\n`)
  if (faults.dieOnExec) setTimeout(() => killMachine(name), (faults.dieOnExec.afterSeconds ?? 1) * 1000)
  if (o['-d'] || o['--detach-run']) process.exit(0)
  process.on('SIGINT', () => process.exit(130))
  let offset = 0
  for (;;) {
    const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : ''
    if (text.length > offset) {
      process.stdout.write(text.slice(offset).replace(/^(?=.)/gm, `(task, pid=${process.pid}) `))
      offset = text.length
    }
    const now = getCluster(name)
    if (fs.existsSync(exit)) {
      const code = Number(fs.readFileSync(exit, 'utf8').trim())
      if (code !== 0) process.stdout.write(`ERROR: Job ${id} failed with return code list: [${code}]\n`)
      process.exit(code === 0 ? 0 : 100)
    }
    if (!now || now.dead) {
      process.stdout.write(`sky.exceptions.ClusterNotUpError: Cluster '${name}' with status INIT is not up. Job ${id} is lost.\n`)
      process.exit(100)
    }
    await sleep(200)
  }
}

function status(args) {
  const o = options(args, ['-o', '--output', '--endpoint'])
  const names = o.positional
  if (o['--endpoint'] !== undefined) {
    const c = getCluster(names[0])
    if (names.length !== 1 || !c) die(`ValueError: Querying endpoint port requires a single cluster to be specified, but ${names[0] === undefined ? 'No' : `'${names[0]}'`} cluster was not found.`)
    if (c.status !== 'UP' || c.dead) die(`RuntimeError: Cluster '${c.name}' is not in UP status.`)
    if (Number(o['--endpoint']) !== Number(c.port)) die(`Endpoint ${o['--endpoint']} not found for cluster '${c.name}'.`)
    process.stdout.write(`${c.ip}:${c.port}\n`)
    return
  }
  const records = allClusters().filter((c) => names.length === 0 || names.includes(c.name))
  if ((o['-o'] ?? o['--output']) === 'json') {
    process.stdout.write(`${JSON.stringify(records.map(statusRecord), null, 2)}\n`)
    return
  }
  process.stdout.write(records.length === 0 ? 'No existing clusters.\n' : records.map((c) => `${c.name}  ${c.cloudDisplay} (${c.region})  ${c.status}`).join('\n') + '\n')
}

function queue(args) {
  const o = options(args, ['-o', '--output'])
  const result = {}
  for (const name of o.positional) {
    const c = getCluster(name)
    if (!c || c.dead) {
      process.stdout.write(`Failed to get the job queue for cluster '${name}'.\n  sky.exceptions.ClusterNotUpError: Cluster '${name}' is not up.\n`)
      continue
    }
    result[name] = c.jobs.map((j) => ({job_id: j.job_id, job_name: j.job_id === 1 ? c.name : 'sky-cmd', username: 'standin', user_hash: 'abcd1234', submitted_at: j.submitted_at, resources: '1x[CPU:0.5]', status: jobStatus(c, j), log_path: `~/sky_logs/${j.job_id}`, metadata: {}}))
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
}

function logs(args) {
  const o = options(args, ['--tail'])
  const [name, job] = o.positional
  const c = getCluster(name)
  if (!c) die(`ValueError: Cluster '${name}' does not exist.`)
  const file = path.join(c.dir, 'jobs', `${job}.log`)
  const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : []
  process.stdout.write(`${lines.slice(-(Number(o['--tail'] ?? 0) || lines.length)).join('\n')}\n`)
}

function cancel(args) {
  const o = options(args, [])
  const [name, ...ids] = o.positional
  const c = getCluster(name)
  if (!c || c.dead) die(`sky.exceptions.ClusterNotUpError: Cluster '${name}' is not up.`)
  for (const job of c.jobs.filter((j) => ids.includes(String(j.job_id)))) {
    killGroup(job.pid, 'SIGTERM')
    job.cancelled = true
  }
  writeJson(clusterFile(name), c)
  process.stdout.write(`Cancelling jobs (${ids.join(', ')}) on cluster ${name}...\n`)
}

function down(args) {
  const o = options(args, [])
  const names = o['-a'] || o['--all'] ? allClusters().map((c) => c.name) : o.positional
  const found = names.filter((n) => getCluster(n))
  if (found.length === 0) {
    process.stdout.write('Cluster(s) not found (tip: see `sky status`).\n')
    return
  }
  if (faults.downFails) die(`Terminating cluster ${found[0]}...failed.\nReason: stand-in fault: the provider refused to terminate.`, 1)
  for (const name of found) {
    const c = getCluster(name)
    for (const job of c.jobs) killGroup(job.pid)
    if (c.requestPid && alive(c.requestPid)) killGroup(c.requestPid)
    fs.rmSync(c.dir, {recursive: true, force: true})
    fs.rmSync(path.join(root, 'ips', c.ip.split('.')[3]), {recursive: true, force: true})
    fs.rmSync(clusterFile(name), {force: true})
    process.stdout.write(`Terminating cluster ${name}...done.\n`)
  }
}

function api(args) {
  const [sub, ...rest] = args
  if (sub !== 'cancel') die(`Error: No such command '${sub}'.`, 2)
  const o = options(rest, [])
  const request = findRequest(o.positional[0] ?? '')
  if (!request || !['PENDING', 'RUNNING'].includes(request.status)) {
    process.stdout.write('No requests need to be cancelled.\n')
    return
  }
  if (request.pid) killGroup(request.pid)
  request.status = 'CANCELLED'
  writeJson(requestFile(request.id), request)
  process.stdout.write(`Cancelled 1 request: ${request.id}\n`)
}

function gpus(args) {
  const [sub, ...rest] = args
  if (sub !== 'list') die(`Error: No such command '${sub}'.`, 2)
  const o = options(rest, ['--infra', '-o', '--output'])
  const [name, countText] = (o.positional[0] ?? '').split(':')
  const infra = o['--infra'] ? o['--infra'].split('/')[0].toLowerCase() : null
  const result = {}
  for (const r of catalogRows()) {
    if (name && !new RegExp(name, 'i').test(r.AcceleratorName)) continue
    if (countText && Number(r.AcceleratorCount) !== Number(countText)) continue
    if (infra && r.cloud !== infra) continue
    const key = r.AcceleratorName
    result[key] ??= []
    // --all-regions: one row per instance type and region (sky/catalog/common.py list_accelerators_impl).
    if (result[key].some((i) => i.instance_type === r.InstanceType && i.region === r.Region)) continue
    result[key].push({cloud: r.display, instance_type: r.InstanceType, accelerator_name: r.AcceleratorName, accelerator_count: Number(r.AcceleratorCount), cpu_count: Number(r.vCPUs), device_memory: 80, memory: Number(r.MemoryGiB), price: Number(r.Price), spot_price: r.SpotPrice === '' ? null : Number(r.SpotPrice), region: r.Region})
  }
  if ((o['-o'] ?? o['--output']) !== 'json') die('stand-in sky: gpus list supports -o json only', 2)
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
}

const [command, ...args] = argv
switch (command) {
  case '--version':
  case '-v':
    // click.version_option(sky.__version__, prog_name='skypilot'); the stand-in follows commit 93a24d47.
    process.stdout.write('skypilot, version 1.0.0-dev0 (stand-in)\n')
    break
  case 'launch':
    await launch(args)
    break
  case '__launch-worker':
    await launchWorker(args[0])
    break
  case 'exec':
    await exec(args)
    break
  case 'status':
    status(args)
    break
  case 'queue':
    queue(args)
    break
  case 'logs':
    logs(args)
    break
  case 'cancel':
    cancel(args)
    break
  case 'down':
    down(args)
    break
  case 'api':
    api(args)
    break
  case 'gpus':
    gpus(args)
    break
  default:
    die(`Usage: sky [OPTIONS] COMMAND [ARGS]...\nTry 'sky -h' for help.\n\nError: No such command '${command}'.`, 2)
}
