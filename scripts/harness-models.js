// Models the harness benchmark runs on: owbench's built-in synthetic default (Q8_0, its own small
// vocabulary) and a model with a real tokenizer: llama.cpp's bundled Llama 2 SentencePiece vocabulary
// (models/ggml-vocab-llama-spm.gguf, 32000 tokens), random weights written as F16 by owbench's GGUF
// writer, then quantized to Q4_K_M by llama-quantize built from the same bundled llama.cpp. Both are
// cached; neither measures a real model's quality.
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {readGgufFileInfo} from 'node-llama-cpp'
import {writeGguf} from '../dist/model/gguf-writer.js'
import {ensureSyntheticModel, syntheticModelFile} from '../dist/model/synthetic-model.js'
import {cacheDir} from '../dist/paths/paths.js'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const nodeLlamaCpp = path.join(root, 'node_modules', 'node-llama-cpp', 'llama')
const VOCAB = 'models/ggml-vocab-llama-spm.gguf'

/**
 * llama.cpp's bundled Llama 2 vocabulary: from the source `owbench setup` unpacks, else read out of
 * node-llama-cpp's git bundle (about a second) into the models folder, so a machine whose llama.cpp
 * tools are cached but whose source was never unpacked has it too.
 */
function vocabFile(dir) {
  const unpacked = path.join(nodeLlamaCpp, 'llama.cpp', VOCAB)
  if (existsSync(unpacked)) return unpacked
  const cached = path.join(dir, path.basename(VOCAB))
  if (existsSync(cached)) return cached
  const repo = mkdtempSync(path.join(os.tmpdir(), 'owbench-vocab-'))
  try {
    execFileSync('git', ['init', '-q', repo])
    execFileSync('git', ['-C', repo, 'fetch', '-q', path.join(nodeLlamaCpp, 'gitRelease.bundle')])
    writeFileSync(`${cached}.tmp`, execFileSync('git', ['-C', repo, 'show', `FETCH_HEAD:${VOCAB}`], {maxBuffer: 64 * 2 ** 20}))
    execFileSync('mv', [`${cached}.tmp`, cached])
  } finally {
    rmSync(repo, {recursive: true, force: true})
  }
  return cached
}

// 512 x 8 layers with the 32000-token vocabulary: 60M parameters; every row length a multiple of
// 256, so llama-quantize makes every matrix a K-quant (Q4_K, Q6_K for output and some of attn_v/ffn_down).
const SPM_SPEC = {id: 'llama-spm', seed: 0x5eed0003, nVocab: 32000, nEmbd: 512, nLayer: 8, nHead: 8, nHeadKv: 8, nFf: 1536, nCtxTrain: 4096, weightType: 'F16'}

export const HARNESS_MODELS = ['default', 'spm-q4_k_m']

/** The path of a harness model, generated on first use; `quantizeBin` is the folder holding llama-quantize. */
export async function harnessModel(name, {quantizeBin, log}) {
  if (name === 'default') return (await ensureSyntheticModel('default', {onProgress: log})).path
  if (name !== 'spm-q4_k_m') throw new Error(`unknown harness model ${name}: use ${HARNESS_MODELS.join(', ')}`)
  const dir = path.join(cacheDir(), 'models')
  const out = path.join(dir, `owbench-harness-llama-spm-${SPM_SPEC.nEmbd}x${SPM_SPEC.nLayer}-Q4_K_M.gguf`)
  if (existsSync(out)) return out
  mkdirSync(dir, {recursive: true})
  const info = await readGgufFileInfo(vocabFile(dir), {readTensorInfo: false})
  const ggml = info.metadata.tokenizer.ggml
  const vocab = {tokens: ggml.tokens, scores: Float32Array.from(ggml.scores), tokenTypes: Int32Array.from(ggml.token_type), unkId: ggml.unknown_token_id, bosId: ggml.bos_token_id, eosId: ggml.eos_token_id}
  const f16 = `${out}.f16.tmp`
  log?.(`generating ${path.basename(out)}: Llama 2 SentencePiece vocabulary, random weights, F16, then llama-quantize Q4_K_M`)
  await writeGguf(f16, syntheticModelFile(SPM_SPEC, vocab))
  try {
    // A portable build's libraries sit beside its binaries, outside their run path.
    const env = {...process.env, LD_LIBRARY_PATH: [quantizeBin, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':')}
    execFileSync(path.join(quantizeBin, 'llama-quantize'), [f16, `${out}.tmp`, 'Q4_K_M'], {stdio: ['ignore', 'ignore', 'pipe'], env})
    execFileSync('mv', [`${out}.tmp`, out])
  } finally {
    rmSync(f16, {force: true})
    rmSync(`${out}.tmp`, {force: true})
  }
  return out
}
