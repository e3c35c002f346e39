import os from 'node:os'
import {Worker} from 'node:worker_threads'
import si from 'systeminformation'
import type {MemoryBandwidthProbe} from './host.js'

/**
 * This machine's memory bandwidth, measured the way STREAM measures it (McCalpin, https://www.cs.virginia.edu/stream/):
 * the triad kernel a[i] = b[i] + s·c[i] over arrays far larger than the last-level cache, on every core at once, the
 * best of several passes, counting 24 bytes per element (two 8-byte reads, one 8-byte write; write-allocate traffic
 * is not counted, as STREAM does not count it). It bounds decode speed: a generated token reads every weight once,
 * so tokens/s cannot exceed bandwidth / bytes read per token.
 */
export type MemoryBandwidth = MemoryBandwidthProbe

export interface ProbeOptions {
  /** Worker threads (default: every logical core). */
  threads?: number
  /** Elements of each array, summed over threads (default: 4x the last-level cache, at least 20 million as STREAM's guidance for large caches). */
  elements?: number
  passes?: number
}

/**
 * Triad bandwidth from pass times: 24 bytes x elements per thread x threads over the fastest pass.
 * `passMs` are wall times from the common start of all threads to the end of the slowest one.
 */
export function triadGBs(elementsPerThread: number, threads: number, passMs: readonly number[]): number {
  const best = Math.min(...passMs)
  if (!(best > 0)) throw new Error('a triad pass took no time: the arrays are too small to measure')
  return (24 * elementsPerThread * threads) / (best / 1000) / 1e9
}

// Runs in each worker: allocate and touch its arrays, then one triad pass per generation the main thread starts.
const WORKER = `
const {parentPort, workerData} = require('node:worker_threads')
const {n, passes, sync} = workerData
const a = new Float64Array(n), b = new Float64Array(n).fill(2), c = new Float64Array(n).fill(1)
const s = 3
function triad() { for (let i = 0; i < n; i++) a[i] = b[i] + s * c[i] }
// The first pass pages the memory in and lets V8 optimize the loop; it is not timed.
triad()
const flag = new Int32Array(sync)
parentPort.postMessage('ready')
for (let pass = 0; pass < passes; pass++) {
  Atomics.wait(flag, 0, pass)
  triad()
  Atomics.add(flag, 1, 1)
  Atomics.notify(flag, 1)
}
`

/** Measures triad bandwidth on all cores (about a second; more on machines with large caches). */
export async function probeMemoryBandwidth(options: ProbeOptions = {}): Promise<MemoryBandwidth> {
  const threads = options.threads ?? os.availableParallelism()
  const passes = options.passes ?? 10
  const elements = options.elements ?? (await defaultElements())
  const n = Math.ceil(elements / threads)
  const sync = new SharedArrayBuffer(8)
  const flag = new Int32Array(sync)
  const workers = Array.from({length: threads}, () => new Worker(WORKER, {eval: true, workerData: {n, passes, sync}}))
  try {
    await Promise.all(workers.map((w) => new Promise((resolve, reject) => {
      w.once('message', resolve)
      w.once('error', reject)
    })))
    const times: number[] = []
    for (let pass = 0; pass < passes; pass++) {
      Atomics.store(flag, 1, 0)
      const started = performance.now()
      // Generation pass+1 releases every worker at once.
      Atomics.store(flag, 0, pass + 1)
      Atomics.notify(flag, 0)
      for (let done = 0; done < threads; done = Atomics.load(flag, 1)) Atomics.wait(flag, 1, done, 100)
      times.push(performance.now() - started)
    }
    return {triadGBs: triadGBs(n, threads, times), threads, arrayMiB: (n * threads * 8) / 2 ** 20, passes, method: 'STREAM triad, Float64Array per worker thread, best pass'}
  } finally {
    await Promise.all(workers.map((w) => w.terminate()))
  }
}

async function defaultElements(): Promise<number> {
  const cache = await si.cpuCache().catch(() => undefined)
  // systeminformation reports cache sizes in bytes; 0 or missing when it cannot tell.
  const llc = Math.max(cache?.l3 ?? 0, cache?.l2 ?? 0)
  return Math.max(20_000_000, Math.ceil((4 * llc) / 8))
}
