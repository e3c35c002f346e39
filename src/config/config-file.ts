import {readFile} from 'node:fs/promises'
import path from 'node:path'
import envPaths from 'env-paths'
import {z} from 'zod'
import {UserError} from '../errors/errors.js'
import {CostFlagsSchema, PricingSchema} from '../results/schema.js'
import {describeZodError} from '../suite/zod-issue.js'

/** `--meter-on-server` and a target's `meterOnServer`: one type for the flag and the config key. */
export const MeterOnServerSchema = z.boolean()
export type MeterOnServer = z.infer<typeof MeterOnServerSchema>

const EndpointTargetConfigSchema = z.strictObject({
  baseUrl: z.url(),
  model: z.string().min(1),
  /** The environment variable holding the key; keys never live in the config file. */
  apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional(),
  ignoreEos: z.union([z.boolean(), z.literal('auto')]).default('auto'),
  timeoutS: z.number().positive().default(120),
  pricing: PricingSchema.optional(),
  /** This run's power meters measure this endpoint's server (owbench runs on it): only then does their energy count for it. */
  meterOnServer: MeterOnServerSchema.default(false),
  /** The server's Prometheus endpoint (vLLM, SGLang --enable-metrics, llama-server --metrics); by default /metrics at the base URL's origin is tried; false: never scrape. */
  metricsUrl: z.union([z.url(), z.literal(false)]).optional(),
})
export type EndpointTargetConfig = z.infer<typeof EndpointTargetConfigSchema>

export const ConfigSchema = z.strictObject({
  $schema: z.string().optional(),
  /** Money inputs stored with every result of `owbench run`, as `owbench cost` flags (camelCase). */
  cost: CostFlagsSchema.optional(),
  targets: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'target names: lowercase letters, digits, ".", "_" or "-"'), EndpointTargetConfigSchema).default({}),
})
export type Config = z.infer<typeof ConfigSchema>

/** owbench.config.json in the working directory, else in the user config directory, else nothing. */
export function configCandidates(cwd = process.cwd()): string[] {
  const userDir = process.env.OWBENCH_CONFIG_DIR ?? envPaths('owbench', {suffix: ''}).config
  return [path.join(cwd, 'owbench.config.json'), path.join(userDir, 'owbench.config.json')]
}

export async function loadConfig(candidates = configCandidates()): Promise<{config: Config; file?: string}> {
  for (const file of candidates) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw new UserError(`cannot read config file ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, 'check its permissions')
    }
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch (error) {
      throw new UserError(`config file ${file} is not valid JSON: ${(error as Error).message}`, 'fix the JSON syntax')
    }
    const parsed = ConfigSchema.safeParse(raw)
    if (!parsed.success) throw new UserError(`config file ${file} is malformed: ${describeZodError(parsed.error)}`, 'see the README section "Endpoints" for the format')
    return {config: parsed.data, file}
  }
  return {config: {targets: {}}}
}
