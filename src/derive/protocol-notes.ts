import type {Target} from '../results/schema.js'

/**
 * What a reader must know about how an endpoint target was measured, one line each, from the facts
 * the client recorded in the target: a parameter the server rejected and what was sent instead,
 * ignore_eos not sent (outputs may stop early), and ignore_eos accepted but not honoured (the
 * evidence). Empty for a local target.
 */
export function protocolNotes(target: Target): string[] {
  if (target.kind !== 'endpoint') return []
  const notes: string[] = []
  for (const f of target.protocol?.fallbacks ?? []) {
    const instead = f.replacement === 'none' ? 'sent without it' : `sent ${f.replacement} instead`
    const effect = f.parameter === 'stream_options' && f.replacement === 'none' ? '; token counts come from counting streamed chunks, the prompt size is unknown' : f.parameter === 'ignore_eos' ? '; outputs may stop before the requested length' : ''
    notes.push(`${target.id}: the server rejected ${f.parameter} (${f.learnedAt === 'preflight' ? 'preflight' : 'first request, re-sent'}): ${instead}${effect}`)
  }
  if (!target.settings.ignoreEos && !target.protocol?.fallbacks.some((f) => f.parameter === 'ignore_eos')) {
    notes.push(`${target.id}: ignore_eos not sent, so outputs may stop before the requested length (token counts are the server's)`)
  }
  if (target.protocol?.ignoreEosIgnored) notes.push(`${target.id}: accepted ignore_eos but did not honour it (${target.protocol.ignoreEosIgnored}): output lengths are the model's, not the suite's`)
  return notes
}
