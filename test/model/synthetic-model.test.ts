import {createHash} from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {getLlama, type Llama, LlamaLogLevel, type LlamaModel, readGgufFileInfo, type Token} from 'node-llama-cpp'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {
  ensureSyntheticModel, isSyntheticModelId, suppressedTokenIds, SYNTHETIC_GENERATOR_VERSION, SYNTHETIC_MODELS,
  type SyntheticModelInfo, type SyntheticModelSpec, syntheticModelFile, syntheticModelFileName, syntheticParameterCount, writeSyntheticModel,
} from '../../src/model/synthetic-model.js'
import {dequantizeQ4_K, type GgufFile, quantizeQ4_K, writeGguf} from '../../src/model/gguf-writer.js'
import {buildSyntheticVocab, SPM_SPACE, SYNTHETIC_VOCAB_MIN_SIZE, TOKEN_TYPE} from '../../src/model/synthetic-vocab.js'

const tinySpec = SYNTHETIC_MODELS.tiny
const utf8 = new TextDecoder('utf-8', {fatal: true})

/** llama.cpp hands detokenized bytes to V8, which turns invalid UTF-8 into U+FFFD, so that is what to look for. */
function expectValidUtf8(text: string): void {
  expect(text).not.toContain('\uFFFD')
  expect(() => utf8.decode(Buffer.from(text, 'utf8'))).not.toThrow()
}

let dir: string

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'owbench-synthetic-'))
})

afterAll(async () => {
  await fs.rm(dir, {recursive: true, force: true})
})

describe('synthetic vocab', () => {
  it('has the requested size, unique tokens, and only pieces that detokenize to valid UTF-8', () => {
    for (const size of [SYNTHETIC_VOCAB_MIN_SIZE, 512, 4096, 16000]) {
      const vocab = buildSyntheticVocab(size)
      expect(vocab.tokens).toHaveLength(size)
      expect(vocab.scores).toHaveLength(size)
      expect(vocab.tokenTypes).toHaveLength(size)
      expect(new Set(vocab.tokens).size).toBe(size)
      expect(vocab.tokens.slice(0, 3)).toEqual(['<unk>', '<s>', '</s>'])
      expect(Array.from(vocab.tokenTypes.slice(0, 3))).toEqual([TOKEN_TYPE.UNKNOWN, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL])
      vocab.tokens.forEach((piece, id) => {
        const type = vocab.tokenTypes[id]
        if (type === TOKEN_TYPE.NORMAL) {
          expect(piece).toMatch(/^[\x20-\x7e\u2581]+$/)
          // The space marker only starts a piece, so SPM merges never cross a word boundary.
          expect(piece.slice(1)).not.toContain(SPM_SPACE)
        } else if (type === TOKEN_TYPE.BYTE) {
          expect(piece).toMatch(/^<0x[0-7][0-9A-F]>$/)
        } else {
          expect([TOKEN_TYPE.UNKNOWN, TOKEN_TYPE.CONTROL, TOKEN_TYPE.UNUSED]).toContain(type)
        }
      })
      expect(vocab.tokens.filter((_, id) => vocab.tokenTypes[id] === TOKEN_TYPE.BYTE)).toHaveLength(128)
      expect(vocab.tokens.filter((_, id) => vocab.tokenTypes[id] === TOKEN_TYPE.UNUSED)).toEqual(
        Array.from({length: 128}, (_, i) => `<0x${(0x80 + i).toString(16).toUpperCase()}>`))
      expect(vocab.scores.every(Number.isFinite)).toBe(true)
    }
  })

  it('is deterministic and keeps every multi-character piece reachable through its prefixes', () => {
    const vocab = buildSyntheticVocab(4096)
    expect(buildSyntheticVocab(4096)).toEqual(vocab)
    const known = new Set(vocab.tokens)
    vocab.tokens.forEach((piece, id) => {
      if (vocab.tokenTypes[id] !== TOKEN_TYPE.NORMAL) return
      const chars = [...piece]
      for (let n = 1; n < chars.length; n++) expect(known.has(chars.slice(0, n).join(''))).toBe(true)
    })
    // A smaller vocabulary is a prefix of a larger one except for the last word that no longer fits.
    expect(buildSyntheticVocab(512).tokens.slice(0, 500)).toEqual(vocab.tokens.slice(0, 500))
  })

  it('rejects sizes it cannot build', () => {
    expect(() => buildSyntheticVocab(SYNTHETIC_VOCAB_MIN_SIZE - 1)).toThrow(/>=/)
    expect(() => buildSyntheticVocab(100_000)).toThrow(/cannot grow/)
  })
})

describe('synthetic model specs', () => {
  it('sizes the built-in models', () => {
    const parameters = syntheticParameterCount(SYNTHETIC_MODELS.default)
    expect(parameters).toBeGreaterThan(20e6)
    expect(parameters).toBeLessThan(60e6)
    expect(syntheticParameterCount(tinySpec)).toBe(172_352)
    expect(SYNTHETIC_MODELS.default.nCtxTrain).toBeGreaterThanOrEqual(16384)
  })

  it('recognizes synthetic model ids', () => {
    expect(isSyntheticModelId('tiny')).toBe(true)
    expect(isSyntheticModelId('default')).toBe(true)
    expect(isSyntheticModelId('toString')).toBe(false)
    expect(isSyntheticModelId('llama-3')).toBe(false)
  })

  it('names files after the spec and generator version', () => {
    const name = syntheticModelFileName(tinySpec)
    expect(name).toMatch(/^owbench-synthetic-tiny-[0-9a-f]{12}\.gguf$/)
    expect(syntheticModelFileName({...tinySpec})).toBe(name)
    expect(syntheticModelFileName({...tinySpec, seed: tinySpec.seed + 1})).not.toBe(name)
  })
})

describe('writeSyntheticModel', () => {
  it('writes byte-identical files for the same spec and different ones for a different seed', async () => {
    const a = await writeSyntheticModel(tinySpec, path.join(dir, 'det-a.gguf'))
    const b = await writeSyntheticModel(tinySpec, path.join(dir, 'det-b.gguf'))
    const c = await writeSyntheticModel({...tinySpec, seed: tinySpec.seed + 1}, path.join(dir, 'det-c.gguf'))
    expect(a.sha256).toBe(b.sha256)
    expect(c.sha256).not.toBe(a.sha256)
    expect(a.sha256).toBe(createHash('sha256').update(await fs.readFile(a.path)).digest('hex'))
    expect(a.bytes).toBe((await fs.stat(a.path)).size)
    expect(a.bytes).toBeGreaterThan(0.5e6)
    expect(a.bytes).toBeLessThan(1.5e6)
    expect(a.parameters).toBe(syntheticParameterCount(tinySpec))
  })

  it('survives concurrent writers of the same path', async () => {
    const file = path.join(dir, 'race.gguf')
    const results = await Promise.all([1, 2, 3].map(() => writeSyntheticModel(tinySpec, file)))
    const hash = createHash('sha256').update(await fs.readFile(file)).digest('hex')
    for (const r of results) expect(r.sha256).toBe(hash)
    expect((await fs.readdir(dir)).filter(f => f.endsWith('.tmp'))).toEqual([])
  })

  it('writes the metadata llama.cpp and owbench look for', async () => {
    const info = await writeSyntheticModel(tinySpec, path.join(dir, 'meta.gguf'))
    const gguf = await readGgufFileInfo(info.path, {logWarnings: false})
    const m = gguf.metadata as unknown as Record<string, Record<string, unknown>>
    expect(m.general).toMatchObject({architecture: 'llama', name: 'owbench-synthetic-tiny', file_type: 0, alignment: 32})
    expect(m.general?.description).toMatch(/synthetic model/)
    expect(m.llama).toMatchObject({
      context_length: 4096, embedding_length: 64, block_count: 2, feed_forward_length: 192, vocab_size: 512,
      attention: {head_count: 4, head_count_kv: 4, layer_norm_rms_epsilon: expect.closeTo(1e-5, 9)},
      rope: {dimension_count: 16, freq_base: 10000},
    })
    expect(m.tokenizer).toMatchObject({
      ggml: {model: 'llama', bos_token_id: 1, eos_token_id: 2, unknown_token_id: 0, add_bos_token: true, add_eos_token: false},
      chat_template: expect.stringContaining('add_generation_prompt'),
    })
    expect(m.owbench).toEqual({synthetic: {seed: tinySpec.seed, generator_version: SYNTHETIC_GENERATOR_VERSION}})
    const names = (gguf.tensorInfo ?? []).map(t => t.name)
    expect(names).toHaveLength(3 + 9 * tinySpec.nLayer)
    expect(names).toContain('blk.1.ffn_down.weight')
    const down = gguf.tensorInfo?.find(t => t.name === 'blk.0.ffn_down.weight')
    expect(down?.dimensions.map(Number)).toEqual([192, 64])
  })
})

describe('ensureSyntheticModel', () => {
  it('generates once, reuses afterwards, and regenerates a damaged cache entry', async () => {
    const cache = await fs.mkdtemp(path.join(dir, 'cache-'))
    const progress: string[] = []
    const onProgress = (msg: string): void => { progress.push(msg) }

    const [first, concurrent] = await Promise.all([
      ensureSyntheticModel('tiny', {dir: cache, onProgress}),
      ensureSyntheticModel('tiny', {dir: cache, onProgress}),
    ])
    expect(first).toEqual(concurrent)
    expect(path.basename(first.path)).toBe(syntheticModelFileName(tinySpec))
    expect(progress.length).toBeGreaterThan(0)
    expect(progress.join('\n')).toMatch(/generat/)
    const sidecar = JSON.parse(await fs.readFile(first.path.replace(/\.gguf$/, '.json'), 'utf8')) as Record<string, unknown>
    expect(sidecar).toMatchObject({sha256: first.sha256, bytes: first.bytes, parameters: first.parameters})

    progress.length = 0
    const {mtimeMs} = await fs.stat(first.path)
    const reused = await ensureSyntheticModel('tiny', {dir: cache, onProgress})
    expect(reused).toEqual(first)
    expect(progress).toEqual([])
    expect((await fs.stat(first.path)).mtimeMs).toBe(mtimeMs)

    await fs.rm(first.path.replace(/\.gguf$/, '.json'))
    expect(await ensureSyntheticModel('tiny', {dir: cache, onProgress})).toEqual(first)
    expect(progress.length).toBeGreaterThan(0)

    progress.length = 0
    await fs.truncate(first.path, 1000)
    expect(await ensureSyntheticModel('tiny', {dir: cache, onProgress})).toEqual(first)
    expect(progress.length).toBeGreaterThan(0)
    expect((await fs.stat(first.path)).size).toBe(first.bytes)
    expect((await fs.readdir(cache)).sort()).toEqual([path.basename(first.path), path.basename(first.path).replace(/\.gguf$/, '.json')].sort())
  })

  it('defaults to the models folder under OWBENCH_CACHE_DIR', async () => {
    const cache = await fs.mkdtemp(path.join(dir, 'env-'))
    const previous = process.env.OWBENCH_CACHE_DIR
    process.env.OWBENCH_CACHE_DIR = cache
    try {
      const info = await ensureSyntheticModel('tiny')
      expect(path.dirname(info.path)).toBe(path.join(cache, 'models'))
    } finally {
      if (previous === undefined) delete process.env.OWBENCH_CACHE_DIR
      else process.env.OWBENCH_CACHE_DIR = previous
    }
  })
})

describe('the tiny model in llama.cpp', () => {
  let llama: Llama
  let model: LlamaModel
  let info: SyntheticModelInfo
  const disposers: Array<() => Promise<void>> = []

  beforeAll(async () => {
    info = await ensureSyntheticModel('tiny', {dir})
    llama = await getLlama({gpu: false, build: 'never', logLevel: LlamaLogLevel.error})
    model = await llama.loadModel({modelPath: info.path})
    disposers.push(() => model.dispose())
  })

  afterAll(async () => {
    for (const dispose of disposers.reverse()) await dispose()
    await llama?.dispose()
  })

  async function generate(m: LlamaModel, prompt: string, count: number, options: {temperature: number, seed?: number}): Promise<Token[]> {
    const context = await m.createContext({contextSize: 512, threads: 1})
    disposers.push(() => context.dispose())
    const sequence = context.getSequence()
    const out: Token[] = []
    // Taking a fixed count from the iterator ignores EOS, which is what a benchmark does too.
    for await (const token of sequence.evaluate(m.tokenize(prompt), options)) {
      out.push(token)
      if (out.length >= count) break
    }
    return out
  }

  it('reports the llama architecture and the parameter count', () => {
    expect(model.fileInfo.metadata.general.architecture).toBe('llama')
    expect(model.fileInsights.totalParameters).toBe(info.parameters)
    expect(model.trainContextSize).toBe(tinySpec.nCtxTrain)
  })

  it('round-trips ASCII text through tokenize and detokenize', () => {
    for (const text of ['The quick brown fox jumps over the lazy dog.', 'Hello, world! 1234 (x+y)*z = {a: [b]}\n\tindented ~`|\\']) {
      const tokens = model.tokenize(text)
      expect(tokens.length).toBeLessThan(text.length + 1)
      expect(model.detokenize(tokens)).toBe(text)
    }
    // Common words are single tokens thanks to the prefix closure.
    expect(model.tokenize('the')).toHaveLength(1)
    expect(model.tokenize('the of and')).toHaveLength(3)
  })

  it('detokenizes every single token id to valid UTF-8', () => {
    for (let id = 0; id < tinySpec.nVocab; id++) {
      expectValidUtf8(model.detokenize([id as Token]))
      expectValidUtf8(model.detokenize([id as Token], true))
    }
  })

  // What llama.cpp does with text the vocab has no piece for: byte fallback to <0xC3><0xA9> for 'é'. Without those
  // tokens llama.cpp's byte_to_token throws std::out_of_range and node-llama-cpp aborts the whole process, so the
  // vocab carries <0x80>..<0xFF> as UNUSED tokens, which detokenize to nothing.
  it('tokenizes non-ASCII text to byte placeholders that detokenize to nothing', () => {
    const vocab = buildSyntheticVocab(tinySpec.nVocab)
    const tokens = model.tokenize('caf\u00e9 \u65e5')
    const pieces = Array.from(tokens, t => vocab.tokens[t])
    expect(pieces).toContain('<0xC3>')
    expect(pieces).toContain('<0xA9>')
    expect(pieces).toContain('<0xE6>')
    expect(model.detokenize(tokens)).toBe('caf ')
  })

  it('generates 200 varied tokens of valid UTF-8, never a suppressed token', async () => {
    const tokens = await generate(model, 'Once upon a time', 200, {temperature: 0.8, seed: 1})
    expect(tokens).toHaveLength(200)
    expect(new Set(tokens).size).toBeGreaterThan(20)
    const suppressed = suppressedTokenIds(buildSyntheticVocab(tinySpec.nVocab))
    expect(tokens.filter(t => suppressed.has(t))).toEqual([])
    const text = model.detokenize(tokens)
    expectValidUtf8(text)
    expect(text).toMatch(/^[\x20-\x7e\t\n]+$/)
  })

  it('gives the same greedy tokens from F32, F16 and Q8_0 weights', async () => {
    // Weight encoding bugs (a wrong F16 rounding, a misplaced Q8_0 scale) would change the logits wholesale.
    const spec = (weightType: SyntheticModelSpec['weightType']): SyntheticModelSpec => ({...tinySpec, weightType})
    const runs: Token[][] = []
    for (const weightType of ['F32', 'F16', 'Q8_0'] as const) {
      const written = await writeSyntheticModel(spec(weightType), path.join(dir, `greedy-${weightType}.gguf`))
      const m = await llama.loadModel({modelPath: written.path})
      disposers.push(() => m.dispose())
      runs.push(await generate(m, 'The quick brown fox jumps over the lazy dog', 4, {temperature: 0}))
    }
    expect(runs[1]).toEqual(runs[0])
    expect(runs[2]).toEqual(runs[0])
  })
})

describe('the Q4_K check model in llama.cpp', () => {
  it('computes what its dequantized weights compute: ggml reads the Q4_K packing as written', async () => {
    // The same model twice: Q4_K, and F32 holding exactly the values ggml's dequantize_row_q4_K gives for our
    // blocks. If the packing were off (scales, nibble order), llama.cpp would compute from different weights and the
    // final hidden states would be unrelated (cosine near 0); a correct packing leaves only ggml's Q8_K activation
    // rounding between them.
    const spec = SYNTHETIC_MODELS['check-q4_k']
    const file = syntheticModelFile(spec)
    const roundTrip = (decode: (bytes: Uint8Array) => Float32Array): GgufFile => ({
      metadata: file.metadata,
      tensors: file.tensors.map((t) => t.type !== 'Q4_K' ? t : {...t, type: 'F32', data: function* () {
        for (const chunk of (t.data as () => Iterable<Float32Array>)()) yield decode(quantizeQ4_K(chunk))
      }}),
    })
    const q4 = path.join(dir, 'check-q4_k.gguf')
    const exact = path.join(dir, 'check-q4_k-dequantized.gguf')
    const swapped = path.join(dir, 'check-q4_k-nibbles-swapped.gguf')
    await writeGguf(q4, file)
    await writeGguf(exact, roundTrip(dequantizeQ4_K))
    // A wrong reading of the same bytes: high nibble first.
    await writeGguf(swapped, roundTrip((bytes) => {
      const copy = Uint8Array.from(bytes)
      for (let b = 0; b < copy.length; b += 144) for (let i = b + 16; i < b + 144; i++) copy[i] = ((copy[i]! & 0xf) << 4) | (copy[i]! >> 4)
      return dequantizeQ4_K(copy)
    }))
    const llama = await getLlama({gpu: false, build: 'never', logLevel: LlamaLogLevel.error})
    const hidden = async (modelPath: string): Promise<readonly number[]> => {
      const model = await llama.loadModel({modelPath})
      const context = await model.createEmbeddingContext({contextSize: 64, threads: 1})
      const {vector} = await context.getEmbeddingFor('the cost of a token at home')
      await context.dispose()
      await model.dispose()
      return vector
    }
    const cosine = (a: readonly number[], b: readonly number[]) => {
      let dot = 0
      let na = 0
      let nb = 0
      for (let i = 0; i < a.length; i++) {
        dot += a[i]! * b[i]!
        na += a[i]! ** 2
        nb += b[i]! ** 2
      }
      return dot / Math.sqrt(na * nb)
    }
    const [fromQ4, fromExact, fromSwapped] = [await hidden(q4), await hidden(exact), await hidden(swapped)]
    await llama.dispose()
    expect(fromQ4).toHaveLength(spec.nEmbd)
    expect(cosine(fromQ4, fromExact)).toBeGreaterThan(0.999)
    expect(cosine(fromQ4, fromSwapped)).toBeLessThan(0.5)
  })
})
