import type {RequestRecord, RunRecord} from '../results/schema.js'

/** llama-batched-bench's three speeds of one repetition (tokens/s): S_PP, S_TG and S. */
export interface BatchedBenchSpeeds {
  /** Prompt tokens of every sequence over the prompt time (S_PP t/s). */
  pp?: number
  /** Tokens decoded after the prompts, of every sequence, over the generation time (S_TG t/s). */
  tg?: number
  /** Both over both times (S t/s). */
  total?: number
}

/**
 * The figures llama-batched-bench prints (tools/batched-bench, prompts not shared) for one
 * repetition of the local engine: its requests grouped into the batches they ran in (requests
 * sharing a send time; one request at a time is a batch of one, as llama-batched-bench -npl 1),
 * and over all batches:
 *   T_PP = sum of (first token - send)      (pp: prompt end - send),
 *   T_TG = sum of (last token of the batch - first token),
 *   S_PP = sum(n_prompt) / T_PP, S_TG = sum(n_out - 1) / T_TG, S = (sum(n_prompt) + sum(n_out - 1)) / (T_PP + T_TG).
 * Its "tg" counts the tokens decoded after the prompt: owbench's n_out includes the token the
 * prompt produces, so owbench's pg P,G at N sequences is llama-batched-bench -npp P -ntg G-1 -npl N.
 * Only for the local engine's pp, tg and pg requests (exact per-token times from the engine:
 * countSource 'engine'), one at a time or in parallel sequences (run.sequences); undefined otherwise.
 */
export function batchedBenchSpeeds(run: RunRecord): BatchedBenchSpeeds | undefined {
  if (run.kind === 'chat' || run.state !== 'completed' || run.rate !== undefined) return undefined
  if (run.sequences === undefined && run.concurrency !== 1) return undefined
  const ok = run.requests.filter((r) => !r.error)
  if (ok.length === 0 || ok.some((r) => r.countSource !== 'engine')) return undefined
  const batches = new Map<number, RequestRecord[]>()
  for (const r of ok) batches.set(r.tSend, [...(batches.get(r.tSend) ?? []), r])
  let tPp = 0
  let tTg = 0
  let prompt = 0
  let generated = 0
  for (const [tSend, batch] of batches) {
    const promptEnd = Math.max(...batch.map((r) => r.chunks[0]?.[0] ?? r.tPrefillEnd ?? r.tEnd))
    tPp += promptEnd - tSend
    tTg += Math.max(...batch.map((r) => r.tEnd)) - promptEnd
    prompt += batch.reduce((n, r) => n + r.nPrompt, 0)
    generated += batch.reduce((n, r) => n + Math.max(r.nOut - 1, 0), 0)
  }
  const rate = (tokens: number, ms: number) => (tokens > 0 && ms > 0 ? (tokens * 1000) / ms : undefined)
  return {pp: rate(prompt, tPp), tg: rate(generated, tTg), total: rate(prompt + generated, tPp + tTg)}
}
