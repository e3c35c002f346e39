import {parentPort, workerData} from 'node:worker_threads'
import {prepareResult, type PrepareOptions} from './prepare.js'

// One worker of prepare-pool.ts: prepares its share of the files and answers once.
const {files, options} = workerData as {files: string[]; options: PrepareOptions}
const prepared = []
for (const file of files) prepared.push(await prepareResult(file, options))
parentPort!.postMessage(prepared)
