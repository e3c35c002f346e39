import type {RequestRecord} from '../results/schema.js'

/**
 * What one streamed OpenAI-compatible chunk says, whichever server sent it. Token-bearing fields:
 * `choices[0].text` (completions), `delta.content`, `delta.reasoning_content` (DeepSeek-R1, vLLM
 * before 0.10, SGLang), `delta.reasoning` (vLLM gpt-oss, OpenRouter, Ollama) and
 * `delta.tool_calls[].function.arguments`. An empty string is a present field carrying nothing:
 * `{"content": "", "reasoning_content": " r0"}` is a reasoning token.
 */
export interface ChunkFacts {
  /** r reasoning, c answer content, t tool-call arguments; undefined when the chunk carries no token. Answer wins over reasoning in a chunk holding both. */
  kind?: 'r' | 'c' | 't'
  finishReason?: string
  /** Token counts, from the top-level `usage` or Groq's `x_groq.usage` (a `"usage": null` is no usage). */
  usage?: Usage
  usageAt?: 'usage' | 'x_groq.usage'
  /** llama-server's `timings`. */
  timings?: Record<string, unknown>
  /** An error event inside the stream, in words. */
  error?: string
}

export interface Usage {
  prompt_tokens?: number
  completion_tokens?: number
  prompt_tokens_details?: {cached_tokens?: number} | null
  completion_tokens_details?: {reasoning_tokens?: number} | null
  [key: string]: unknown
}

interface RawChunk {
  choices?: {
    text?: unknown
    delta?: {content?: unknown; reasoning_content?: unknown; reasoning?: unknown; tool_calls?: {function?: {arguments?: unknown}}[] | null} | null
    finish_reason?: unknown
  }[]
  usage?: Usage | null
  x_groq?: {usage?: Usage | null} | null
  timings?: Record<string, unknown>
  error?: unknown
}

const nonEmpty = (value: unknown): boolean => typeof value === 'string' && value.length > 0

export function chunkFacts(data: unknown): ChunkFacts {
  const chunk = (data ?? {}) as RawChunk
  const facts: ChunkFacts = {}
  if (chunk.error !== undefined && chunk.error !== null) {
    const e = chunk.error as {message?: unknown}
    facts.error = typeof chunk.error === 'string' ? chunk.error : typeof e.message === 'string' ? e.message : JSON.stringify(chunk.error)
    return facts
  }
  const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined
  const delta = choice?.delta ?? undefined
  if (nonEmpty(choice?.text) || nonEmpty(delta?.content)) facts.kind = 'c'
  else if (Array.isArray(delta?.tool_calls) && delta.tool_calls.some((call) => nonEmpty(call?.function?.arguments))) facts.kind = 't'
  else if (nonEmpty(delta?.reasoning_content) || nonEmpty(delta?.reasoning)) facts.kind = 'r'
  if (typeof choice?.finish_reason === 'string' && choice.finish_reason.length > 0) facts.finishReason = choice.finish_reason
  if (chunk.usage && typeof chunk.usage === 'object') {
    facts.usage = chunk.usage
    facts.usageAt = 'usage'
  } else if (chunk.x_groq?.usage && typeof chunk.x_groq.usage === 'object') {
    facts.usage = chunk.x_groq.usage
    facts.usageAt = 'x_groq.usage'
  }
  if (chunk.timings && typeof chunk.timings === 'object') facts.timings = chunk.timings
  return facts
}

/**
 * Collects a stream's chunks into the request record: arrival time and kind of every token-bearing
 * chunk, and the server's counts. Tokens per chunk are exact where the server reports cumulative
 * usage in every token-bearing chunk (each chunk's count is the increase of completion_tokens);
 * otherwise each chunk counts as one token and the record says so (`chunkCounts`).
 */
export class StreamTally {
  private readonly times: number[] = []
  private readonly deltas: number[] = []
  private kinds = ''
  private lastCompletion = 0
  private exact = true
  usage?: Usage
  usageAt?: 'usage' | 'x_groq.usage'
  finishReason?: string
  tFinish?: number
  timings?: Record<string, unknown>

  /** Records one parsed chunk that arrived at `t`; returns true when it carried a token. */
  add(facts: ChunkFacts, t: number): boolean {
    const completion = facts.usage?.completion_tokens
    if (facts.kind) {
      this.times.push(t)
      this.kinds += facts.kind
      if (typeof completion === 'number' && completion > this.lastCompletion) {
        this.deltas.push(completion - this.lastCompletion)
      } else {
        this.deltas.push(1)
        this.exact = false
      }
    }
    if (typeof completion === 'number') this.lastCompletion = Math.max(this.lastCompletion, completion)
    if (facts.usage) {
      this.usage = facts.usage
      this.usageAt = facts.usageAt
    }
    if (facts.finishReason) {
      this.finishReason = facts.finishReason
      this.tFinish = t
    }
    if (facts.timings) this.timings = facts.timings
    return facts.kind !== undefined
  }

  get tokenChunks(): number {
    return this.times.length
  }

  get lastTokenTime(): number | undefined {
    return this.times.at(-1)
  }

  /** Writes chunks, kinds, counts and their sources into `record` (whose timing fields the caller sets). */
  finish(record: RequestRecord): RequestRecord {
    const exact = this.exact && this.times.length > 0
    record.chunks = this.times.map((t, i) => [t, exact ? this.deltas[i]! : 1])
    record.chunkCounts = exact ? 'exact' : 'one-per-chunk'
    if (/[rt]/.test(this.kinds)) record.chunkKinds = this.kinds
    if (this.finishReason) record.finishReason = this.finishReason
    if (this.tFinish !== undefined) record.tFinish = this.tFinish
    if (this.usage) record.usage = this.usage as Record<string, unknown>
    if (this.timings) record.serverTimings = this.timings
    const usage = this.usage
    if (usage && typeof usage.completion_tokens === 'number' && typeof usage.prompt_tokens === 'number') {
      record.nPrompt = usage.prompt_tokens
      record.nOut = usage.completion_tokens
      record.countSource = this.usageAt ?? 'usage'
      const cached = usage.prompt_tokens_details?.cached_tokens
      if (typeof cached === 'number') record.cachedTokens = cached
    } else {
      record.nPrompt = 0
      record.nOut = record.chunks.reduce((sum, [, k]) => sum + k, 0)
      record.countSource = 'stream'
    }
    const reasoning = usage?.completion_tokens_details?.reasoning_tokens
    const streamedReasoning = record.chunks.reduce((sum, [, k], i) => sum + (this.kinds[i] === 'r' ? k : 0), 0)
    if (typeof reasoning === 'number') {
      record.nReasoning = reasoning
      record.reasoningCountSource = 'usage'
    } else if (streamedReasoning > 0 && (exact || record.chunks.length === record.nOut)) {
      // Counted from the stream only where each chunk's count is known or the chunks account for every token.
      record.nReasoning = streamedReasoning
      record.reasoningCountSource = 'stream'
    }
    if (record.cachedTokens === undefined && typeof this.timings?.cache_n === 'number') record.cachedTokens = this.timings.cache_n
    return record
  }
}
