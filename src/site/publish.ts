import {readFileSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import path from 'node:path'
import {type Comparison, type CompareMetric, compareResults, sidesOf, type SideChoice} from '../compare/compare.js'
import {isUserError, UserError} from '../errors/errors.js'
import {chartJsPath, esc} from '../report/html.js'
import {resultJsonSchema} from '../results/json-schema.js'
import {readResult} from '../results/io.js'
import type {ResultFile} from '../results/schema.js'
import {owbenchVersion} from '../system/version.js'
import {dropDuplicates, listResultFiles} from './collect.js'
import {type PreparedResult, resultPagePaths, type SkippedFile} from './prepare.js'
import {prepareAll} from './prepare-pool.js'
import {type Board, type BoardTests, buildBoards, type SiteEntry} from './entries.js'
import {type BranchCommit, commitDirToBranch} from './git-branch.js'
import {comparePage, type CompareLink, frontierPage, groupPage, indexPage} from './pages.js'
import {redactionContext, redactResult} from './redact.js'
import {SITE_INDEX_VERSION, type SiteIndex, siteIndexJsonSchema} from './site-index.js'
import {openSiteDir, type SiteFile, writeSite, type WriteSummary} from './site-files.js'

export interface PublishOptions {
  /** Result files and directories (searched recursively for *.json). */
  inputs: readonly string[]
  out: string
  baseUrl?: string
  includeHost?: boolean
  force?: boolean
  /** Publish results faster than their memory bandwidth allows (otherwise skipped with the reason). */
  allowImplausible?: boolean
  /** Pairs of result files, each side with its target and load level when a file has several, to give a comparison page each (they are published too). */
  compare?: readonly (readonly [CompareFile, CompareFile])[]
  /** Commit the site as the whole tree of this branch of the repository in cwd (no push). */
  git?: string
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Warnings (skipped files, duplicates) as they happen. */
  warn?: (line: string) => void
}

/** One side of a published comparison: `a.json#local@c1` is file a.json, target local, load level c1. */
export interface CompareFile extends SideChoice {
  file: string
}

export interface PublishSummary {
  out: string
  results: number
  skipped: {file: string; reason: string}[]
  duplicates: {file: string; keptFile: string; why: string}[]
  boards: number
  groups: number
  comparisons: number
  files: WriteSummary
  git?: BranchCommit
}

const COMPARE_METRICS: CompareMetric[] = ['tg', 'pp', 'ttft', 'j_per_token']

/**
 * Results to a static site: collect (skipping corrupt files, dropping duplicates), redact what a
 * user did not mean to publish, group into boards, render, and write only what changed.
 */
export async function publishSite(options: PublishOptions): Promise<PublishSummary> {
  const warn = options.warn ?? (() => {})
  const baseUrl = options.baseUrl === undefined ? undefined : normalizeBaseUrl(options.baseUrl)
  const previous = await openSiteDir(options.out, options.force ?? false)
  const compareFiles = (options.compare ?? []).flat().map((c) => c.file)
  const files = await listResultFiles([...options.inputs, ...compareFiles.filter((f) => !isUnder(f, options.inputs))], {exclude: [options.out]})
  const context = redactionContext({includeHost: options.includeHost, env: options.env})
  // One target and one load level a side, for every metric of a comparison page: an ambiguous side
  // stops the publish with its choices before anything is written.
  const pairs = await Promise.all(
    (options.compare ?? []).map(async ([sideA, sideB]) => {
      const [ra, rb] = await Promise.all([sideA, sideB].map(async (side) => redactResult(await readResult(side.file), context)))
      return {sideA, sideB, ra: ra!, rb: rb!, sides: sidesOf(ra!, rb!, [sideA, sideB], [sideA.file, sideB.file])}
    }),
  )
  const previousKeys = new Map(Object.entries(previous?.files ?? {}).flatMap(([file, entry]) => (entry.key ? [[file, entry.key] as const] : [])))
  const prepared = await prepareAll(files, {context, out: options.out, previousKeys, allowImplausible: options.allowImplausible ?? false})
  const skipped = prepared.filter((p): p is SkippedFile => 'reason' in p)
  for (const s of skipped) warn(`skipped ${s.file}: ${s.reason}`)
  const {kept, dropped, duplicates} = dropDuplicates(prepared.filter((p): p is PreparedResult => !('reason' in p)))
  for (const d of duplicates) warn(`skipped ${d.file}: ${d.why} of ${d.keptFile}`)
  if (kept.length === 0) {
    throw new UserError(`no usable result files in ${options.inputs.join(', ')}${skipped.length > 0 ? ` (${skipped.length} skipped)` : ''}`, 'pass result files or directories written by `owbench run`')
  }
  const published = kept.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
  const testsByResult = new Map<string, BoardTests>(published.map((p) => [p.id, p.tests]))
  const boards = buildBoards(
    published.flatMap((p) => p.entries),
    (e) => testsByResult.get(e.resultId)!,
  )

  const siteFiles: SiteFile[] = []
  const compareLinks: CompareLink[] = []
  for (const {sideA, sideB, ra, rb, sides} of pairs) {
    const [a, b] = [findPreparedResult(published, duplicates, sideA.file), findPreparedResult(published, duplicates, sideB.file)]
    const [la, lb] = [describe(a), describe(b)]
    const suffix = sides.map((s) => `${s.target}-${s.load}`).join('-vs-').replace(/[^A-Za-z0-9._-]+/g, '_')
    const href = `compare/${a.id}-vs-${b.id}-${suffix}.html`
    compareLinks.push({href, title: `${la} (${sides[0].target} @${sides[0].load}) vs ${lb} (${sides[1].target} @${sides[1].load})`, a: a.id, b: b.id, sides})
    siteFiles.push({path: href, content: comparePage({resultId: a.id, label: la, ...sides[0]}, {resultId: b.id, label: lb, ...sides[1]}, comparisonsOf(ra, rb, [la, lb], [sides[0], sides[1]]))})
  }
  for (const p of published) {
    const [html, json] = resultPagePaths(p.id)
    siteFiles.push({path: html, key: p.key, writtenSha256: p.written?.html}, {path: json, key: p.key, writtenSha256: p.written?.json})
  }
  for (const board of boards) for (const group of board.groups) siteFiles.push({path: `groups/${group.id}.html`, content: groupPage(board, group)})
  boards.forEach((board, i) => {
    // Numbered as the index numbers its boards, so its link needs no lookup.
    const frontier = frontierPage(board)
    if (frontier) siteFiles.push({path: `frontiers/${i}.html`, content: frontier})
  })
  siteFiles.push(
    {path: 'index.html', content: indexPage(boards, compareLinks, {owbenchVersion, results: published.length, baseUrl})},
    {path: 'results.json', content: `${JSON.stringify(siteIndex(published, boards, compareLinks, baseUrl))}\n`},
    {path: 'schema/result.schema.json', content: `${JSON.stringify(resultJsonSchema(), null, 2)}\n`},
    {path: 'schema/site-index.schema.json', content: `${JSON.stringify(siteIndexJsonSchema(), null, 2)}\n`},
    {path: 'assets/chart.umd.min.js', content: readFileSync(chartJsPath())},
    // GitHub Pages would otherwise run the site through Jekyll first.
    {path: '.nojekyll', content: ''},
  )
  if (baseUrl) siteFiles.push({path: 'sitemap.xml', content: sitemap(baseUrl, siteFiles.filter((f) => f.path.endsWith('.html')).map((f) => f.path))})

  const written = await writeSite(options.out, siteFiles, previous)
  // A dropped checkpoint's pages were written while preparing; no manifest lists them.
  const keptIds = new Set(published.map((p) => p.id))
  for (const d of dropped) if (d.written && !keptIds.has(d.id)) for (const page of resultPagePaths(d.id)) await rm(path.join(options.out, page), {force: true})
  const summary: PublishSummary = {
    out: options.out,
    results: published.length,
    skipped,
    duplicates,
    boards: boards.length,
    groups: boards.reduce((n, b) => n + b.groups.length, 0),
    comparisons: compareLinks.length,
    files: written,
  }
  if (options.git) summary.git = await commitDirToBranch(options.out, options.git, {cwd: options.cwd, message: `owbench publish: ${published.length} results, ${summary.boards} boards`})
  return summary
}

function findPreparedResult(published: readonly PreparedResult[], duplicates: PublishSummary['duplicates'], file: string): PreparedResult {
  const abs = path.resolve(file)
  const kept = duplicates.find((d) => path.resolve(d.file) === abs)?.keptFile
  const hit = published.find((p) => path.resolve(p.file) === abs || (kept !== undefined && path.resolve(p.file) === path.resolve(kept)))
  if (!hit) throw new UserError(`--compare ${file} is not a usable result file`, 'give two result files written by `owbench run`, e.g. --compare a.json,b.json')
  return hit
}

function comparisonsOf(a: ResultFile, b: ResultFile, labels: [string, string], sides: [SideChoice, SideChoice]): ({metric: string; comparison: Comparison} | {metric: string; refused: string})[] {
  return COMPARE_METRICS.map((metric) => {
    try {
      return {metric, comparison: compareResults(a, b, {metric, labels, sides})}
    } catch (error) {
      if (!isUserError(error)) throw error
      return {metric, refused: error.message}
    }
  })
}

/** A result as the leaderboard names it: its first target's model and hardware, and when it ran. */
function describe(p: PreparedResult): string {
  const e = p.entries[0]!
  return `${e.model} on ${e.hardware}, ${p.createdAt.slice(0, 16).replace('T', ' ')}`
}

/** The figures a board shows; the ones a result or group lacks are undefined and left out of the JSON. */
function figures<T extends Pick<SiteEntry, 'tg' | 'pp' | 'ttftMs'> & {energy?: unknown; energyMissing?: unknown; cost?: unknown}>({tg, pp, ttftMs, energy, energyMissing, cost}: T): Pick<T, 'tg' | 'pp' | 'ttftMs' | 'energy' | 'energyMissing' | 'cost'> {
  return {tg, pp, ttftMs, energy, energyMissing, cost}
}

function siteIndex(published: readonly PreparedResult[], boards: readonly Board[], links: readonly CompareLink[], baseUrl: string | undefined): SiteIndex {
  return {
    siteIndexVersion: SITE_INDEX_VERSION,
    generator: {name: 'owbench', version: owbenchVersion},
    ...(baseUrl ? {baseUrl} : {}),
    results: published.map((p) => ({
      id: p.id,
      runId: p.runId,
      file: resultPagePaths(p.id)[1],
      page: resultPagePaths(p.id)[0],
      ...(baseUrl ? {url: `${baseUrl}results/${p.id}.html`} : {}),
      createdAt: p.createdAt,
      state: p.state,
      suite: p.suite,
      targets: p.entries.map((e) => ({
        id: e.target,
        board: e.board,
        group: e.group,
        model: e.model,
        quantization: e.quantization,
        modelHash: e.modelHash,
        hardware: e.hardware,
        backend: e.backend,
        settings: e.settings,
        ...figures(e),
        ...(e.bandwidth ? {bandwidth: e.bandwidth} : {}),
        ...(e.tgShort ? {tgShort: e.tgShort} : {}),
        ...(e.notes ? {notes: e.notes} : {}),
      })),
    })),
    boards: boards.map((b) => ({
      id: b.id,
      model: b.model,
      quantization: b.quantization,
      modelHash: b.modelHash,
      suite: b.suite,
      suiteSha: b.suiteSha,
      tests: b.tests,
      groups: b.groups.map((g) => ({
        id: g.id,
        page: `groups/${g.id}.html`,
        hardware: g.hardware,
        backend: g.backend,
        settings: g.settings,
        results: g.entries.map((e) => e.resultId),
        partial: g.partial,
        short: g.short,
        latest: g.latest,
        ...figures(g),
        ...(g.bandwidthPercent !== undefined ? {bandwidthPercent: g.bandwidthPercent} : {}),
      })),
    })),
    comparisons: links.map((l) => ({page: l.href, a: l.a, b: l.b, sides: l.sides})),
  }
}

function normalizeBaseUrl(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new UserError(`--base-url ${raw} is not a URL`, 'give the absolute URL the site is served from, e.g. https://me.github.io/bench/')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UserError(`--base-url ${raw} is not http(s)`, 'give the absolute URL the site is served from, e.g. https://me.github.io/bench/')
  url.search = ''
  url.hash = ''
  return url.href.endsWith('/') ? url.href : `${url.href}/`
}

function sitemap(baseUrl: string, pages: readonly string[]): string {
  const urls = [...pages].sort().map((p) => `<url><loc>${esc(`${baseUrl}${p}`)}</loc></url>`)
  return `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n${urls.join('\n')}\n</urlset>\n`
}

function isUnder(file: string, inputs: readonly string[]): boolean {
  const abs = path.resolve(file)
  return inputs.some((i) => {
    const root = path.resolve(i)
    return abs === root || abs.startsWith(`${root}${path.sep}`)
  })
}
