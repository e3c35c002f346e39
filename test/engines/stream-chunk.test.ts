import {describe, expect, it} from 'vitest'
import {chunkFacts, StreamTally} from '../../src/engines/stream-chunk.js'
import type {RequestRecord} from '../../src/results/schema.js'

describe('what carries a token in a streamed chunk', () => {
  it('content, completions text, reasoning_content, reasoning and tool-call arguments; an empty string carries nothing', () => {
    expect(chunkFacts({choices: [{delta: {content: ' a'}}]}).kind).toBe('c')
    expect(chunkFacts({choices: [{text: ' a', finish_reason: null}]}).kind).toBe('c')
    expect(chunkFacts({choices: [{delta: {content: '', reasoning_content: ' r'}}]}).kind).toBe('r')
    expect(chunkFacts({choices: [{delta: {reasoning: ' r'}}]}).kind).toBe('r')
    // OpenAI's streamed tool call: the first chunk names the function with empty arguments, later ones carry them.
    expect(chunkFacts({choices: [{delta: {role: 'assistant', content: null, tool_calls: [{index: 0, id: 'call_1', type: 'function', function: {name: 'get_weather', arguments: ''}}]}}]}).kind).toBeUndefined()
    expect(chunkFacts({choices: [{delta: {tool_calls: [{index: 0, function: {arguments: '{"loc'}}]}}]}).kind).toBe('t')
    expect(chunkFacts({choices: [{delta: {role: 'assistant', content: ''}}]}).kind).toBeUndefined()
    expect(chunkFacts({choices: [{delta: {}, finish_reason: 'stop'}]})).toEqual({finishReason: 'stop'})
    // A chunk holding both (a transition): the answer begins here.
    expect(chunkFacts({choices: [{delta: {content: 'A', reasoning_content: 'r'}}]}).kind).toBe('c')
  })

  it('finds usage at the top level or under x_groq, and a "usage": null is none', () => {
    expect(chunkFacts({choices: [{delta: {content: 'a'}}], usage: null}).usage).toBeUndefined()
    expect(chunkFacts({choices: [], usage: {prompt_tokens: 3, completion_tokens: 2}})).toMatchObject({usage: {prompt_tokens: 3}, usageAt: 'usage'})
    expect(chunkFacts({choices: [{delta: {}, finish_reason: 'length'}], x_groq: {id: 'r', usage: {prompt_tokens: 23, completion_tokens: 8}}})).toMatchObject({usageAt: 'x_groq.usage', usage: {prompt_tokens: 23}})
    expect(chunkFacts({error: {message: 'slot unavailable'}}).error).toBe('slot unavailable')
  })
})

describe('tallying a stream into the request record', () => {
  const blank = (): RequestRecord => ({tSend: 0, chunks: [], tEnd: 0, nPrompt: 0, nOut: 0})

  it('takes each chunk\'s token count from the cumulative usage in every chunk (vLLM continuous_usage_stats)', () => {
    const tally = new StreamTally()
    tally.add(chunkFacts({choices: [{delta: {role: 'assistant', content: ''}}], usage: {prompt_tokens: 9, completion_tokens: 0}}), 10)
    tally.add(chunkFacts({choices: [{delta: {reasoning_content: 'a b'}}], usage: {prompt_tokens: 9, completion_tokens: 2}}), 20)
    tally.add(chunkFacts({choices: [{delta: {content: 'c d e'}}], usage: {prompt_tokens: 9, completion_tokens: 5}}), 30)
    tally.add(chunkFacts({choices: [{delta: {content: 'f'}, finish_reason: 'length'}], usage: {prompt_tokens: 9, completion_tokens: 6}}), 40)
    const r = tally.finish(blank())
    expect(r).toMatchObject({chunks: [[20, 2], [30, 3], [40, 1]], chunkCounts: 'exact', chunkKinds: 'rcc', nOut: 6, nPrompt: 9, countSource: 'usage', nReasoning: 2, reasoningCountSource: 'stream', finishReason: 'length', tFinish: 40})
  })

  it('counts one token a chunk without per-chunk usage, and no reasoning count when chunks cannot account for the tokens', () => {
    const tally = new StreamTally()
    tally.add(chunkFacts({choices: [{delta: {reasoning: 'x y'}}]}), 10)
    tally.add(chunkFacts({choices: [{delta: {content: 'z w'}}]}), 20)
    tally.add(chunkFacts({choices: [], usage: {prompt_tokens: 4, completion_tokens: 4}}), 21)
    const r = tally.finish(blank())
    expect(r).toMatchObject({chunks: [[10, 1], [20, 1]], chunkCounts: 'one-per-chunk', nOut: 4, countSource: 'usage'})
    expect(r.nReasoning).toBeUndefined()
  })

  it('without usage counts the chunks and leaves the prompt size unknown (0)', () => {
    const tally = new StreamTally()
    tally.add(chunkFacts({choices: [{delta: {content: 'a'}}]}), 5)
    tally.add(chunkFacts({choices: [{delta: {content: 'b'}, finish_reason: 'stop'}]}), 6)
    expect(tally.finish(blank())).toMatchObject({nOut: 2, nPrompt: 0, countSource: 'stream', chunkCounts: 'one-per-chunk', finishReason: 'stop'})
  })
})
