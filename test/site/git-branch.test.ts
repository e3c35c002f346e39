import {execFileSync} from 'node:child_process'
import {mkdir, mkdtemp, readdir, realpath, rm, unlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {rejectedUserError} from '../helpers/user-error.js'
import {commitDirToBranch} from '../../src/site/git-branch.js'

// Git for the tests and for the code under test: a fixed identity and no global or system
// config, so nothing depends on the machine's git setup.
const identity = {
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Test Committer',
  GIT_COMMITTER_EMAIL: 'committer@example.com',
}
const isolated: NodeJS.ProcessEnv = {...process.env, GIT_CONFIG_GLOBAL: os.devNull, GIT_CONFIG_NOSYSTEM: '1'}
for (const key of Object.keys(isolated)) {
  if ((key.startsWith('GIT_') && key !== 'GIT_CONFIG_GLOBAL' && key !== 'GIT_CONFIG_NOSYSTEM') || key === 'EMAIL') delete isolated[key]
}
const env: NodeJS.ProcessEnv = {...isolated, ...identity}

let tmp: string
let repo: string
let site: string

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
}

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'owbench-git-branch-'))
  repo = path.join(tmp, 'repo')
  await mkdir(repo)
  git(repo, 'init', '--quiet', '--initial-branch=main')
  await writeFile(path.join(repo, 'README.md'), 'hello\n')
  await writeFile(path.join(repo, '.gitignore'), 'site/\n')
  git(repo, 'add', '.')
  git(repo, 'commit', '--quiet', '-m', 'initial')

  site = path.join(tmp, 'site')
  await writeSite(site)
})

afterEach(async () => {
  await rm(tmp, {recursive: true, force: true})
})

async function writeSite(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'results'), {recursive: true})
  await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>owbench</title>\n')
  await writeFile(path.join(dir, '.nojekyll'), '')
  await writeFile(path.join(dir, 'results', 'a.json'), '{"a":1}\n')
}

function lsTree(branch: string): string[] {
  return git(repo, 'ls-tree', '-r', '--name-only', branch).trim().split('\n').sort()
}

function userState(): {status: string; head: string; branch: string} {
  return {status: git(repo, 'status', '--porcelain'), head: git(repo, 'rev-parse', 'HEAD'), branch: git(repo, 'symbolic-ref', 'HEAD')}
}

describe('commitDirToBranch', () => {
  it('commits the directory as the whole tree of a new branch without touching the user', async () => {
    // Staged, unstaged and untracked changes the publish must leave exactly as they are.
    await writeFile(path.join(repo, 'README.md'), 'staged\n')
    git(repo, 'add', 'README.md')
    await writeFile(path.join(repo, 'README.md'), 'unstaged\n')
    await writeFile(path.join(repo, 'untracked.txt'), 'x\n')
    const before = userState()
    expect(before.status).not.toBe('')

    const result = await commitDirToBranch(site, 'gh-pages', {cwd: repo, message: 'Publish results', env})

    expect(result).toMatchObject({branch: 'gh-pages', parent: null, files: 3, changed: true})
    expect(result.commit).toBe(git(repo, 'rev-parse', 'refs/heads/gh-pages').trim())
    expect(lsTree('gh-pages')).toEqual(['.nojekyll', 'index.html', 'results/a.json'])
    expect(git(repo, 'show', 'gh-pages:index.html')).toBe('<!doctype html><title>owbench</title>\n')
    expect(git(repo, 'show', 'gh-pages:results/a.json')).toBe('{"a":1}\n')
    expect(git(repo, 'log', '--format=%P', '-1', 'gh-pages').trim()).toBe('')
    expect(git(repo, 'log', '--format=%s', '-1', 'gh-pages').trim()).toBe('Publish results')
    expect(userState()).toEqual(before)
    // The temporary index is gone.
    expect((await readdir(os.tmpdir())).filter((name) => name.startsWith('owbench-git-index-'))).toEqual([])
  })

  it('makes no commit when the tree is unchanged, and a child commit when it changed', async () => {
    const first = await commitDirToBranch(site, 'gh-pages', {cwd: repo, message: 'first', env})

    const again = await commitDirToBranch(site, 'gh-pages', {cwd: repo, message: 'again', env})
    expect(again).toEqual({branch: 'gh-pages', commit: first.commit, parent: first.commit, files: 3, changed: false})
    expect(git(repo, 'rev-parse', 'gh-pages').trim()).toBe(first.commit)

    await writeFile(path.join(site, 'index.html'), '<!doctype html><title>v2</title>\n')
    await unlink(path.join(site, 'results', 'a.json'))
    const before = userState()
    const second = await commitDirToBranch(site, 'gh-pages', {cwd: repo, message: 'second', env})

    expect(second).toMatchObject({branch: 'gh-pages', parent: first.commit, files: 2, changed: true})
    expect(second.commit).not.toBe(first.commit)
    expect(git(repo, 'rev-parse', 'gh-pages').trim()).toBe(second.commit)
    expect(git(repo, 'log', '--format=%P', '-1', 'gh-pages').trim()).toBe(first.commit)
    expect(lsTree('gh-pages')).toEqual(['.nojekyll', 'index.html'])
    expect(git(repo, 'show', 'gh-pages:index.html')).toBe('<!doctype html><title>v2</title>\n')
    expect(userState()).toEqual(before)
  })

  it('commits every file of a site directory inside the repository that .gitignore ignores', async () => {
    const inside = path.join(repo, 'site')
    await writeSite(inside)
    // A .gitignore in the site itself is ignored too: the files are what was generated.
    await writeFile(path.join(inside, '.gitignore'), '*.json\n')
    const before = userState()
    expect(before.status).toBe('')

    // Run from a subdirectory of the repository, with a relative site path.
    const result = await commitDirToBranch('.', 'gh-pages', {cwd: inside, message: 'inside', env})

    expect(result).toMatchObject({files: 4, changed: true, parent: null})
    expect(lsTree('gh-pages')).toEqual(['.gitignore', '.nojekyll', 'index.html', 'results/a.json'])
    expect(userState()).toEqual(before)
  })

  it('moves an existing branch made elsewhere and keeps its history', async () => {
    git(repo, 'branch', 'pages', 'main')
    const old = git(repo, 'rev-parse', 'pages').trim()
    const result = await commitDirToBranch(site, 'refs/heads/pages', {cwd: repo, message: 'publish', env})
    expect(result).toMatchObject({branch: 'pages', parent: old, changed: true})
    expect(lsTree('pages')).toEqual(['.nojekyll', 'index.html', 'results/a.json'])
  })

  it('refuses the checked-out branch', async () => {
    const head = git(repo, 'rev-parse', 'main')
    const error = await rejectedUserError(commitDirToBranch(site, 'main', {cwd: repo, message: 'x', env}))
    expect(error.message).toBe('branch main is checked out here, and publishing to it would desync your working tree')
    expect(error.hint).toContain('gh-pages')
    expect(git(repo, 'rev-parse', 'main')).toBe(head)
  })

  it('refuses a branch checked out in another worktree', async () => {
    git(repo, 'worktree', 'add', '--quiet', '-b', 'gh-pages', path.join(tmp, 'wt'))
    const error = await rejectedUserError(commitDirToBranch(site, 'gh-pages', {cwd: repo, message: 'x', env}))
    expect(error.message).toMatch(/^branch gh-pages is checked out in the worktree at .*wt/)
  })

  it('refuses an invalid branch name', async () => {
    for (const name of ['bad..name', '', '-x', '@{-1}']) {
      const error = await rejectedUserError(commitDirToBranch(site, name, {cwd: repo, message: 'x', env}))
      expect(error.message).toBe(`'${name}' is not a valid git branch name`)
    }
    expect(git(repo, 'for-each-ref', '--format=%(refname)', 'refs/heads').trim()).toBe('refs/heads/main')
  })

  it('says when the directory is not inside a git repository', async () => {
    const outside = path.join(tmp, 'outside')
    await mkdir(outside)
    const error = await rejectedUserError(commitDirToBranch(site, 'gh-pages', {cwd: outside, message: 'x', env: {...env, GIT_CEILING_DIRECTORIES: tmp}}))
    expect(error.message).toBe(`${outside} is not inside a git repository`)
    expect(error.hint).toContain('drop --git')
  })

  it('says when git is not installed', async () => {
    const error = await rejectedUserError(commitDirToBranch(site, 'gh-pages', {cwd: repo, message: 'x', env: {...env, PATH: path.join(tmp, 'no-bin')}}))
    expect(error.message).toBe('git is not installed (no git on PATH)')
  })

  it('says when git does not know the committer', async () => {
    const anonymous = {...isolated, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'user.useConfigOnly', GIT_CONFIG_VALUE_0: 'true'}
    const error = await rejectedUserError(commitDirToBranch(site, 'gh-pages', {cwd: repo, message: 'x', env: anonymous}))
    expect(error.message).toBe('git does not know who the committer is')
    expect(error.hint).toContain('git config user.email')
    expect(git(repo, 'for-each-ref', '--format=%(refname)', 'refs/heads').trim()).toBe('refs/heads/main')
  })

  it('refuses a nested git repository inside the site, whose files would be lost', async () => {
    const vendored = path.join(site, 'vendor')
    await mkdir(vendored)
    git(vendored, 'init', '--quiet')
    await writeFile(path.join(vendored, 'x.js'), 'x\n')
    git(vendored, 'add', '.')
    git(vendored, 'commit', '--quiet', '-m', 'vendored')
    const error = await rejectedUserError(commitDirToBranch(site, 'gh-pages', {cwd: repo, message: 'x', env}))
    expect(error.message).toBe(`${path.join(await realpath(site), 'vendor')} is a git repository, whose files would not be published`)
  })

  it('says when the directory is missing or empty', async () => {
    const missing = path.join(tmp, 'missing')
    expect((await rejectedUserError(commitDirToBranch(missing, 'gh-pages', {cwd: repo, message: 'x', env}))).message).toBe(`${missing} is not a directory`)
    const empty = path.join(tmp, 'empty')
    await mkdir(path.join(empty, 'sub'), {recursive: true})
    expect((await rejectedUserError(commitDirToBranch(empty, 'gh-pages', {cwd: repo, message: 'x', env}))).message).toBe(`${await realpath(empty)} holds no files to publish`)
  })
})
