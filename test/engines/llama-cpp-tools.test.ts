import {chmod, lstat, mkdir, mkdtemp, readdir, readlink, realpath, stat, symlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {installBuiltFiles} from '../../src/engines/llama-cpp-tools.js'

describe('installing a tools build', () => {
  it('keeps a shared library\'s names as links to one file, and the tools executable, replacing what was there', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-install-'))
    const built = path.join(dir, 'build', 'bin')
    const bin = path.join(dir, 'bin')
    await mkdir(built, {recursive: true})
    await mkdir(bin)
    await writeFile(path.join(bin, 'llama-server'), 'an older build')
    await writeFile(path.join(built, 'llama-bench'), '#!/bin/sh\n')
    await chmod(path.join(built, 'llama-bench'), 0o755)
    await writeFile(path.join(built, 'libggml-base.so.0.23.0'), 'ggml-base')
    // As cmake installs a versioned shared library.
    await symlink('libggml-base.so.0.23.0', path.join(built, 'libggml-base.so.0'))
    await symlink('libggml-base.so.0', path.join(built, 'libggml-base.so'))

    await installBuiltFiles(built, bin)

    expect((await readdir(bin)).sort()).toEqual(['libggml-base.so', 'libggml-base.so.0', 'libggml-base.so.0.23.0', 'llama-bench'])
    expect(await readlink(path.join(bin, 'libggml-base.so'))).toBe('libggml-base.so.0')
    expect(await readlink(path.join(bin, 'libggml-base.so.0'))).toBe('libggml-base.so.0.23.0')
    expect((await lstat(path.join(bin, 'libggml-base.so.0.23.0'))).isSymbolicLink()).toBe(false)
    // One file under every name: the dynamic loader loads it once.
    const inodes = await Promise.all(['libggml-base.so', 'libggml-base.so.0', 'libggml-base.so.0.23.0'].map(async (name) => (await stat(path.join(bin, name))).ino))
    expect(new Set(inodes).size).toBe(1)
    expect(await realpath(path.join(bin, 'libggml-base.so'))).toBe(await realpath(path.join(bin, 'libggml-base.so.0.23.0')))
    expect((await stat(path.join(bin, 'llama-bench'))).mode & 0o777).toBe(0o755)
  })
})
