import {createHash} from 'node:crypto'
import {median} from 'simple-statistics'
import {z} from 'zod'
import type {ResultFile, SummaryRow, Target} from '../results/schema.js'
import {energyFigure} from '../report/rows.js'

/**
 * The leaderboard's unit: one target of one published result, with the few figures a board
 * shows, each taken from a named test of the result's summary (so a reader can find it in the
 * result page). Boards hold one model under one exact suite version: figures of different suite
 * versions are never in the same table, so never ranked against each other.
 */
export interface SiteEntry {
  /** Page id of the result (results/<id>.html). */
  resultId: string
  target: string
  board: string
  group: string
  model: string
  quantization: string
  /** First 12 hex of the model file's sha256, or "api" for an endpoint's model. */
  modelHash: string
  suite: string
  suiteSha: string
  hardware: string
  backend: string
  /** YYYY-MM-DD of the run. */
  date: string
  state: ResultFile['state']
  host: string
  tg?: number
  pp?: number
  ttftMs?: number
  energy?: {jPerToken: number; boundary: string; method: string}
  cost?: {perMtok: number; basis: 'owned' | 'rental' | 'hosted'; money: string}
}

/** The tests a board's columns come from: the first of each kind in the suite, at concurrency 1. */
export interface BoardTests {
  tg?: string
  pp?: string
  ttft?: string
}

export interface Board {
  id: string
  model: string
  quantization: string
  modelHash: string
  suite: string
  suiteSha: string
  tests: BoardTests
  groups: Group[]
}

/** Results of one model, suite version, hardware and backend: repeated runs of one configuration. */
export interface Group {
  id: string
  board: string
  hardware: string
  backend: string
  entries: SiteEntry[]
  /** Medians over the group's results. */
  tg?: number
  pp?: number
  ttftMs?: number
  energy?: {jPerToken: number; boundary: string; method: string; n: number}
  cost?: {perMtok: number; basis: string; money: string; n: number}
  latest: string
  partial: number
}

export function boardTests(result: ResultFile): BoardTests {
  const single = result.summary.filter((s) => s.concurrency === 1 && s.rate === undefined)
  return {
    tg: single.find((s) => s.kind === 'tg')?.test,
    pp: single.find((s) => s.kind === 'pp')?.test,
    ttft: single.find((s) => (s.kind === 'chat' || s.kind === 'pg') && s.metrics.ttft_ms)?.test,
  }
}

export function siteEntries(result: ResultFile, resultId: string, tests: BoardTests = boardTests(result)): SiteEntry[] {
  const suite = `${result.suite.name} ${result.suite.version}`
  return result.targets.map((target) => {
    const rows = result.summary.filter((s) => s.target === target.id && s.concurrency === 1 && s.rate === undefined)
    const row = (test: string | undefined): SummaryRow | undefined => (test ? rows.find((s) => s.test === test) : undefined)
    const model = modelOf(target)
    const hardware = hardwareOf(result, target)
    const backend = target.kind === 'local' ? `${target.engine.backend.toUpperCase()}${target.engine.build === 'localBuild' ? ' (local build)' : ''}` : `HTTP ${target.endpoint.api}`
    const board = digest(`${model.key}\n${result.suite.name}\n${result.suite.version}\n${result.suite.sha256}`)
    const tgRow = row(tests.tg)
    const energy = tgRow ? energyFigure(tgRow) : undefined
    const entry: SiteEntry = {
      resultId,
      target: target.id,
      board,
      group: digest(`${board}\n${hardware}\n${backend}`),
      model: model.name,
      quantization: model.quantization,
      modelHash: target.kind === 'local' ? target.model.sha256.slice(0, 12) : 'api',
      suite,
      suiteSha: result.suite.sha256.slice(0, 12),
      hardware,
      backend,
      date: result.createdAt.slice(0, 10),
      state: result.state,
      host: result.host.hostname,
      tg: tgRow?.metrics.tokens_per_second?.mean,
      pp: row(tests.pp)?.metrics.tokens_per_second?.mean,
      ttftMs: row(tests.ttft)?.metrics.ttft_ms?.median,
    }
    if (energy) entry.energy = energy
    const cost = storedCost(result, target.id)
    if (cost) entry.cost = cost
    return entry
  })
}

function modelOf(target: Target): {key: string; name: string; quantization: string} {
  if (target.kind === 'endpoint') return {key: `api:${target.endpoint.model}`, name: target.endpoint.model, quantization: 'as served'}
  const m = target.model
  const quantization = m.quantization ?? 'unknown'
  return {key: `gguf:${m.sha256}:${quantization}`, name: m.name ?? m.fileName, quantization}
}

/** What did the work: the GPUs a GPU backend used, the CPU otherwise; for an endpoint, its host. */
function hardwareOf(result: ResultFile, target: Target): string {
  if (target.kind === 'endpoint') {
    const host = new URL(target.endpoint.baseUrl).hostname
    return host === 'private-host' ? 'endpoint (private host)' : `endpoint ${host}`
  }
  const cpu = `${result.host.cpu.manufacturer} ${result.host.cpu.brand} (${result.host.cpu.physicalCores} cores)`
  if (target.engine.backend === 'cpu' || target.settings.gpuLayers === 0) return cpu
  const gpus = target.engine.gpuDevices.length > 0 ? target.engine.gpuDevices : result.host.gpus.map((g) => g.model)
  return gpus.length > 0 ? gpus.join(' + ') : cpu
}

// Only the fields a board shows are read from the stored cost (it is typed loosely in the result file).
const Money = z.object({amount: z.number(), currency: z.string()})
const StoredCost = z.object({
  money: z.string(),
  targets: z.array(
    z.object({
      measurement: z.object({target: z.string()}),
      owned: z.object({totalPerMtok: Money}).optional(),
      rental: z.object({perMtok: Money}).optional(),
      hosted: z.object({perMtokOutput: Money.optional(), perMtokTotal: Money}).optional(),
    }),
  ),
})

function storedCost(result: ResultFile, target: string): SiteEntry['cost'] {
  const parsed = StoredCost.safeParse(result.cost)
  if (!parsed.success) return undefined
  const t = parsed.data.targets.find((c) => c.measurement.target === target)
  if (!t) return undefined
  const money = parsed.data.money
  if (t.owned) return {perMtok: t.owned.totalPerMtok.amount, basis: 'owned', money}
  if (t.rental) return {perMtok: t.rental.perMtok.amount, basis: 'rental', money}
  if (t.hosted) return {perMtok: (t.hosted.perMtokOutput ?? t.hosted.perMtokTotal).amount, basis: 'hosted', money}
  return undefined
}

/**
 * Boards (model × suite version) of groups (hardware × backend), each group's figures the median
 * over its results. Energy is summarized only over results at the group's most common boundary,
 * and cost only over the most common money basis, so a median never mixes units.
 */
export function buildBoards(entries: readonly SiteEntry[], testsOf: (entry: SiteEntry) => BoardTests): Board[] {
  const boards = new Map<string, Board>()
  const groups = new Map<string, Group>()
  for (const entry of entries) {
    let board = boards.get(entry.board)
    if (!board) {
      board = {id: entry.board, model: entry.model, quantization: entry.quantization, modelHash: entry.modelHash, suite: entry.suite, suiteSha: entry.suiteSha, tests: testsOf(entry), groups: []}
      boards.set(entry.board, board)
    }
    let group = groups.get(entry.group)
    if (!group) {
      group = {id: entry.group, board: entry.board, hardware: entry.hardware, backend: entry.backend, entries: [], latest: entry.date, partial: 0}
      groups.set(entry.group, group)
      board.groups.push(group)
    }
    group.entries.push(entry)
  }
  for (const group of groups.values()) summarizeGroup(group)
  const out = [...boards.values()]
  for (const board of out) board.groups.sort((a, b) => (b.tg ?? -1) - (a.tg ?? -1) || a.hardware.localeCompare(b.hardware))
  return out.sort((a, b) => a.model.localeCompare(b.model) || a.suite.localeCompare(b.suite) || a.id.localeCompare(b.id))
}

function summarizeGroup(group: Group): void {
  const es = group.entries
  const med = (values: (number | undefined)[]): number | undefined => {
    const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x))
    return v.length > 0 ? median(v) : undefined
  }
  group.tg = med(es.map((e) => e.tg))
  group.pp = med(es.map((e) => e.pp))
  group.ttftMs = med(es.map((e) => e.ttftMs))
  group.latest = es.map((e) => e.date).sort().at(-1)!
  group.partial = es.filter((e) => e.state !== 'completed').length
  const boundary = mostCommon(es.flatMap((e) => (e.energy ? [e.energy.boundary] : [])))
  if (boundary) {
    const at = es.flatMap((e) => (e.energy?.boundary === boundary ? [e.energy] : []))
    group.energy = {jPerToken: median(at.map((e) => e.jPerToken)), boundary, method: at.some((e) => e.method === 'estimated') ? 'estimated' : 'measured', n: at.length}
  }
  const basis = mostCommon(es.flatMap((e) => (e.cost ? [`${e.cost.basis}\n${e.cost.money}`] : [])))
  if (basis) {
    const at = es.flatMap((e) => (e.cost && `${e.cost.basis}\n${e.cost.money}` === basis ? [e.cost] : []))
    group.cost = {perMtok: median(at.map((c) => c.perMtok)), basis: at[0]!.basis, money: at[0]!.money, n: at.length}
  }
}

function mostCommon(values: readonly string[]): string | undefined {
  const counts = new Map<string, number>()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  let best: string | undefined
  for (const [v, n] of counts) if (best === undefined || n > counts.get(best)!) best = v
  return best
}

export function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16)
}
