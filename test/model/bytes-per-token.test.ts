import path from 'node:path'
import {getLlama, LlamaLogLevel, readGgufFileInfo} from 'node-llama-cpp'
import {describe, expect, it} from 'vitest'
import {bytesPerToken, GGML_TYPE_SIZES, modelBytesPerToken, tensorBytes, testBytesPerToken} from '../../src/model/bytes-per-token.js'
import {ensureLlamaCppTools} from '../../src/engines/llama-cpp-tools.js'
import {repoRoot} from '../helpers/cli.js'
import {ensureSyntheticModel} from '../../src/model/synthetic-model.js'
import {testCacheDir} from '../helpers/tiny-model.js'

describe('bytes read per generated token', () => {
  it('knows every ggml type size exactly as ggml itself does', async () => {
    const llama = await getLlama({gpu: false, build: 'never', logLevel: LlamaLogLevel.error})
    const bindings = (llama as unknown as {_bindings: {getTypeSizeForGgmlType(t: number): number | undefined; getBlockSizeForGgmlType(t: number): number | undefined}})._bindings
    for (const [id, size] of Object.entries(GGML_TYPE_SIZES)) {
      expect({id, block: bindings.getBlockSizeForGgmlType(Number(id)), bytes: bindings.getTypeSizeForGgmlType(Number(id))}).toEqual({id, block: size.block, bytes: size.bytes})
    }
    await llama.dispose()
  })

  it('counts the default synthetic model by hand: every matrix once, one embedding row', async () => {
    const model = await ensureSyntheticModel('default', {dir: path.join(testCacheDir, 'models')})
    const info = await readGgufFileInfo(model.path, {readTensorInfo: true})
    const figure = bytesPerToken({metadata: info.metadata as Record<string, unknown>, tensorInfo: info.fullTensorInfo ?? []})
    // Q8_0 rows of 512 values: 16 blocks of 34 bytes = 544 bytes; of 1408 values: 44 blocks = 1496 bytes.
    // token_embd: 1 row = 544. output_norm: 512 x 4 = 2,048. output: 4,096 rows x 544 = 2,228,224.
    // Each of 8 layers: two norms 2 x 2,048; q, k, v, o 4 x 512 rows x 544 = 1,114,112; gate and up
    // 2 x 1,408 rows x 544 = 1,531,904; down 512 rows x 1,496 = 765,952: 3,416,064.
    expect(figure.weightBytes).toBe(544 + 2_048 + 2_228_224 + 8 * 3_416_064)
    expect(figure.weightBytes).toBe(29_559_328)
    // The file's tensors hold the whole 4,096-row embedding: 4,095 rows more than a token reads.
    expect(figure.tensorBytes - figure.weightBytes).toBe(4_095 * 544)
    // K and V: 8 layers x 8 heads x (64 + 64) x 2 bytes.
    expect(figure.kvBytesPerPosition).toBe(16_384)
    // tg64 at depth 0 attends to 1..64 positions: 32.5 on average.
    expect(testBytesPerToken(figure, {depth: 0, nPrompt: 1, nGen: 64}).bytes).toBe(29_559_328 + 16_384 * 32.5)
    expect(testBytesPerToken(figure, {depth: 4096, nPrompt: 1, nGen: 128}).bytes).toBe(29_559_328 + 16_384 * (4096 + 64.5))
  })

  it('reads only the routed experts of a mixture-of-experts layer and the whole embedding when it is the output head', () => {
    const metadata = {general: {architecture: 'qwen3moe'}, qwen3moe: {expert_count: 8, expert_used_count: 2, block_count: 1, embedding_length: 256, attention: {head_count: 4, head_count_kv: 2, key_length: 64, value_length: 64}}}
    const tensorInfo = [
      {name: 'token_embd.weight', dimensions: [256, 1000], ggmlType: 8},
      {name: 'blk.0.ffn_gate_exps.weight', dimensions: [256, 512, 8], ggmlType: 12},
      {name: 'blk.0.ffn_gate_inp.weight', dimensions: [256, 8], ggmlType: 0},
    ]
    const figure = bytesPerToken({metadata, tensorInfo})
    // Tied output: the 256,000-value Q8_0 embedding is read whole (8,000 blocks x 34 = 272,000) plus one row (272).
    // Experts: 8 x 512 x 256 Q4_K values = 4,096 blocks x 144 = 589,824 bytes, 2 of 8 read = 147,456.
    // Router: 256 x 8 F32 = 8,192.
    expect(figure.weightBytes).toBe(272_000 + 272 + 147_456 + 8_192)
    expect(figure.experts).toEqual({used: 2, total: 8})
    expect(figure.kvBytesPerPosition).toBe(2 * 128 * 2)
    expect(tensorBytes([256, 512, 8], 12)).toBe(589_824)
  })

  it('names the attention it does not model instead of guessing its KV reads', () => {
    const figure = bytesPerToken({metadata: {general: {architecture: 'gemma3'}, gemma3: {block_count: 2, attention: {head_count: 4, sliding_window: 512}}}, tensorInfo: [{name: 'output.weight', dimensions: [32, 32], ggmlType: 0}]})
    expect(figure.kvBytesPerPosition).toBeNull()
    expect(figure.kvNote).toBe('KV reads not modelled for sliding-window attention layers')
    expect(testBytesPerToken(figure, {depth: 0, nPrompt: 1, nGen: 8})).toEqual({bytes: null, weightsOnly: 4096})
  })
})

describe('bytes read per generated token of a real-tokenizer Q4_K_M model', () => {
  // The harness benchmark's model (scripts/harness-models.js): Llama 2's 32,000-token SentencePiece
  // vocabulary, 512 x 8 layers of random F16 weights quantized to Q4_K_M by llama.cpp's own
  // llama-quantize (the checked native build `npm test`'s pretest makes beside llama-server).
  it('counts its tensors by hand: Q4_K rows of 2 blocks, a Q6_K output head, Q6_K in half the attn_v and ffn_down', async () => {
    const {bin} = await ensureLlamaCppTools({variant: 'native', targets: ['llama-server', 'llama-quantize']})
    const previous = process.env.OWBENCH_CACHE_DIR
    process.env.OWBENCH_CACHE_DIR = testCacheDir
    const {harnessModel} = (await import(path.join(repoRoot, 'scripts', 'harness-models.js'))) as {harnessModel: (name: string, options: {quantizeBin: string}) => Promise<string>}
    const file = await harnessModel('spm-q4_k_m', {quantizeBin: bin}).finally(() => (previous === undefined ? delete process.env.OWBENCH_CACHE_DIR : (process.env.OWBENCH_CACHE_DIR = previous)))
    const figure = await modelBytesPerToken(file)
    // Q4_K: 256 values in 144 bytes; Q6_K: 256 in 210; F32 norms 512 x 4 = 2,048.
    // token_embd (Q4_K, 32,000 rows of 512): one row of 2 blocks = 288. output (Q6_K): 16,384,000 values = 64,000 blocks x 210 = 13,440,000.
    // Each layer: two norms 4,096; q, k, o (Q4_K 512 x 512: 1,024 blocks) 3 x 147,456 = 442,368; gate and up (Q4_K 512 x 1,536:
    // 3,072 blocks) 2 x 442,368 = 884,736. attn_v: Q6_K in 4 layers (1,024 x 210 = 215,040), Q4_K in 4 (147,456);
    // ffn_down: Q6_K in 4 (3,072 x 210 = 645,120), Q4_K in 4 (442,368).
    const layers = 8 * (4_096 + 442_368 + 884_736) + 4 * 215_040 + 4 * 147_456 + 4 * 645_120 + 4 * 442_368
    expect(figure.weightBytes).toBe(288 + 13_440_000 + 2_048 + layers)
    expect(figure.weightBytes).toBe(29_891_872)
    // The file holds the whole embedding table: 64,000 Q4_K blocks where a token reads 2.
    expect(figure.tensorBytes).toBe(29_891_872 - 288 + 64_000 * 144)
    // 8 layers x 8 KV heads x (64 + 64) x 2 bytes.
    expect(figure.kvBytesPerPosition).toBe(16_384)
    expect(figure).toMatchObject({layers: 8})
  }, 1_200_000)
})
