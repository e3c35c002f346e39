import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {owbench} from '../helpers/cli.js'

describe('owbench report', () => {
  it('renders a result as Markdown on stdout, CSV to a file, and refuses a corrupt file in one line', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-report-cli-'))
    const result = path.join(dir, 'r.json')
    const run = await owbench(['run', '-m', 'synthetic:tiny', '-t', '1', '-r', '1', '--warmup', '0', '--out', result])
    expect(run.code).toBe(0)
    const md = await owbench(['report', result])
    expect(md.code).toBe(0)
    expect(md.stdout).toMatch(/^# owbench report\n/)
    expect(md.stdout).toMatch(/\| owbench-synthetic-tiny \|.*\| tg64 +\|/)
    const csvFile = path.join(dir, 'r.csv')
    const csv = await owbench(['report', result, '--format', 'csv', '--out', csvFile])
    expect(csv.code).toBe(0)
    expect(csv.stderr).toContain(`report written to ${csvFile}`)
    const lines = (await readFile(csvFile, 'utf8')).trim().split('\n')
    expect(lines[0]).toMatch(/^result_id,created_at,state,/)
    expect(lines).toHaveLength(5)
    const mdFile = path.join(dir, 'out', 'report.md')
    await owbench(['report', result, '--out', mdFile, '--scale', '1'])
    const written = await readFile(mdFile, 'utf8')
    expect(written).toMatch(/!\[Throughput per test[^\]]*\]\(charts\/throughput\.png\)/)
    expect((await readFile(path.join(dir, 'out', 'charts', 'throughput.png'))).subarray(1, 4).toString()).toBe('PNG')
    const bad = path.join(dir, 'bad.json')
    await writeFile(bad, 'not json')
    const refused = await owbench(['report', bad])
    expect(refused.code).toBe(2)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    expect(refused.stderr).toMatch(/bad\.json is not valid JSON \(truncated or corrupt\)/)
  })
})
