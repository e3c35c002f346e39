import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {installFakeTools} from '../../power/helpers/fake-tools.js'
import {recorded} from '../../power/helpers/fixtures.js'
import {repoRoot} from '../cli.js'

const here = path.dirname(fileURLToPath(import.meta.url))

/** How the stand-in clouds fail (read by sky.mjs from faults.json at every call). */
export interface SkyFaults {
  /** Instance types with no capacity anywhere; '*' for all. */
  noCapacity?: string[]
  /** Clouds the user enabled (`sky check`); the optimizer only picks among them. */
  enabledClouds?: string[]
  /** The provider never finishes provisioning. */
  hangProvisioning?: boolean
  provisionSeconds?: number
  /** The machine dies this long after a `sky exec` job starts. */
  dieOnExec?: {afterSeconds: number}
  /** `sky down` fails. */
  downFails?: boolean
}

export interface SkyStandin {
  /** Environment for owbench: the stand-in `sky` and `ssh` first on PATH, a home with SkyPilot's catalog. */
  env: NodeJS.ProcessEnv
  root: string
  setFaults: (faults: SkyFaults) => void
  /** Every `sky` invocation, in order. */
  calls: () => string[][]
  /** Clusters in the stand-in's state. */
  clusters: () => string[]
  /** Processes of the stand-in machines' jobs still alive (none after every teardown). */
  livePids: () => number[]
  /** Tears down whatever a failed test left, so no llama-server outlives it. */
  cleanup: () => void
}

/** A process group with a member that is not a zombie (a killed process stays one until reaped). */
function groupAlive(pgid: number): boolean {
  return fs.readdirSync('/proc').some((entry) => {
    if (!/^\d+$/.test(entry)) return false
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return state !== 'Z' && Number(pgrp) === pgid
    } catch {
      return false
    }
  })
}

/**
 * Puts the stand-in `sky` and `ssh` on PATH in a fresh directory: the test's home holds SkyPilot's
 * catalog (fixtures/skypilot/catalogs), the machines get the llama.cpp server image emulated by the
 * real llama-server built from the bundled source (scripts/build-llama-cpp.sh) and an nvidia-smi
 * replaying a recorded H100 under load (fixtures/power/recorded).
 */
export function installSkyStandin(dir: string): SkyStandin {
  const bin = path.join(dir, 'bin')
  const root = path.join(dir, 'sky-root')
  const home = path.join(dir, 'home')
  const tools = path.join(dir, 'machine-tools')
  fs.mkdirSync(bin, {recursive: true})
  fs.mkdirSync(root, {recursive: true})
  const catalog = path.join(home, '.sky', 'catalogs', 'v8', 'lambda')
  fs.mkdirSync(catalog, {recursive: true})
  fs.copyFileSync(path.join(repoRoot, 'fixtures', 'skypilot', 'catalogs', 'v8', 'lambda', 'vms.csv'), path.join(catalog, 'vms.csv'))
  fs.utimesSync(path.join(catalog, 'vms.csv'), new Date('2026-11-20T08:00:00Z'), new Date('2026-11-20T08:00:00Z'))
  for (const name of ['sky', 'ssh']) {
    fs.writeFileSync(path.join(bin, name), `#!/bin/sh\nexec "${process.execPath}" "${path.join(here, `${name}.mjs`)}" "$@"\n`, {mode: 0o755})
  }
  installFakeTools(tools)
  const llamaBin = execFileSync('bash', [path.join(repoRoot, 'scripts', 'build-llama-cpp.sh'), 'native', 'llama-server'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']}).trim()
  fs.writeFileSync(
    path.join(root, 'config.json'),
    JSON.stringify({
      llamaServer: path.join(llamaBin, 'llama-server'),
      toolsBin: tools,
      toolsEnv: {FAKE_NVSMI_GPUS: recorded('nvidia-smi', 'query-gpu-csv', 'linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load.csv')},
      npmCache: path.join(os.homedir(), '.npm'),
    }),
  )
  const readClusters = () => {
    const d = path.join(root, 'clusters')
    return fs.existsSync(d) ? fs.readdirSync(d).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)) : []
  }
  const pids = () => {
    const d = path.join(root, 'clusters')
    if (!fs.existsSync(d)) return []
    return fs.readdirSync(d).flatMap((f) => (JSON.parse(fs.readFileSync(path.join(d, f), 'utf8')) as {jobs: {pid: number}[]}).jobs.map((j) => j.pid))
  }
  const env = {PATH: `${bin}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}/usr/local/bin${path.delimiter}/usr/bin${path.delimiter}/bin`, HOME: home, SKY_STANDIN_HOME: root}
  return {
    env,
    root,
    setFaults: (faults) => fs.writeFileSync(path.join(root, 'faults.json'), JSON.stringify(faults)),
    calls: () => (fs.existsSync(path.join(root, 'calls.log')) ? fs.readFileSync(path.join(root, 'calls.log'), 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as string[]) : []),
    clusters: readClusters,
    livePids: () => {
      const file = path.join(root, 'pids.log')
      if (!fs.existsSync(file)) return []
      const groups = fs.readFileSync(file, 'utf8').trim().split('\n').filter((l) => l !== '').map(Number)
      return groups.filter(groupAlive)
    },
    cleanup: () => {
      for (const pid of pids()) {
        try {
          process.kill(-pid, 'SIGKILL')
        } catch {
          // gone
        }
      }
      const names = readClusters()
      if (names.length > 0) execFileSync(path.join(bin, 'sky'), ['down', ...names, '-y'], {env: {...process.env, ...env}, stdio: 'ignore'})
    },
  }
}
