import path from 'node:path'
import {fileURLToPath} from 'node:url'

/** node-llama-cpp's package folder (it holds llama/ with the bundled source); the package exports no ./package.json, its entry is <dir>/dist/index.js. */
export const nodeLlamaCppDir = path.resolve(path.dirname(fileURLToPath(import.meta.resolve('node-llama-cpp'))), '..')
