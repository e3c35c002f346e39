import type {Cell} from '../results/summary-schema.js'

/**
 * What every figure means, in one place: the terminal table's notes, the Markdown and HTML
 * footnotes and the site's column notes all quote these (README "Metric definitions" is the long form).
 */
export const DEFINITIONS = {
  tps: 't/s: tokens evaluated (prompt + generated) per second of wall time, as llama-bench reports it (a tg test counts its generated tokens alone, N / time: locally after the one-token prompt llama-bench also decodes; at an endpoint its short unique prefix is evaluated inside the time, not counted): mean ± sample sd over repetitions (one value per repetition: the mean of its requests); 95% CI: Student t over repetitions.',
  batched:
    'Parallel sequences (@cN on a local model): N sequences of one context decode together, as llama-batched-bench runs them (prompts not shared): every prompt, then one decode of one token per sequence per step. S_PP, S_TG, S t/s: llama-batched-bench\'s prompt, generation and total speeds over all sequences (its tg counts tokens decoded after the prompt: owbench\'s pg P,G is its -npp P -ntg G−1); agg out t/s: generated tokens of all requests over first send to last end. Means over repetitions; one request at a time is a batch of one.',
  latency: 'TTFT: send to the first chunk with a generated token (reasoning or answer); TPOT: (end − first token) / (generated − 1); ITL: gaps between token-bearing chunks after the first, per token where each chunk\'s count is known, else "per chunk" (a chunk may hold several tokens). Medians and p95 are over every request of the load level (ITL: every gap); all measured on the client\'s monotonic clock.',
  reasoning: 'TTFA: send to the first answer token (content or tool-call arguments), the median over requests; TTFA − TTFT is a reasoning model\'s think time. reasoning: the share of generated tokens that were reasoning, and reasoning tokens per reasoning request (the server\'s usage.completion_tokens_details.reasoning_tokens, else counted from reasoning chunks); "hidden": counted by the server but never streamed, so inside TTFT and out of TPOT.',
  short: 'short: outputs that stopped before the tokens the test asks for (n_out of n_asked, with the server\'s finish_reason); such a row is not an N-token figure, so its t/s, TPOT, E2E and J/token are withheld (TTFT and TTFA stay).',
  server: 'Server-side: the server\'s own Prometheus /metrics read at the start and end of every measured phase (gauges sampled between), merged over the repetitions: requests running / waiting and KV-cache use (mean and max of the samples while the phases ran), requests served, prompt and generated tokens, prefix-cache hit rate, and its own TTFT, TPOT, ITL and E2E histograms (quantiles interpolated within buckets, as Prometheus does). Beside them, what owbench sent and received in the same phases and measured on its own clock.',
  energy:
    'J/token: gross energy of the measured windows per token of the test kind (pp: per prompt token; tg: per generated token; pg and chat: per prompt + generated token) at the boundary chosen once per target (the widest its meters cover): wall (the whole machine at the socket), gpu-board, cpu-package, dram, soc, facility (wall × PUE). counter and sampled are measured; estimated is a model or a declared draw, never shown as measured. Net of idle is in the result file.',
  scope: 'A meter counts for a local target, and for an endpoint only when the run said it measures that server (--meter-on-server); an endpoint\'s energy is otherwise the hosted infrastructure model\'s low–high estimate (facility, estimated), never this machine\'s draw, and none at all for a serving engine on this machine\'s loopback (llama-server, vLLM, SGLang, Ollama: measure it with --meter-on-server).',
  validity:
    'An energy figure is shown only when its readings pass their checks; otherwise it is missing with a validity code and the reason: no-readings, not-bracketed, gap, source-failed, device-missing, counter-backwards, counter-stuck, zero-under-load, negative-reading, window-too-short. partial: the boundary covers only some of its devices (named in a note). ×N back to back: a test shorter than its meter resolves (--min-meter-updates updates) ran N times in a row in each repetition; its energy is the whole span over all its tokens, and it stays one repetition.',
  load: 'Load levels: a test\'s plain name (tg64) is one request at a time; @c4 keeps 4 requests in flight; @r2.5 offers 2.5 requests/s (Poisson).',
  derivation: 'Every figure is derived from the raw per-token timings and power samples in the result files by one derivation; a stored summary is never shown.',
} as const

/**
 * The definitions that apply to these cells, in DEFINITIONS' order: t/s, latency and the derivation always; the
 * others only where a cell has what they define (parallel sequences, reasoning, short outputs, server-side metrics,
 * an energy figure, a validity code or back-to-back runs, a load level other than one request at a time).
 */
export function relevantDefinitions(cells: readonly Cell[]): string[] {
  const energy = cells.some((c) => c.energy.status !== 'missing' || c.energy.code !== 'no-power')
  const applies: Record<keyof typeof DEFINITIONS, boolean> = {
    tps: true,
    batched: cells.some((c) => c.sequences),
    latency: true,
    reasoning: cells.some((c) => c.reasoning),
    short: cells.some((c) => c.shortOutputs),
    server: cells.some((c) => c.server),
    energy,
    scope: energy,
    validity: cells.some((c) => (c.energy.status === 'missing' && c.energy.invalid) || (c.energy.status === 'metered' && c.energy.partial) || c.backToBack),
    load: cells.some((c) => c.load.mode !== 'concurrency' || c.load.level > 1),
    derivation: true,
  }
  return (Object.keys(DEFINITIONS) as (keyof typeof DEFINITIONS)[]).filter((k) => applies[k]).map((k) => DEFINITIONS[k])
}
