import {existsSync} from 'node:fs'
import os from 'node:os'
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'
import {type PreparedResult, prepareResult, type PrepareOptions, type SkippedFile} from './prepare.js'

// Below this many files a worker's start-up (loading owbench again) costs more than it saves.
const FILES_PER_WORKER = 250
const MAX_WORKERS = 8
const WORKER = new URL('./prepare-worker.js', import.meta.url)

/**
 * prepareResult over every file, on worker threads when there are many (one per core, up to 8):
 * parsing, redacting and rendering 10,000 results is CPU work that splits cleanly. Results come
 * back in the order of `files`, so the site does not depend on which worker was faster.
 * OWBENCH_PUBLISH_WORKERS sets the number of workers (tests use it to check both paths agree).
 */
export async function prepareAll(files: readonly string[], options: PrepareOptions): Promise<(PreparedResult | SkippedFile)[]> {
  const forced = Number(process.env.OWBENCH_PUBLISH_WORKERS)
  const workers = Number.isInteger(forced) && forced >= 0 ? Math.min(forced, files.length) : Math.min(os.availableParallelism(), MAX_WORKERS, Math.floor(files.length / FILES_PER_WORKER))
  // Running from TypeScript sources (tests) there is no compiled worker to start.
  if (workers <= 1 || !existsSync(fileURLToPath(WORKER))) {
    const prepared = []
    for (const file of files) prepared.push(await prepareResult(file, options))
    return prepared
  }
  const chunks = Array.from({length: workers}, (_, w) => files.filter((_, i) => i % workers === w))
  const done = await Promise.all(chunks.map((chunk) => runWorker(chunk, options)))
  return files.map((_, i) => done[i % workers]![Math.floor(i / workers)]!)
}

function runWorker(files: readonly string[], options: PrepareOptions): Promise<(PreparedResult | SkippedFile)[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, {workerData: {files, options}})
    let answer: (PreparedResult | SkippedFile)[] | undefined
    worker.once('message', (message: (PreparedResult | SkippedFile)[]) => (answer = message))
    worker.once('error', reject)
    worker.once('exit', (code) => (answer ? resolve(answer) : reject(new Error(`publish worker exited with code ${code} before answering`))))
  })
}
