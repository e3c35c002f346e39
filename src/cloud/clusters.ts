import {UserError} from '../errors/errors.js'
import {instanceTypeFrom, type Sky, skyReason, type StatusRecord} from './sky.js'

/** Every cluster owbench launches is named `owbench-<gpu>-<run id>`: that name is its tag. */
export const CLUSTER_PREFIX = 'owbench-'

export interface OwbenchCluster {
  name: string
  status: string
  cloud: string | null
  region: string | null
  instanceType: string | null
  launchedAt: string | null
  /** Minutes of SkyPilot's autostop, and whether it tears down. */
  autostopMin: number | null
  autodown: boolean
}

/** `owbench cloud ls`: the clusters in `sky status` that owbench started. */
export async function listOwbenchClusters(sky: Sky): Promise<OwbenchCluster[]> {
  return (await sky.status([])).filter((r) => r.name.startsWith(CLUSTER_PREFIX)).map(describe)
}

function describe(r: StatusRecord): OwbenchCluster {
  return {
    name: r.name,
    status: r.status,
    cloud: r.cloud ?? null,
    region: r.region ?? null,
    instanceType: instanceTypeFrom(r.resources_str_full),
    launchedAt: typeof r.launched_at === 'number' ? new Date(r.launched_at * 1000).toISOString() : null,
    autostopMin: typeof r.autostop === 'number' && r.autostop >= 0 ? r.autostop : null,
    autodown: r.to_down === true,
  }
}

/**
 * `owbench cloud down NAME... | --all`: tears down clusters owbench started (never another one),
 * then checks `sky status` no longer lists them.
 */
export async function downOwbenchClusters(sky: Sky, names: string[], all: boolean): Promise<{downed: string[]; remaining: string[]}> {
  if (!all && names.length === 0) throw new UserError('name the clusters to tear down, or pass --all', 'see `owbench cloud ls`')
  for (const name of names) {
    if (!name.startsWith(CLUSTER_PREFIX)) throw new UserError(`"${name}" is not a cluster owbench started (their names start with ${CLUSTER_PREFIX})`, `tear it down with SkyPilot itself: sky down ${name}`)
  }
  const existing = (await listOwbenchClusters(sky)).map((c) => c.name)
  const targets = all ? existing : names.filter((n) => existing.includes(n))
  const unknown = all ? [] : names.filter((n) => !existing.includes(n))
  if (unknown.length > 0) throw new UserError(`no cluster named ${unknown.join(', ')}`, 'see `owbench cloud ls`')
  if (targets.length === 0) return {downed: [], remaining: []}
  const result = await sky.down(targets)
  const remaining = (await sky.status(targets)).map((r) => r.name)
  if (result.code !== 0 || remaining.length > 0) {
    throw new UserError(`teardown not confirmed for ${remaining.length > 0 ? remaining.join(', ') : targets.join(', ')}: ${skyReason(result)}`, `retry with \`owbench cloud down ${targets.join(' ')}\` or \`sky down ${targets.join(' ')}\`; check your cloud console`)
  }
  return {downed: targets, remaining}
}
