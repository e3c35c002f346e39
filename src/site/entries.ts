import {createHash} from 'node:crypto'
import {median} from 'simple-statistics'
import {deriveResult} from '../derive/derive.js'
import {compareLoads, type Load, loadLabel} from '../results/load.js'
import type {ResultCosts} from '../results/cost-schema.js'
import type {ResultFile, Target} from '../results/schema.js'
import type {Cell} from '../results/summary-schema.js'
import {shortText} from '../report/labels.js'
import {paretoSeries} from '../derive/pareto.js'
import {endpointHost, groupKey, groupSettings} from './group-key.js'

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
  /** An endpoint target's identity: its host as the site shows it (redacted), the API its tests used, and the server software when /v1/models named it. */
  endpoint?: {host: string; api: 'completions' | 'chat'; server?: string}
  suite: string
  suiteSha: string
  hardware: string
  backend: string
  /** The other settings of the group key (threads, batch, ..., load level). */
  settings: string
  /** The settings without the load level (empty for an endpoint): what the target's frontier series, spanning its levels, is named by. */
  configuration: string
  /** YYYY-MM-DD of the run. */
  date: string
  state: ResultFile['state']
  host: string
  tg?: number
  /** Why tg is absent: the board's tg test stopped short of its length (n_out of n_asked, finish reason), so it is not a tg figure. */
  tgShort?: string
  pp?: number
  ttftMs?: number
  energy?: SiteEnergy
  /** The tg test's J/token is missing although it was measured: its code (a validity code when the readings failed their checks) and reason. */
  energyMissing?: {code: string; reason: string}
  cost?: {perMtok: number; basis: 'owned' | 'rental' | 'hosted'; money: string}
  /** The tg test's share of the bandwidth limit (speed of light), as the derivation gives it. */
  bandwidth?: {percent: number; achievedGBs: number; limitGBs: number; limit: string; implausible: boolean}
  /** The target's Pareto points (one test over its load levels), for the board's frontier page. */
  pareto?: {test: string; points: {load: string; perUserTps: number; totalTps: number}[]}
  /** How the target was measured, where a reader must know: protocol fallbacks, ignore_eos not sent or not honoured. */
  notes?: string[]
}

/** J/token of the board's tg test as the derivation gives it; `high` is a hosted model's high end (jPerToken its low end). */
export interface SiteEnergy {
  jPerToken: number
  high?: number
  boundary: string
  method: string
  /** The boundary covers only some of its devices: which are left out ('covers 1 of 2 GPUs; not ...'). */
  partial?: string
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
  settings: string
  entries: SiteEntry[]
  /** Medians over the group's results. */
  tg?: number
  pp?: number
  ttftMs?: number
  energy?: SiteEnergy & {n: number}
  /** Results of the group whose tg J/token is missing: their codes (each once) and how many. */
  energyMissing?: {codes: string[]; n: number}
  cost?: {perMtok: number; basis: string; money: string; n: number}
  /** Median over its results of the tg test's % of the bandwidth limit. */
  bandwidthPercent?: number
  latest: string
  partial: number
  /** Results whose tg test stopped short of its length (no tg figure). */
  short: number
}

/** The load level a board's figures come from: one request at a time where measured, else the lightest level. */
function boardLoad(cells: readonly Cell[]): Load | undefined {
  return [...cells.map((c) => c.load)].sort(compareLoads)[0]
}

export function boardTests(result: ResultFile): BoardTests {
  const cells = deriveResult(result).cells
  const load = boardLoad(cells)
  const at = cells.filter((c) => load && loadLabel(c.load) === loadLabel(load))
  return {
    tg: at.find((s) => s.kind === 'tg')?.test,
    pp: at.find((s) => s.kind === 'pp')?.test,
    ttft: at.find((s) => (s.kind === 'chat' || s.kind === 'pg') && s.metrics.ttft_ms?.requests)?.test,
  }
}

/** One entry per target, its figures read from the derivation (and the cost, derived from the result's cost inputs, when given). */
export function siteEntries(result: ResultFile, resultId: string, tests: BoardTests = boardTests(result), costs?: ResultCosts): SiteEntry[] {
  const suite = `${result.suite.name} ${result.suite.version}`
  const derived = deriveResult(result)
  return result.targets.map((target) => {
    const own = derived.cells.filter((c) => c.target === target.id)
    const load = boardLoad(own) ?? {mode: 'concurrency', level: 1}
    const cells = own.filter((c) => loadLabel(c.load) === loadLabel(load))
    const cell = (test: string | undefined): Cell | undefined => (test ? cells.find((s) => s.test === test) : undefined)
    const model = modelOf(target)
    const group = groupSettings(result, target, load)
    const board = digest(`${model.key}\n${result.suite.name}\n${result.suite.version}\n${result.suite.sha256}`)
    const tgCell = cell(tests.tg)
    const entry: SiteEntry = {
      resultId,
      target: target.id,
      board,
      group: digest(groupKey(board, group)),
      model: model.name,
      quantization: model.quantization,
      modelHash: target.kind === 'local' ? target.model.sha256.slice(0, 12) : 'api',
      suite,
      suiteSha: result.suite.sha256.slice(0, 12),
      hardware: group.hardware,
      backend: group.backend,
      settings: group.settings,
      configuration: group.configuration,
      date: result.createdAt.slice(0, 10),
      state: result.state,
      host: result.host.hostname,
      tg: tgCell?.metrics.tokens_per_second?.repetitions?.mean,
      pp: cell(tests.pp)?.metrics.tokens_per_second?.repetitions?.mean,
      ttftMs: cell(tests.ttft)?.metrics.ttft_ms?.requests?.median,
    }
    if (target.kind === 'endpoint') entry.endpoint = {host: endpointHost(target), api: target.endpoint.api, ...(target.endpoint.ownedBy ? {server: target.endpoint.ownedBy} : {})}
    if (tgCell?.shortOutputs) entry.tgShort = shortText(tgCell.shortOutputs)
    const notes = derived.targets.find((t) => t.target === target.id)?.notes ?? []
    if (notes.length > 0) entry.notes = notes
    const e = tgCell?.energy
    if (e?.status === 'metered') entry.energy = {jPerToken: e.jPerToken, boundary: e.boundary, method: e.method, ...(e.partial ? {partial: e.partial} : {})}
    if (e?.status === 'modelled') entry.energy = {jPerToken: e.low, high: e.high, boundary: e.boundary, method: `${e.method}: hosted model`}
    // A run without any meter has nothing to be missing; one whose figure failed its checks says why.
    if (e?.status === 'missing' && tgCell!.completed > 0 && e.code !== 'no-power') entry.energyMissing = {code: e.code, reason: e.reason}
    const cost = costs ? costEntry(costs, target.id) : undefined
    if (cost) entry.cost = cost
    const sol = tgCell?.speedOfLight
    if (sol?.status === 'ok') entry.bandwidth = {percent: sol.percent, achievedGBs: sol.achievedGBs, limitGBs: sol.limit.gbs, limit: `${sol.limit.label}${sol.limit.source === 'probe' ? ', measured' : ''}`, implausible: sol.implausible}
    const series = paretoSeries(derived).find((p) => p.target === target.id)
    const points = (series?.points ?? []).flatMap((p) => (p.perUserTps !== undefined && p.totalTps !== undefined ? [{load: loadLabel(p.load), perUserTps: p.perUserTps, totalTps: p.totalTps}] : []))
    if (series && points.length > 0) entry.pareto = {test: series.test, points}
    return entry
  })
}

function modelOf(target: Target): {key: string; name: string; quantization: string} {
  if (target.kind === 'endpoint') return {key: `api:${target.endpoint.model}`, name: target.endpoint.model, quantization: 'as served'}
  const m = target.model
  const quantization = m.quantization ?? 'unknown'
  return {key: `gguf:${m.sha256}:${quantization}`, name: m.name ?? m.fileName, quantization}
}

function costEntry(costs: ResultCosts, target: string): SiteEntry['cost'] {
  const t = costs.targets.find((c) => c.measurement.target === target)
  if (!t) return undefined
  if (t.owned) return {perMtok: t.owned.totalPerMtok.amount, basis: 'owned', money: costs.money}
  if (t.rental) return {perMtok: t.rental.perMtok.amount, basis: 'rental', money: costs.money}
  if (t.hosted) return {perMtok: (t.hosted.perMtokOutput ?? t.hosted.perMtokTotal).amount, basis: 'hosted', money: costs.money}
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
      group = {id: entry.group, board: entry.board, hardware: entry.hardware, backend: entry.backend, settings: entry.settings, entries: [], latest: entry.date, partial: 0, short: 0}
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
  group.bandwidthPercent = med(es.map((e) => e.bandwidth?.percent))
  group.latest = es.map((e) => e.date).sort().at(-1)!
  group.partial = es.filter((e) => e.state !== 'completed').length
  group.short = es.filter((e) => e.tgShort).length
  // Medians only over figures obtained the same way (boundary, method, and the same devices left
  // out): a model's range is never averaged with a meter, nor a partial figure with a whole one.
  const way = (e: SiteEnergy) => `${e.boundary}\n${e.method}\n${e.partial ?? ''}`
  const how = mostCommon(es.flatMap((e) => (e.energy ? [way(e.energy)] : [])))
  if (how) {
    const at = es.flatMap((e) => (e.energy && way(e.energy) === how ? [e.energy] : []))
    const highs = at.flatMap((e) => (e.high === undefined ? [] : [e.high]))
    const first = at[0]!
    group.energy = {jPerToken: median(at.map((e) => e.jPerToken)), ...(highs.length === at.length ? {high: median(highs)} : {}), boundary: first.boundary, method: first.method, ...(first.partial ? {partial: first.partial} : {}), n: at.length}
  }
  const missing = es.flatMap((e) => (e.energyMissing ? [e.energyMissing.code] : []))
  if (missing.length > 0) group.energyMissing = {codes: [...new Set(missing)], n: missing.length}
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
