import envPaths from 'env-paths'
import {fileURLToPath} from 'node:url'
import path from 'node:path'

/** Where generated models and built tools live; OWBENCH_CACHE_DIR overrides (tests, CI). */
export function cacheDir(): string {
  return process.env.OWBENCH_CACHE_DIR ?? envPaths('owbench', {suffix: ''}).cache
}

/** The package root (holds benchmarks/, data/, schemas/), both from src/ under vitest and dist/ when built. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
