import {createHash, randomBytes} from 'node:crypto'

/**
 * HTTP authentication for meters on the local network: Basic (Shelly Gen1 "restricted login") and
 * Digest per RFC 7616 (Shelly Gen2-Gen4: SHA-256, qop=auth, user always "admin"). Written here
 * rather than taken from digest-fetch because that one takes the algorithm from its own options
 * instead of the server's challenge and needs fetch, which costs several times the CPU of the
 * kept-alive node:http socket the poller uses (see http-meter.ts).
 */
export interface DigestChallenge {
  realm: string
  nonce: string
  /** 'SHA-256' (Shelly), 'MD5', or their '-sess' forms. */
  algorithm: string
  /** The qop the client answers with: 'auth', or undefined for RFC 2069 servers. */
  qop?: string
  opaque?: string
}

/** Parses `WWW-Authenticate: Digest qop="auth", realm="shellyplus1pm-...", nonce="...", algorithm=SHA-256`; undefined for other schemes. */
export function parseDigestChallenge(header: string | undefined): DigestChallenge | undefined {
  if (!header || !/^\s*digest\s/i.test(header)) return undefined
  const params = new Map<string, string>()
  for (const m of header.replace(/^\s*digest\s+/i, '').matchAll(/([a-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/gi)) {
    params.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!)
  }
  const realm = params.get('realm')
  const nonce = params.get('nonce')
  if (realm === undefined || nonce === undefined) return undefined
  const qops = (params.get('qop') ?? '').split(',').map((q) => q.trim())
  return {
    realm,
    nonce,
    algorithm: params.get('algorithm') ?? 'MD5',
    ...(qops.includes('auth') ? {qop: 'auth'} : {}),
    ...(params.has('opaque') ? {opaque: params.get('opaque')!} : {}),
  }
}

function hashFor(algorithm: string): (text: string) => string {
  const base = algorithm.replace(/-sess$/i, '').toUpperCase()
  const name = base === 'SHA-256' ? 'sha256' : base === 'SHA-512-256' ? 'sha512-256' : base === 'MD5' ? 'md5' : undefined
  if (!name) throw new Error(`unsupported digest algorithm ${algorithm}`)
  return (text) => createHash(name).update(text, 'utf8').digest('hex')
}

/**
 * The `Authorization` header answering a challenge (RFC 7616 section 3.4):
 * response = H(H(user:realm:password):nonce:nc:cnonce:qop:H(method:uri)), with HA1 = H(HA1:nonce:cnonce)
 * for the -sess algorithms. `nc` counts the requests made with this nonce (1 for the first);
 * Shelly firmware 2.0+ accepts a nonce again with a higher nc, older firmware asks anew each time.
 */
export function digestAuthorization(options: {
  challenge: DigestChallenge
  method: string
  uri: string
  user: string
  password: string
  nc: number
  cnonce?: string
}): string {
  const {challenge, method, uri, user, password, nc} = options
  const h = hashFor(challenge.algorithm)
  const cnonce = options.cnonce ?? randomBytes(16).toString('hex')
  const ncText = nc.toString(16).padStart(8, '0')
  let ha1 = h(`${user}:${challenge.realm}:${password}`)
  if (/-sess$/i.test(challenge.algorithm)) ha1 = h(`${ha1}:${challenge.nonce}:${cnonce}`)
  const ha2 = h(`${method}:${uri}`)
  const response = challenge.qop ? h(`${ha1}:${challenge.nonce}:${ncText}:${cnonce}:${challenge.qop}:${ha2}`) : h(`${ha1}:${challenge.nonce}:${ha2}`)
  const fields = [
    `username="${user}"`,
    `realm="${challenge.realm}"`,
    `nonce="${challenge.nonce}"`,
    `uri="${uri}"`,
    `algorithm=${challenge.algorithm}`,
    `response="${response}"`,
    ...(challenge.qop ? [`qop=${challenge.qop}`, `nc=${ncText}`, `cnonce="${cnonce}"`] : []),
    ...(challenge.opaque !== undefined ? [`opaque="${challenge.opaque}"`] : []),
  ]
  return `Digest ${fields.join(', ')}`
}

export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`
}
