import {describe, expect, it} from 'vitest'
import {createProgress} from '../../src/report/progress.js'
import {request, run} from '../helpers/result-builder.js'

describe('live progress', () => {
  it('ends a repetition on its own token count, though the redraw of the last tokens was throttled away', () => {
    const writes: string[] = []
    const progress = createProgress({write: (s: string) => writes.push(s)} as unknown as NodeJS.WriteStream, true)
    progress({type: 'repetition-start', target: 'local', test: 'tg64', load: 'c1', repetition: 0, of: 3, warmup: false})
    // 64 tokens within a few ms: only the first is drawn (redraws at most every 100 ms).
    for (let n = 1; n <= 64; n++) progress({type: 'token', target: 'local', test: 'tg64', nOut: n, elapsedMs: n * 0.01})
    expect(writes.filter((w) => w.includes('tokens'))).toHaveLength(1)
    progress({type: 'repetition-end', run: run('local', 'tg64', 0, [request(0, {nPrompt: 1, nOut: 64, ttft: 1, tpot: 1})])})
    expect(writes.at(-1)).toBe('\r\u001b[2Klocal tg64 rep 1/3  64 tokens  done')
  })
})
