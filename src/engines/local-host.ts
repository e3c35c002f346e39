/**
 * The engine's child process: owbench's local engine runs here, so a native abort, SIGSEGV,
 * SIGILL or an out-of-memory kill ends this process, not owbench. Started by local.ts with an IPC
 * channel; one message in, one message out per step, and nothing per token: a request's whole
 * timeline (monotonicMs() readings, comparable across processes) comes back when it ends.
 */
import {CapacityError, type EngineRequest} from './engine.js'
import {NativeSession, SessionLoadError, type SessionOptions} from './native-session.js'

export type HostCommand = {type: 'open'; options: SessionOptions} | {type: 'execute'; request: EngineRequest} | {type: 'execute-batch'; requests: EngineRequest[]} | {type: 'abort'} | {type: 'dispose'}

export type HostReply =
  | {type: 'opened'; info: NativeSession['info']}
  | {type: 'open-failed'; stage: SessionLoadError['stage'] | 'bug'; message: string}
  | {type: 'result'; record: import('../results/schema.js').RequestRecord}
  | {type: 'batch-result'; records: import('../results/schema.js').RequestRecord[]}
  /** The sequences of a batch do not fit (CapacityError): the level is skipped with this reason. */
  | {type: 'capacity'; message: string}
  | {type: 'request-failed'; message: string}
  | {type: 'progress'; nOut: number}
  | {type: 'disposed'}

/** A reply as it crosses the channel: with the engine process's CPU ms at the time it was sent. */
export type HostMessage = HostReply & {cpuMs: number}

/** Every reply carries this process's CPU time so far (ms, getrusage): owbench's run conditions read it exactly. */
function send(reply: HostReply): void {
  const {user, system} = process.cpuUsage()
  const message: HostMessage = {...reply, cpuMs: (user + system) / 1000}
  process.send?.(message)
}

let session: NativeSession | undefined
let aborted = false

// Ctrl-C reaches the whole process group; owbench decides what stops, and says so with 'abort'.
process.on('SIGINT', () => {})
// owbench is gone (killed): nothing would read the results.
process.on('disconnect', () => process.exit(0))

process.on('message', (command: HostCommand) => {
  void handle(command)
})

async function handle(command: HostCommand): Promise<void> {
  switch (command.type) {
    case 'open':
      try {
        session = await NativeSession.open(command.options)
        send({type: 'opened', info: session.info})
      } catch (error) {
        const stage = error instanceof SessionLoadError ? error.stage : 'bug'
        send({type: 'open-failed', stage, message: error instanceof Error ? error.message : String(error)})
      }
      return
    case 'execute':
      aborted = false
      try {
        if (!session) throw new Error('no model is loaded')
        const record = await session.execute(command.request, {progress: (nOut) => send({type: 'progress', nOut}), aborted: () => aborted})
        send({type: 'result', record})
      } catch (error) {
        send({type: 'request-failed', message: error instanceof Error ? error.message : String(error)})
      }
      return
    case 'execute-batch':
      aborted = false
      try {
        if (!session) throw new Error('no model is loaded')
        const records = await session.executeBatch(command.requests, {progress: (nOut) => send({type: 'progress', nOut}), aborted: () => aborted})
        send({type: 'batch-result', records})
      } catch (error) {
        if (error instanceof CapacityError) send({type: 'capacity', message: error.message})
        else send({type: 'request-failed', message: error instanceof Error ? error.message : String(error)})
      }
      return
    case 'abort':
      aborted = true
      return
    case 'dispose':
      await session?.dispose()
      session = undefined
      send({type: 'disposed'})
      process.disconnect?.()
      return
  }
}
