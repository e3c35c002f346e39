import {scryptSync} from 'node:crypto'
import os from 'node:os'
import type {ResultFile} from '../results/schema.js'

export interface RedactOptions {
  /** Keep host.hostname (--include-host). Usernames, home paths, private addresses and keys are always redacted. */
  includeHost?: boolean
  /** Environment to look up secret values in (default process.env). */
  env?: NodeJS.ProcessEnv
  /** The publishing machine's own hostname and user name (default os.hostname(), os.userInfo().username), also scrubbed. */
  localHostname?: string
  localUsername?: string
}

/** The options with the environment and the local names looked up once, for redacting many results. */
export interface RedactionContext {
  readonly includeHost: boolean
  readonly localHostname: string
  readonly localUsername: string
  /** Secret values found in the environment by their variable's name; each result adds its apiKeyEnv values. */
  readonly envSecrets: readonly string[]
  readonly env: NodeJS.ProcessEnv
  /** Changes whenever redaction could give another output for the same result (rules, names, secrets, includeHost). */
  readonly fingerprint: string
}

export const REDACTED_HOST = 'redacted-host'
// Bump when a rule changes, so sites re-render pages redacted under the old rules.
const RULES_VERSION = 1
const REDACTED_KEY = '[redacted-key]'
const PRIVATE_HOST = 'private-host'
const REDACTED_USER = '[user]'

// Shorter env values would match ordinary words and numbers all over the file.
const MIN_SECRET_LENGTH = 8
const SECRET_NAME = /(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD)$/i
const PROVIDER_NAME = /^(OPENAI|ANTHROPIC|HF|HUGGING_FACE|OPENROUTER|TOGETHER|GROQ)_/i
// Provider variables also hold places (HF_HOME, OPENAI_BASE_URL), switches (HF_HUB_OFFLINE=1) and
// model names (OPENAI_MODEL=gpt-4o, recorded on purpose: as a "secret" it would vanish from the
// target it names). None is a key; the path and URL rules redact what in them is private.
const NOT_A_KEY = /^(?:[/~]|[A-Za-z]:[\\/]|\.{1,2}[\\/])|:\/\/|^(?:\d+|true|false|yes|no|on|off)$/i
const NOT_A_KEY_NAME = /_(?:MODELS?|MODEL_NAME|BASE|BASE_URL|URL|ENDPOINT|HOST|PORT|HOME|CACHE|DIR|PATH|OFFLINE|TIMEOUT|VERSION|REGION|LOG_LEVEL|DEBUG)$/i

const KEY_SHAPED = /\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}|\bhf_[A-Za-z0-9]{20,}|\bgh[pousr]_[A-Za-z0-9]{20,}|\b(Bearer)\s+[A-Za-z0-9._~+/=-]+|\b(Authorization)\s*:[^\r\n"']*/gi

// scheme://authority: userinfo and host are judged in code, the path is left to the rules after.
const URL_AUTHORITY = /\b([a-z][a-z0-9+.-]*):\/\/((?:[^\s/?#"'<>\\[\]]*@)?(?:\[[^\]\s/]*\])?[^\s/?#"'<>\\[\]]*)/gi
const SECRET_QUERY = /([?&;])([\w.-]*?(?:key|token|auth|passw|pwd|secret|sig|credential|session)[\w.-]*)=([^&#\s"'<>]*)/gi
// Hints in owbench's own messages (tasmota://admin:PASSWORD@HOST, shelly://IP) are not addresses.
const PLACEHOLDER_HOSTS = new Set(['HOST', 'IP', 'ADDRESS', 'HOSTNAME'])
const PLACEHOLDER_USERINFO = /^\w*:(?:PASSWORD|PASS|SECRET)$/

const IPV4 = /(?<![\w.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?!\w|\.\d)/g
const PRIVATE_IPV6 = /(?<![\w:.])(?:::1|(?:f[cd][0-9a-f]{2}|fe[89ab][0-9a-f])(?::[0-9a-f]{0,4}){2,7})(?:%[\w.-]+)?(?![\w:.])/gi
// A name under a private suffix; followed by a further label it is a public domain (corp.example.com).
const PRIVATE_DOMAIN = /(?<![\w.-])(?:localhost|(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:local|lan|internal|home\.arpa|home|corp|localhost))(?![\w-]|\.[a-z0-9])/gi
const PRIVATE_SUFFIX = /(?:^|\.)(?:localhost|local|lan|internal|home\.arpa|home|corp)$/

// /home/<user>, /Users/<user> (also Fedora Atomic's /var/home), C:\Users\<user> with either slash
// (doubled when the path was JSON in a message; a Windows name may hold spaces before the next
// separator), and /root. Preceded by a letter it is the path of a URL, not a home directory.
const HOME = /(?<![\w.~-])(?:\/var)?\/(?:home|Users)\/([^/\\\s"'<>:;,|]+)|(?<![A-Za-z0-9])[A-Za-z]:[\\/]+Users[\\/]+([^\\/:*?"<>|\s]+(?: [^\\/:*?"<>|\s]+)*(?=[\\/])|[^\\/:*?"<>|\s]+)|(?<![\w.~-])(?:\/var)?\/root(?![\w.-])/gi
// Accounts every machine has say nothing about who ran it, and as words they are common
// ("user-declared", "Default", "Ubuntu"): their home directories still become ~.
const GENERIC_ACCOUNTS = new Set(['root', 'user', 'users', 'admin', 'administrator', 'guest', 'public', 'default', 'shared', 'all users', 'ubuntu', 'debian', 'fedora', 'centos', 'ec2-user', 'runner', 'vagrant', 'docker', 'node', 'app', 'test', 'home', 'local', 'private', 'host', 'redacted'])
const MIN_USER_LENGTH = 3
const MIN_HOST_LENGTH = 2

// Object keys are field names chosen by owbench or a server, except in these records, where
// they are failure messages and power source ids (which carry a plug's address).
const FREE_TEXT_KEYED = new Set(['errorReasons', 'samples'])

export function redactionContext(options: RedactOptions = {}): RedactionContext {
  const resolved = resolveOptions(options)
  // The fingerprint may end up in a published cache key: scrypt (tens of ms, once per publish)
  // makes guessing a weak password from it slow, where a plain hash of the secrets would not.
  const material = JSON.stringify([RULES_VERSION, resolved.includeHost, resolved.localHostname, resolved.localUsername, [...resolved.envSecrets].sort()])
  return {...resolved, fingerprint: scryptSync(material, 'owbench-redaction', 16).toString('hex')}
}

function resolveOptions(options: RedactOptions): Omit<RedactionContext, 'fingerprint'> {
  const env = options.env ?? process.env
  return {includeHost: options.includeHost ?? false, localHostname: options.localHostname ?? os.hostname(), localUsername: options.localUsername ?? currentUsername() ?? '', envSecrets: namedSecrets(env), env}
}

/**
 * A copy of the result fit for a public site: keys, credentials, home directories, user and host
 * names and private addresses removed. A result records whatever the run saw (error messages that
 * echo URLs with keys in them, model paths under a home directory, addresses on the local network),
 * so every string is scrubbed, not a list of known fields; numbers and the file's shape stay.
 * Pass a redactionContext when redacting many results, so the environment is read once.
 */
export function redactResult(result: ResultFile, options: RedactOptions | RedactionContext = {}): ResultFile {
  const context = 'envSecrets' in options ? options : resolveOptions(options)
  const includeHost = context.includeHost
  const secretWords = alternation([...new Set([...context.envSecrets, ...apiKeyValues(result, context.env)])])
  const secrets = secretWords ? new RegExp(secretWords, 'g') : undefined
  const names = nameReplacements(result, context)
  const nameWords = alternation([...names.keys()])
  const namePattern = nameWords ? new RegExp(`(?<![A-Za-z0-9_])(?:${nameWords})(?![A-Za-z0-9_])`, 'gi') : undefined
  const replaceName = (match: string): string => names.get(match.toLowerCase()) ?? match

  // Results repeat the same strings (states, target ids, test names) thousands of times.
  const cache = new Map<string, string>()
  const scrub = (text: string): string => {
    let clean = cache.get(text)
    if (clean === undefined) {
      clean = scrubText(text, secrets, namePattern, replaceName)
      cache.set(text, clean)
    }
    return clean
  }
  // Two plugs at 192.168.1.9 and .10 would both become shelly:private-host, and ids must stay
  // unique: every exact occurrence of an id (sample keys, energy rows, runs) goes through the cache.
  keepUnique(result.targets.map((target) => target.id), scrub, cache)
  if (result.power) keepUnique(result.power.sources.map((source) => source.id), scrub, cache)

  const copy = walk(result, scrub, false) as ResultFile
  copy.host.hostname = includeHost ? result.host.hostname : REDACTED_HOST
  for (const target of copy.targets) {
    if (target.kind === 'local') {
      const fileName = target.model.fileName.split(/[\\/]/).pop() ?? target.model.fileName
      target.model.fileName = fileName
      target.model.path = fileName
      if (!/^(?:synthetic:|hf:|https?:\/\/)/i.test(target.model.source)) target.model.source = fileName
    } else {
      // The run records it without query; one written by hand may still have one.
      target.endpoint.baseUrl = target.endpoint.baseUrl.replace(/[?#][\s\S]*$/, '')
    }
  }
  return copy
}

function scrubText(text: string, secrets: RegExp | undefined, names: RegExp | undefined, replaceName: (match: string) => string): string {
  let s = secrets ? text.replace(secrets, REDACTED_KEY) : text
  s = s.replace(KEY_SHAPED, (_match, bearer?: string, authorization?: string) => (bearer ? `${bearer} ${REDACTED_KEY}` : authorization ? `${authorization}: ${REDACTED_KEY}` : REDACTED_KEY))
  s = s.replace(URL_AUTHORITY, (_match, scheme: string, authority: string) => `${scheme}://${redactAuthority(authority)}`)
  s = s.replace(SECRET_QUERY, '$1$2=[redacted]')
  s = s.replace(IPV4, (match, a: string, b: string, c: string, d: string) => (isPrivateIpv4([a, b, c, d].map(Number)) ? PRIVATE_HOST : match))
  s = s.replace(PRIVATE_IPV6, PRIVATE_HOST)
  s = s.replace(PRIVATE_DOMAIN, PRIVATE_HOST)
  s = s.replace(HOME, '~')
  return names ? s.replace(names, replaceName) : s
}

function redactAuthority(authority: string): string {
  const at = authority.lastIndexOf('@')
  const userinfo = at >= 0 ? authority.slice(0, at) : ''
  const hostPort = authority.slice(at + 1)
  const keep = PLACEHOLDER_USERINFO.test(userinfo) ? `${userinfo}@` : ''
  let host: string
  let port: string
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']')
    host = close >= 0 ? hostPort.slice(0, close + 1) : hostPort
    port = close >= 0 ? hostPort.slice(close + 1) : ''
  } else {
    const colon = hostPort.indexOf(':')
    host = colon >= 0 ? hostPort.slice(0, colon) : hostPort
    port = colon >= 0 ? hostPort.slice(colon) : ''
  }
  return `${keep}${isPrivateHost(host) ? PRIVATE_HOST : host}${port}`
}

function isPrivateHost(host: string): boolean {
  if (host === '' || PLACEHOLDER_HOSTS.has(host)) return false
  const name = host.toLowerCase().replace(/\.$/, '')
  if (name.startsWith('[')) {
    const address = name.slice(1, -1).replace(/%.*$/, '')
    const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address)
    return address === '::1' || address === '::' || /^(?:f[cd][0-9a-f]{2}|fe[89ab][0-9a-f]):/.test(address) || (v4 !== null && isPrivateIpv4(v4.slice(1).map(Number)))
  }
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name)
  if (v4) return isPrivateIpv4(v4.slice(1).map(Number))
  // A single label only resolves on the local network (http://gpubox:8080).
  return !name.includes('.') || PRIVATE_SUFFIX.test(name)
}

function isPrivateIpv4([a, b, c, d]: number[]): boolean {
  if ([a, b, c, d].some((octet) => octet === undefined || octet > 255)) return false
  return a === 10 || a === 127 || a === 0 || (a === 172 && b! >= 16 && b! <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b! >= 64 && b! <= 127)
}

function namedSecrets(env: NodeJS.ProcessEnv): string[] {
  const values = new Set<string>()
  for (const [name, value] of Object.entries(env)) {
    const secret = value?.trim() ?? ''
    if (secret.length >= MIN_SECRET_LENGTH && (SECRET_NAME.test(name) || (PROVIDER_NAME.test(name) && !NOT_A_KEY_NAME.test(name) && !NOT_A_KEY.test(secret)))) values.add(secret)
  }
  return [...values]
}

/** The keys the result's endpoints were called with, whatever their variables are named. */
function apiKeyValues(result: ResultFile, env: NodeJS.ProcessEnv): string[] {
  const values: string[] = []
  for (const target of result.targets) {
    const key = target.kind === 'endpoint' && target.endpoint.apiKeyEnv ? env[target.endpoint.apiKeyEnv]?.trim() : undefined
    if (key && key.length >= MIN_SECRET_LENGTH) values.push(key)
  }
  return values
}

/** Lower-cased whole words to replace, mapped to what replaces them (null: a kept host name, left as written). */
function nameReplacements(result: ResultFile, context: Omit<RedactionContext, 'fingerprint'>): Map<string, string | null> {
  const names = new Map<string, string | null>()
  const hostname = result.host.hostname
  if (context.includeHost) {
    // Kept as it is everywhere, so a user name inside it (alice-laptop) does not half-redact it.
    if (hostname.length >= MIN_HOST_LENGTH) names.set(hostname.toLowerCase(), null)
  } else {
    for (const host of [hostname, context.localHostname]) {
      if (host.length < MIN_HOST_LENGTH) continue
      names.set(host.toLowerCase(), REDACTED_HOST)
      // Messages name a machine by its short name as often as by its full one.
      const label = host.split('.')[0]!
      if (label !== host && label.length >= MIN_HOST_LENGTH && /[a-z]/i.test(label)) names.set(label.toLowerCase(), REDACTED_HOST)
    }
  }
  for (const user of homeUsers(result, context.localUsername)) {
    const key = user.toLowerCase()
    if (key.length >= MIN_USER_LENGTH && !GENERIC_ACCOUNTS.has(key) && !names.has(key)) names.set(key, REDACTED_USER)
  }
  return names
}

/** The users whose home directories appear anywhere in the result, and the local one. */
function homeUsers(result: ResultFile, localUsername: string): Set<string> {
  const users = new Set<string>(localUsername ? [localUsername] : [])
  for (const text of distinctStrings(result, false, new Set())) {
    if (!text.includes('/') && !text.includes('\\')) continue
    HOME.lastIndex = 0
    for (let match = HOME.exec(text); match; match = HOME.exec(text)) {
      const user = match[1] ?? match[2]
      if (user) users.add(user)
    }
  }
  return users
}

/** Every string that walk scrubs, each once (cheaper than scanning JSON.stringify's text). */
function distinctStrings(value: unknown, freeTextKeys: boolean, into: Set<string>): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) if (typeof item !== 'number') distinctStrings(item, false, into)
  } else if (typeof value === 'string') {
    into.add(value)
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      if (freeTextKeys) into.add(key)
      distinctStrings((value as Record<string, unknown>)[key], FREE_TEXT_KEYED.has(key), into)
    }
  }
  return into
}

function currentUsername(): string | undefined {
  try {
    return os.userInfo().username
  } catch {
    // No passwd entry (some containers): no local name to look for.
    return undefined
  }
}

function alternation(words: string[]): string | undefined {
  if (words.length === 0) return undefined
  // Longest first, so a name inside a longer one (alice in alice-laptop) does not win.
  return [...words]
    .sort((a, b) => b.length - a.length)
    .map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|')
}

function keepUnique(ids: string[], scrub: (text: string) => string, cache: Map<string, string>): void {
  const taken = new Set<string>()
  for (const id of new Set(ids)) {
    let clean = scrub(id)
    for (let n = 2; taken.has(clean); n++) clean = `${scrub(id)}#${n}`
    taken.add(clean)
    cache.set(id, clean)
  }
}

function walk(value: unknown, scrub: (text: string) => string, freeTextKeys: boolean): unknown {
  if (typeof value === 'string') return scrub(value)
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length)
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      // Most of a result is numbers (token arrival times): no call for each.
      out[i] = typeof item === 'number' ? item : walk(item, scrub, false)
    }
    return out
  }
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    const clean = walk((value as Record<string, unknown>)[key], scrub, FREE_TEXT_KEYED.has(key))
    if (!freeTextKeys) {
      out[key] = clean
      continue
    }
    // Two failure messages that differed only by a key are one reason now: their counts add up.
    const name = scrub(key)
    const previous = out[name]
    out[name] = Object.hasOwn(out, name) && typeof previous === 'number' && typeof clean === 'number' ? previous + clean : clean
  }
  return out
}
