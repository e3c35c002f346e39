import {seededRandom} from '../model/seeded-random.js'
import type {ChatMessage} from '../suite/schema.js'

// Short, frequent English words: one token each in most BPE and SentencePiece vocabularies, so a
// prompt of N words is close to N tokens. The exact count always comes from the server's usage.
const WORDS = (
  'the of and to in is it you that he was for on are as with his they at be this have from or one had by word but not what all were we when your can said there use an each which she do how their if will up other about out many then them these so some her would make like him into time has look two more write go see number no way could people my than first water been call who oil its now find long down day did get come made may part'
).split(' ')

/**
 * A prefix no other request has: servers reuse cached prompt prefixes (llama-server reported 60 of
 * 61 prompt tokens cached on a repeated prompt), which would measure the cache, not prefill.
 */
export function uniquePrefix(seed: number): string {
  const next = seededRandom(seed, 'prefix')
  return `[${next().toString(36)}${next().toString(36)}]`
}

/** About `words` tokens of text after a unique prefix. */
export function promptText(words: number, seed: number): string {
  const next = seededRandom(seed, 'words')
  const out = [uniquePrefix(seed)]
  for (let i = 0; i < words; i++) out.push(WORDS[next() % WORDS.length]!)
  return out.join(' ')
}

/** The suite's messages with a unique prefix on the first one. */
export function uniqueMessages(messages: readonly ChatMessage[], seed: number): ChatMessage[] {
  return messages.map((m, i) => (i === 0 ? {...m, content: `${uniquePrefix(seed)} ${m.content}`} : m))
}
