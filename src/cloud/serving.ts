import {existsSync} from 'node:fs'
import path from 'node:path'
import {parseLoads} from '../config/targets.js'
import {SWEEP_DEFAULTS} from '../derive/sweep.js'
import {UserError} from '../errors/errors.js'
import {isSyntheticModelId} from '../model/synthetic-model.js'
import {defaultContextSize} from '../runner/benchmark.js'
import type {Suite} from '../suite/schema.js'

export const SERVING_ENGINES = ['vllm', 'llama-server'] as const
export type ServingEngineName = (typeof SERVING_ENGINES)[number]

/**
 * What the rented machine serves. `hf` models are downloaded by the engine on the machine (vLLM
 * takes a Hugging Face repository; llama-server's `-hf repo[:quant]` takes a GGUF repository and
 * quantization); `upload` models are a local GGUF file (or a built-in synthetic one) copied to the
 * machine by SkyPilot's file_mounts.
 */
export type CloudModel =
  | {kind: 'hf'; source: string; repo: string; quant?: string}
  | {kind: 'upload'; source: string; synthetic?: string; localPath?: string}

/** `hf:org/repo[:quant]`, `synthetic:tiny|default`, or a local `.gguf` path. */
export function parseCloudModel(text: string): CloudModel {
  const hf = /^hf:([A-Za-z0-9][\w.-]*\/[\w.-]+)(?::([\w.-]+))?$/.exec(text)
  if (hf) return {kind: 'hf', source: text, repo: hf[1]!, ...(hf[2] ? {quant: hf[2]} : {})}
  if (text.startsWith('hf:')) throw new UserError(`--model "${text}" is not hf:org/repo[:quant]`, 'for example --model hf:Qwen/Qwen2.5-7B-Instruct, or hf:bartowski/Qwen2.5-7B-Instruct-GGUF:Q4_K_M for llama-server')
  if (text.startsWith('synthetic:')) {
    const id = text.slice('synthetic:'.length)
    if (!isSyntheticModelId(id)) throw new UserError(`unknown synthetic model "${id}"`, 'use synthetic:tiny or synthetic:default')
    return {kind: 'upload', source: text, synthetic: id}
  }
  if (text.toLowerCase().endsWith('.gguf')) {
    const localPath = path.resolve(text)
    if (!existsSync(localPath)) throw new UserError(`model file ${text} does not exist`, 'pass a local .gguf file, or hf:org/repo[:quant] for the machine to download')
    return {kind: 'upload', source: text, localPath}
  }
  throw new UserError(`--model "${text}" is not a model owbench can serve on a rented machine`, 'pass hf:org/repo[:quant], a local .gguf file, or synthetic:tiny|default')
}

export interface ServingEngine {
  name: ServingEngineName
  /** The engine's official container image, as SkyPilot's `image_id` (`docker:` prefix added there). */
  image: string
  /** Port the server listens on; exposed by the task's `resources.ports`. */
  port: number
  /** Answers 200 once the model is loaded (both engines leave it outside --api-key). */
  healthPath: string
}

/**
 * The official images' moving tags: the engine version actually served is read on the machine
 * (`vllm --version`, `llama-server --version`) and recorded with the result; `--engine-image`
 * pins another tag. vLLM: Docker Hub `vllm/vllm-openai` (SkyPilot's own llm/vllm example uses
 * `:latest`); llama.cpp: `ghcr.io/ggml-org/llama.cpp:server-cuda`, its CUDA server image.
 */
export const ENGINES: Readonly<Record<ServingEngineName, ServingEngine>> = {
  vllm: {name: 'vllm', image: 'vllm/vllm-openai:latest', port: 8000, healthPath: '/health'},
  'llama-server': {name: 'llama-server', image: 'ghcr.io/ggml-org/llama.cpp:server-cuda', port: 8080, healthPath: '/health'},
}

export function servingEngine(name: string, image?: string): ServingEngine {
  if (!(SERVING_ENGINES as readonly string[]).includes(name)) throw new UserError(`unknown engine "${name}"`, `use ${SERVING_ENGINES.join(' or ')}`)
  const engine = ENGINES[name as ServingEngineName]
  return image ? {...engine, image: image.replace(/^docker:/, '')} : engine
}

/** Where an uploaded model lives on the machine (a file_mounts destination). */
export const REMOTE_MODEL_DIR = '~/.owbench/model'

/** The model name the server answers to and owbench asks for. */
export function servedModelName(model: CloudModel, uploadFileName?: string): string {
  if (model.kind === 'hf') return model.quant ? `${model.repo}:${model.quant}` : model.repo
  return (uploadFileName ?? 'model.gguf').replace(/\.gguf$/i, '')
}

/** Refuses combinations an engine cannot serve, before anything is rented. */
export function checkModelForEngine(model: CloudModel, engine: ServingEngine): void {
  if (engine.name === 'vllm') {
    if (model.kind === 'upload') throw new UserError(`vLLM does not serve ${model.source} (a GGUF file)`, 'use --engine llama-server for GGUF files, or a Hugging Face repository with vLLM')
    if (model.quant) throw new UserError(`vLLM serves a repository as published; "${model.quant}" in ${model.source} is a GGUF quantization`, 'drop the :quant suffix and pick a quantized repository (e.g. an -AWQ or -FP8 one), or use --engine llama-server with a GGUF repository')
  }
}

/** llama-server's parallel slots (`-np`) and the context of each slot, in tokens. */
export interface ServerSlots {
  slots: number
  contextPerSlot: number
  /** Where `slots` comes from, for the plan and the docs. */
  reason: string
}

/**
 * Slots for the highest number of requests the run puts in flight: the highest `--concurrency`
 * level, a sweep's highest level (SWEEP_DEFAULTS.maxLevel, or the suite's own bound), or, with no
 * --concurrency, the highest level the suite's tests give (1 for a test that gives none). Each
 * slot gets the context `owbench run` sizes for the suite's longest test (defaultContextSize), so
 * no request is cut short and none waits for a slot.
 */
export function serverSlots(concurrency: string | undefined, suite: Suite): ServerSlots {
  const contextPerSlot = defaultContextSize(suite)
  if (concurrency?.trim() === 'sweep') return {slots: SWEEP_DEFAULTS.maxLevel, contextPerSlot, reason: `the sweep's highest level (c${SWEEP_DEFAULTS.maxLevel})`}
  const levels = parseLoads(concurrency, undefined)
  if (levels) return {slots: Math.max(...levels.map((l) => (l.mode === 'concurrency' ? l.level : 1))), contextPerSlot, reason: 'the highest --concurrency level'}
  const perTest = suite.tests.map((t) => (t.concurrency === undefined ? 1 : Array.isArray(t.concurrency) ? Math.max(...t.concurrency) : (t.concurrency.sweep.maxLevel ?? SWEEP_DEFAULTS.maxLevel)))
  return {slots: Math.max(1, ...perTest), contextPerSlot, reason: 'the highest level the suite\'s tests give'}
}

/**
 * The serving command of the task's `run` section, bound to all interfaces on the engine's port
 * and protected by the per-run key in $OWBENCH_API_KEY (the port is public: SkyPilot opens it to
 * the Internet). All GPUs of the machine serve: vLLM's tensor parallelism over
 * $SKYPILOT_NUM_GPUS_PER_NODE, llama-server's every layer offloaded (-ngl 999).
 *
 * llama-server gets `-np` slots (its default, 4 slots sharing one KV cache, would queue a
 * `--concurrency 8` phase) and `-c` = slots x context per slot, since it divides -c among its
 * slots (tools/server: n_ctx_slot = n_ctx / n_parallel without --kv-unified), and `--metrics` for
 * its Prometheus counters, which `owbench run` scrapes. vLLM serves /metrics without a flag, and
 * its scheduler batches up to --max-num-seqs requests (default 256 or more), so it needs neither.
 */
export function serveCommand(engine: ServingEngine, model: CloudModel, name: string, slots: ServerSlots, uploadFileName?: string): string {
  if (engine.name === 'vllm') {
    if (model.kind !== 'hf') throw new Error('vLLM serves Hugging Face repositories only')
    return [
      'exec vllm serve', shellQuote(model.repo),
      '--host 0.0.0.0', `--port ${engine.port}`,
      '--served-model-name', shellQuote(name),
      '--api-key "$OWBENCH_API_KEY"',
      '--tensor-parallel-size "$SKYPILOT_NUM_GPUS_PER_NODE"',
    ].join(' ')
  }
  const modelArgs = model.kind === 'hf' ? `-hf ${shellQuote(model.quant ? `${model.repo}:${model.quant}` : model.repo)}` : `-m ${REMOTE_MODEL_DIR}/${shellQuote(uploadFileName ?? 'model.gguf')}`
  return [
    // The official image keeps the binary at /app/llama-server, not on PATH.
    'exec "$(command -v llama-server || echo /app/llama-server)"', modelArgs,
    '--host 0.0.0.0', `--port ${engine.port}`,
    '--alias', shellQuote(name),
    '--api-key "$OWBENCH_API_KEY"',
    '-ngl 999',
    `-np ${slots.slots}`, `-c ${slots.slots * slots.contextPerSlot}`,
    '--metrics',
  ].join(' ')
}

/** Prints the engine's own version on the machine, recorded with the result. */
export function engineVersionCommand(engine: ServingEngine): string {
  return engine.name === 'vllm' ? 'vllm --version' : '"$(command -v llama-server || echo /app/llama-server)" --version'
}

/** POSIX single quotes: safe for any value in a bash command line. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`
}
