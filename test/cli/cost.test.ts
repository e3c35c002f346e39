import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {parseResult} from '../../src/results/io.js'
import type {ResultCosts} from '../../src/cost/result-costs.js'
import type {ResultFile} from '../../src/results/schema.js'
import Cost from '../../src/commands/cost.js'
import {owbench, repoRoot} from '../helpers/cli.js'

let dir: string
let resultFile: string
let result: ResultFile

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-cost-'))
  resultFile = path.join(dir, 'r.json')
  const run = await owbench(['run', '-m', 'synthetic:tiny', '-t', '1', '-r', '2', '--watts', '50', '--out', resultFile])
  if (run.code !== 0) throw new Error(run.stderr)
  result = parseResult(await readFile(resultFile, 'utf8'), resultFile)
})

describe('owbench cost on a result of owbench run --watts', () => {
  it('prints the full table, every figure recomputable by hand from the raw runs', async () => {
    const run = await owbench(['cost', resultFile, '--price', '2000', '--purchased', '2024', '--lifetime', '4', '--hours-per-day', '6', '--tariff', '0.30', '--rent-per-hour', '2.49', '--hosted', 'openrouter/openai/gpt-oss-20b', '--grid', 'DEU', '--tokens-per-month', '50000000', '--json'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const costs = (JSON.parse(run.stdout) as {results: {costs: ResultCosts}[]}).results[0]!.costs
    expect(costs.money).toBe('USD, 2025 dollars')
    const [local] = costs.targets
    // By hand: generated tokens over the spans of the measured generation repetitions.
    const runs = result.runs.filter((r) => !r.warmup && ['tg', 'pg', 'chat'].includes(r.kind))
    const tokens = runs.reduce((n, r) => n + r.requests[0]!.nOut, 0)
    const seconds = runs.reduce((n, r) => n + (r.requests[0]!.tEnd - r.requests[0]!.tSend), 0) / 1000
    const tps = tokens / seconds
    expect(local!.measurement.throughput.tokensPerSecond).toBeCloseTo(tps, 6)
    // 50 W declared: J/token = 50 / tok/s (the result keeps 6 significant digits).
    expect(local!.measurement.energy).toMatchObject({status: 'metered', boundary: 'wall', method: 'estimated', basis: 'generated'})
    const jPerToken = (local!.measurement.energy as {jPerToken: number}).jPerToken
    expect(jPerToken / (50 / tps)).toBeCloseTo(1, 4)
    // $2,000 in 2024 -> 2025 dollars (313.689 -> 321.943), over 4 y x 8760 h x 6/24.
    const perHour = (2000 * 321.943) / 313.689 / (4 * 8760 * 0.25)
    expect(local!.owned!.amortizationPerMtok.amount).toBeCloseTo(perHour / ((tps * 3600) / 1e6), 6)
    const kwhPerMtok = (jPerToken * 1e6) / 3.6e6
    expect(local!.owned!.electricity!.perMtok.amount).toBeCloseTo(kwhPerMtok * 0.3, 6)
    expect(local!.rental!.perMtok.amount).toBeCloseTo(2.49 / ((tps * 3600) / 1e6), 6)
    expect(local!.carbon!.grid.where).toBe('DEU (Germany)')
    expect(local!.carbon!.gramsPerMtok).toBeCloseTo(kwhPerMtok * local!.carbon!.grid.gramsPerKwh, 6)
    expect(local!.carbon!.grid.gramsPerKwh).toBeCloseTo(380.95, 2)
    expect(local!.breakEven!.breakEvenTokensPerMonth).toBeGreaterThan(0)

    const table = await owbench(['cost', resultFile, '--price', '2000', '--purchased', '2024', '--tariff', '0.30', '--hosted', 'openrouter/openai/gpt-oss-20b'])
    expect(table.code).toBe(0)
    expect(table.stdout.split('\n')[0]).toMatch(/^\| target +\| +tok\/s \| +J\/token \| kWh\/Mtok \| electricity \| hardware \| owned total \| rental \| hosted \| gCO2e\/Mtok \| break-even tok\/month \| payback months \|$/)
    expect(table.stdout).toMatch(/\| local +\| +[\d.]+ \| [\d.]+ \(wall, estimated\) \|/)
    expect(table.stdout).toContain('Money: USD, 2025 dollars, per million generated tokens.')
    expect(table.stdout).toContain('$2,000.00 in 2024 = $2,052.63 in 2025 dollars (US CPI-U: 313.689 -> 321.943)')
  })

  it('refuses bad input with one line each', async () => {
    const corrupt = path.join(dir, 'corrupt.json')
    await writeFile(corrupt, '{"schemaVersion": 1, "runs": [')
    const cases: [string[], RegExp][] = [
      [[corrupt], /result file .*corrupt\.json is not valid JSON \(truncated or corrupt\)/],
      [[resultFile, '--price', '2000'], /--price needs --purchased/],
      [[resultFile, '--price', '2000', '--purchased', '2024', '--hours-per-day', '25'], /25/],
      [[resultFile, '--price', '-5', '--purchased', '2024'], /-5|negative|positive/],
      [[resultFile, '--grid', 'atlantis'], /atlantis/],
      [[resultFile, '--price', '2000', '--purchased', '1850'], /1850.*1913|1913.*1850/],
      [[resultFile, '--tariff', 'cheap'], /--tariff must be a number, not "cheap"/],
    ]
    for (const [args, message] of cases) {
      const run = await owbench(['cost', ...args])
      expect(run.code, args.join(' ')).not.toBe(0)
      expect(run.stderr).toMatch(message)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
    }
  })

  it('owbench run stores the config\'s money inputs and their cost; owbench cost recomputes them from the file alone', async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'owbench-cost-config-'))
    const costInputs = {price: 1500, purchased: '2023-06', lifetime: 3, hoursPerDay: 10, tariff: 0.25, grid: 'FRA'}
    await writeFile(path.join(cwd, 'owbench.config.json'), JSON.stringify({cost: costInputs}))
    const out = path.join(cwd, 'r.json')
    const run = await owbench(['run', '-m', 'synthetic:tiny', '-t', '1', '-r', '1', '--watts', '40', '--out', out], {cwd})
    expect(run.code).toBe(0)
    const stored = parseResult(await readFile(out, 'utf8'), out)
    expect(stored.costInputs).toEqual(costInputs)
    const storedCost = stored.cost as unknown as ResultCosts
    expect(storedCost.money).toBe('USD, 2025 dollars')
    const again = await owbench(['cost', out, '--json'])
    expect(again.code).toBe(0)
    const recomputed = (JSON.parse(again.stdout) as {results: {costs: ResultCosts}[]}).results[0]!.costs
    const a = storedCost.targets[0]!.owned!
    const b = recomputed.targets[0]!.owned!
    expect(b.totalPerMtok.amount / a.totalPerMtok.amount).toBeCloseTo(1, 4)
    expect(b.purchase.from.period.text).toBe('2023-06')
    expect(recomputed.targets[0]!.carbon!.grid.where).toMatch(/^FRA/)
    // A flag overrides the stored input.
    const cheaper = await owbench(['cost', out, '--json', '--tariff', '0.10'])
    const c = (JSON.parse(cheaper.stdout) as {results: {costs: ResultCosts}[]}).results[0]!.costs.targets[0]!.owned!
    expect(c.electricity!.perMtok.amount / b.electricity!.perMtok.amount).toBeCloseTo(0.4, 6)
  })
})

describe('owbench cost --help examples', () => {
  // A committed result of `owbench run --watts 45` on the default synthetic model: every example has its inputs.
  const example = path.join(repoRoot, 'fixtures', 'results', 'quick-default-45w.json')
  const commands = Cost.examples.map((e) => (typeof e === 'string' ? e : e.command))

  it.each(commands)('%s runs on a committed result, exit 0', async (command) => {
    const words = command.replace('<%= config.bin %> <%= command.id %>', '').trim().split(/\s+/)
    // The example's result path (the first word that is not a flag or a flag's value) becomes the committed one.
    const args = words.map((word, i) => (i === 0 && !word.startsWith('-') ? example : word))
    expect(args[0]).toBe(example)
    const run = await owbench(['cost', ...args])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^- Money: USD, \d{4} dollars, per million generated tokens/m)
  })
})
