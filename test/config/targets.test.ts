import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {loadConfig} from '../../src/config/config-file.js'
import {parseLoads, parseSlo, resolveTargets} from '../../src/config/targets.js'

const flags = {apiKeyEnv: 'OPENAI_API_KEY', targets: [] as string[], timeoutS: 30, meterOnServer: false}
const config = {targets: {groq: {baseUrl: 'https://api.example/v1', model: 'llama', apiKeyEnv: 'GROQ_KEY', ignoreEos: 'auto' as const, timeoutS: 60, meterOnServer: false}, 'gpu-box': {baseUrl: 'http://gpu-box:8000/v1', model: 'm', ignoreEos: 'auto' as const, timeoutS: 60, meterOnServer: true}}}

describe('targets', () => {
  it('runs the local model alone by default, and beside endpoints only when asked', () => {
    expect(resolveTargets(flags, config)).toEqual({includeLocal: true, endpoints: []})
    const hosted = resolveTargets({...flags, targets: ['groq']}, config, {GROQ_KEY: 'k1'})
    expect(hosted.includeLocal).toBe(false)
    expect(hosted.endpoints).toEqual([{id: 'groq', baseUrl: 'https://api.example/v1', model: 'llama', apiKey: 'k1', apiKeyEnv: 'GROQ_KEY', ignoreEos: 'auto', timeoutMs: 60_000, meterOnServer: false}])
    expect(resolveTargets({...flags, targets: ['groq', 'local']}, config).includeLocal).toBe(true)
    const vllm = {targets: {vllm: {baseUrl: 'http://127.0.0.1:8000/v1', model: 'm', ignoreEos: true, timeoutS: 60, meterOnServer: false, metricsUrl: 'http://127.0.0.1:9000/metrics'}, off: {baseUrl: 'http://127.0.0.1:8001/v1', model: 'm', ignoreEos: true, timeoutS: 60, meterOnServer: false, metricsUrl: false as const}}}
    expect(resolveTargets({...flags, targets: ['vllm', 'off']}, vllm).endpoints.map((e) => e.metricsUrl)).toEqual(['http://127.0.0.1:9000/metrics', false])
    expect(resolveTargets({...flags, model: 'x.gguf', endpoint: 'http://127.0.0.1:8080/v1', modelName: 'm'}, config, {OPENAI_API_KEY: 'k2'})).toMatchObject({includeLocal: true, endpoints: [{id: 'endpoint', apiKey: 'k2', timeoutMs: 30_000}]})
  })

  it('counts a meter for an endpoint only when the flag or the target says it measures that server', () => {
    const both = (meterOnServer: boolean) => resolveTargets({...flags, targets: ['groq', 'gpu-box'], meterOnServer}, config).endpoints.map((e) => [e.id, e.meterOnServer])
    expect(both(false)).toEqual([['groq', false], ['gpu-box', true]])
    expect(both(true)).toEqual([['groq', true], ['gpu-box', true]])
    expect(resolveTargets({...flags, endpoint: 'http://127.0.0.1:8080/v1', modelName: 'm', meterOnServer: true}, config).endpoints[0]!.meterOnServer).toBe(true)
  })

  it('says what is wrong with target flags', () => {
    expect(() => resolveTargets({...flags, endpoint: 'http://x/v1'}, config)).toThrow('--endpoint needs --model-name')
    expect(() => resolveTargets({...flags, modelName: 'm'}, config)).toThrow('--model-name needs --endpoint')
    expect(() => resolveTargets({...flags, endpoint: 'ftp://x', modelName: 'm'}, config)).toThrow('--endpoint "ftp://x" is not an http(s) URL')
    expect(() => resolveTargets({...flags, targets: ['nope']}, config)).toThrow('unknown target "nope"')
    expect(() => resolveTargets({...flags, targets: ['groq', 'groq']}, config)).toThrow('target "groq" is given twice')
  })

  it('parses load levels, rates and SLOs', () => {
    expect(parseLoads('1,4,16', undefined)).toEqual([{mode: 'concurrency', level: 1}, {mode: 'concurrency', level: 4}, {mode: 'concurrency', level: 16}])
    expect(parseLoads(undefined, 2.5)).toEqual([{mode: 'rate', rps: 2.5}])
    expect(parseLoads(undefined, undefined)).toBeUndefined()
    expect(() => parseLoads('1,0', undefined)).toThrow('"0" is not a positive whole number')
    expect(() => parseLoads('4', 2)).toThrow('--concurrency and --rate are alternatives')
    expect(() => parseLoads(undefined, Number('fast'))).toThrow('--rate must be a positive number')
    expect(parseSlo('ttft=500ms,tpot=50ms,e2e=10s')).toEqual({ttftMs: 500, tpotMs: 50, e2eMs: 10_000})
    expect(() => parseSlo('ttft=fast')).toThrow('"ttft=fast" is not NAME=VALUE with a unit')
  })

  it('reads owbench.config.json from the first place that has one, and names a bad field', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'owbench-config-'))
    const a = path.join(dir, 'a.json')
    const b = path.join(dir, 'b.json')
    await writeFile(b, JSON.stringify({targets: {x: {baseUrl: 'http://127.0.0.1:1/v1', model: 'm'}}}))
    expect(await loadConfig([a, b])).toEqual({file: b, config: {targets: {x: {baseUrl: 'http://127.0.0.1:1/v1', model: 'm', ignoreEos: 'auto', timeoutS: 120, meterOnServer: false}}}})
    await writeFile(a, JSON.stringify({targets: {x: {baseUrl: 'not a url', model: 'm'}}}))
    await expect(loadConfig([a, b])).rejects.toThrow(/config file .*a\.json is malformed: targets\.x\.baseUrl: /)
    await writeFile(a, JSON.stringify({targets: {x: {baseUrl: 'http://h/v1', model: 'm', apiKey: 'sk-inline'}}}))
    await expect(loadConfig([a])).rejects.toThrow(/apiKey/)
    expect(await loadConfig([path.join(dir, 'none.json')])).toEqual({config: {targets: {}}})
  })
})
