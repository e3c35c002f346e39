import {existsSync} from 'node:fs'
import {mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {Ajv2020} from 'ajv/dist/2020.js'
import {beforeAll, describe, expect, it} from 'vitest'
import {resolveCostInputs} from '../../src/cost/cost-inputs.js'
import {costOfResult} from '../../src/cost/result-costs.js'
import {parseResult, readResult, serializeResult} from '../../src/results/io.js'
import type {ResultFile} from '../../src/results/schema.js'
import {deriveResult} from '../../src/derive/derive.js'
import {publishSite} from '../../src/site/publish.js'
import {type SiteIndex, SiteIndexSchema} from '../../src/site/site-index.js'
import {repoRoot} from '../helpers/cli.js'
import {fixtureResult, resultDir, variantOf} from '../helpers/site-fixture.js'

let slow: ResultFile
let fast: ResultFile
const tgCell = (r: ResultFile) => deriveResult(r).cells.find((s) => s.test === 'tg64')!
const tgOf = (r: ResultFile) => tgCell(r).metrics.tokens_per_second!.repetitions!.mean
const newOut = async () => path.join(await mkdtemp(path.join(os.tmpdir(), 'owbench-site-out-')), 'site')
const readIndex = async (out: string): Promise<SiteIndex> => SiteIndexSchema.parse(JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')))

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, {withFileTypes: true})) {
    const full = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...(await filesUnder(full)))
    else out.push(full)
  }
  return out
}

beforeAll(async () => {
  ;[slow, fast] = await Promise.all([fixtureResult('quick-default-45w.json'), fixtureResult('quick-tiny-30w.json')])
})

describe('publishSite', () => {
  it('skips corrupt and foreign files with a named warning, drops exact copies and earlier checkpoints, and writes a GitHub Pages-ready site', async () => {
    const partial = {...structuredClone(fast), state: 'partial' as const, runs: fast.runs.slice(0, 3)}
    const dir = await resultDir({
      'a.json': slow,
      'sub/a-copy.json': slow,
      'b.json': fast,
      'b-checkpoint.json': partial,
      'corrupt.json': serializeResult(slow).slice(0, 500),
      'package.json': '{"name": "not a result"}',
    })
    const warnings: string[] = []
    const out = await newOut()
    const summary = await publishSite({inputs: [dir], out, warn: (w) => warnings.push(w)})
    expect(summary.results).toBe(2)
    expect(summary.skipped.map((s) => path.basename(s.file)).sort()).toEqual(['corrupt.json', 'package.json'])
    expect(warnings.find((w) => w.includes('corrupt.json'))).toMatch(/not valid JSON/)
    expect(warnings.find((w) => w.includes('package.json'))).toMatch(/not an owbench result file/)
    expect(summary.duplicates.map((d) => [path.basename(d.file), path.basename(d.keptFile), d.why.split(' (')[0]]).sort()).toEqual([
      ['a-copy.json', 'a.json', 'an exact copy'],
      ['b-checkpoint.json', 'b.json', 'an earlier checkpoint of the same run'],
    ])
    for (const f of ['index.html', '.nojekyll', 'results.json', 'schema/result.schema.json', 'schema/site-index.schema.json', 'assets/chart.umd.min.js', 'owbench-site.json']) expect(existsSync(path.join(out, f)), f).toBe(true)

    const index = await readIndex(out)
    // The dropped checkpoint's pages were rendered before dedup and must not be left behind.
    expect((await readdir(path.join(out, 'results'))).sort()).toEqual(index.results.flatMap((r) => [`${r.id}.html`, `${r.id}.json`]).sort())
    const ajv = new Ajv2020({allErrors: true, strict: false})
    expect(ajv.validate(JSON.parse(await readFile(path.join(out, 'schema/site-index.schema.json'), 'utf8')), index), JSON.stringify(ajv.errors)).toBe(true)
    const validResult = ajv.compile(JSON.parse(await readFile(path.join(out, 'schema/result.schema.json'), 'utf8')))
    for (const r of index.results) {
      const raw = JSON.parse(await readFile(path.join(out, r.file), 'utf8'))
      expect(validResult(raw), JSON.stringify(validResult.errors)).toBe(true)
      expect(parseResult(JSON.stringify(raw), r.file).id).toBe(r.runId)
      expect(existsSync(path.join(out, r.page))).toBe(true)
    }
    // Two model files: two boards, each with the fixture's own tg64 mean as its only group's figure.
    expect(index.boards).toHaveLength(2)
    const byModel = Object.fromEntries(index.boards.map((b) => [b.model, b]))
    expect(byModel['owbench-synthetic-default']!.groups[0]!.tg).toBeCloseTo(tgOf(slow), 6)
    expect(byModel['owbench-synthetic-tiny']!.groups[0]!.tg).toBeCloseTo(tgOf(fast), 6)
    expect(byModel['owbench-synthetic-tiny']!.tests).toEqual({tg: 'tg64', pp: 'pp256', ttft: 'pp256+tg64'})
    const energy = byModel['owbench-synthetic-tiny']!.groups[0]!.energy!
    expect(energy.boundary).toBe('wall')
    expect(energy.jPerToken).toBeCloseTo((tgCell(fast).energy as {jPerToken: number}).jPerToken, 6)
    // All links in the site are relative.
    const html = await readFile(path.join(out, 'index.html'), 'utf8')
    expect(html).not.toMatch(/(href|src)="(\/|https?:)/)
  })

  it('groups by model, suite version, hardware and backend with medians, and never puts two suite versions on one board', async () => {
    const dir = await resultDir({
      'a.json': slow,
      'a2.json': variantOf(slow, {n: 1, tgFactor: 1.2}),
      'a3.json': variantOf(slow, {n: 2, tgFactor: 0.5}),
      'other-cpu.json': variantOf(slow, {n: 3, cpuBrand: 'Ryzen 9 7950X', tgFactor: 3}),
      'new-suite.json': variantOf(slow, {n: 4, suiteVersion: '2.0.0', tgFactor: 10}),
    })
    const out = await newOut()
    await publishSite({inputs: [dir], out})
    const index = await readIndex(out)
    expect(index.boards.map((b) => b.suite).sort()).toEqual([`quick ${slow.suite.version}`, `quick 2.0.0`])
    const old = index.boards.find((b) => b.suite !== 'quick 2.0.0')!
    expect(old.groups.map((g) => [g.hardware, g.results.length])).toEqual([
      ['AMD Ryzen 9 7950X (2 cores)', 1],
      ['AMD EPYC (2 cores)', 3],
    ])
    // Median of 1.0x, 1.2x and 0.5x the fixture's tg64 mean is the fixture's own.
    expect(old.groups[1]!.tg).toBeCloseTo(tgOf(slow), 6)
    const groupHtml = await readFile(path.join(out, old.groups[1]!.page), 'utf8')
    for (const id of old.groups[1]!.results) expect(groupHtml).toContain(`../results/${id}.html`)
    const newer = index.boards.find((b) => b.suite === 'quick 2.0.0')!
    expect(newer.groups).toHaveLength(1)
    // Its tg requests ran 10x faster (times in the file keep microseconds, so to 6 digits).
    expect(newer.groups[0]!.tg! / (tgOf(slow) * 10)).toBeCloseTo(1, 5)
  })

  it('shows the cost derived from the inputs stored with a result, with its basis and money, and leaves it blank without them', async () => {
    const priced = variantOf(slow, {n: 5})
    priced.costInputs = {price: 2000, purchased: '2024', tariff: 0.3}
    const costs = costOfResult(priced, await resolveCostInputs(priced.costInputs))
    // A stored cost section is a cache: one edited by hand is never shown.
    priced.cost = {...costs, targets: costs.targets.map((t) => ({...t, owned: {...t.owned!, totalPerMtok: {...t.owned!.totalPerMtok, amount: 0.01}}}))}
    const out = await newOut()
    await publishSite({inputs: [await resultDir({'priced.json': priced, 'fast.json': fast})], out})
    const index = await readIndex(out)
    const group = (model: string) => index.boards.find((b) => b.model === model)!.groups[0]!
    const cost = group('owbench-synthetic-default').cost!
    expect(cost).toMatchObject({basis: 'owned', money: costs.money, n: 1})
    expect(cost.perMtok).toBeCloseTo(costs.targets[0]!.owned!.totalPerMtok.amount, 5)
    expect(costs.money).toMatch(/^USD, \d{4} dollars$/)
    expect(group('owbench-synthetic-tiny').cost).toBeUndefined()
  })

  it('a target whose tg outputs stopped short has no TG on its board: the mark says n_out of n_asked and the finish reason, and its notes are kept', async () => {
    const out = await newOut()
    await publishSite({inputs: [path.join(repoRoot, 'fixtures', 'results', 'endpoint')], out})
    const index = await readIndex(out)
    const ollama = index.results[0]!.targets.find((t) => t.id === 'ollama-replay')!
    expect(ollama.tg).toBeUndefined()
    expect(ollama.energy).toBeUndefined()
    expect(ollama.tgShort).toBe('short: 3 of 12 tokens, finish_reason stop')
    expect(ollama.notes).toEqual(['ollama-replay: accepted ignore_eos but did not honour it (3 of 12 tokens, finish_reason "stop"): output lengths are the model\'s, not the suite\'s'])
    const group = index.boards.flatMap((b) => b.groups).find((g) => g.id === ollama.group)!
    expect(group).toMatchObject({short: 1})
    expect(group.tg).toBeUndefined()
    expect(await readFile(path.join(out, group.page), 'utf8')).toContain('<span class="partial">short: 3 of 12 tokens, finish_reason stop</span>')
    expect(index.results[0]!.targets.find((t) => t.id === 'vllm-replay')!.tgShort).toBeUndefined()
  })

  it("an endpoint's group page names the model as served, the API and the host as redacted, never a file hash", async () => {
    const recorded = await readResult(path.join(repoRoot, 'fixtures', 'results', 'endpoint', 'endpoint-quirks-c1-c2.json'))
    // One endpoint on a public host; the others stay on 127.0.0.1, which the site redacts.
    const r = structuredClone(recorded)
    const vllm = r.targets.find((t) => t.id === 'vllm-replay')!
    if (vllm.kind !== 'endpoint') throw new Error('fixture target is an endpoint')
    vllm.endpoint.baseUrl = 'https://inference.example.net/v1'
    const out = await newOut()
    await publishSite({inputs: [await resultDir({'endpoints.json': r})], out})
    const index = await readIndex(out)
    const page = async (target: string) => {
      const t = index.results[0]!.targets.find((x) => x.id === target)!
      const html = await readFile(path.join(out, 'groups', `${t.group}.html`), 'utf8')
      return /<h1>[\s\S]*?<\/h1>\n<p>(.*)<\/p>/.exec(html)![1]!
    }
    expect(await page('vllm-replay')).toBe('Endpoint at inference.example.net · model "gpt-oss-20b" as the server names it (the weights behind it are the server\'s: no file hash) · OpenAI-compatible /completions API · server vllm (its /v1/models owned_by) · c1 · suite endpoint-quirks 1.0.0 (sha256 ' + index.boards.find((b) => b.model === 'gpt-oss-20b')!.suiteSha + ') · 1 result')
    expect(await page('ollama-replay')).toMatch(/^Endpoint at private host · model "llama3\.2:1b" as the server names it .* · OpenAI-compatible \/chat\/completions API · server software not named by its \/v1\/models · c1 · /)
    expect(await page('llama-server')).toMatch(/^Endpoint at private host · model "synthetic" .* · server llamacpp \(its \/v1\/models owned_by\) · c1 · /)
    for (const target of ['vllm-replay', 'ollama-replay', 'llama-server']) expect(await page(target)).not.toMatch(/sha256 api|127\.0\.0\.1/)
  })

  it("a board's frontier names a group's series by the levels it spans, never by the group's lightest level alone", async () => {
    // A llama-server concurrency sweep (c1-c16) and a rate search (c1 and 57.2-114 requests/s): one endpoint group.
    const out = await newOut()
    await publishSite({inputs: [path.join(repoRoot, 'fixtures', 'results', 'sweep')], out})
    const html = await readFile(path.join(out, 'frontiers', '0.html'), 'utf8')
    const spec = JSON.parse(/<script type="application\/json" id="frontier-chart">([\s\S]*?)<\/script>/.exec(html)![1]!) as {config: {data: {datasets: {label: string; data: {level: string}[]}[]}}}
    const datasets = spec.config.data.datasets.map((d) => [d.label, d.data.map((p) => p.level).sort()])
    expect(datasets).toEqual([
      ['endpoint (private host) · HTTP (completions) · c1–c8 (5 levels)', ['c1', 'c2', 'c4', 'c6', 'c8']],
      ['endpoint (private host) · HTTP (completions) · c1, c12, c16, r57.2–r114 (5 levels): off its frontier', ['c1', 'c12', 'c16', 'r114', 'r57.2', 'r71.4', 'r78.5', 'r85.6']],
    ])
  })

  it('refuses a result faster than its memory bandwidth allows, naming the cells and the flag, and publishes it with --allow-implausible', async () => {
    // The default model's tg64 recorded here, against a probe of 1 GB/s: 30 MB a token at ~200 tokens/s is about 600% of it.
    const target = slow.targets[0] as Extract<ResultFile['targets'][number], {kind: 'local'}>
    const impossible: ResultFile = {
      ...variantOf(slow, {n: 9}),
      host: {...slow.host, memoryBandwidth: {probe: {triadGBs: 1, threads: 2, arrayMiB: 256, passes: 10, method: 'STREAM triad, Float64Array per worker thread, best pass'}, published: []}},
      targets: [{...target, model: {...target.model, bytesPerToken: {weightBytes: 29_559_328, tensorBytes: 31_787_008, kvBytesPerPosition: 16_384, layers: 8, method: 'm'}}}],
    }
    const percent = deriveResult(impossible).cells.find((c) => c.test === 'tg64')!.speedOfLight
    expect(percent).toMatchObject({status: 'ok', implausible: true})
    const dir = await resultDir({'a.json': fast, 'impossible.json': impossible})
    const warnings: string[] = []
    const refused = await publishSite({inputs: [dir], out: await newOut(), warn: (w) => warnings.push(w)})
    expect(refused.results).toBe(1)
    expect(refused.skipped.map((s) => path.basename(s.file))).toEqual(['impossible.json'])
    expect(warnings).toEqual([expect.stringMatching(/^skipped .*impossible\.json: implausible: faster than its memory bandwidth allows \(local tg64 at [\d.]+%, local pp256\+tg64 at [\d.]+% of the bandwidth limit\); .*\(pass --allow-implausible to publish it anyway\)$/)])
    const out = await newOut()
    const allowed = await publishSite({inputs: [dir], out, allowImplausible: true})
    expect(allowed.results).toBe(2)
    const index = await readIndex(out)
    expect(index.results.flatMap((r) => r.targets).find((t) => t.bandwidth)!.bandwidth).toMatchObject({limitGBs: 1, implausible: true})
  })

  it('re-publishing rewrites only what changed and removes pages of results that are gone', async () => {
    const dir = await resultDir({'a.json': slow, 'b.json': fast})
    const out = await newOut()
    const first = await publishSite({inputs: [dir], out})
    expect(first.files.written).toBe(first.files.files)
    const page = path.join(out, 'results', `${(await readIndex(out)).results[0]!.id}.html`)
    const before = (await stat(page)).mtimeMs
    const again = await publishSite({inputs: [dir], out})
    expect([again.files.written, again.files.removed]).toEqual([0, 0])
    await writeFile(path.join(dir, 'c.json'), serializeResult(variantOf(fast, {n: 7, tgFactor: 2})))
    const more = await publishSite({inputs: [dir], out})
    // The new result's page and raw file, its group's page, its board's frontier page, index.html and results.json.
    expect(more.files.written).toBe(6)
    expect((await stat(page)).mtimeMs).toBe(before)
    await rm(path.join(dir, 'c.json'))
    const less = await publishSite({inputs: [dir], out})
    expect(less.files.removed).toBe(2)
    expect((await readIndex(out)).results).toHaveLength(2)
  })

  it('refuses a non-empty directory that is not an owbench site unless forced, and leaves its files alone', async () => {
    const dir = await resultDir({'a.json': slow})
    const out = await newOut()
    await publishSite({inputs: [dir], out: path.join(out, 'nested')})
    await writeFile(path.join(out, 'notes.txt'), 'mine')
    await expect(publishSite({inputs: [dir], out})).rejects.toThrow(`--out ${out} is not empty and is not a site owbench published (no owbench-site.json)`)
    await publishSite({inputs: [dir], out, force: true})
    expect(await readFile(path.join(out, 'notes.txt'), 'utf8')).toBe('mine')
    await expect(publishSite({inputs: [await resultDir({'x.json': '{'})], out: await newOut()})).rejects.toThrow(/^no usable result files in .* \(1 skipped\)$/)
    await expect(publishSite({inputs: ['/nonexistent/results'], out: await newOut()})).rejects.toThrow('no such result file or directory: /nonexistent/results')
  })

  it('writes a comparison page per chosen pair with the Welch verdicts, and the refusals with their reason', async () => {
    const dir = await resultDir({'slow.json': slow, 'fast.json': fast})
    const out = await newOut()
    const summary = await publishSite({inputs: [dir], out, compare: [[{file: path.join(dir, 'slow.json')}, {file: path.join(dir, 'fast.json')}]]})
    expect(summary.comparisons).toBe(1)
    const index = await readIndex(out)
    const html = await readFile(path.join(out, index.comparisons[0]!.page), 'utf8')
    expect(html).toMatch(/owbench-synthetic-tiny on AMD EPYC \(2 cores\), [\d-]+ [\d:]+ is [\d.]+% higher than owbench-synthetic-default on AMD EPYC \(2 cores\)/)
    expect(html).toContain('p = 0.011')
    await expect(publishSite({inputs: [dir], out, compare: [[{file: path.join(dir, 'slow.json')}, {file: '/elsewhere/missing.json'}]]})).rejects.toThrow('no such result file or directory: /elsewhere/missing.json')
  })

  it('a comparison page compares one target and one load level a side, chosen where a file has several', async () => {
    const example = path.join(repoRoot, 'fixtures', 'results', 'quick-tiny-local-endpoint-c1-c4.json')
    const dir = await resultDir({})
    const out = await newOut()
    await expect(publishSite({inputs: [dir], out, compare: [[{file: example}, {file: example}]]})).rejects.toThrow(/has 2 targets \(local, endpoint\): which one\?/)
    const summary = await publishSite({inputs: [dir], out, compare: [[{file: example, target: 'endpoint', load: 'c1'}, {file: example, target: 'endpoint', load: 'c4'}]]})
    expect(summary.comparisons).toBe(1)
    const index = await readIndex(out)
    expect(index.comparisons[0]!.sides).toEqual([{target: 'endpoint', load: 'c1'}, {target: 'endpoint', load: 'c4'}])
    const html = await readFile(path.join(out, index.comparisons[0]!.page), 'utf8')
    expect(html).toMatch(/target endpoint at c1<br>B: .*target endpoint at c4/)
    expect(html).toContain('3 repetitions, mean')
  })

  it('with --base-url writes a sitemap and absolute URLs in results.json; a bad one is refused', async () => {
    const dir = await resultDir({'a.json': slow})
    const out = await newOut()
    await publishSite({inputs: [dir], out, baseUrl: 'https://me.github.io/bench'})
    const index = await readIndex(out)
    expect(index.baseUrl).toBe('https://me.github.io/bench/')
    expect(index.results[0]!.url).toBe(`https://me.github.io/bench/results/${index.results[0]!.id}.html`)
    const sitemap = await readFile(path.join(out, 'sitemap.xml'), 'utf8')
    expect(sitemap).toContain('<loc>https://me.github.io/bench/index.html</loc>')
    // index, the result, its group and its board's frontier.
    expect(sitemap.match(/<loc>/g)).toHaveLength(4)
    expect(sitemap).toContain('<loc>https://me.github.io/bench/frontiers/0.html</loc>')
    await expect(publishSite({inputs: [dir], out, baseUrl: 'ftp://x'})).rejects.toThrow('--base-url ftp://x is not http(s)')
  })

  it('publishes nothing private: hostnames, user names, home paths, private endpoints and key values are gone from every file', async () => {
    const key = 'sk-live-SECRETSECRET0123456789'
    const r = structuredClone(slow)
    r.host.hostname = 'alice-workstation'
    const local = r.targets[0]!
    if (local.kind !== 'local') throw new Error('fixture target is local')
    local.model = {...local.model, source: '/home/alice/models/private-finetune.gguf', path: '/home/alice/models/private-finetune.gguf'}
    r.targets.push({id: 'lab', kind: 'endpoint', endpoint: {baseUrl: 'http://alice:hunter22@192.168.7.20:8080/v1', model: 'llama-3.1-8b', api: 'completions', apiKeyEnv: 'LAB_API_KEY'}, settings: {ignoreEos: true, timeoutMs: 60000, meterOnServer: false}})
    r.stateReason = `connection to alice-workstation failed with Authorization: Bearer ${key} from C:\\Users\\alice\\owbench`
    r.runs[0]!.requests[0]!.error = `401 for key ${key} at http://192.168.7.20:8080/v1?api_key=${key}`
    const dir = await resultDir({'private.json': r})
    const out = await newOut()
    await publishSite({inputs: [dir], out, env: {LAB_API_KEY: key}})
    const everything = (await Promise.all((await filesUnder(out)).map((f) => readFile(f, 'utf8')))).join('\n')
    for (const secret of ['alice', 'hunter22', '192.168.7.20', key, 'SECRETSECRET', '/home/', 'C:\\Users']) expect(everything, secret).not.toContain(secret)
    expect(everything).toContain(local.model.fileName)
    expect(everything).toContain('LAB_API_KEY')

    const kept = await newOut()
    await publishSite({inputs: [dir], out: kept, env: {LAB_API_KEY: key}, includeHost: true})
    const withHost = (await Promise.all((await filesUnder(kept)).map((f) => readFile(f, 'utf8')))).join('\n')
    expect(withHost).toContain('alice-workstation')
    for (const secret of ['hunter22', '192.168.7.20', key, '/home/alice']) expect(withHost, secret).not.toContain(secret)
  })
})
