import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {createEndpointEngine} from '../../src/engines/openai.js'
import {UserError} from '../../src/errors/errors.js'
import {cellFigures, groupCells} from '../../src/derive/cells.js'
import {runSuite} from '../../src/runner/runner.js'
import type {Suite} from '../../src/suite/schema.js'
import {freePort} from '../helpers/llama-server.js'

// Faults a real llama-server cannot be made to produce on demand: each streaming request gets the
// next behaviour from a list. Everything else is tested against llama-server itself.
type Mode = 'ok' | 'malformed' | 'cut' | 'no-done' | '429' | '500' | 'hang' | 'error-event' | 'drop'

let server: Server | undefined
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  server = undefined
})

function chunk(res: ServerResponse, data: unknown): void {
  res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`)
}

async function faultServer(modes: Mode[], preflightStatus = 200, port = 0): Promise<string> {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.on('data', (d: Buffer) => (body += d.toString()))
    req.on('end', () => {
      // Only the completions API: no /v1/models, no /metrics.
      if (req.method !== 'POST') {
        res.writeHead(404).end()
        return
      }
      const request = JSON.parse(body) as {stream?: boolean}
      if (!request.stream) {
        res.writeHead(preflightStatus, {'content-type': 'application/json'})
        res.end(JSON.stringify(preflightStatus === 200 ? {choices: [{text: 'x'}], usage: {prompt_tokens: 1, completion_tokens: 1}} : {error: {message: 'invalid api key'}}))
        return
      }
      const mode = modes.shift() ?? 'ok'
      if (mode === '429') {
        res.writeHead(429, {'retry-after': '3', 'content-type': 'application/json'})
        res.end('{"error":{"message":"rate limited"}}')
        return
      }
      if (mode === '500') {
        res.writeHead(500, {'content-type': 'application/json'})
        res.end('{"error":{"message":"The model produced output that does not match the expected format"}}')
        return
      }
      if (mode === 'hang') return
      // A kept-alive connection the server closes as the request arrives: no answer at all.
      if (mode === 'drop') {
        res.socket?.destroy()
        return
      }
      res.writeHead(200, {'content-type': 'text/event-stream'})
      const token = (text: string) => chunk(res, {choices: [{text, finish_reason: null}]})
      token(' a')
      token(' b')
      if (mode === 'malformed') {
        chunk(res, '{"choices": [{"text": " c"')
        token(' d')
        res.end('data: [DONE]\n\n')
        return
      }
      if (mode === 'cut') {
        // After the two chunks reached the client: a cut mid-stream, not a refused connection.
        setTimeout(() => res.socket?.destroy(), 50)
        return
      }
      if (mode === 'error-event') {
        chunk(res, {error: {message: 'slot unavailable'}})
        res.end()
        return
      }
      token(' c')
      if (mode === 'no-done') {
        res.end()
        return
      }
      chunk(res, {choices: [{text: '', finish_reason: 'length'}], usage: {prompt_tokens: 7, completion_tokens: 3}})
      res.end('data: [DONE]\n\n')
    })
  })
  await new Promise<void>((resolve, reject) => {
    server!.once('error', reject)
    server!.listen(port, '127.0.0.1', resolve)
  })
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/v1`
}

/** A fault server on the first free port of the WHATWG fetch standard's blocked-port list (X11's 6000, IRC's 6665-6669, ...). */
async function blockedPortServer(modes: Mode[]): Promise<string> {
  for (const port of [6000, 6665, 6666, 6667, 6668, 6669, 6697, 10080]) {
    try {
      return await faultServer(modes, 200, port)
    } catch {
      server = undefined
    }
  }
  throw new Error('every blocked port tried is in use on this machine')
}

const suite: Suite = {name: 'f', version: '1.0.0', description: 'd', repetitions: 1, warmup: 0, tests: [{id: 'tg3', kind: 'tg', nGen: 3, repetitions: 1}]}
const options = {id: 'faulty', model: 'm', ignoreEos: true as const, timeoutMs: 1000}

describe('endpoint failures are data', () => {
  it('records each failed request with its reason and keeps every other request intact', async () => {
    const baseUrl = await faultServer(['ok', '429', 'malformed', 'ok', 'cut', '500', 'no-done', 'error-event', 'hang', 'ok'])
    const engine = await createEndpointEngine({...options, baseUrl})
    const {outcome} = await runSuite({suite, engines: [engine], maxRequests: 10})
    const requests = outcome.runs[0]!.requests
    expect(requests).toHaveLength(10)
    expect(requests.map((r) => r.error)).toEqual([
      undefined,
      'HTTP 429 Too Many Requests (retry-after 3): {"error":{"message":"rate limited"}}',
      'malformed SSE event: {"choices": [{"text": " c"',
      undefined,
      expect.stringMatching(/^stream broken after 2 chunks: /),
      'HTTP 500 Internal Server Error: {"error":{"message":"The model produced output that does not match the expected format"}}',
      'stream ended before completion after 3 chunks (no [DONE])',
      'server error in stream: slot unavailable',
      'timed out after 1 s',
      undefined,
    ])
    expect(requests[1]).toMatchObject({httpStatus: 429, retryAfter: '3', nOut: 0})
    // Tokens measured before a failure are kept.
    expect(requests[2]!.chunks).toHaveLength(2)
    for (const i of [0, 3, 9]) expect(requests[i]).toMatchObject({nPrompt: 7, nOut: 3, countSource: 'usage', chunks: [expect.anything(), expect.anything(), expect.anything()]})
    expect(outcome.runs[0]).toMatchObject({state: 'completed', reason: expect.stringMatching(/^7 of 10 requests failed: /)})
    const [row] = groupCells(outcome.runs).map((c) => cellFigures(c, undefined))
    expect(row).toMatchObject({requests: 10, failedRequests: 7})
    expect(row!.metrics.ttft_ms!.requests!.n).toBe(3)
    expect(row!.errorReasons['timed out after 1 s']).toBe(1)
  })

  it('sends a request again, up to 5 sends, when the connection closes before any answer', async () => {
    const baseUrl = await faultServer(['drop', 'drop', 'drop', 'drop', 'ok', 'drop', 'drop', 'drop', 'drop', 'drop'])
    const engine = await createEndpointEngine({...options, baseUrl})
    const {outcome} = await runSuite({suite, engines: [engine], maxRequests: 2})
    const [first, second] = outcome.runs[0]!.requests
    expect(first).toMatchObject({nOut: 3, retriedAfter: expect.stringMatching(/^connection reset \(/)})
    expect(first!.error).toBeUndefined()
    expect(second).toMatchObject({nOut: 0, error: expect.stringMatching(/^connection reset \(/)})
  })

  it('a rejected key stops the run before it starts, naming the variable', async () => {
    const baseUrl = await faultServer([], 401)
    const error = await createEndpointEngine({...options, baseUrl, apiKeyEnv: 'MY_PROVIDER_KEY'}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UserError)
    expect((error as UserError).message).toMatch(/^endpoint http:\/\/127\.0\.0\.1:\d+\/v1 rejected the API key \(HTTP 401\)$/)
    expect((error as UserError).hint).toMatch(/\$MY_PROVIDER_KEY \(it is not set\)/)
  })

  it('an unreachable endpoint is a clear error before the run', async () => {
    const port = await freePort()
    await expect(createEndpointEngine({...options, baseUrl: `http://127.0.0.1:${port}/v1`})).rejects.toThrow(`cannot reach endpoint http://127.0.0.1:${port}/v1: connection refused (ECONNREFUSED)`)
  })

  it('measures a server on a port fetch refuses as a "bad port" (6000): requests go through undici\'s request API', async () => {
    const baseUrl = await blockedPortServer(['ok'])
    // Node's own fetch refuses this port before connecting: the reason owbench does not use it.
    const refused = await fetch(`${baseUrl}/completions`).catch((error: unknown) => error as {cause?: {message?: string}})
    expect((refused as {cause?: {message?: string}}).cause?.message).toBe('bad port')
    const engine = await createEndpointEngine({...options, baseUrl})
    const {outcome} = await runSuite({suite, engines: [engine], maxRequests: 1})
    expect(outcome.runs[0]!.state).toBe('completed')
    expect(outcome.runs[0]!.requests[0]).toMatchObject({nPrompt: 7, nOut: 3})
    expect(outcome.runs[0]!.requests[0]!.error).toBeUndefined()
  })

  it('a server that goes away mid-run gives connection-refused requests, not a crash', async () => {
    const baseUrl = await faultServer(['ok'])
    const engine = await createEndpointEngine({...options, baseUrl})
    const {outcome: first} = await runSuite({suite, engines: [engine], maxRequests: 1})
    server!.closeAllConnections()
    await new Promise<void>((resolve) => server!.close(() => resolve()))
    server = undefined
    const {outcome} = await runSuite({suite, engines: [engine], maxRequests: 2})
    expect(first.runs[0]!.requests[0]!.error).toBeUndefined()
    expect(outcome.runs[0]).toMatchObject({state: 'errored', reason: 'all 2 requests failed: connection refused (ECONNREFUSED) (x2)'})
  })

  it('never sends the key anywhere but the Authorization header, and never records it', async () => {
    const seen: string[] = []
    server = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization}`)
      res.writeHead(200, {'content-type': 'application/json'})
      res.end('{"choices":[{"text":"x"}]}')
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
    const engine = await createEndpointEngine({...options, baseUrl, apiKey: 'sk-very-secret', apiKeyEnv: 'K'})
    // The preflight, the model list (which server it is) and /metrics: all at the endpoint's own origin.
    expect(seen).toEqual(['/v1/completions Bearer sk-very-secret', '/v1/models Bearer sk-very-secret', '/metrics Bearer sk-very-secret'])
    expect(JSON.stringify(engine.target)).not.toContain('sk-very-secret')
  })
})
