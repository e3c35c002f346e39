import type {LlamaModel, Token} from 'node-llama-cpp'

/**
 * Random prompts the way llama-bench makes them: BOS (when the model wants one) followed by
 * token ids drawn uniformly from the vocabulary, never an end-of-generation token. A seed makes a
 * prompt reproducible; a new seed per repetition keeps any cache from matching a prefix.
 */
export class PromptTokens {
  private readonly vocabSize: number
  private readonly bos: Token | null

  constructor(private readonly model: LlamaModel) {
    this.vocabSize = vocabularySize(model)
    this.bos = model.tokens.shouldPrependBosToken ? model.tokens.bos : null
  }

  random(length: number, seed: number): Token[] {
    const next = mulberry32(seed)
    const tokens: Token[] = []
    if (this.bos !== null && length > 0) tokens.push(this.bos)
    while (tokens.length < length) {
      const token = Math.floor(next() * this.vocabSize) as Token
      if (!this.model.isSpecialToken(token)) tokens.push(token)
    }
    return tokens
  }
}

function vocabularySize(model: LlamaModel): number {
  const embeddings = model.fileInfo.fullTensorInfo?.find((t) => t.name === 'token_embd.weight')
  const fromTensor = embeddings ? Number(embeddings.dimensions[1]) : 0
  if (fromTensor > 0) return fromTensor
  const tokenizer = model.fileInfo.metadata.tokenizer as {ggml?: {tokens?: readonly string[]}} | undefined
  const fromVocab = tokenizer?.ggml?.tokens?.length ?? 0
  if (fromVocab > 0) return fromVocab
  throw new Error('cannot tell the vocabulary size of this model (no token_embd.weight tensor and no tokenizer.ggml.tokens)')
}

/** A small, fast, well-distributed 32-bit generator; prompts only need reproducibility, not crypto. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
