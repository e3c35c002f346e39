import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {formatUserError, isUserError} from '../errors/errors.js'
import {costsOfResults} from '../cost/report-costs.js'
import {answerOf, type AnswerReferences, loadAnswerReferences} from '../cost/answer.js'
import {deriveResult} from '../derive/derive.js'
import {exportHtml} from '../report/html.js'
import {formatNumber} from '../report/format.js'
import {cellLabel} from '../report/labels.js'
import {implausibleCells} from '../report/limits-text.js'
import {parseResult, serializeResult} from '../results/io.js'
import type {ResultFile} from '../results/schema.js'
import {owbenchVersion} from '../system/version.js'
import type {Identified} from './collect.js'
import {boardTests, type BoardTests, digest, type SiteEntry, siteEntries} from './entries.js'
import {resultHeader} from './pages.js'
import {type RedactionContext, redactResult} from './redact.js'
import {isFile, writePage} from './site-files.js'

/** Bumped when a result page's template changes, so re-publishing renders every page again. */
const TEMPLATE_VERSION = 2

/** One result file made ready for the site: what the boards and results.json need, and its pages when they must be (re)written. */
export interface PreparedResult extends Identified {
  /** Page id: results/<id>.html and results/<id>.json. */
  id: string
  createdAt: string
  suite: {name: string; version: string; sha256: string}
  entries: SiteEntry[]
  tests: BoardTests
  /** What the result's two files were rendered from: the file's bytes, the redaction, owbench and the template. */
  key: string
  /** sha256 of the page and the redacted raw file, written while preparing; absent when the site already held them for this key. */
  written?: {html: string; json: string}
}

export interface SkippedFile {
  file: string
  reason: string
}

export interface PrepareOptions {
  context: RedactionContext
  /** The previous site: its directory and the key each result page was rendered from. */
  out: string
  previousKeys: ReadonlyMap<string, string>
  /** Publish results whose achieved memory bandwidth exceeds the limit (--allow-implausible); otherwise they are refused. */
  allowImplausible?: boolean
}

/**
 * Read, validate, redact and render one result file. The expensive part of publishing, and
 * independent per file, so it runs on worker threads for large inputs (prepare-pool.ts).
 */
export async function prepareResult(file: string, options: PrepareOptions): Promise<PreparedResult | SkippedFile> {
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (error) {
    return {file, reason: `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`}
  }
  let parsed: ResultFile
  try {
    parsed = parseResult(bytes.toString('utf8'), file)
  } catch (error) {
    if (!isUserError(error)) throw error
    return {file, reason: formatUserError(error)}
  }
  const contentHash = createHash('sha256').update(bytes).digest('hex')
  const id = contentHash.slice(0, 16)
  const result = redactResult(parsed, options.context)
  // The keys of this result's endpoints are redacted by value wherever their variable is named, so they are part of what the pages depend on.
  const keyValues = parsed.targets.map((t) => (t.kind === 'endpoint' && t.endpoint.apiKeyEnv ? (options.context.env[t.endpoint.apiKeyEnv] ?? '') : ''))
  const key = digest(`${contentHash}\n${options.context.fingerprint}\n${digest(keyValues.join('\n'))}\n${owbenchVersion}\n${TEMPLATE_VERSION}`)
  const tests = boardTests(result)
  // Figures are derived again from the raw data, never the stored caches: the published file
  // carries this derivation's summary (an older or edited one is replaced), and cost comes from the stored inputs.
  result.summary = deriveResult(result)
  const implausible = implausibleCells(result.summary.cells)
  if (implausible.length > 0 && !options.allowImplausible) {
    const cells = implausible.map((c) => `${c.target} ${cellLabel(c)} at ${c.speedOfLight?.status === 'ok' ? formatNumber(c.speedOfLight.percent) : '?'}%`).join(', ')
    return {file, reason: `implausible: faster than its memory bandwidth allows (${cells} of the bandwidth limit); its bytes per token or its speed is wrong, so it is not published (pass --allow-implausible to publish it anyway)`}
  }
  const {costs, notes} = await costsOfResults([result])
  const cost = costs[0]
  if (cost) result.cost = cost
  const prepared: PreparedResult = {
    file,
    contentHash,
    runId: parsed.id,
    state: parsed.state,
    runs: parsed.runs.length,
    id,
    createdAt: parsed.createdAt,
    suite: {name: parsed.suite.name, version: parsed.suite.version, sha256: parsed.suite.sha256},
    entries: siteEntries(result, id, tests, cost),
    tests,
    key,
  }
  const [html, json] = resultPagePaths(id)
  const fresh = options.previousKeys.get(html) === key && options.previousKeys.get(json) === key && isFile(path.join(options.out, html)) && isFile(path.join(options.out, json))
  // Written here, on the worker, so 10,000 rendered pages are never held in memory at once.
  if (!fresh) {
    const reference = await (references ??= loadAnswerReferences())
    prepared.written = {
      html: writePage(options.out, html, exportHtml([result], {chartJsHref: '../assets/chart.umd.min.js', header: resultHeader(id), costs, costNotes: notes, energyReference: reference.energyReference, answers: [answerOf(result, cost, reference)]})),
      json: writePage(options.out, json, serializeResult(result)),
    }
  }
  return prepared
}

// The published figures every result page compares with (its answer, its energy chart): read once per process (worker).
let references: Promise<AnswerReferences> | undefined

export function resultPagePaths(id: string): [html: string, json: string] {
  return [`results/${id}.html`, `results/${id}.json`]
}
