import {createParser, type EventSourceMessage} from 'eventsource-parser'
import {UserError} from '../errors/errors.js'
import type {Pricing, RequestRecord, Target} from '../results/schema.js'
import type {Engine, EngineRequest, RequestContext} from './engine.js'
import {promptText, uniqueMessages} from './endpoint-prompts.js'

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
}

type Api = 'completions' | 'chat'

/**
 * An OpenAI-compatible HTTP endpoint (llama-server, vLLM, a provider) streamed over SSE. Token
 * counts come from the server's `usage` (stream_options.include_usage), else from counting
 * streamed chunks, labelled as such; llama-server's `timings` are kept as sent.
 */
export async function createEndpointEngine(options: EndpointOptions, fetchImpl: typeof fetch = fetch): Promise<Engine> {
  const baseUrl = options.baseUrl
  const client = new EndpointClient(baseUrl, options, fetchImpl)
  const {api, ignoreEos} = await client.preflight()
  return new EndpointEngine(describe(options, baseUrl, api, ignoreEos), client, api, ignoreEos)
}

/** Base URL as recorded: no user:password, no query string (keys hide in both). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    u.search = ''
    u.hash = ''
    return u.toString().replace(/\/+$/, '')
  } catch {
    return '(invalid URL)'
  }
}

function describe(options: EndpointOptions, baseUrl: string, api: Api, ignoreEos: boolean): Target {
  const target: Target = {
    id: options.id,
    kind: 'endpoint',
    endpoint: {baseUrl: redactUrl(baseUrl), model: options.model, api, apiKeyEnv: options.apiKeyEnv ?? null},
    settings: {ignoreEos, timeoutMs: options.timeoutMs, meterOnServer: options.meterOnServer ?? false},
  }
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
    private readonly ignoreEos: boolean,
  ) {}

  execute(request: EngineRequest, ctx: RequestContext): Promise<RequestRecord> {
    // pp: the prompt and one token, so TTFT is prompt processing; tg: a short prompt and N tokens.
    switch (request.kind) {
      case 'pp':
        return this.client.stream(this.textBody(promptText(request.nPrompt, request.seed), 1, this.ignoreEos), this.api, ctx)
      case 'tg':
        return this.client.stream(this.textBody(promptText(1, request.seed), request.nGen, this.ignoreEos), this.api, ctx)
      case 'pg':
        return this.client.stream(this.textBody(promptText(request.nPrompt, request.seed), request.nGen, this.ignoreEos), this.api, ctx)
      case 'chat': {
        const body: Record<string, unknown> = {messages: uniqueMessages(request.messages, request.seed), max_tokens: request.maxTokens}
        if (request.ignoreEos && this.ignoreEos) body.ignore_eos = true
        return this.client.stream(body, 'chat', ctx)
      }
    }
  }

  private textBody(text: string, maxTokens: number, ignoreEos: boolean): Record<string, unknown> {
    const body: Record<string, unknown> = this.api === 'completions' ? {prompt: text} : {messages: [{role: 'user', content: text}]}
    body.max_tokens = maxTokens
    if (ignoreEos) body.ignore_eos = true
    return body
  }

  async dispose(): Promise<void> {}
}

class EndpointClient {
  constructor(
    private readonly baseUrl: string,
    private readonly options: EndpointOptions,
    private readonly fetchImpl: typeof fetch,
  ) {}

  /**
   * One tiny request before the run: a wrong key, a dead server or a wrong base URL is a clear
   * error now rather than a run of failed requests; it also finds which API and options the
   * server accepts.
   */
  async preflight(): Promise<{api: Api; ignoreEos: boolean}> {
    const where = redactUrl(this.baseUrl)
    const probe = async (api: Api, ignoreEos: boolean) => {
      const body: Record<string, unknown> = api === 'completions' ? {prompt: 'Hello'} : {messages: [{role: 'user', content: 'Hello'}]}
      body.max_tokens = 1
      if (ignoreEos) body.ignore_eos = true
      try {
        return await this.post(api, {...body, model: this.options.model, stream: false}, AbortSignal.timeout(this.options.timeoutMs))
      } catch (error) {
        throw new UserError(`cannot reach endpoint ${where}: ${networkReason(error, this.options.timeoutMs)}`, 'check --endpoint and that the server is running')
      }
    }
    const wantIgnoreEos = this.options.ignoreEos !== false
    let api: Api = 'completions'
    let response = await probe(api, wantIgnoreEos)
    if (response.status === 404 || response.status === 405) {
      api = 'chat'
      response = await probe(api, wantIgnoreEos)
    }
    let ignoreEos = wantIgnoreEos
    if (response.status === 400 && wantIgnoreEos && this.options.ignoreEos === 'auto') {
      // Providers that reject unknown fields: run without exact lengths, and say so in the target.
      ignoreEos = false
      response = await probe(api, false)
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
    return {api, ignoreEos}
  }

  private post(api: Api, body: Record<string, unknown>, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {'content-type': 'application/json', accept: 'text/event-stream'}
    // fetch refuses URLs with user:password; a base URL may carry them (a proxy) or a query key.
    const url = new URL(this.baseUrl)
    if (url.username || url.password) headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`
    url.username = ''
    url.password = ''
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${api === 'completions' ? '/completions' : '/chat/completions'}`
    return this.fetchImpl(url, {method: 'POST', headers, body: JSON.stringify(body), signal})
  }

  /**
   * Sends one streaming request and records every token-bearing chunk's arrival. Whatever goes
   * wrong (HTTP status, network, timeout, a cut or malformed stream) is returned in `error` with
   * the tokens measured before it.
   */
  async stream(body: Record<string, unknown>, api: Api, ctx: RequestContext): Promise<RequestRecord> {
    const signals = [AbortSignal.timeout(this.options.timeoutMs)]
    if (ctx.signal) signals.push(ctx.signal)
    const signal = AbortSignal.any(signals)
    const chunks: [number, number][] = []
    const record: RequestRecord = {tSend: ctx.clock(), chunks, tEnd: 0, nPrompt: 0, nOut: 0}
    const fail = (error: string) => {
      record.tEnd = ctx.clock()
      record.error = error
      return finish(record, chunks)
    }
    let response: Response | undefined
    const payload = {...body, model: this.options.model, stream: true, stream_options: {include_usage: true}}
    for (let attempt = 0; !response; attempt++) {
      try {
        response = await this.post(api, payload, signal)
      } catch (error) {
        // A kept-alive socket the server closed just as the request went out: nothing reached the
        // server, so the request is sent again once, timed from the new send.
        if (attempt === 0 && isStaleSocket(error) && !signal.aborted) {
          record.retriedAfter = networkReason(error, this.options.timeoutMs)
          record.tSend = ctx.clock()
          continue
        }
        return fail(ctx.signal?.aborted ? 'interrupted' : networkReason(error, this.options.timeoutMs))
      }
    }
    if (!response.ok) {
      record.httpStatus = response.status
      const retryAfter = response.headers.get('retry-after')
      if (retryAfter) record.retryAfter = retryAfter
      const detail = await bodySnippet(response)
      return fail(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${retryAfter ? ` (retry-after ${retryAfter})` : ''}${detail ? `: ${detail}` : ''}`)
    }
    let done = false
    let finishReason: string | undefined
    let streamError: string | undefined
    const parser = createParser({
      onEvent: (event: EventSourceMessage) => {
        if (streamError || done) return
        if (event.data === '[DONE]') {
          done = true
          return
        }
        let data: StreamChunk
        try {
          data = JSON.parse(event.data) as StreamChunk
        } catch {
          streamError = `malformed SSE event: ${event.data.slice(0, 80)}`
          return
        }
        if (data.error) {
          streamError = `server error in stream: ${typeof data.error === 'string' ? data.error : (data.error.message ?? JSON.stringify(data.error))}`
          return
        }
        const choice = data.choices?.[0]
        const text = choice?.text ?? choice?.delta?.content ?? choice?.delta?.reasoning_content
        if (typeof text === 'string' && text.length > 0) {
          chunks.push([ctx.clock(), 1])
          ctx.onToken?.(chunks.length)
        }
        if (choice?.finish_reason) finishReason = choice.finish_reason
        if (data.usage) record.usage = data.usage as Record<string, unknown>
        if (data.timings) record.serverTimings = data.timings
      },
    })
    const decoder = new TextDecoder()
    try {
      for await (const piece of response.body as unknown as AsyncIterable<Uint8Array>) {
        parser.feed(decoder.decode(piece, {stream: true}))
        if (streamError) break
      }
    } catch (error) {
      streamError = ctx.signal?.aborted ? 'interrupted' : `stream broken after ${chunks.length} chunks: ${networkReason(error, this.options.timeoutMs)}`
    }
    if (streamError) {
      await response.body?.cancel().catch(() => {})
      return fail(streamError)
    }
    record.tEnd = chunks.at(-1)?.[0] ?? ctx.clock()
    if (!done && !finishReason) return fail(`stream ended before completion after ${chunks.length} chunks (no [DONE])`)
    return finish(record, chunks)
  }
}

interface StreamChunk {
  choices?: {text?: string; delta?: {content?: string | null; reasoning_content?: string | null}; finish_reason?: string | null}[]
  usage?: {prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: {cached_tokens?: number}}
  timings?: Record<string, unknown>
  error?: string | {message?: string}
}

/** Token counts from `usage` when the server sent it, else the streamed chunks counted one token each. */
function finish(record: RequestRecord, chunks: [number, number][]): RequestRecord {
  const usage = record.usage as StreamChunk['usage'] | undefined
  if (usage && typeof usage.completion_tokens === 'number' && typeof usage.prompt_tokens === 'number') {
    record.nPrompt = usage.prompt_tokens
    record.nOut = usage.completion_tokens
    record.countSource = 'usage'
    const cached = usage.prompt_tokens_details?.cached_tokens
    if (typeof cached === 'number') record.cachedTokens = cached
  } else {
    record.nOut = chunks.length
    record.countSource = 'stream'
  }
  if (record.serverTimings && record.cachedTokens === undefined && typeof record.serverTimings.cache_n === 'number') record.cachedTokens = record.serverTimings.cache_n
  return record
}

async function bodySnippet(response: Response): Promise<string> {
  try {
    const text = (await response.text()).replace(/\s+/g, ' ').trim()
    return text.length > 200 ? `${text.slice(0, 200)}…` : text
  } catch {
    return ''
  }
}

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
