import http from 'node:http'
import https from 'node:https'
import {UserError} from '../errors/errors.js'
import {PollLoop} from './poll-loop.js'
import {effectiveInterval, errorMessage, type PowerSource, type SourceInfo, type SourceKind, type StartContext} from './power-source.js'

/** What a wall-meter driver (Shelly, Tasmota) tells the poller. */
export interface HttpMeterDriver {
  kind: SourceKind
  /** For messages and the source id: 'shelly://192.168.1.9'. */
  name: string
  /**
   * Asks the device once and decides how to read it: the URL to poll and a function from the
   * response body to watts. Throws a UserError when the device cannot be used (no power metering,
   * authentication). The result may carry its own `get` (one that logs in) for the polling.
   */
  resolve(get: HttpGet): Promise<{url: string; field: string; device: string; read: (body: unknown) => number; notes?: string[]; get?: HttpGet}>
  /** How often the device refreshes the reading it serves (ms). */
  updateMs: number
}

export interface HttpResponse {
  status: number
  body: unknown
  headers: http.IncomingHttpHeaders
}

/** One GET; `headers` are added to the request (Authorization). */
export type HttpGet = (url: string, headers?: Record<string, string>) => Promise<HttpResponse>

export interface HttpMeterOptions {
  /** Give up after this long without one good reading (ms). */
  failAfterMs?: number
  /** One request's time limit (ms). */
  requestTimeoutMs?: number
}

// One kept-alive socket per plug: a reading every 100-500 ms through fetch cost about 5 ms of CPU
// each (1.1% of a core at 2 Hz, measured with npm run bench:sampler); node:http with keep-alive far less.
const agents = {http: new http.Agent({keepAlive: true, maxSockets: 1}), https: new https.Agent({keepAlive: true, maxSockets: 1})}

/** GET returning the parsed JSON body (or the text when it is not JSON). */
export function httpGet(timeoutMs: number): HttpGet {
  return (url, headers) =>
    new Promise((resolve, reject) => {
      const target = new URL(url)
      const client = target.protocol === 'https:' ? https : http
      const request = client.get(target, {agent: target.protocol === 'https:' ? agents.https : agents.http, timeout: timeoutMs, ...(headers ? {headers} : {})}, (response) => {
        let text = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => (text += chunk))
        response.on('error', reject)
        response.on('end', () => {
          let body: unknown = text
          try {
            body = JSON.parse(text)
          } catch {
            // Left as text: the driver says what it expected.
          }
          resolve({status: response.statusCode ?? 0, body, headers: response.headers})
        })
      })
      request.on('timeout', () => request.destroy(Object.assign(new Error(`no answer in ${timeoutMs} ms`), {name: 'TimeoutError'})))
      request.on('error', reject)
    })
}

/**
 * A wall meter read over HTTP every interval, one request at a time. A reading is stamped at the
 * middle of its request. A failed request leaves a gap (which the energy code reports if it falls
 * in a window); the series fails only after `failAfterMs` without a good reading.
 */
export class HttpMeterSource implements PowerSource {
  readonly name: string
  readonly minIntervalMs = 500
  private loop: PollLoop | undefined
  private context: StartContext | undefined
  private id = ''
  private lastGood = 0
  private lastError = ''
  private failed = false

  constructor(
    private readonly driver: HttpMeterDriver,
    private readonly options: HttpMeterOptions = {},
  ) {
    this.name = driver.name
  }

  async start(context: StartContext): Promise<SourceInfo[]> {
    const get = httpGet(this.options.requestTimeoutMs ?? 3000)
    let resolved: Awaited<ReturnType<HttpMeterDriver['resolve']>>
    try {
      resolved = await this.driver.resolve(get)
    } catch (error) {
      if (error instanceof UserError) throw error
      throw new UserError(`cannot reach ${this.driver.name}: ${errorMessage(error)}`, 'check the address and that this machine is on the same network as the plug')
    }
    const interval = effectiveInterval(context.intervalMs, this.minIntervalMs)
    this.id = `${this.driver.kind}:${this.driver.name.replace(/^[a-z]+:\/\//, '')}`
    this.context = context
    this.lastGood = context.clock()
    this.loop = new PollLoop(interval, async () => {
      const t0 = context.clock()
      try {
        const {status, body} = await (resolved.get ?? get)(resolved.url)
        if (status !== 200) throw new Error(`HTTP ${status}`)
        const watts = resolved.read(body)
        const t1 = context.clock()
        if (this.context !== context) return
        context.sink.sample(this.id, (t0 + t1) / 2, watts)
        this.lastGood = t1
      } catch (error) {
        this.lastError = errorMessage(error)
        const now = context.clock()
        if (!this.failed && now - this.lastGood > (this.options.failAfterMs ?? 10_000)) {
          this.failed = true
          context.sink.failure(this.id, now, `${this.driver.name}: no reading for ${Math.round((now - this.lastGood) / 1000)} s (last error: ${this.lastError})`)
          void this.loop?.stop()
        }
      }
    })
    this.loop.start()
    return [
      {
        id: this.id,
        kind: this.driver.kind,
        boundary: 'wall',
        method: 'sampled',
        unit: 'W',
        intervalMs: interval,
        updateMs: this.driver.updateMs,
        device: resolved.device,
        field: resolved.field,
        notes: ['whole machine at the socket, as the plug measures it (includes PSU losses, fans, idle parts)', ...(resolved.notes ?? [])],
      },
    ]
  }

  async stop(): Promise<void> {
    const loop = this.loop
    this.loop = undefined
    this.context = undefined
    await loop?.stop()
  }
}

/** Splits 'shelly://host[:port][?query]' into the http base and the query parameters. */
export function parseMeterUri(uri: string, scheme: 'shelly' | 'tasmota'): {base: string; params: URLSearchParams; user?: string; password?: string} {
  let url: URL
  try {
    url = new URL(uri.replace(new RegExp(`^${scheme}://`, 'i'), 'http://'))
  } catch {
    throw new UserError(`not a ${scheme} address: ${uri}`, `write it as ${scheme}://192.168.1.20`)
  }
  if (!url.hostname) throw new UserError(`not a ${scheme} address: ${uri}`, `write it as ${scheme}://192.168.1.20`)
  return {
    base: `http://${url.host}`,
    params: url.searchParams,
    ...(url.username ? {user: decodeURIComponent(url.username)} : {}),
    ...(url.password ? {password: decodeURIComponent(url.password)} : {}),
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function finiteNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

/** A reading the driver must find in every response; a missing one fails that request. */
export function requiredWatts(value: number | undefined, field: string): number {
  if (value === undefined) throw new Error(`response has no ${field}`)
  return value
}
