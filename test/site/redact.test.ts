import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {deriveResult} from '../../src/derive/derive.js'
import {parseResult} from '../../src/results/io.js'
import {type ResultFile, ResultFileSchema} from '../../src/results/schema.js'
import {REDACTED_HOST, redactionContext, redactResult} from '../../src/site/redact.js'
import {repoRoot} from '../helpers/cli.js'

const API_KEY = 'sk-test-0123456789abcdefghij'
const OPENAI_KEY = 'sk-proj-AbCdEfGhIjKlMnOpQrStUv123456'
const ENV = {OWB_TEST_API_KEY: API_KEY, OPENAI_API_KEY: OPENAI_KEY, HF_HOME: '/home/alice/.cache/huggingface', OPENAI_MODEL: 'gpt-4o-mini', PATH: '/usr/bin'}
// The machine these tests run on must not change what is redacted.
const LOCAL = {localHostname: 'publisher-box', localUsername: 'carol'}

function fixture(): ResultFile {
  const result = parseResult(readFileSync(path.join(repoRoot, 'fixtures', 'results', 'quick-default-45w.json'), 'utf8'), 'quick-default-45w.json')
  return {...result, summary: deriveResult(result)}
}

/** The fixture with every kind of private detail a real run can record planted in it. */
function plantedResult(): ResultFile {
  const result = fixture()
  result.host.hostname = 'alice-laptop'
  result.state = 'partial'
  result.stateReason = 'interrupted: C:\\Users\\alice\\models\\llama.gguf went away'
  result.labels.push('run by alice on alice-laptop for carol, published from publisher-box')
  const local = result.targets[0]!
  if (local.kind !== 'local') throw new Error('the fixture starts with a local target')
  local.model.path = '/home/alice/models/llama-3.1-8b-q4_k_m.gguf'
  local.model.source = '/home/alice/models/llama-3.1-8b-q4_k_m.gguf'
  local.model.fileName = 'llama-3.1-8b-q4_k_m.gguf'
  local.engine.cmakeOptions = {GGML_NATIVE: 'ON', LLAMA_SOURCE_DIR: '/Users/alice/src/llama.cpp'}
  result.targets.push(
    {id: 'lan-server', kind: 'endpoint', endpoint: {baseUrl: 'http://bob:hunter2@192.168.1.20:8080/v1', model: 'llama', api: 'completions', apiKeyEnv: 'OWB_TEST_API_KEY'}, settings: {ignoreEos: true, timeoutMs: 60_000, meterOnServer: false}},
    {id: 'openai', kind: 'endpoint', endpoint: {baseUrl: 'https://api.openai.com/v1', model: 'gpt-4o-mini', api: 'chat', apiKeyEnv: 'OPENAI_API_KEY'}, settings: {ignoreEos: false, timeoutMs: 60_000, meterOnServer: false}},
  )
  result.runs.push({
    target: 'lan-server',
    test: 'pp256',
    kind: 'pp',
    repetition: 0,
    warmup: false,
    concurrency: 1,
    state: 'errored',
    reason: 'every request failed',
    requests: [{tSend: 1.5, chunks: [], tEnd: 20.25, nPrompt: 0, nOut: 0, httpStatus: 401, error: `HTTP 401 from http://192.168.1.20:8080/v1/completions: invalid key ${API_KEY} (sent from alice-laptop)`}],
  })
  result.summary!.cells[0]!.errorReasons = {[`HTTP 401: invalid key ${API_KEY}`]: 1}
  const power = result.power!
  power.sources.push({id: 'shelly:10.0.0.7', scope: 'host', kind: 'shelly', boundary: 'wall', method: 'sampled', unit: 'W', intervalMs: 500, device: 'http://admin:pw@10.0.0.7/status'})
  power.samples['shelly:10.0.0.7'] = [[0, 41.5]]
  power.notStarted.push({source: 'tasmota://192.168.1.30', reason: 'cannot reach tasmota://192.168.1.30: connect ECONNREFUSED', hint: 'give it in the address: tasmota://admin:PASSWORD@HOST'})
  return ResultFileSchema.parse(result)
}

/** Every number in the value, in order: redaction must leave them all as they were. */
function numbers(value: unknown): number[] {
  if (typeof value === 'number') return [value]
  if (value === null || typeof value !== 'object') return []
  return Object.values(value).flatMap(numbers)
}

describe('redactResult', () => {
  it('removes every planted secret, user name, home path, private address and host name', () => {
    const text = JSON.stringify(redactResult(plantedResult(), {env: ENV, ...LOCAL}))
    for (const secret of ['alice', 'hunter2', 'bob:', '192.168.1.20', '192.168.1.30', '10.0.0.7', 'sk-test-0123456789', OPENAI_KEY, 'admin:pw', 'carol', 'publisher-box', '/home/', '/Users/', 'C:\\']) {
      expect(text, secret).not.toContain(secret)
    }
  })

  it('says what it removed where it was, and keeps what is public', () => {
    const redacted = redactResult(plantedResult(), {env: ENV, ...LOCAL})
    expect(redacted.host.hostname).toBe(REDACTED_HOST)
    expect(redacted.stateReason).toBe('interrupted: ~\\models\\llama.gguf went away')
    expect(redacted.labels.at(-1)).toBe('run by [user] on redacted-host for [user], published from redacted-host')
    const [local, lan, openai] = redacted.targets
    expect(local?.kind === 'local' && local.model).toMatchObject({path: 'llama-3.1-8b-q4_k_m.gguf', source: 'llama-3.1-8b-q4_k_m.gguf', fileName: 'llama-3.1-8b-q4_k_m.gguf'})
    expect(local?.kind === 'local' && local.engine.cmakeOptions).toEqual({GGML_NATIVE: 'ON', LLAMA_SOURCE_DIR: '~/src/llama.cpp'})
    expect(lan?.kind === 'endpoint' && lan.endpoint).toEqual({baseUrl: 'http://private-host:8080/v1', model: 'llama', api: 'completions', apiKeyEnv: 'OWB_TEST_API_KEY'})
    // OPENAI_MODEL is a setting, not a key: the model name stays.
    expect(openai?.kind === 'endpoint' && openai.endpoint).toEqual({baseUrl: 'https://api.openai.com/v1', model: 'gpt-4o-mini', api: 'chat', apiKeyEnv: 'OPENAI_API_KEY'})
    expect(redacted.runs.at(-1)?.requests[0]?.error).toBe('HTTP 401 from http://private-host:8080/v1/completions: invalid key [redacted-key] (sent from redacted-host)')
    expect(redacted.summary?.cells[0]?.errorReasons).toEqual({'HTTP 401: invalid key [redacted-key]': 1})
    const power = redacted.power!
    expect(power.sources.at(-1)).toMatchObject({id: 'shelly:private-host', device: 'http://private-host/status'})
    expect(power.samples['shelly:private-host']).toEqual([[0, 41.5]])
    // owbench's own hint shows a placeholder, not an address: it stays readable.
    expect(power.notStarted.at(-1)).toEqual({source: 'tasmota://private-host', reason: 'cannot reach tasmota://private-host: connect ECONNREFUSED', hint: 'give it in the address: tasmota://admin:PASSWORD@HOST'})
  })

  it('keeps every number and the file valid', () => {
    const planted = plantedResult()
    const redacted = redactResult(planted, {env: ENV, ...LOCAL})
    expect(() => ResultFileSchema.parse(redacted)).not.toThrow()
    expect(numbers(redacted)).toEqual(numbers(planted))
    expect(redacted.runs.map((r) => r.requests.length)).toEqual(planted.runs.map((r) => r.requests.length))
    expect(Object.keys(redacted.power!.samples)).toHaveLength(Object.keys(planted.power!.samples).length)
  })

  it('with includeHost keeps the host name, and still removes paths, user names and keys', () => {
    const redacted = redactResult(plantedResult(), {env: ENV, ...LOCAL, includeHost: true})
    expect(redacted.host.hostname).toBe('alice-laptop')
    expect(redacted.labels.at(-1)).toBe('run by [user] on alice-laptop for [user], published from publisher-box')
    expect(redacted.runs.at(-1)?.requests[0]?.error).toContain('(sent from alice-laptop)')
    const text = JSON.stringify({...redacted, host: {...redacted.host, hostname: ''}}).replaceAll('alice-laptop', '')
    for (const secret of ['alice', '/home/', 'sk-test-0123456789', 'hunter2', '192.168.1.20']) expect(text, secret).not.toContain(secret)
  })

  it('does not change its input', () => {
    const planted = plantedResult()
    const before = structuredClone(planted)
    redactResult(planted, {env: ENV, ...LOCAL})
    expect(planted).toEqual(before)
  })

  it('leaves a result with nothing private as it was, but for the host name and the model directory', () => {
    const result = fixture()
    const expected = structuredClone(result)
    expected.host.hostname = REDACTED_HOST
    const local = expected.targets[0]!
    if (local.kind === 'local') local.model.path = local.model.fileName
    expect(redactResult(result, {env: {}, ...LOCAL})).toEqual(expected)
    expect(redactResult(result, {env: {}, ...LOCAL, includeHost: true}).host.hostname).toBe('vm')
  })

  it('redacts key-shaped tokens, credentials, secret query parameters and the values of secret variables', () => {
    const result = fixture()
    result.targets.push({id: 'lan', kind: 'endpoint', endpoint: {baseUrl: 'https://llm.example.com/v1', model: 'm', api: 'chat', apiKeyEnv: 'LLM_CREDENTIAL'}, settings: {ignoreEos: false, timeoutMs: 1000, meterOnServer: false}})
    result.labels = [
      'the endpoint echoed opaque-credential-42, not opaque-setting-42',
      'Authorization: Bearer abc.def-ghi',
      'got bearer eyJhbGciOiJIUzI1NiJ9 back',
      'tokens hf_abcdefghijklmnopqrstuvwx and ghp_abcdefghijklmnopqrstuvwx and rk-live-0123456789abcdef',
      'GET https://user@example.com/v1?api_key=abc123&model=x&token=t0k&sig=s1g',
      'a password in the environment: correct-horse-battery',
    ]
    const env = {LLM_CREDENTIAL: 'opaque-credential-42', OTHER_SETTING: 'opaque-setting-42', DB_PASSWORD: 'correct-horse-battery', SHORT_TOKEN: 'abc'}
    expect(redactResult(result, {env, ...LOCAL}).labels).toEqual([
      'the endpoint echoed [redacted-key], not opaque-setting-42',
      'Authorization: [redacted-key]',
      'got bearer [redacted-key] back',
      'tokens [redacted-key] and [redacted-key] and [redacted-key]',
      'GET https://example.com/v1?api_key=[redacted]&model=x&token=[redacted]&sig=[redacted]',
      'a password in the environment: [redacted-key]',
    ])
  })

  it('replaces private addresses and local names, and leaves public ones', () => {
    const result = fixture()
    result.labels = [
      'http://gpubox:8080/v1 http://nas.local/x https://llm.corp:443 http://[fe80::1%25eth0]:8080/ http://[::1]/ http://127.0.0.1:11434',
      'bare 10.1.2.3:80, 172.20.0.1, 169.254.1.1, 100.64.0.9, fd12:3456:789a:1::1 and localhost',
      'public 8.8.8.8, 172.32.0.1, https://huggingface.co/org/repo, http://[2001:db8::1]:80/, corp.example.com, node v10.0.0.1',
    ]
    expect(redactResult(result, {env: {}, ...LOCAL}).labels).toEqual([
      'http://private-host:8080/v1 http://private-host/x https://private-host:443 http://private-host:8080/ http://private-host/ http://private-host:11434',
      'bare private-host:80, private-host, private-host, private-host, private-host and private-host',
      'public 8.8.8.8, 172.32.0.1, https://huggingface.co/org/repo, http://[2001:db8::1]:80/, corp.example.com, node v10.0.0.1',
    ])
  })

  it('turns every form of home directory into ~ and its user into [user]', () => {
    const result = fixture()
    result.labels = ['/home/dave/m.gguf', '/Users/erin/m.gguf', 'D:/Users/Frank Li/m.gguf', 'C:\\\\Users\\\\gina\\\\m.gguf', '/root/.cache', '/var/home/hank/x', 'https://example.com/home/page', 'dave erin Frank Li GINA', '/home/ubuntu/x on Ubuntu']
    expect(redactResult(result, {env: {}, ...LOCAL}).labels).toEqual(['~/m.gguf', '~/m.gguf', '~/m.gguf', '~\\\\m.gguf', '~/.cache', '~/x', 'https://example.com/home/page', '[user] [user] [user] [user]', '~/x on Ubuntu'])
  })

  it('keeps power source ids unique when two plugs get the same redacted address', () => {
    const result = fixture()
    const power = result.power!
    for (const ip of ['192.168.1.9', '192.168.1.10']) {
      power.sources.push({id: `shelly:${ip}`, scope: 'host', kind: 'shelly', boundary: 'wall', method: 'sampled', unit: 'W', intervalMs: 500})
      power.samples[`shelly:${ip}`] = [[0, ip.length]]
    }
    power.failures.push({sourceId: 'shelly:192.168.1.10', failedAt: 5, reason: 'no reading'})
    const redacted = redactResult(result, {env: {}, ...LOCAL}).power!
    expect(redacted.sources.map((s) => s.id)).toEqual(['constant:wall', 'shelly:private-host', 'shelly:private-host#2'])
    expect(redacted.samples['shelly:private-host']).toEqual([[0, 11]])
    expect(redacted.samples['shelly:private-host#2']).toEqual([[0, 12]])
    expect(redacted.failures[0]?.sourceId).toBe('shelly:private-host#2')
  })

  it('adds up failure counts whose reasons differed only by what was redacted', () => {
    const result = fixture()
    result.summary!.cells[0]!.errorReasons = {'refused by 192.168.1.5': 2, 'refused by 192.168.1.6': 3}
    expect(redactResult(result, {env: {}, ...LOCAL}).summary?.cells[0]?.errorReasons).toEqual({'refused by private-host': 5})
  })

  it('a context redacts as the options do, and its fingerprint follows the secrets without holding them', () => {
    const planted = plantedResult()
    const context = redactionContext({env: ENV, ...LOCAL})
    expect(redactResult(planted, context)).toEqual(redactResult(planted, {env: ENV, ...LOCAL}))
    expect(context.fingerprint).toMatch(/^[0-9a-f]{32}$/)
    expect(redactionContext({env: ENV, ...LOCAL}).fingerprint).toBe(context.fingerprint)
    expect(redactionContext({env: {...ENV, OPENAI_API_KEY: 'sk-proj-another-key-0123456789'}, ...LOCAL}).fingerprint).not.toBe(context.fingerprint)
    expect(redactionContext({env: ENV, ...LOCAL, includeHost: true}).fingerprint).not.toBe(context.fingerprint)
  })
})
