import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {owbench, repoRoot} from '../helpers/cli.js'

const example = (name: string) => path.join(repoRoot, 'fixtures', 'results', 'v1', name)

describe('--json', () => {
  it('prints the command\'s data on success', async () => {
    const run = await owbench(['compare', example('quick-default-45w.json'), example('quick-tiny-30w.json'), '--json'])
    expect(run.code).toBe(0)
    const data = JSON.parse(run.stdout) as {metric: string; sample: string; a: {target: string; load: string; n: number}}
    expect(data).toMatchObject({metric: 'tg', sample: 'repetitions', a: {target: 'local', load: 'c1', n: 3}})
  })

  it('prints {"error": {message, hint, exit}} on failure and exits with that documented code', async () => {
    const missing = await owbench(['compare', '/nonexistent/a.json', example('quick-tiny-30w.json'), '--json'])
    expect(missing.code).toBe(2)
    expect(JSON.parse(missing.stdout)).toEqual({error: {message: 'cannot read result file /nonexistent/a.json (ENOENT)', hint: 'check the path', exit: 2}})
    const badFlag = await owbench(['compare', example('quick-default-45w.json'), example('quick-tiny-30w.json'), '--metric', 'speed', '--json'])
    expect(badFlag.code).toBe(2)
    const error = (JSON.parse(badFlag.stdout) as {error: {message: string; hint: string | null; exit: number}}).error
    expect(error.exit).toBe(2)
    expect(error.message).toMatch(/Expected --metric=speed to be one of: tg, pp, ttft, j_per_token, usd_per_mtok/)
    // Without --json the same failure is one line on stderr, with the same exit code.
    const plain = await owbench(['compare', '/nonexistent/a.json', example('quick-tiny-30w.json')])
    expect(plain.code).toBe(2)
    expect(plain.stderr).toContain('cannot read result file /nonexistent/a.json (ENOENT) — check the path')
  })
})
