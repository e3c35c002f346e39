import os from 'node:os'
import path from 'node:path'
import {ensureSyntheticModel} from '../../src/model/synthetic-model.js'

/** The tiny synthetic model, generated once per machine into a test cache (never the user's). */
export const testCacheDir = process.env.OWBENCH_TEST_CACHE_DIR ?? path.join(os.tmpdir(), 'owbench-test-cache')

export async function tinyModelPath(): Promise<string> {
  return (await ensureSyntheticModel('tiny', {dir: path.join(testCacheDir, 'models')})).path
}
