import path from 'node:path'
import {resolveModelFile} from 'node-llama-cpp'
import {UserError} from '../errors/errors.js'
import type {ModelInfo} from '../results/schema.js'
import {cacheDir} from '../paths/paths.js'
import {ensureSyntheticModel, isSyntheticModelId, SYNTHETIC_GENERATOR_VERSION} from './synthetic-model.js'

export interface ResolvedModel {
  /** What the user passed, or synthetic:default when nothing was. */
  source: string
  path: string
  synthetic?: NonNullable<ModelInfo['synthetic']>
}

export interface ResolveOptions {
  /** Show node-llama-cpp's download progress bar (only on a terminal). */
  progress: boolean
  log?: (message: string) => void
}

/**
 * --model accepts a local .gguf path, `synthetic:tiny|default` (generated on first use, no
 * download), or an `hf:` URI / http(s) URL resolved by node-llama-cpp's own resolver into the
 * owbench cache. Without --model the built-in synthetic default model is used.
 */
export async function resolveModel(spec: string | undefined, options: ResolveOptions): Promise<ResolvedModel> {
  const source = spec ?? 'synthetic:default'
  if (source.startsWith('synthetic:')) {
    const id = source.slice('synthetic:'.length)
    if (!isSyntheticModelId(id)) throw new UserError(`unknown synthetic model "${id}"`, 'use synthetic:tiny or synthetic:default')
    const info = await ensureSyntheticModel(id, {onProgress: options.log})
    return {source, path: info.path, synthetic: {id, seed: info.spec.seed, generatorVersion: SYNTHETIC_GENERATOR_VERSION}}
  }
  if (/^(hf:|huggingface:|https?:\/\/)/i.test(source)) {
    try {
      // node-llama-cpp's downloader retries a dead URL for minutes; one HEAD request tells sooner.
      if (/^https?:\/\//i.test(source)) await reachable(source)
      const file = await resolveModelFile(source, {directory: path.join(cacheDir(), 'models'), cli: options.progress, download: 'auto'})
      return {source, path: file}
    } catch (error) {
      throw new UserError(`cannot download ${source}: ${firstLine(error)}`, 'check the URI and your network; offline, download the .gguf elsewhere and pass its local path with --model PATH')
    }
  }
  return {source, path: path.resolve(source)}
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : ''
  return (message.split('\n')[0] ?? message) + cause
}

async function reachable(url: string): Promise<void> {
  const response = await fetch(url, {method: 'HEAD', redirect: 'follow', signal: AbortSignal.timeout(15_000)})
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`)
}
