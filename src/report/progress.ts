import type {RunnerEvent} from '../runner/runner.js'

/**
 * Live progress on stderr: the test, repetition i/N and the current tokens/s, rewritten in place.
 * Redraws are throttled so the token loop never waits on the terminal.
 */
export function createProgress(stream: NodeJS.WriteStream, enabled: boolean): (event: RunnerEvent) => void {
  if (!enabled) return () => {}
  let lastDraw = 0
  let label = ''
  const draw = (text: string) => stream.write(`\r\u001b[2K${text}`)
  return (event) => {
    switch (event.type) {
      case 'repetition-start':
        label = `${event.target} ${event.test}${event.load === "c1" ? "" : ` ${event.load}`} ${event.warmup ? 'warm-up' : 'rep'} ${event.repetition + 1}/${event.of}`
        draw(label)
        break
      case 'token': {
        const now = performance.now()
        if (now - lastDraw < 100) return
        lastDraw = now
        const rate = event.elapsedMs > 0 ? (event.nOut * 1000) / event.elapsedMs : 0
        draw(`${label}  ${event.nOut} tokens  ${rate.toFixed(1)} tok/s`)
        break
      }
      case 'repetition-end':
        // The last token's redraw may have been throttled away: end on the repetition's own count.
        if (event.run.state === 'completed') draw(`${label}  ${event.run.requests.reduce((n, r) => n + r.nOut, 0)} tokens  done`)
        else {
          draw('')
          stream.write(`${event.run.target} ${event.run.test}: ${event.run.state === 'interrupted' && event.run.reason ? event.run.reason : `${event.run.state}${event.run.reason ? ` (${event.run.reason})` : ''}`}\n`)
        }
        break
      case 'test-end':
        draw('')
        break
    }
  }
}
