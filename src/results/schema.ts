import {z} from 'zod'
import {PowerRecordSchema} from '../power/schema.js'
import {EndpointProtocolSchema, ServerMetricsPhaseSchema, ServerMetricsSourceSchema} from './endpoint-schema.js'
import {SuiteSchema} from '../suite/schema.js'
import {HostSchema} from '../system/host.js'
import {ResultCostsSchema} from './cost-schema.js'
import {DerivedSummarySchema} from './summary-schema.js'
import {RunConditionsSchema} from '../system/run-conditions.js'
import {BytesPerTokenSchema} from './speed-of-light-schema.js'
import {SweepRecordSchema, SweepSettingsSchema} from './sweep-schema.js'

/**
 * The result file: one run of one suite over one or more targets. It keeps the raw timeline
 * (per-request send/first/end times and every token arrival, in ms relative to the run's start on
 * a monotonic clock) so every figure is derived from raw data; `summary` and `cost` are derived
 * caches, stamped with the derivation's version. Version 1 files are migrated on read (migrate.ts).
 */
export const SCHEMA_VERSION = 3

const finite = z.number().refine(Number.isFinite, 'must be a finite number')
const count = z.number().int().min(0)
const ms = finite.describe('milliseconds since the run started (monotonic clock)')

export const RequestRecordSchema = z.strictObject({
  tSend: ms,
  /** End of prompt evaluation when the engine can time it alone (local pp), else absent. */
  tPrefillEnd: ms.optional(),
  /** [arrival time, tokens in the chunk] for every chunk that carried generated tokens. */
  chunks: z.array(z.tuple([ms, count])),
  tEnd: ms,
  nPrompt: count,
  nOut: count,
  /** Seed of the random prompt tokens (pp/tg/pg), so a prompt can be regenerated. */
  promptSeed: z.number().int().optional(),
  /**
   * Where nPrompt/nOut come from: the engine itself, the server's `usage` (top level, or Groq's
   * `x_groq.usage`), or counting streamed chunks ('stream': nOut is the token-bearing chunks, and
   * nPrompt is unknown and recorded as 0, so no rate uses it).
   */
  countSource: z.enum(['engine', 'usage', 'x_groq.usage', 'stream']).optional(),
  /** The server's own `usage` object as sent (endpoints; the last one of the stream). */
  usage: z.record(z.string(), z.unknown()).optional(),
  /**
   * What each entry of `chunks` carried, one letter per chunk: r reasoning (`reasoning_content`,
   * `reasoning`), c answer content (`content`, completions `text`), t tool-call arguments. Absent
   * when every chunk is answer content (local engines, and records older than this field).
   */
  chunkKinds: z.string().regex(/^[rct]*$/, 'one of r, c, t per chunk').optional(),
  /**
   * How the token counts in `chunks` are known: 'exact' (the engine's own, or the server's
   * cumulative usage in every chunk, e.g. vLLM's continuous_usage_stats), 'one-per-chunk' (each
   * token-bearing chunk counted as one token: a chunk may hold more). Absent: exact for the local
   * engine, one-per-chunk for endpoints.
   */
  chunkCounts: z.enum(['exact', 'one-per-chunk']).optional(),
  /** Reasoning tokens among nOut, and where that count comes from (usage.completion_tokens_details.reasoning_tokens, or the reasoning chunks). */
  nReasoning: count.optional(),
  reasoningCountSource: z.enum(['usage', 'stream']).optional(),
  /** Generated tokens asked for (max_tokens); nOut < nAsked is a short output. */
  nAsked: count.optional(),
  /** The server's finish_reason as sent (stop, length, tool_calls, ...). */
  finishReason: z.string().optional(),
  /** Arrival of the chunk carrying finish_reason. */
  tFinish: ms.optional(),
  /** Protocol events a reader should know about: a re-send without a rejected parameter, a stream completed without [DONE]. */
  notes: z.array(z.string()).optional(),
  /** Prompt tokens the server reported serving from its prefix cache. */
  cachedTokens: count.optional(),
  /** The server's own timing fields (llama-server `timings`), as sent. */
  serverTimings: z.record(z.string(), z.unknown()).optional(),
  /** HTTP status of a failed request, and the server's Retry-After on a 429. */
  httpStatus: z.number().int().optional(),
  retryAfter: z.string().optional(),
  /** The first send hit a connection the server had just closed and was sent again; why. */
  retriedAfter: z.string().optional(),
  error: z.string().optional(),
})
export type RequestRecord = z.infer<typeof RequestRecordSchema>

export const RunRecordSchema = z.strictObject({
  target: z.string(),
  test: z.string(),
  kind: z.enum(['pp', 'tg', 'pg', 'chat']),
  repetition: count,
  warmup: z.boolean(),
  /** Requests kept in flight (closed loop); 1 for a single request at a time. */
  concurrency: z.number().int().positive(),
  /**
   * The requests ran as this many parallel sequences of one context decoding together (the local
   * engine at concurrency > 1, llama-batched-bench's semantics): in batches of this many, each
   * every prompt then generation in shared decodes. Absent: requests were sent concurrently (a server) or one at a time.
   */
  sequences: z.number().int().min(2).optional(),
  /** Poisson arrival rate in requests/s when the phase was open-loop. */
  rate: z.number().positive().optional(),
  /**
   * interrupted: the run was stopped (Ctrl-C) while this repetition ran; its requests are kept as
   * data, its figures out of every statistic (as an errored one's), and the reason says so.
   */
  state: z.enum(['completed', 'errored', 'skipped', 'interrupted']),
  reason: z.string().optional(),
  /**
   * Requests run back to back in this repetition so that its energy window spans enough meter
   * updates (--min-meter-updates); energy is computed over the whole span. Absent: one request.
   */
  backToBack: z.number().int().positive().optional(),
  /** The machine's conditions during (and before) this measured repetition: load, steal, clocks, throttling. */
  conditions: RunConditionsSchema.optional(),
  requests: z.array(RequestRecordSchema),
  /** The server's own Prometheus metrics over this phase (endpoints exposing /metrics). */
  serverMetrics: ServerMetricsPhaseSchema.optional(),
})
export type RunRecord = z.infer<typeof RunRecordSchema>

export const ModelInfoSchema = z.strictObject({
  source: z.string().describe('what the user passed: a path, an hf: URI or a URL, or synthetic:<id>'),
  path: z.string(),
  fileName: z.string(),
  /** Bytes of all the model's files (every shard of a split model). */
  bytes: count,
  /** sha256 over the model's files one after the other: of the file itself when there is one. */
  sha256: z.string(),
  /** Files the model is split into (`model-00001-of-00003.gguf`: 3); absent in results before owbench recorded it. */
  shards: z.number().int().positive().optional(),
  name: z.string().optional(),
  architecture: z.string().optional(),
  quantization: z.string().optional(),
  parameters: count.optional(),
  trainContext: count.optional(),
  synthetic: z.strictObject({id: z.string(), seed: z.number().int(), generatorVersion: z.number().int()}).optional(),
  /** Bytes read per generated token, from the GGUF's tensors (every shard), computed when the model was run. */
  bytesPerToken: BytesPerTokenSchema.optional(),
  /** Why bytesPerToken could not be computed (an unknown tensor type), when it was tried. */
  bytesPerTokenError: z.string().optional(),
})
export type ModelInfo = z.infer<typeof ModelInfoSchema>

export const EngineInfoSchema = z.strictObject({
  name: z.literal('node-llama-cpp'),
  version: z.string(),
  llamaCpp: z.strictObject({repo: z.string(), release: z.string()}),
  /** prebuilt: the binary shipped on npm; localBuild: compiled on this machine (`owbench setup`). */
  build: z.enum(['prebuilt', 'localBuild']),
  backend: z.enum(['cpu', 'cuda', 'metal', 'vulkan']),
  gpuDevices: z.array(z.string()),
  systemInfo: z.string(),
  cmakeOptions: z.record(z.string(), z.string()),
  /** Instruction sets the CPU advertises that this local build leaves out, and why (its -march=native build died on the check). */
  leftOut: z.strictObject({features: z.array(z.string()), reason: z.string()}).optional(),
  /** Why a local build on this machine was not used (it failed its check), so the prebuilt engine ran. */
  localBuildUnusable: z.string().optional(),
})
export type EngineInfo = z.infer<typeof EngineInfoSchema>

export const LocalTargetSchema = z.strictObject({
  id: z.string(),
  kind: z.literal('local'),
  model: ModelInfoSchema,
  settings: z.strictObject({
    threads: z.number().int().positive(),
    gpuLayers: count,
    /** The largest context a request may use: --ctx, or what the suite's largest test needs. */
    contextSize: z.number().int().positive(),
    /**
     * true: each test ran in a context of exactly the tokens it needs (n_prompt + n_gen, made
     * before its warm-up), as llama-bench makes one per test; false or absent: every test in one
     * context of contextSize tokens (--ctx given, or results before owbench sized contexts per test).
     */
    contextPerTest: z.boolean().optional(),
    batchSize: z.number().int().positive(),
    flashAttention: z.boolean(),
    /** --n-cpu-moe: the expert tensors of the first N layers were kept in CPU memory (llama-bench -ncmoe). */
    nCpuMoe: z.number().int().positive().optional(),
    /** --override-tensor: `pattern=BUFFER_TYPE` tensor buffer overrides (llama-bench -ot), as given. */
    tensorOverrides: z.array(z.string()).optional(),
    seed: z.number().int(),
  }),
  engine: EngineInfoSchema,
})
export const PricingSchema = z.strictObject({
  inputPerMtok: z.number().nonnegative().optional(),
  outputPerMtok: z.number().nonnegative().optional(),
  perHour: z.number().nonnegative().optional(),
  currency: z.string().optional(),
})

export type Pricing = z.infer<typeof PricingSchema>

export const EndpointTargetSchema = z.strictObject({
  id: z.string(),
  kind: z.literal('endpoint'),
  endpoint: z.strictObject({
    /** Without credentials or query string. */
    baseUrl: z.string(),
    model: z.string(),
    /** Which API the pp/tg/pg tests used: /completions, or /chat/completions where the server has no other. */
    api: z.enum(['completions', 'chat']),
    /** The variable the API key was read from (never the key). */
    apiKeyEnv: z.string().nullable(),
    /** The server software as /v1/models names it (`owned_by`: vllm, sglang, llamacpp, ...), when it says. */
    ownedBy: z.string().optional(),
  }),
  /** What the client sent and learned about this server's protocol (updated during the run). */
  protocol: EndpointProtocolSchema.optional(),
  /** Where the server's Prometheus /metrics were scraped from, or why not. */
  serverMetrics: ServerMetricsSourceSchema.optional(),
  settings: z.strictObject({
    /** Whether ignore_eos was sent: false means output lengths may be shorter than asked. */
    ignoreEos: z.boolean(),
    timeoutMs: z.number().int().positive(),
    /**
     * The user said this run's power meters measure the endpoint's server (owbench runs on the
     * server's machine, `--meter-on-server` or the target's `meterOnServer`): only then do they count
     * for this target; otherwise its energy is the labelled hosted estimate, never the client's draw.
     */
    meterOnServer: z.boolean(),
  }),
  pricing: PricingSchema.optional(),
})
export const TargetSchema = z.discriminatedUnion('kind', [LocalTargetSchema, EndpointTargetSchema])
export type Target = z.infer<typeof TargetSchema>

/** Service-level objectives a request must meet to count toward goodput (DistServe, vLLM): `--slo ttft=500ms,tpot=50ms`. */
export const SloSchema = z.strictObject({ttftMs: finite.optional(), tpotMs: finite.optional(), e2eMs: finite.optional()})
export type Slo = z.infer<typeof SloSchema>

/**
 * What a user says about money, as `owbench cost` flags, the "cost" section of
 * owbench.config.json, or stored in a result by `owbench run` (so the result alone recomputes).
 */
export const CostFlagsSchema = z.strictObject({
  cpi: z.string().optional(),
  baseYear: z.string().optional(),
  price: z.number().optional(),
  purchased: z.string().optional(),
  lifetime: z.number().optional(),
  hoursPerDay: z.number().optional(),
  resale: z.number().optional(),
  tariff: z.number().optional(),
  tariffYear: z.string().optional(),
  region: z.string().optional(),
  rentPerHour: z.number().optional(),
  rent: z.string().optional(),
  hosted: z.string().optional(),
  grid: z.string().optional(),
  tokensPerMonth: z.number().optional(),
})
/**
 * Where a result of `owbench cloud run` was measured: the rented machine (launched by SkyPilot),
 * its price and the rental cost of the run. Optional: only cloud runs carry it.
 */
export const CloudRecordSchema = z.strictObject({
  /** The launcher owbench drove (it writes no cloud launcher of its own). */
  orchestrator: z.literal('skypilot'),
  cluster: z.string(),
  /** `server`: owbench ran on the rented machine against its local server (no WAN; GPU meter there); `client`: from the user's machine over the network. */
  measuredFrom: z.enum(['server', 'client']),
  /** SkyPilot's accelerator request, e.g. `H100:1`. */
  accelerators: z.string(),
  gpu: z.string(),
  gpuCount: z.number().int().positive(),
  /** What SkyPilot launched (`sky status`); null where it did not say. */
  cloud: z.string().nullable(),
  region: z.string().nullable(),
  instanceType: z.string().nullable(),
  engine: z.strictObject({name: z.string(), image: z.string(), version: z.string().nullable()}),
  price: z.strictObject({
    /** On-demand USD per hour of the instance. */
    usdPerHour: z.number().positive(),
    source: z.string(),
    /** The date of the catalog file the price came from (SkyPilot's last pull), or the reference row's date. */
    catalogDate: z.string().nullable(),
  }),
  rental: z.strictObject({
    /** When `sky launch` started, and when `sky down` returned. */
    launchedAt: z.string(),
    tornDownAt: z.string().nullable(),
    seconds: z.number().nonnegative().nullable(),
    /** usdPerHour x seconds / 3600: estimated from the catalog price, not the provider's bill. */
    usd: z.number().nonnegative().nullable(),
    /** Why `usd` is missing (teardown not confirmed). */
    missingReason: z.string().optional(),
  }),
})
export type CloudRecord = z.infer<typeof CloudRecordSchema>

export const ResultFileSchema = z.strictObject({
  schemaVersion: z.literal(SCHEMA_VERSION),
  id: z.string(),
  createdAt: z.string().describe('ISO 8601 time the run started'),
  owbenchVersion: z.string(),
  state: z.enum(['completed', 'partial', 'errored']),
  /** Why a run is partial or errored (interrupted, crashed, every repetition failed). */
  stateReason: z.string().optional(),
  /** Notes every report must show next to the figures, e.g. that the model is synthetic. */
  labels: z.array(z.string()),
  host: HostSchema,
  suite: z.strictObject({
    name: z.string(),
    version: z.string(),
    sha256: z.string(),
    source: z.enum(['builtin', 'file']),
    definition: SuiteSchema,
  }),
  targets: z.array(TargetSchema).min(1),
  /** Load settings of the run (endpoints): levels, rate, requests per phase, duration, SLOs for goodput. */
  load: z
    .strictObject({
      concurrency: z.array(z.number().int().positive()).optional(),
      rate: z.number().positive().optional(),
      maxRequests: z.number().int().positive().optional(),
      durationS: z.number().positive().optional(),
      slo: SloSchema.optional(),
      /** `--concurrency sweep` or `--rate sweep` (and `--goodput-target`): how each sweep chose its levels (also in each record of `sweeps`). */
      sweep: SweepSettingsSchema.optional(),
    })
    .optional(),
  /** What the user said about money when running (config "cost" section), so `owbench cost` recomputes from the file alone. */
  costInputs: CostFlagsSchema.optional(),
  /** Cost figures computed from costInputs at the end of the run (derived; `owbench cost` recomputes them). */
  cost: ResultCostsSchema.optional(),
  /** The power timeline of the whole run (times on the runs' clock; the idle baseline before 0). */
  power: PowerRecordSchema.optional(),
  /** Set by `owbench cloud run`: the rented machine, its price and this run's rental cost. */
  cloud: CloudRecordSchema.optional(),
  runs: z.array(RunRecordSchema),
  /** Each load sweep or goodput search as it ran (one per target x test): its levels in order and why it stopped. */
  sweeps: z.array(SweepRecordSchema).optional(),
  /** Derived figures (a cache stamped with the derivation version; absent in a migrated file until it is rewritten). */
  summary: DerivedSummarySchema.optional(),
})
export type ResultFile = z.infer<typeof ResultFileSchema>
