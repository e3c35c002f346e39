import type {LlamaModel, Token} from 'node-llama-cpp'
import {seededRandom} from '../model/seeded-random.js'

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
    const next = seededRandom(seed, 'prompt')
    const tokens: Token[] = []
    if (this.bos !== null && length > 0) tokens.push(this.bos)
    while (tokens.length < length) {
      const token = Math.floor((next() / 0x100000000) * this.vocabSize) as Token
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
