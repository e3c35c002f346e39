import {z} from 'zod'

/**
 * Suites are data (benchmarks/*.json). A test is written the way llama-bench names them
 * ("pp 512", "tg 128", "pg 512,128", and at a prefilled KV depth as llama-bench -d prints them:
 * "tg 128 @ d4096") or as an object; chat tests carry their own messages.
 * Everything is normalized into SuiteTest before the runner sees it.
 */
const positiveInt = z.number().int().positive()

const shorthand = z.string().transform((text, ctx) => {
  const m = /^\s*(pp|tg|pg)\s+(\d+)(?:\s*,\s*(\d+))?(?:\s*@\s*d(\d+))?\s*$/.exec(text)
  if (!m) {
    ctx.addIssue({code: 'custom', message: `"${text}" is not a test: write "pp N", "tg N", "pg N,M" (each optionally "@ dDEPTH") or a chat object`})
    return z.NEVER
  }
  const [, kind, a, b, d] = m
  const depth = d !== undefined && Number(d) > 0 ? {depth: Number(d)} : {}
  const n = Number(a)
  if (n < 1 || (b !== undefined && Number(b) < 1)) {
    ctx.addIssue({code: 'custom', message: `"${text}": token counts must be at least 1`})
    return z.NEVER
  }
  if (kind === 'pg') {
    if (b === undefined) {
      ctx.addIssue({code: 'custom', message: `"${text}": pg needs two counts, "pg PROMPT,GEN"`})
      return z.NEVER
    }
    return {kind: 'pg' as const, nPrompt: n, nGen: Number(b), ...depth}
  }
  if (b !== undefined) {
    ctx.addIssue({code: 'custom', message: `"${text}": ${kind} takes one count`})
    return z.NEVER
  }
  return kind === 'pp' ? {kind: 'pp' as const, nPrompt: n, ...depth} : {kind: 'tg' as const, nGen: n, ...depth}
})

/** Tokens already in the KV cache when a test starts (llama-bench -d): filled untimed before each repetition. */
const depth = z.number().int().min(0).optional()

/**
 * A test's load levels when the command line gives none (--concurrency, --rate and sweeps override
 * them): requests in flight per level, or a concurrency sweep (doubling until throughput stops
 * growing, the target cannot hold more, or its bounds: `maxLevel`, `maxSeconds`). On a local model
 * the levels are parallel sequences of one context.
 */
const TestConcurrencySchema = z.union([
  z.array(positiveInt).min(1),
  z.strictObject({sweep: z.strictObject({maxLevel: positiveInt.optional(), maxSeconds: z.number().positive().optional()})}),
])
export type TestConcurrency = z.infer<typeof TestConcurrencySchema>
// In a suite file "sweep" is short for a sweep with the defaults; the normalized suite (stored in results) has only the object.
const concurrency = z.union([TestConcurrencySchema, z.literal('sweep').transform((): TestConcurrency => ({sweep: {}}))]).optional()
const storedConcurrency = TestConcurrencySchema.optional()

export const ChatMessageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().min(1),
})
export type ChatMessage = z.infer<typeof ChatMessageSchema>

const testObject = z.discriminatedUnion('kind', [
  z.strictObject({kind: z.literal('pp'), nPrompt: positiveInt, depth, concurrency, repetitions: positiveInt.optional()}),
  z.strictObject({kind: z.literal('tg'), nGen: positiveInt, depth, concurrency, repetitions: positiveInt.optional()}),
  z.strictObject({kind: z.literal('pg'), nPrompt: positiveInt, nGen: positiveInt, depth, concurrency, repetitions: positiveInt.optional()}),
  z.strictObject({
    kind: z.literal('chat'),
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'use lowercase letters, digits, ".", "_" or "-"'),
    messages: z.array(ChatMessageSchema).min(1),
    maxTokens: positiveInt,
    /** Generate exactly maxTokens even past an end-of-sequence token (fixed-length measurement). */
    ignoreEos: z.boolean().default(false),
    concurrency,
    repetitions: positiveInt.optional(),
  }),
])

export const SuiteFileSchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lowercase letters, digits, "_" or "-"'),
  version: z.string().regex(/^\d+\.\d+\.\d+$/, 'use a semantic version like "1.0.0"'),
  description: z.string().min(1),
  repetitions: positiveInt,
  warmup: z.number().int().min(0),
  tests: z.array(z.union([shorthand, testObject])).min(1),
})

/**
 * `depth` (pp, tg, pg): tokens prefilled untimed before the test, as llama-bench -d; absent for 0.
 * `concurrency`: the test's own load levels (TestConcurrencySchema); absent: one request at a time.
 */
export type SuiteTest = (
  | {id: string; kind: 'pp'; nPrompt: number; depth?: number; repetitions: number}
  | {id: string; kind: 'tg'; nGen: number; depth?: number; repetitions: number}
  | {id: string; kind: 'pg'; nPrompt: number; nGen: number; depth?: number; repetitions: number}
  | {id: string; kind: 'chat'; messages: ChatMessage[]; maxTokens: number; ignoreEos: boolean; repetitions: number}
) & {concurrency?: TestConcurrency}

export interface Suite {
  name: string
  version: string
  description: string
  repetitions: number
  warmup: number
  tests: SuiteTest[]
}

/** The normalized suite as stored in a result file. */
export const SuiteSchema: z.ZodType<Suite> = z.strictObject({
  name: z.string(),
  version: z.string(),
  description: z.string(),
  repetitions: positiveInt,
  warmup: z.number().int().min(0),
  tests: z.array(
    z.discriminatedUnion('kind', [
      z.strictObject({id: z.string(), kind: z.literal('pp'), nPrompt: positiveInt, depth: positiveInt.optional(), concurrency: storedConcurrency, repetitions: positiveInt}),
      z.strictObject({id: z.string(), kind: z.literal('tg'), nGen: positiveInt, depth: positiveInt.optional(), concurrency: storedConcurrency, repetitions: positiveInt}),
      z.strictObject({id: z.string(), kind: z.literal('pg'), nPrompt: positiveInt, nGen: positiveInt, depth: positiveInt.optional(), concurrency: storedConcurrency, repetitions: positiveInt}),
      z.strictObject({
        id: z.string(),
        kind: z.literal('chat'),
        messages: z.array(ChatMessageSchema),
        maxTokens: positiveInt,
        ignoreEos: z.boolean(),
        concurrency: storedConcurrency,
        repetitions: positiveInt,
      }),
    ]),
  ),
})

/** llama-bench's test names: pp512, tg128, pp512+tg128, and at a depth as it prints them: tg128 @ d4096. */
export function testId(test: ({kind: 'pp'; nPrompt: number} | {kind: 'tg'; nGen: number} | {kind: 'pg'; nPrompt: number; nGen: number}) & {depth?: number}): string {
  const at = test.depth ? ` @ d${test.depth}` : ''
  switch (test.kind) {
    case 'pp':
      return `pp${test.nPrompt}${at}`
    case 'tg':
      return `tg${test.nGen}${at}`
    case 'pg':
      return `pp${test.nPrompt}+tg${test.nGen}${at}`
  }
}

/** Tokens prefilled before a test (0 for chat and for tests without a depth). */
export function testDepth(test: SuiteTest): number {
  return test.kind === 'chat' ? 0 : (test.depth ?? 0)
}
