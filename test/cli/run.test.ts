import {mkdtemp, readdir, readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {Ajv2020} from 'ajv/dist/2020.js'
import {beforeAll, describe, expect, it} from 'vitest'
import {deriveResult} from '../../src/derive/derive.js'
import {renderRunTable} from '../../src/report/terminal-table.js'
import {parseResult} from '../../src/results/io.js'
import type {ResultFile} from '../../src/results/schema.js'
import {owbench, repoRoot} from '../helpers/cli.js'
import {tinyModelPath} from '../helpers/tiny-model.js'

let dir: string
let validate: (data: unknown) => boolean
let validationErrors: () => unknown

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-cli-'))
  await tinyModelPath()
  const schema = JSON.parse(await readFile(path.join(repoRoot, 'schemas', 'result.schema.json'), 'utf8')) as object
  const ajv = new Ajv2020({allErrors: true, strict: false})
  const fn = ajv.compile(schema)
  validate = (data) => fn(data) as boolean
  validationErrors = () => fn.errors
})

describe('owbench run (built CLI, tiny synthetic model)', () => {
  it('--json prints a result that validates against the published JSON Schema, with the suite\'s token counts', async () => {
    const out = path.join(dir, 'quick.json')
    const run = await owbench(['run', '--model', 'synthetic:tiny', '--suite', 'quick', '--threads', '1', '--json', '--out', out])
    expect(run.stderr).not.toMatch(/Error/)
    expect(run.code).toBe(0)
    const result = JSON.parse(run.stdout) as ResultFile
    expect(validate(result), JSON.stringify(validationErrors())).toBe(true)
    // --json prints exactly the file it writes.
    expect(run.stdout).toBe(await readFile(out, 'utf8'))
    expect(result.state).toBe('completed')
    expect(result.labels).toContain("synthetic model: measures this machine, not a real model's quality")
    const measured = result.runs.filter((r) => !r.warmup)
    const byTest = (test: string) => measured.filter((r) => r.test === test).map((r) => r.requests[0]!)
    expect(byTest('pp256').map((r) => [r.nPrompt, r.nOut])).toEqual([[256, 0], [256, 0], [256, 0]])
    expect(byTest('tg64').map((r) => [r.nPrompt, r.nOut, r.chunks.length])).toEqual([[1, 64, 64], [1, 64, 64], [1, 64, 64]])
    expect(byTest('pp256+tg64').map((r) => [r.nPrompt, r.nOut])).toEqual([[256, 64], [256, 64], [256, 64]])
    expect(byTest('chat-short').map((r) => r.nOut)).toEqual([64, 64, 64])
    expect(result.summary!.cells.map((s) => [s.test, s.completed, s.metrics.tokens_per_second?.repetitions?.n])).toEqual([
      ['pp256', 3, 3],
      ['tg64', 3, 3],
      ['pp256+tg64', 3, 3],
      ['chat-short', 3, 3],
    ])
    expect(result.targets[0]).toMatchObject({kind: 'local', settings: {threads: 1}, engine: {backend: 'cpu'}, model: {synthetic: {id: 'tiny'}}})
  })

  it('without --model runs the built-in synthetic default model (generated on first use)', async () => {
    const out = path.join(dir, 'default.json')
    const run = await owbench(['run', '-t', '1', '-r', '1', '--warmup', '0', '--out', out])
    expect(run.code).toBe(0)
    const result = parseResult(await readFile(out, 'utf8'), out)
    expect(validate(result)).toBe(true)
    expect(result.targets[0]).toMatchObject({model: {source: 'synthetic:default', quantization: 'Q8_0', parameters: 29_893_120, trainContext: 16384, synthetic: {id: 'default'}}})
    expect(run.stdout).toMatch(/\| owbench-synthetic-default \| +30\.40 MiB \| 29\.89 M \|/)
  })

  it('--watts 50 gives J/token = 50 W / tokens per second, labelled estimated at the wall', async () => {
    const out = path.join(dir, 'watts.json')
    const run = await owbench(['run', '-m', 'synthetic:tiny', '-t', '1', '-r', '3', '--watts', '50', '--out', out])
    expect(run.code).toBe(0)
    const result = parseResult(await readFile(out, 'utf8'), out)
    expect(validate(result)).toBe(true)
    expect(result.power!.sources).toMatchObject([{kind: 'constant', boundary: 'wall', method: 'estimated'}])
    for (const test of ['tg64', 'pp256']) {
      const cell = deriveResult(result).cells.find((s) => s.test === test)!
      const requests = result.runs.filter((r) => r.test === test && !r.warmup).flatMap((r) => r.requests)
      const tokens = requests.reduce((n, r) => n + (test === 'pp256' ? r.nPrompt : r.nOut), 0)
      const seconds = requests.reduce((n, r) => n + (r.tEnd - r.tSend), 0) / 1000
      expect(cell.energy).toMatchObject({status: 'metered', boundary: 'wall', method: 'estimated', basis: test === 'pp256' ? 'prompt' : 'generated'})
      expect(Math.abs((cell.energy as {jPerToken: number}).jPerToken / (50 / (tokens / seconds)) - 1)).toBeLessThan(0.01)
    }
    expect(run.stdout).toMatch(/\| +J\/token \|/)
    expect(run.stdout).toMatch(/\(wall, estimated\)/)
  })

  it('prints a llama-bench style table on stdout and the result path on stderr', async () => {
    const out = path.join(dir, 'table.json')
    const run = await owbench(['run', '-m', 'synthetic:tiny', '-t', '1', '-r', '1', '--warmup', '0', '--out', out])
    expect(run.code).toBe(0)
    const lines = run.stdout.split('\n')
    // The answer first: this machine's figures beside what a hosted model and a datacenter of its size cost.
    expect(lines[0]).toMatch(/^This machine \(.*\) running owbench-synthetic-tiny \(172 K parameters\) on tg64: generates [\d.]+ tokens\/s, no J\/token: .* Memory: [\d.]+ GB\/s read, [\d.]+% of the bandwidth limit, [\d.]+ GB\/s \(STREAM triad probe on \d+ threads, measured\)\.$/)
    expect(lines[1]).toBe('')
    expect(lines[2]).toMatch(/^\| model +\| +size \| +params \| backend +\| threads \| test +\| +t\/s \| TTFT ms \| % BW limit \| reps \|$/)
    expect(lines.filter((l) => l.startsWith('| owbench-synthetic-tiny'))).toHaveLength(4)
    // One repetition (-r 1) has no spread: '± -', never '± 0.00'.
    expect(run.stdout).toMatch(/\| pp256 +\| +[\d.]+ ± - \|/)
    expect(run.stdout).toContain("synthetic model: measures this machine, not a real model's quality")
    expect(run.stderr).toContain(`result written to ${out}`)
    // The table printed at the end of the run is the one the file gives (times stored to the microsecond),
    // to the last digit: `owbench report` on the file shows the same figures.
    const fromFile = renderRunTable(parseResult(await readFile(out, 'utf8'), out))
    const rows = (text: string) => text.split('\n').filter((l) => l.startsWith('| owbench-synthetic-tiny'))
    expect(rows(run.stdout)).toEqual(rows(fromFile))
    expect(rows(fromFile)).toHaveLength(4)
  })

  it.each([
    [['--model', '/no/such/model.gguf'], /model file not found: \/no\/such\/model\.gguf — pass the path of a \.gguf file/],
    [['--suite', 'nope'], /unknown suite "nope" — use one of long, quick, standard/],
    [['--threads', '0'], /Expected an integer greater than or equal to 1 but received: 0/],
    [['--repetitions', '-1'], /Expected an integer greater than or equal to 1 but received: -1/],
    [['--warmup', '-2'], /Expected an integer greater than or equal to 0 but received: -2/],
    [['--gpu-layers', 'lots'], /--gpu-layers must be a number of layers, "max" or "auto", not "lots"/],
    [['--model', 'synthetic:huge'], /unknown synthetic model "huge" — use synthetic:tiny or synthetic:default/],
    [['--model', 'synthetic:tiny', '--ctx', '8192'], /--ctx 8192 is beyond the training context of owbench-synthetic-tiny-[0-9a-f]+\.gguf \(4096 tokens\) — pass --ctx 4096 or less/],
  ])('fails with one clear line and a non-zero exit for %j', async (args, message) => {
    const run = await owbench(['run', ...args, '--out', path.join(dir, 'never.json')])
    expect(run.code).not.toBe(0)
    expect(run.stderr).toMatch(message)
    expect(run.stdout).toBe('')
  })

  it('refuses an --out that is a directory before anything runs: exit 2, one line naming the path and the fix, nothing left behind', async () => {
    const target = await mkdtemp(path.join(os.tmpdir(), 'owbench-outdir-'))
    const run = await owbench(['run', '--model', 'synthetic:tiny', '--threads', '1', '-o', target])
    expect(run.code).toBe(2)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr.trim()).toBe(`›   Error: --out ${target} is a directory; a result is one file — pass a file path, e.g. --out ${path.join(target, 'result.json')}`)
    expect(run.stdout).toBe('')
    expect(await readdir(target)).toEqual([])
    expect((await readdir(path.dirname(target))).filter((name) => name.startsWith(`${path.basename(target)}.`))).toEqual([])
  })

  it('rejects a file that is not GGUF', async () => {
    const fake = path.join(dir, 'fake.gguf')
    await writeFile(fake, '<html>404 not found</html>')
    const run = await owbench(['run', '--model', fake])
    expect(run.code).toBe(2)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toMatch(/fake\.gguf is not a GGUF model file \(it does not start with "GGUF"\)/)
  })

  it('fails fast offline on an hf: URI, telling the user to pass a local path', async () => {
    const run = await owbench(['run', '--model', 'hf:owbench/does-not-exist:Q4_K_M'])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/cannot download hf:owbench\/does-not-exist:Q4_K_M: .* — .*pass its local path with --model PATH/)
    const url = await owbench(['run', '--model', 'https://models.invalid/x.gguf'])
    expect(url.code).toBe(2)
    expect(url.stderr).toMatch(/cannot download https:\/\/models\.invalid\/x\.gguf: fetch failed .* — /)
  })

  it('on Ctrl-C writes what was measured, marked partial, and exits 130', async () => {
    const out = path.join(dir, 'interrupted.json')
    let sent = false
    const run = await owbench(['run', '-m', 'synthetic:tiny', '--suite', 'standard', '-t', '1', '--out', out], {
      onSpawn: (child) => {
        const poll = setInterval(async () => {
          const text = await readFile(out, 'utf8').catch(() => '')
          const runs = text ? (JSON.parse(text) as ResultFile).runs.length : 0
          if (runs >= 4 && !sent) {
            sent = true
            clearInterval(poll)
            child.kill('SIGINT')
          }
        }, 50)
        child.on('close', () => clearInterval(poll))
      },
    })
    expect(sent).toBe(true)
    expect(run.code).toBe(130)
    expect(run.stderr).toContain(`partial result written to ${out}`)
    const saved = parseResult(await readFile(out, 'utf8'), out)
    expect(saved.state).toBe('partial')
    expect(saved.stateReason).toBe('interrupted before the suite finished')
    expect(saved.runs.length).toBeGreaterThanOrEqual(4)
    expect(saved.runs.length).toBeLessThan(30)
    expect(deriveResult(saved).cells.find((s) => s.test === 'pp512')!.completed).toBeGreaterThanOrEqual(3)
  })

  it('documents itself: run --help has examples', async () => {
    const run = await owbench(['run', '--help'])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/EXAMPLES[\s\S]*owbench run --model .*\.gguf --suite standard --threads 8/)
    expect(run.stdout).toMatch(/--engine-build/)
    const top = await owbench(['--help'])
    expect(top.stdout).toMatch(/run +Run a benchmark suite/)
    expect(top.stdout).toMatch(/setup +Build the llama\.cpp engine/)
  })
})
