import {createParser, type EventSourceMessage} from 'eventsource-parser'
import {UserError} from '../errors/errors.js'
import type {EndpointProtocol, ProtocolFallback} from '../results/endpoint-schema.js'
import type {Pricing, RequestRecord, Target} from '../results/schema.js'
import {type Engine, type EngineRequest, INTERRUPTED_ERROR, type PhaseObserver, type RequestContext} from './engine.js'
import {promptText, uniqueMessages} from './endpoint-prompts.js'
import {redactUrl} from './endpoint-url.js'
import {endpointFetch} from './http-client.js'
import {discoverServerMetrics} from './server-metrics-scraper.js'
import {chunkFacts, StreamTally} from './stream-chunk.js'

export {redactUrl} from './endpoint-url.js'

export interface EndpointOptions {
  id: string
  /** Base URL up to and including /v1. */
  baseUrl: string
  model: string
  /** The key itself (read from an environment variable by the caller); never stored. */
  apiKey?: string
  /** Name of the variable the key came from, recorded so a result says how it was authenticated. */
  apiKeyEnv?: string
  /** Send ignore_eos so outputs have exactly max_tokens tokens; 'auto' tries and falls back. */
  ignoreEos: boolean | 'auto'
  /** Per-request timeout. */
  timeoutMs: number
  pricing?: Pricing
  /** The run's power meters measure this endpoint's server (recorded in the target's settings). */
  meterOnServer?: boolean
  /** The server's Prometheus endpoint; by default /metrics at the base URL's origin is tried; false: never scrape. */
  metricsUrl?: string | false
  /** How often gauges (running/waiting requests, KV-cache use) are sampled during a phase (default 1000 ms). */
  metricsIntervalMs?: number
  /** How long to wait for [DONE] after the final chunk (finish_reason, and usage when asked) before completing the request without it (default 1000 ms). */
  doneGraceMs?: number
}

type Api = 'completions' | 'chat'

/** Servers whose stream_options accept continuous_usage_stats (usage in every chunk), by /v1/models owned_by. */
const CONTINUOUS_USAGE_SERVERS = new Set(['vllm', 'sglang'])

/**
 * An OpenAI-compatible HTTP endpoint (llama-server, vLLM, SGLang, a provider) streamed over SSE.
 * The preflight learns the protocol the server accepts (API, max_tokens or max_completion_tokens,
 * ignore_eos) and where its Prometheus metrics are; a streamed request that is rejected for
 * stream_options, ignore_eos or max_tokens is re-sent without it once and the target remembers.
 * Token counts come from the server's usage wherever it puts it, else from the stream, labelled.
 */
export async function createEndpointEngine(options: EndpointOptions, fetchImpl: typeof fetch = endpointFetch): Promise<Engine> {
  const client = new EndpointClient(options.baseUrl, options, fetchImpl)
  const {api, ownedBy} = await client.preflight()
  const target = describe(options, api, client, ownedBy)
  const metrics = options.metricsUrl === false ? undefined : await discoverServerMetrics(options.baseUrl, options.metricsUrl, {headers: client.authHeaders(), timeoutMs: Math.min(options.timeoutMs, 10_000), intervalMs: options.metricsIntervalMs ?? 1000, fetchImpl})
  if (target.kind === 'endpoint' && metrics) target.serverMetrics = metrics.source
  client.target = target
  return new EndpointEngine(target, client, api, metrics?.scrape)
}

function describe(options: EndpointOptions, api: Api, client: EndpointClient, ownedBy: string | undefined): Target {
  const target: Target = {
    id: options.id,
    kind: 'endpoint',
    endpoint: {baseUrl: redactUrl(options.baseUrl), model: options.model, api, apiKeyEnv: options.apiKeyEnv ?? null},
    settings: {ignoreEos: client.ignoreEos, timeoutMs: options.timeoutMs, meterOnServer: options.meterOnServer ?? false},
    // The client keeps writing into this object as it learns, so a saved result holds the latest.
    protocol: client.protocol,
  }
  if (ownedBy && target.kind === 'endpoint') target.endpoint.ownedBy = ownedBy
  if (options.pricing) target.pricing = options.pricing
  return target
}

class EndpointEngine implements Engine {
  readonly contextLimit = undefined
  readonly maxConcurrency = Number.POSITIVE_INFINITY

  constructor(
    readonly target: Target,
    private readonly client: EndpointClient,
    private readonly api: Api,
    private readonly scrape?: (clock: () => number) => Promise<PhaseObserver>,
  ) {}

  execute(request: EngineRequest, ctx: RequestContext): Promise<RequestRecord> {
    // pp: the prompt and one token, so TTFT is prompt processing; tg: a short prompt and N tokens.
    switch (request.kind) {
      case 'pp':
        return this.client.stream(this.textBody(promptText(request.nPrompt, request.seed)), 1, true, this.api, ctx)
      case 'tg':
        return this.client.stream(this.textBody(promptText(1, request.seed)), request.nGen, true, this.api, ctx)
      case 'pg':
        return this.client.stream(this.textBody(promptText(request.nPrompt, request.seed)), request.nGen, true, this.api, ctx)
      case 'chat':
        return this.client.stream({messages: uniqueMessages(request.messages, request.seed)}, request.maxTokens, request.ignoreEos, 'chat', ctx)
    }
  }

  /** The server's Prometheus metrics over a phase, where it exposes them. */
  observePhase(clock: () => number): Promise<PhaseObserver> | undefined {
    return this.scrape?.(clock)
  }

  private textBody(text: string): Record<string, unknown> {
    return this.api === 'completions' ? {prompt: text} : {messages: [{role: 'user', content: text}]}
  }

  async dispose(): Promise<void> {}
}

type Rejected = ProtocolFallback['parameter']

class EndpointClient {
  readonly protocol: EndpointProtocol = {maxTokensParam: 'max_tokens', streamOptions: 'include_usage', fallbacks: []}
  ignoreEos: boolean
  /** Set once the target is described: flags learned later (ignore_eos refused) are written into it. */
  target?: Target

  constructor(
    private readonly baseUrl: string,
    private readonly options: EndpointOptions,
    private readonly fetchImpl: typeof fetch,
  ) {
    this.ignoreEos = options.ignoreEos !== false
  }

  /**
   * One tiny request before the run: a wrong key, a dead server or a wrong base URL is a clear
   * error now rather than a run of failed requests. It also finds which API the server has, which
   * length parameter and whether ignore_eos it accepts, and (from /v1/models) which server it is.
   */
  async preflight(): Promise<{api: Api; ownedBy?: string}> {
    const where = redactUrl(this.baseUrl)
    const probe = async (api: Api) => {
      const body = this.payload(api === 'completions' ? {prompt: 'Hello'} : {messages: [{role: 'user', content: 'Hello'}]}, 1, true, false)
      try {
        return {body, response: await this.post(api, body, AbortSignal.timeout(this.options.timeoutMs))}
      } catch (error) {
        throw new UserError(`cannot reach endpoint ${where}: ${networkReason(error, this.options.timeoutMs)}`, 'check --endpoint and that the server is running')
      }
    }
    let api: Api = 'completions'
    let {body, response} = await probe(api)
    if (response.status === 404 || response.status === 405) {
      // Read the refusal to its end so its connection serves the next probe.
      await response.text().catch(() => '')
      api = 'chat'
      ;({body, response} = await probe(api))
    }
    // Each rejected parameter is learned once; a server rejecting three in turn needs four tries.
    for (let attempt = 0; response.status === 400 && attempt < 3; attempt++) {
      const detail = await bodySnippet(response)
      const learned = this.learn(detail, body, 'preflight')
      if (!learned) {
        if (body.ignore_eos && this.options.ignoreEos === 'auto') {
          // Providers that reject unknown fields without naming them: run without exact lengths, and say so.
          this.fallBack('ignore_eos', 'none', 'preflight', `HTTP 400: ${detail}`)
        } else {
          throw new UserError(`endpoint ${where} answered HTTP 400 to a test request${detail ? `: ${detail}` : ''}`, 'check --endpoint and --model-name')
        }
      }
      ;({body, response} = await probe(api))
    }
    if (response.status === 401 || response.status === 403) {
      const variable = this.options.apiKeyEnv ?? 'OPENAI_API_KEY'
      throw new UserError(`endpoint ${where} rejected the API key (HTTP ${response.status})`, `check the key in $${variable}${this.options.apiKey ? '' : ' (it is not set)'}; owbench reads it from --api-key-env`)
    }
    if (!response.ok) {
      const detail = await bodySnippet(response)
      throw new UserError(`endpoint ${where} answered HTTP ${response.status} to a test request${detail ? `: ${detail}` : ''}`, response.status === 404 ? 'the base URL should end in /v1, and --model-name must be a model the server serves' : 'check --endpoint and --model-name')
    }
    await response.body?.cancel()
    const ownedBy = await this.ownedBy()
    if (ownedBy && CONTINUOUS_USAGE_SERVERS.has(ownedBy)) this.protocol.streamOptions = 'continuous_usage_stats'
    return {api, ownedBy}
  }

  /** `owned_by` of the model in GET /v1/models (vllm, sglang, llamacpp, ...); undefined when the server does not say. */
  private async ownedBy(): Promise<string | undefined> {
    try {
      const response = await this.fetchImpl(this.url('/models'), {headers: this.authHeaders(), signal: AbortSignal.timeout(Math.min(this.options.timeoutMs, 10_000))})
      if (!response.ok) {
        await response.body?.cancel()
        return undefined
      }
      const list = (await response.json()) as {data?: {id?: string; owned_by?: unknown}[]}
      const models = Array.isArray(list.data) ? list.data : []
      const model = models.find((m) => m.id === this.options.model) ?? (models.length === 1 ? models[0] : undefined)
      return typeof model?.owned_by === 'string' ? model.owned_by : undefined
    } catch {
      return undefined
    }
  }

  /** The request body as this server takes it: length parameter, ignore_eos and stream_options as learned. */
  private payload(body: Record<string, unknown>, maxTokens: number, wantIgnoreEos: boolean, stream: boolean): Record<string, unknown> {
    const payload: Record<string, unknown> = {...body, model: this.options.model, stream, [this.protocol.maxTokensParam]: maxTokens}
    if (wantIgnoreEos && this.ignoreEos) payload.ignore_eos = true
    if (stream && this.protocol.streamOptions !== 'none') {
      payload.stream_options = this.protocol.streamOptions === 'continuous_usage_stats' ? {include_usage: true, continuous_usage_stats: true} : {include_usage: true}
    }
    return payload
  }

  /**
   * Reads a 400's body for a parameter the server does not take and switches it off (or to
   * max_completion_tokens) for every later request. Returns what was learned, or undefined when
   * the answer names nothing owbench can do without.
   */
  private learn(detail: string, sent: Record<string, unknown>, at: 'preflight' | 'request'): Rejected | undefined {
    const named = rejectedParameter(detail)
    const reason = `HTTP 400: ${detail}`
    if (named === 'max_tokens' && sent.max_tokens !== undefined) {
      this.fallBack('max_tokens', 'max_completion_tokens', at, reason)
      return 'max_tokens'
    }
    if (named === 'stream_options' && sent.stream_options !== undefined) {
      // A server rejecting only vLLM's continuous_usage_stats still gets usage at the end.
      if (this.protocol.streamOptions === 'continuous_usage_stats' && /continuous_usage_stats/.test(detail)) this.fallBack('stream_options', 'include_usage', at, reason)
      else this.fallBack('stream_options', 'none', at, reason)
      return 'stream_options'
    }
    if (named === 'ignore_eos' && sent.ignore_eos !== undefined && this.options.ignoreEos === 'auto') {
      this.fallBack('ignore_eos', 'none', at, reason)
      return 'ignore_eos'
    }
    return undefined
  }

  private fallBack(parameter: Rejected, replacement: ProtocolFallback['replacement'], learnedAt: ProtocolFallback['learnedAt'], reason: string): void {
    // Concurrent first requests may all be rejected: the fallback is recorded once.
    const already = this.protocol.fallbacks.some((f) => f.parameter === parameter && f.replacement === replacement)
    if (parameter === 'max_tokens') this.protocol.maxTokensParam = 'max_completion_tokens'
    if (parameter === 'stream_options') this.protocol.streamOptions = replacement === 'include_usage' ? 'include_usage' : 'none'
    if (parameter === 'ignore_eos') {
      this.ignoreEos = false
      if (this.target?.kind === 'endpoint') this.target.settings.ignoreEos = false
    }
    if (!already) this.protocol.fallbacks.push({parameter, replacement, learnedAt, reason: reason.length > 200 ? `${reason.slice(0, 200)}…` : reason})
  }

  authHeaders(): Record<string, string> {
    const headers: Record<string, string> = {}
    // fetch refuses URLs with user:password; a base URL may carry them (a proxy) or a query key.
    const url = new URL(this.baseUrl)
    if (url.username || url.password) headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`
    return headers
  }

  private url(path: string): URL {
    const url = new URL(this.baseUrl)
    url.username = ''
    url.password = ''
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`
    return url
  }

  private post(api: Api, body: Record<string, unknown>, signal: AbortSignal): Promise<Response> {
    const headers = {'content-type': 'application/json', accept: 'text/event-stream', ...this.authHeaders()}
    return this.fetchImpl(this.url(api === 'completions' ? '/completions' : '/chat/completions'), {method: 'POST', headers, body: JSON.stringify(body), signal})
  }

  /**
   * Sends one streaming request and records every token-bearing chunk's arrival. The chunk with
   * finish_reason (and the usage, when asked for) completes the request; a missing [DONE] after it
   * costs a short grace, not the timeout. Whatever goes wrong (HTTP status, network, timeout, a cut
   * or malformed stream) is returned in `error` with the tokens measured before it.
   */
  async stream(body: Record<string, unknown>, nAsked: number, wantIgnoreEos: boolean, api: Api, ctx: RequestContext): Promise<RequestRecord> {
    const signals = [AbortSignal.timeout(this.options.timeoutMs)]
    if (ctx.signal) signals.push(ctx.signal)
    const signal = AbortSignal.any(signals)
    const tally = new StreamTally()
    const notes: string[] = []
    const record: RequestRecord = {tSend: ctx.clock(), chunks: [], tEnd: 0, nPrompt: 0, nOut: 0, nAsked}
    const finish = () => {
      tally.finish(record)
      if (notes.length > 0) record.notes = notes
      return record
    }
    const fail = (error: string) => {
      record.tEnd = ctx.clock()
      record.error = error
      return finish()
    }
    let response: Response | undefined
    let payload = this.payload(body, nAsked, wantIgnoreEos, true)
    let staleSends = 0
    for (let attempt = 0; !response; attempt++) {
      try {
        response = await this.post(api, payload, signal)
      } catch (error) {
        // A kept-alive socket the server closed just as the request went out: no answer came, so
        // the request is sent again, timed from the new send. Several pooled sockets can close at
        // once (llama-server's cpp-httplib closes them; in a 1,100-request sweep 41 requests met one,
        // one met three in a row), so up to 5 sends: a closed socket fails at once, so retries are cheap.
        if (++staleSends < MAX_STALE_SENDS && isStaleSocket(error) && !signal.aborted) {
          record.retriedAfter = networkReason(error, this.options.timeoutMs)
          record.tSend = ctx.clock()
          continue
        }
        return fail(ctx.signal?.aborted ? INTERRUPTED_ERROR : networkReason(error, this.options.timeoutMs))
      }
      if (response.status === 400 && attempt < 3) {
        const detail = await bodySnippet(response)
        const learned = this.learn(detail, payload, 'request')
        if (!learned) {
          record.httpStatus = 400
          return fail(`HTTP 400${response.statusText ? ` ${response.statusText}` : ''}${detail ? `: ${detail}` : ''}`)
        }
        // The server is usable without that parameter: re-send at once, timed from the new send.
        notes.push(`re-sent ${learned === 'max_tokens' ? 'with max_completion_tokens' : `without ${learned}`}: the server answered HTTP 400 (${detail.slice(0, 120)})`)
        payload = this.payload(body, nAsked, wantIgnoreEos, true)
        record.tSend = ctx.clock()
        response = undefined
      }
    }
    if (!response.ok) {
      record.httpStatus = response.status
      const retryAfter = response.headers.get('retry-after')
      if (retryAfter) record.retryAfter = retryAfter
      const detail = await bodySnippet(response)
      return fail(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${retryAfter ? ` (retry-after ${retryAfter})` : ''}${detail ? `: ${detail}` : ''}`)
    }
    const usageAsked = payload.stream_options !== undefined
    const graceMs = this.options.doneGraceMs ?? 1000
    let done = false
    let streamError: string | undefined
    let grace: ReturnType<typeof setTimeout> | undefined
    let graceExpired = false
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    const armGrace = () => {
      clearTimeout(grace)
      grace = setTimeout(() => {
        graceExpired = true
        reader.cancel().catch(() => {})
      }, graceMs)
    }
    const parser = createParser({
      onEvent: (event: EventSourceMessage) => {
        if (streamError || done) return
        if (event.data === '[DONE]') {
          // Read on to the body's end (servers end it here), so the connection can be reused; a
          // server holding it open costs the grace.
          done = true
          armGrace()
          return
        }
        let data: unknown
        try {
          data = JSON.parse(event.data)
        } catch {
          streamError = `malformed SSE event: ${event.data.slice(0, 80)}`
          return
        }
        const facts = chunkFacts(data)
        if (facts.error) {
          streamError = `server error in stream: ${facts.error}`
          return
        }
        if (tally.add(facts, ctx.clock())) ctx.onToken?.(tally.tokenChunks)
        // The final chunk arrived (and the usage, when it was asked for): wait only briefly for [DONE].
        if (tally.finishReason && (facts.finishReason || facts.usage)) armGrace()
      },
    })
    const decoder = new TextDecoder()
    try {
      while (!streamError) {
        const {value, done: ended} = await reader.read()
        if (ended) break
        parser.feed(decoder.decode(value, {stream: true}))
      }
    } catch (error) {
      streamError = ctx.signal?.aborted ? INTERRUPTED_ERROR : `stream broken after ${tally.tokenChunks} chunks: ${networkReason(error, this.options.timeoutMs)}`
    } finally {
      clearTimeout(grace)
    }
    if (streamError || graceExpired) await reader.cancel().catch(() => {})
    if (streamError) return fail(streamError)
    record.tEnd = tally.lastTokenTime ?? ctx.clock()
    if (!done && !tally.finishReason) return fail(`stream ended before completion after ${tally.tokenChunks} chunks (no [DONE])`)
    if (!done) {
      const missing = usageAsked && !tally.usage ? ' and no usage' : ''
      notes.push(graceExpired ? `no [DONE]${missing} within ${graceMs} ms of the final chunk (finish_reason ${tally.finishReason}): completed at the final chunk` : `stream closed without [DONE]${missing} after the final chunk (finish_reason ${tally.finishReason})`)
    }
    finish()
    this.checkIgnoreEos(record, Boolean(payload.ignore_eos))
    return record
  }

  /** ignore_eos sent and accepted, yet the output stopped at an end-of-sequence: the target does not honour it. */
  private checkIgnoreEos(record: RequestRecord, sent: boolean): void {
    if (!sent || this.protocol.ignoreEosIgnored || record.finishReason !== 'stop' || record.nAsked === undefined || record.nOut >= record.nAsked) return
    this.protocol.ignoreEosIgnored = `${record.nOut} of ${record.nAsked} tokens, finish_reason "stop"`
  }
}

/**
 * The request parameter a 400 names: OpenAI's `error.param`, else the message
 * ("Unrecognized request argument supplied: stream_options", "Unsupported parameter: 'max_tokens'
 * is not supported with this model. Use 'max_completion_tokens' instead.").
 */
export function rejectedParameter(detail: string): Rejected | undefined {
  let param: unknown
  let message = detail
  try {
    const parsed = JSON.parse(detail) as {error?: {param?: unknown; message?: unknown}; message?: unknown}
    param = parsed.error?.param
    const text = parsed.error?.message ?? parsed.message
    if (typeof text === 'string') message = text
  } catch {
    // Not JSON: read the text itself.
  }
  for (const name of ['max_tokens', 'stream_options', 'ignore_eos'] as const) {
    if (param === name || (typeof param === 'string' && param.startsWith(`${name}.`))) return name
  }
  if (/\bmax_tokens\b/.test(message) && /max_completion_tokens/.test(message)) return 'max_tokens'
  if (/\bstream_options\b/.test(message)) return 'stream_options'
  if (/\bignore_eos\b/.test(message)) return 'ignore_eos'
  return undefined
}

async function bodySnippet(response: Response): Promise<string> {
  try {
    const text = (await response.text()).replace(/\s+/g, ' ').trim()
    return text.length > 200 ? `${text.slice(0, 200)}…` : text
  } catch {
    return ''
  }
}

/** Sends of one request that may meet a socket the server had just closed before it counts as failed. */
const MAX_STALE_SENDS = 5

function isStaleSocket(error: unknown): boolean {
  const code = (error as {cause?: {code?: string}})?.cause?.code
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET'
}

/** Why a request never got an answer, in words: connection refused, DNS, timeout. */
export function networkReason(error: unknown, timeoutMs: number): string {
  const e = error as {name?: string; message?: string; cause?: {code?: string; message?: string}}
  if (e?.name === 'TimeoutError' || e?.cause?.code === 'UND_ERR_HEADERS_TIMEOUT') return `timed out after ${timeoutMs / 1000} s`
  const code = e?.cause?.code
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)'
  if (code === 'ENOTFOUND') return 'host not found (ENOTFOUND)'
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return `connection reset (${code})`
  return code ? `${e.message ?? 'network error'} (${code})` : (e?.cause?.message ?? e?.message ?? String(error))
}
