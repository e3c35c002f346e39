/**
 * What the formulas read of one request (structurally a result file's request record, which adds
 * counts' sources and the server's own fields): times in ms on the run's monotonic clock.
 * Formulas take this plain shape, never the file format, so a schema version never touches them.
 */
export interface RequestTimeline {
  tSend: number
  /** End of prompt evaluation when the engine could time it alone (local pp). */
  tPrefillEnd?: number
  /** [arrival time, tokens in the chunk] for every chunk that carried generated tokens. */
  chunks: readonly (readonly [number, number])[]
  tEnd: number
  nPrompt: number
  nOut: number
  /** Where nPrompt/nOut come from; 'stream': counted from chunks, nPrompt unknown (0). */
  countSource?: 'engine' | 'usage' | 'x_groq.usage' | 'stream'
  /** One letter per chunk: r reasoning, c answer content, t tool-call arguments; absent when every chunk is answer content. */
  chunkKinds?: string
  /** 'exact': chunk token counts are known; 'one-per-chunk': each chunk counted as one (absent: exact for the engine's own counts). */
  chunkCounts?: 'exact' | 'one-per-chunk'
  /** Reasoning tokens among nOut, and whether the server counted them ('usage') or the chunks did ('stream'). */
  nReasoning?: number
  reasoningCountSource?: 'usage' | 'stream'
  /** Generated tokens asked for: nOut < nAsked is a short output. */
  nAsked?: number
}

/**
 * Per-request metrics, exactly as defined in the README (DESIGN.md): TTFT from send to the first
 * token-bearing chunk (reasoning or answer), TPOT over the streamed tokens after the first, ITL as
 * every gap between successive token-bearing chunks (a k-token chunk is k tokens arriving
 * together: one gap, then k-1 zeros) where each chunk's token count is known, else one gap per
 * chunk, labelled so (`itlBasis`).
 */
export interface RequestMetrics {
  /** Send to the first token of either kind (reasoning or answer). */
  ttftMs?: number
  /** Send to the first answer token (content or tool-call arguments): a reasoning model's think time is ttfaMs - ttftMs. Equals TTFT without reasoning chunks. */
  ttfaMs?: number
  e2eMs: number
  tpotMs?: number
  itlMs: number[]
  /** 'token': ITL is per token (chunk counts known); 'chunk': one gap per chunk, since chunks may hold several tokens. */
  itlBasis: 'token' | 'chunk'
  /** The server's token count exceeds the tokens the chunks were counted as: chunks held several tokens (speculative decoding, batching servers). */
  multiTokenChunks: boolean
  /** Reasoning tokens counted by the server but never streamed (OpenAI's reasoning models): inside TTFT, not in TPOT. */
  hiddenReasoningTokens: number
  /** Generated fewer tokens than asked (n_out < n_asked). */
  short: boolean
  /** 1000 / TPOT: tokens per second of one request's decode. */
  decodeTps?: number
  /** nPrompt / prefill time: timed alone where the engine can (tPrefillEnd), else over TTFT (a lower bound on rate). */
  prefillTps?: number
  /** Tokens the engine evaluated (prompt + every generated token fed back) per second of wall time: llama-bench's t/s of pp and pg tests. */
  tokensPerSecond?: number
  /**
   * Generated tokens per second of wall time, n_out / (t_end − t_send): llama-bench's t/s of a tg test, whose
   * prompt is one token (BOS) decoded like the others. An endpoint's tg prompt is a short unique prefix
   * (a few to a few dozen tokens, evaluated in one batch): counting it as evaluated tokens would read as
   * generation speed it is not, so a tg rate counts the generated tokens alone (the prefix's prefill time stays inside).
   */
  outputTps?: number
}

export function requestMetrics(r: RequestTimeline): RequestMetrics {
  const e2eMs = r.tEnd - r.tSend
  const first = r.chunks[0]
  const hiddenReasoningTokens = r.reasoningCountSource === 'usage' && r.nReasoning && !r.chunkKinds?.includes('r') ? r.nReasoning : 0
  // Tokens that travelled in the stream: the server's count less reasoning it never sent.
  const streamed = r.nOut - hiddenReasoningTokens
  const chunkTokens = r.chunks.reduce((sum, [, k]) => sum + k, 0)
  const exact = r.chunkCounts === 'exact' || (r.chunkCounts === undefined && r.countSource === 'engine')
  const multiTokenChunks = !exact && streamed > chunkTokens
  // One token a chunk is confirmed only when the server's own count agrees with the chunks.
  const itlBasis = exact || (r.countSource !== 'stream' && streamed === chunkTokens) ? 'token' : 'chunk'
  const out: RequestMetrics = {e2eMs, itlMs: [], itlBasis, multiTokenChunks, hiddenReasoningTokens, short: r.nAsked !== undefined && r.nOut < r.nAsked}
  if (first) {
    out.ttftMs = first[0] - r.tSend
    const answer = r.chunkKinds ? r.chunkKinds.search(/[ct]/) : 0
    if (answer >= 0 && r.chunks[answer]) out.ttfaMs = r.chunks[answer]![0] - r.tSend
  }
  if (first && streamed >= 2) {
    out.tpotMs = (r.tEnd - first[0]) / (streamed - 1)
    if (out.tpotMs > 0) out.decodeTps = 1000 / out.tpotMs
  }
  for (let i = 1; i < r.chunks.length; i++) {
    const [t, k] = r.chunks[i]!
    out.itlMs.push(t - r.chunks[i - 1]![0])
    if (itlBasis === 'token') for (let j = 1; j < k; j++) out.itlMs.push(0)
  }
  // Counted from the stream, the prompt's size is unknown (recorded as 0): no rate uses it.
  if (r.countSource === 'stream') return out
  const prefillMs = r.tPrefillEnd !== undefined ? r.tPrefillEnd - r.tSend : out.ttftMs
  if (r.nPrompt > 0 && prefillMs !== undefined && prefillMs > 0) out.prefillTps = (r.nPrompt * 1000) / prefillMs
  // The last generated token is sampled but never fed back, so it was not evaluated.
  const evaluated = r.nPrompt + Math.max(r.nOut - 1, 0)
  if (e2eMs > 0 && evaluated > 0) out.tokensPerSecond = (evaluated * 1000) / e2eMs
  if (e2eMs > 0 && r.nOut > 0) out.outputTps = (r.nOut * 1000) / e2eMs
  return out
}

/** Output tokens over the span from the first send to the last end: what a server delivers under load. */
export function aggregateThroughput(requests: readonly RequestTimeline[]): number | undefined {
  if (requests.length === 0) return undefined
  const start = Math.min(...requests.map((r) => r.tSend))
  const end = Math.max(...requests.map((r) => r.tEnd))
  const tokens = requests.reduce((sum, r) => sum + r.nOut, 0)
  return end > start && tokens > 0 ? (tokens * 1000) / (end - start) : undefined
}
