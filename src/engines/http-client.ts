import {STATUS_CODES} from 'node:http'
import {Agent, request} from 'undici'

/**
 * Kept-alive connections shared by every endpoint request, as the global fetch's dispatcher keeps
 * them (a request sent on a socket the server just closed fails with UND_ERR_SOCKET or ECONNRESET,
 * which the endpoint client sends again).
 */
const agent = new Agent({connections: 256, keepAliveTimeout: 4000})

/**
 * A `fetch` for the endpoint client and its metrics scraper, on undici's `request` API: the same
 * HTTP client as Node's own fetch, without the WHATWG fetch standard's blocked-port list, so a
 * server on any port (6000, 6665-6669, 10080, ...) is measured where fetch would refuse it with
 * "bad port". Shape: fetch's; a request that gets no answer rejects as fetch does (a TypeError
 * "fetch failed" whose `cause` carries the system or undici code, ECONNREFUSED, ENOTFOUND, ...),
 * and an aborted one with the signal's reason (a TimeoutError for AbortSignal.timeout). Up to 5
 * redirects are followed. The status text is the standard one for the code (undici's request API
 * does not pass the server's reason phrase on).
 */
export const endpointFetch: typeof fetch = async (input, init = {}) => {
  const url = input instanceof URL ? input : new URL(typeof input === 'string' ? input : input.url)
  const signal = init.signal ?? undefined
  const headers: Record<string, string> = {}
  new Headers(init.headers).forEach((value, name) => (headers[name] = value))
  let answer: Awaited<ReturnType<typeof request>>
  try {
    answer = await request(url, {
      method: (init.method ?? 'GET') as 'GET',
      headers,
      body: typeof init.body === 'string' ? init.body : undefined,
      signal,
      dispatcher: agent,
      maxRedirections: 5,
    })
  } catch (error) {
    if (signal?.aborted) throw signal.reason
    throw new TypeError('fetch failed', {cause: error})
  }
  const responseHeaders = new Headers()
  for (const [name, value] of Object.entries(answer.headers)) {
    for (const one of Array.isArray(value) ? value : [value ?? '']) responseHeaders.append(name, one)
  }
  const status = answer.statusCode
  const nullBody = status === 204 || status === 205 || status === 304 || init.method === 'HEAD'
  if (nullBody) answer.body.resume()
  return new Response(nullBody ? null : webBody(answer.body), {status, statusText: STATUS_CODES[status] ?? '', headers: responseHeaders})
}

/**
 * undici's body as the web stream a Response holds, read as the reader asks; cancelling it closes
 * the body. (Node 20's Readable.toWeb enqueues after a cancel and throws ERR_INVALID_STATE.)
 */
function webBody(body: NodeJS.ReadableStream & {destroy: (error?: Error) => void}): ReadableStream<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const {value, done} = await chunks.next()
      if (done) controller.close()
      // A Buffer is a Uint8Array: enqueued as it is, not copied, on the path every streamed token takes.
      else controller.enqueue(typeof value === 'string' ? new TextEncoder().encode(value) : (value as Buffer))
    },
    cancel() {
      body.destroy()
    },
  })
}
