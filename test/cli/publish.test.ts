import {execFileSync} from 'node:child_process'
import {mkdtemp, readdir, readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import type {ResultFile} from '../../src/results/schema.js'
import {owbench} from '../helpers/cli.js'
import {fixtureResult, resultDir, variantOf} from '../helpers/site-fixture.js'

let inputs: string
let slow: ResultFile

const tmp = (prefix: string) => mkdtemp(path.join(os.tmpdir(), prefix))

async function tree(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>()
  for (const e of await readdir(dir, {recursive: true, withFileTypes: true})) {
    if (e.isFile()) files.set(path.relative(dir, path.join(e.parentPath, e.name)), await readFile(path.join(e.parentPath, e.name), 'utf8'))
  }
  return files
}

beforeAll(async () => {
  slow = await fixtureResult('quick-default-45w.json')
  const fast = await fixtureResult('quick-tiny-30w.json')
  inputs = await resultDir({'slow.json': slow, 'fast.json': fast, 'slow-2.json': variantOf(slow, {n: 1, tgFactor: 1.3}), 'nested/bad.json': '{"schemaVersion": 1, "id": '})
})

describe('owbench publish', () => {
  it('publishes a directory, warning on stderr about the corrupt file by name, with a summary on stdout', async () => {
    const out = path.join(await tmp('owbench-cli-site-'), 'site')
    const run = await owbench(['publish', inputs, '--out', out])
    expect(run.code).toBe(0)
    expect(run.stderr).toBe(`warning: skipped ${path.join(inputs, 'nested', 'bad.json')}: result file ${path.join(inputs, 'nested', 'bad.json')} is not valid JSON (truncated or corrupt) — use a file written by \`owbench run\`; a run that was killed leaves its last checkpoint, marked partial\n`)
    expect(run.stdout).toBe(`published 3 results to ${out}: 2 boards, 2 hardware groups\nfiles: 16 written, 0 unchanged, 0 removed; skipped 1 unusable and 0 duplicate files\n`)
    const json = await owbench(['publish', inputs, '--out', out, '--json'])
    expect(JSON.parse(json.stdout)).toMatchObject({results: 3, boards: 2, files: {written: 0, unchanged: 16, removed: 0}})
  })

  it('worker threads and a single thread publish byte-identical sites', async () => {
    const one = path.join(await tmp('owbench-cli-w1-'), 'site')
    const two = path.join(await tmp('owbench-cli-w2-'), 'site')
    const [a, b] = await Promise.all([owbench(['publish', inputs, '--out', one], {env: {OWBENCH_PUBLISH_WORKERS: '0'}}), owbench(['publish', inputs, '--out', two], {env: {OWBENCH_PUBLISH_WORKERS: '2'}})])
    expect([a.code, b.code]).toEqual([0, 0])
    const [ta, tb] = await Promise.all([tree(one), tree(two)])
    // 15 files, and each board's frontier page.
    expect(ta.size).toBe(17)
    expect(tb).toEqual(ta)
  })

  it('refuses a non-empty directory it did not make, in one line, exit 2', async () => {
    const out = await tmp('owbench-cli-foreign-')
    await writeFile(path.join(out, 'index.html'), '<p>my blog</p>')
    const run = await owbench(['publish', inputs, '--out', out])
    expect(run.code).toBe(2)
    expect(run.stderr.trim().split('\n').filter((l) => !l.startsWith('warning:'))).toEqual([`›   Error: --out ${out} is not empty and is not a site owbench published (no owbench-site.json) — choose an empty or new directory, or pass --force to publish into it anyway`])
    expect(await readFile(path.join(out, 'index.html'), 'utf8')).toBe('<p>my blog</p>')
  })

  it('--git commits the site to a branch of the repository it runs in, without touching the checkout', async () => {
    const repo = await tmp('owbench-cli-repo-')
    const env = {GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.com', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1'}
    const git = (...args: string[]) => execFileSync('git', args, {cwd: repo, env: {...process.env, ...env}, encoding: 'utf8'})
    git('init', '-q', '-b', 'main')
    await writeFile(path.join(repo, 'README.md'), 'hi\n')
    git('add', 'README.md')
    git('commit', '-qm', 'first')
    const run = await owbench(['publish', inputs, '--out', path.join(repo, 'site'), '--git', 'gh-pages'], {cwd: repo, env})
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/\ncommitted to branch gh-pages: [0-9a-f]{12} \(not pushed\)\n$/)
    const files = git('ls-tree', '-r', '--name-only', 'gh-pages').trim().split('\n')
    expect(files).toContain('index.html')
    expect(files).toContain('.nojekyll')
    expect(files.filter((f) => f.startsWith('results/'))).toHaveLength(6)
    expect(git('rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('main')
    const again = await owbench(['publish', inputs, '--out', path.join(repo, 'site'), '--git', 'gh-pages'], {cwd: repo, env})
    expect(again.stdout).toMatch(/\nbranch gh-pages already holds this site \([0-9a-f]{12}\); nothing committed\n$/)
  })

  it('a bad --compare value is refused with the form it needs', async () => {
    const run = await owbench(['publish', inputs, '--out', path.join(await tmp('owbench-cli-cmp-'), 's'), '--compare', 'only-one.json'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('--compare only-one.json is not two files — give two result files separated by a comma, e.g. --compare a.json,b.json')
  })
})
