/**
 * What every figure means, in one place: the terminal table's notes, the Markdown and HTML
 * footnotes and the site's column notes all quote these (README "Metric definitions" is the long form).
 */
export const DEFINITIONS = {
  tps: 't/s: tokens evaluated (prompt + generated) per second of wall time, as llama-bench reports it: mean ± sample sd over repetitions (one value per repetition: the mean of its requests); 95% CI: Student t over repetitions.',
  latency: 'TTFT: send to the first chunk with a generated token; TPOT: (end − first token) / (generated − 1); ITL: gaps between token-bearing chunks after the first. Medians and p95 are over every request of the load level (ITL: every gap); all measured on the client\'s monotonic clock.',
  energy:
    'J/token: gross energy of the measured windows per token of the test kind (pp: per prompt token; tg: per generated token; pg and chat: per prompt + generated token) at the boundary chosen once per target (the widest its meters cover): wall (the whole machine at the socket), gpu-board, cpu-package, dram, soc, facility (wall × PUE). counter and sampled are measured; estimated is a model or a declared draw, never shown as measured. Net of idle is in the result file.',
  scope: 'A meter counts for a local target, and for an endpoint only when the run said it measures that server (--meter-on-server); an endpoint\'s energy is otherwise the hosted infrastructure model\'s low–high estimate (facility, estimated), never this machine\'s draw.',
  load: 'Load levels: tg64 alone is one request at a time; @c4 keeps 4 requests in flight; @r2.5 offers 2.5 requests/s (Poisson).',
  derivation: 'Every figure is derived from the raw per-token timings and power samples in the result files by one derivation; a stored summary is never shown.',
} as const
