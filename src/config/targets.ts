import {UserError} from '../errors/errors.js'
import type {EndpointOptions} from '../engines/openai.js'
import type {Load} from '../results/load.js'
import type {Slo} from '../results/schema.js'
import type {Config, MeterOnServer} from './config-file.js'

export interface TargetFlags {
  model?: string
  endpoint?: string
  modelName?: string
  apiKeyEnv: string
  targets: string[]
  timeoutS: number
  /** --meter-on-server: this run's meters measure every endpoint target's server (config: a target's meterOnServer). */
  meterOnServer: MeterOnServer
}

/**
 * Which targets a run measures. `--endpoint URL --model-name NAME` is one ad-hoc endpoint;
 * `--target NAME` (repeatable) picks named endpoints from owbench.config.json, and `--target local`
 * the local model. The local model runs when asked for (--model, --target local) or when no
 * endpoint is. Keys are read from the environment here and go no further than the engine.
 */
export function resolveTargets(flags: TargetFlags, config: Config, env: NodeJS.ProcessEnv = process.env): {includeLocal: boolean; endpoints: EndpointOptions[]} {
  const endpoints: EndpointOptions[] = []
  if (flags.endpoint !== undefined || flags.modelName !== undefined) {
    if (!flags.endpoint) throw new UserError('--model-name needs --endpoint', 'pass --endpoint https://host/v1 with the model name the server serves')
    if (!flags.modelName) throw new UserError('--endpoint needs --model-name', 'pass the model name the server serves, e.g. --model-name llama-3.1-8b-instruct')
    endpoints.push({id: 'endpoint', baseUrl: validUrl(flags.endpoint, '--endpoint'), model: flags.modelName, apiKey: env[flags.apiKeyEnv] || undefined, apiKeyEnv: flags.apiKeyEnv, ignoreEos: 'auto', timeoutMs: flags.timeoutS * 1000, meterOnServer: flags.meterOnServer})
  }
  let localAsked = flags.model !== undefined
  for (const name of flags.targets) {
    if (name === 'local') {
      localAsked = true
      continue
    }
    const target = config.targets[name]
    if (!target) {
      const known = Object.keys(config.targets)
      throw new UserError(`unknown target "${name}"`, known.length > 0 ? `owbench.config.json defines ${known.join(', ')} (and "local" is the local model)` : 'define it under "targets" in owbench.config.json (see the README)')
    }
    const apiKeyEnv = target.apiKeyEnv ?? flags.apiKeyEnv
    const options: EndpointOptions = {id: name, baseUrl: target.baseUrl, model: target.model, apiKey: env[apiKeyEnv] || undefined, apiKeyEnv, ignoreEos: target.ignoreEos, timeoutMs: target.timeoutS * 1000, meterOnServer: target.meterOnServer || flags.meterOnServer}
    if (target.pricing) options.pricing = target.pricing
    if (target.metricsUrl !== undefined) options.metricsUrl = target.metricsUrl
    endpoints.push(options)
  }
  const ids = endpoints.map((e) => e.id)
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i)
  if (duplicate) throw new UserError(`target "${duplicate}" is given twice`, 'name each target once')
  return {includeLocal: localAsked || endpoints.length === 0, endpoints}
}

function validUrl(text: string, flag: string): string {
  try {
    const url = new URL(text)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http')
    return text
  } catch {
    throw new UserError(`${flag} "${text}" is not an http(s) URL`, 'for example --endpoint http://127.0.0.1:8080/v1')
  }
}

/** `--concurrency 1,4,16` (each a measured phase) or `--rate 2.5` (Poisson arrivals per second). */
export function parseLoads(concurrency: string | undefined, rate: number | undefined): Load[] | undefined {
  if (concurrency !== undefined && rate !== undefined) throw new UserError('--concurrency and --rate are alternatives', 'pass one of them: closed-loop levels, or an arrival rate')
  if (rate !== undefined) {
    if (!(rate > 0)) throw new UserError(`--rate must be a positive number of requests per second, not ${rate}`, 'for example --rate 2.5')
    return [{mode: 'rate', rps: rate}]
  }
  if (concurrency === undefined) return undefined
  const levels = concurrency.split(',').map((part) => part.trim())
  return levels.map((level) => {
    if (!/^\d+$/.test(level) || Number(level) < 1) throw new UserError(`--concurrency "${concurrency}": "${level}" is not a positive whole number`, 'for example --concurrency 1,4,16')
    return {mode: 'concurrency', level: Number(level)}
  })
}

/** `--slo ttft=500ms,tpot=50ms,e2e=10s`: requests meeting every objective count toward goodput. */
export function parseSlo(text: string | undefined): Slo | undefined {
  if (text === undefined) return undefined
  const slo: Slo = {}
  for (const part of text.split(',')) {
    const m = /^\s*(ttft|tpot|e2e)\s*=\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*$/.exec(part)
    if (!m) throw new UserError(`--slo "${text}": "${part}" is not NAME=VALUE with a unit`, 'for example --slo ttft=500ms,tpot=50ms,e2e=10s')
    const ms = Number(m[2]) * (m[3] === 's' ? 1000 : 1)
    if (m[1] === 'ttft') slo.ttftMs = ms
    else if (m[1] === 'tpot') slo.tpotMs = ms
    else slo.e2eMs = ms
  }
  return slo
}
