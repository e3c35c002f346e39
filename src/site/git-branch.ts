import {execFile} from 'node:child_process'
import {mkdtemp, readdir, realpath, rm, stat} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {UserError} from '../errors/errors.js'

/** What commitDirToBranch did. */
export interface BranchCommit {
  /** The branch name, without refs/heads/. */
  branch: string
  /** The commit the branch points at now (the existing tip when nothing changed). */
  commit: string
  /** The commit the branch pointed at before, or null when this call created the branch. */
  parent: string | null
  /** How many files the committed tree holds. */
  files: number
  /** False when the branch already held exactly this tree, so no commit was made. */
  changed: boolean
}

export interface CommitDirOptions {
  /** A directory inside the repository; defaults to the process's working directory. */
  cwd?: string
  message: string
  /** The environment git runs with; defaults to process.env. */
  env?: NodeJS.ProcessEnv
}

const NOT_A_REPO_HINT = 'run owbench inside a git repository, or drop --git'

/**
 * Commits every file under `dir` as the whole tree of `branch` in the repository containing `cwd`.
 * A relative `dir` is resolved against `cwd`.
 *
 * Only plumbing is used, with a temporary index, so the user's working tree, index and checked-out
 * branch are never touched; nothing is pushed. The branch is created when missing, and moved with
 * a compare-and-swap so a concurrent update of it fails instead of being overwritten. Files are
 * added with --force: the repository's .gitignore must not drop site files such as .nojekyll.
 */
export async function commitDirToBranch(dir: string, branch: string, options: CommitDirOptions): Promise<BranchCommit> {
  const cwd = path.resolve(options.cwd ?? process.cwd())
  const baseEnv = gitEnv(options.env ?? process.env)

  if (!(await isDirectory(cwd))) throw new UserError(`${cwd} is not a directory`, NOT_A_REPO_HINT)
  const siteDir = await existingDir(path.resolve(cwd, dir))

  // The repository, found the way git finds it from cwd.
  const found = await git(['rev-parse', '--git-dir', '--is-bare-repository'], {cwd, env: baseEnv})
  if (found.code !== 0) {
    if (/not a git repository/i.test(found.stderr)) throw new UserError(`${cwd} is not inside a git repository`, NOT_A_REPO_HINT)
    throw new UserError(`git could not open the repository at ${cwd}: ${firstLine(found.stderr)}`, NOT_A_REPO_HINT)
  }
  const [gitDirLine = '', bareLine = ''] = found.stdout.split('\n')
  const gitDir = path.resolve(cwd, gitDirLine.trim())
  const bare = bareLine.trim() === 'true'
  // From here on git is pointed at the repository explicitly; an inherited GIT_WORK_TREE or
  // GIT_INDEX_FILE (owbench run from a git hook) must not leak into the plumbing.
  const env: NodeJS.ProcessEnv = {...baseEnv, GIT_DIR: gitDir}
  delete env.GIT_WORK_TREE
  delete env.GIT_INDEX_FILE
  const run = (args: string[], extra: {cwd?: string; env?: NodeJS.ProcessEnv} = {}) => git(args, {cwd: extra.cwd ?? cwd, env: extra.env ?? env})

  const name = await validBranch(branch, run)
  const ref = `refs/heads/${name}`
  if (!bare) await refuseCheckedOut(name, ref, run)

  const tmp = await mkdtemp(path.join(os.tmpdir(), 'owbench-git-index-'))
  try {
    // A fresh index file: git treats a missing one as empty.
    const indexEnv: NodeJS.ProcessEnv = {...env, GIT_INDEX_FILE: path.join(tmp, 'index')}
    // Bytes as they are (no CRLF conversion), and no sparse-checkout or fsmonitor from the
    // user's work tree applied to the site directory.
    const add = await run(
      ['-c', 'core.autocrlf=false', '-c', 'core.safecrlf=false', '-c', 'core.sparseCheckout=false', '-c', 'core.fsmonitor=false', `--work-tree=${siteDir}`, 'add', '-A', '--force', '--', '.'],
      {cwd: siteDir, env: indexEnv},
    )
    if (add.code !== 0) throw gitFailure(`could not add the files in ${siteDir}`, add)

    const listed = await run(['ls-files', '--stage', '-z'], {env: indexEnv})
    if (listed.code !== 0) throw gitFailure('could not list the staged files', listed)
    const entries = listed.stdout.split('\0').filter((entry) => entry !== '')
    if (entries.length === 0) throw new UserError(`${siteDir} holds no files to publish`, 'build the site first')
    const nested = entries.find((entry) => entry.startsWith('160000 '))
    if (nested !== undefined) {
      const where = path.join(siteDir, nested.slice(nested.indexOf('\t') + 1))
      throw new UserError(`${where} is a git repository, whose files would not be published`, 'remove its .git directory or copy the files instead')
    }

    const written = await run(['write-tree'], {env: indexEnv})
    if (written.code !== 0) throw gitFailure('could not write the tree', written)
    const tree = written.stdout.trim()

    const tip = await run(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])
    const parent = tip.code === 0 && tip.stdout.trim() !== '' ? tip.stdout.trim() : null
    if (parent !== null) {
      const parentTree = await run(['rev-parse', '--verify', '--quiet', `${parent}^{tree}`])
      if (parentTree.code === 0 && parentTree.stdout.trim() === tree) return {branch: name, commit: parent, parent, files: entries.length, changed: false}
    }

    const commitArgs = ['commit-tree', tree, ...(parent === null ? [] : ['-p', parent]), '-m', options.message]
    const committed = await run(commitArgs)
    if (committed.code !== 0) {
      if (/please tell me who you are|empty ident|unable to auto-detect|no (name|email) was given/i.test(committed.stderr)) {
        throw new UserError('git does not know who the committer is', 'set it with git config user.name "Your Name" and git config user.email you@example.com')
      }
      throw gitFailure(`could not commit to ${name}`, committed)
    }
    const commit = committed.stdout.trim()

    // The old value (empty: the branch must not exist yet) makes this a compare-and-swap.
    const updated = await run(['update-ref', '-m', `owbench publish: ${options.message.split('\n')[0] ?? ''}`, ref, commit, parent ?? ''])
    if (updated.code !== 0) {
      throw new UserError(`branch ${name} changed while owbench was publishing to it: ${firstLine(updated.stderr)}`, 'run the command again')
    }
    return {branch: name, commit, parent, files: entries.length, changed: true}
  } finally {
    await rm(tmp, {recursive: true, force: true})
  }
}

interface GitResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs git without a shell; a missing git binary is a UserError, a failing git is a result. */
function git(args: readonly string[], options: {cwd: string; env: NodeJS.ProcessEnv}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile('git', [...args], {cwd: options.cwd, env: options.env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, windowsHide: true}, (error, stdout, stderr) => {
      if (error && typeof error.code === 'string') {
        if (error.code === 'ENOENT') reject(new UserError('git is not installed (no git on PATH)', 'install git, or drop --git'))
        else reject(new UserError(`git could not be started: ${error.message}`, 'check the git installation, or drop --git'))
        return
      }
      resolve({code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr})
    })
  })
}

/** English messages, so the ones matched here match whatever the user's locale is. */
function gitEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {...env, LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0'}
  delete out.LANGUAGE
  return out
}

async function validBranch(branch: string, run: (args: string[]) => Promise<GitResult>): Promise<string> {
  const bare = branch.startsWith('refs/heads/') ? branch.slice('refs/heads/'.length) : branch
  const checked = await run(['check-ref-format', '--branch', bare])
  const name = checked.stdout.trim()
  // --branch also expands @{-1}-style names to whatever was checked out before: not a publish target.
  if (checked.code !== 0 || name !== bare) {
    throw new UserError(`'${branch}' is not a valid git branch name`, 'use a name such as gh-pages')
  }
  return name
}

async function refuseCheckedOut(name: string, ref: string, run: (args: string[]) => Promise<GitResult>): Promise<void> {
  const hint = 'publish to another branch such as gh-pages, or check out a different branch'
  const head = await run(['symbolic-ref', '--quiet', '--short', 'HEAD'])
  if (head.code === 0 && head.stdout.trim() === name) {
    throw new UserError(`branch ${name} is checked out here, and publishing to it would desync your working tree`, hint)
  }
  // Any other worktree of the repository with the branch checked out would desync the same way.
  const list = await run(['worktree', 'list', '--porcelain'])
  if (list.code !== 0) return
  let worktree = ''
  for (const line of list.stdout.split('\n')) {
    if (line.startsWith('worktree ')) worktree = line.slice('worktree '.length)
    else if (line === `branch ${ref}`) {
      throw new UserError(`branch ${name} is checked out in the worktree at ${worktree}, and publishing to it would desync that worktree`, hint)
    }
  }
}

async function existingDir(resolved: string): Promise<string> {
  if (!(await isDirectory(resolved))) throw new UserError(`${resolved} is not a directory`, 'build the site first, or pass the directory it was written to')
  // The real path: git compares the work tree with the directory it runs in.
  const real = await realpath(resolved)
  if ((await readdir(real)).length === 0) throw new UserError(`${resolved} is empty`, 'build the site first')
  return real
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory()
  } catch {
    return false
  }
}

function firstLine(stderr: string): string {
  const lines = stderr.split('\n').map((line) => line.trim()).filter((line) => line !== '')
  const relevant = lines.find((line) => /^(fatal|error):/i.test(line)) ?? lines[0] ?? 'no message'
  return relevant.replace(/^(fatal|error):\s*/i, '')
}

/** A git failure the user may be able to fix from git's own first line. */
function gitFailure(what: string, result: GitResult): UserError {
  return new UserError(`git ${what}: ${firstLine(result.stderr)}`, 'fix the problem git reports, or drop --git')
}
