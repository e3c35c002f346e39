import {readFile} from 'node:fs/promises'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

/**
 * A recorded exchange (the format of ../shared/field-cases): `request` as the client sent it,
 * `events[0]` the HTTP status and headers, then every piece of the body as it arrived (`data`)
 * and when (`t_ms` after the request), and optionally a closing `note` (the server kept the
 * connection open). `method` and `path` are owbench's additions for recordings of GET requests;
 * without them a recording answers POST /v1/completions when its request has a prompt, else
 * /v1/chat/completions.
 */
export interface Recording {
  scenario: string
  method?: string
  path?: string
  request: Record<string, unknown>
  events: RecordedEvent[]
}

type RecordedEvent = {t_ms: number; status: number; headers: Record<string, string>} | {t_ms: number; data: string} | {t_ms: number; note: string}

export async function loadRecording(file: string): Promise<Recording> {
  return JSON.parse(await readFile(file, 'utf8')) as Recording
}

export function recordingPath(recording: Recording): string {
  return recording.path ?? ('prompt' in recording.request ? '/v1/completions' : '/v1/chat/completions')
}

/** Which recording answers a request: the first whose path matches and whose `when` accepts the body. */
export interface Route {
  recording: Recording
  when?: (body: Record<string, unknown>) => boolean
}

export interface ReplayServer {
  baseUrl: string
  /** Every request received: method, path, JSON body, the client's port (one per connection), and when (performance.now()) each body event of its answer was written. */
  received: {method: string; path: string; body: Record<string, unknown>; clientPort: number; written: number[]}[]
  close: () => Promise<void>
}

// Not part of any recording: the answer to owbench's non-streaming preflight where only streams are recorded.
const PREFLIGHT_OK = JSON.stringify({id: 'preflight', object: 'chat.completion', choices: [{index: 0, message: {role: 'assistant', content: 'x'}, finish_reason: 'length'}], usage: {prompt_tokens: 1, completion_tokens: 1, total_tokens: 2}})

/**
 * Serves recordings byte for byte with their timing: each event is written at its `t_ms` after the
 * request's body arrived (absolute schedule, so timer delays never accumulate), in its own write.
 * A recording ending in a `note` keeps the connection open until the client leaves. A streaming
 * recording asked for without `stream: true` (owbench's preflight) answers PREFLIGHT_OK; an error
 * recording (status not 200) answers any request it is routed.
 */
export async function startReplayServer(routes: Route[]): Promise<ReplayServer> {
  const received: ReplayServer['received'] = []
  const open = new Set<ServerResponse>()
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = ''
    req.on('data', (d: Buffer) => (text += d.toString()))
    req.on('end', () => {
      const t0 = performance.now()
      const path = (req.url ?? '').replace(/\?.*$/, '')
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : {}
      const written: number[] = []
      received.push({method: req.method ?? '', path, body, clientPort: req.socket.remotePort ?? 0, written})
      const route = routes.find((r) => (r.recording.method ?? 'POST') === req.method && recordingPath(r.recording) === path && (r.when?.(body) ?? true))
      if (!route) {
        res.writeHead(404, {'content-type': 'application/json'})
        res.end(JSON.stringify({error: {message: `no recording for ${req.method} ${path}`}}))
        return
      }
      const [head] = route.recording.events
      const status = head && 'status' in head ? head.status : 200
      if (req.method === 'POST' && body.stream !== true && status === 200 && head && 'headers' in head && head.headers['content-type'] === 'text/event-stream') {
        res.writeHead(200, {'content-type': 'application/json'})
        res.end(PREFLIGHT_OK)
        return
      }
      void replay(res, route.recording.events, t0, open, written)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of open) res.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function replay(res: ServerResponse, events: RecordedEvent[], t0: number, open: Set<ServerResponse>, written: number[]): Promise<void> {
  open.add(res)
  res.on('close', () => open.delete(res))
  for (const event of events) {
    // Node's timers run on libuv's whole-millisecond loop clock and can fire up to 1 ms before the
    // performance.now() deadline: wait again until it has passed, so a write is never early.
    for (let wait = t0 + event.t_ms - performance.now(); wait > 0; wait = t0 + event.t_ms - performance.now()) {
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(wait)))
    }
    if (res.destroyed) return
    if ('status' in event) {
      res.writeHead(event.status, event.headers)
      res.flushHeaders()
    } else if ('data' in event) {
      res.write(event.data)
      written.push(performance.now())
    } else {
      // The recorded server never ended this response: neither does the replay.
      return
    }
  }
  res.end()
}
