import {UserError} from '../errors/errors.js'
import {basicAuthorization, digestAuthorization, parseDigestChallenge, type DigestChallenge} from './http-auth.js'
import {finiteNumber, HttpMeterSource, isRecord, parseMeterUri, requiredWatts, type HttpGet, type HttpMeterDriver, type HttpMeterOptions, type HttpResponse} from './http-meter.js'

/**
 * Gen2+ metering components and the field holding their active power in W (Shelly API docs,
 * ComponentsAndServices): Switch and PM1 `apower`, EM1 `act_power` (Pro EM clamps), EM
 * `total_act_power` or `<phase>_act_power` (Pro 3EM, three phases a/b/c).
 */
export const SHELLY_COMPONENTS = ['switch', 'pm1', 'em1', 'em'] as const
export type ShellyComponent = (typeof SHELLY_COMPONENTS)[number]

const RPC_NAMESPACE: Record<ShellyComponent, string> = {switch: 'Switch', pm1: 'PM1', em1: 'EM1', em: 'EM'}

/** The power field of a component's status object ('apower', 'act_power', 'total_act_power', 'a_act_power'). */
export function shellyPowerField(component: ShellyComponent, phase?: 'a' | 'b' | 'c'): string {
  if (component === 'em') return phase ? `${phase}_act_power` : 'total_act_power'
  return component === 'em1' ? 'act_power' : 'apower'
}

/** Watts from a Gen2+ component status (`Switch/PM1/EM1/EM.GetStatus`); undefined when the component does not meter. */
export function shellyComponentWatts(component: ShellyComponent, status: unknown, phase?: 'a' | 'b' | 'c'): number | undefined {
  return isRecord(status) ? finiteNumber(status[shellyPowerField(component, phase)]) : undefined
}

/**
 * Watts from a Gen2+ `Switch.GetStatus` body: `apower`, the instantaneous active power in W.
 * Switches that do not meter (Mini 1 Gen4) leave `apower` out entirely: undefined then.
 */
export function shellyGen2Watts(body: unknown): number | undefined {
  return shellyComponentWatts('switch', body)
}

/**
 * Watts from a Gen1 `/status` body: `meters[i].power` (plugs, 1PM) or `emeters[i].power` (Shelly
 * EM, can be negative when the clamp faces the other way). The `total` fields next to it are in
 * watt-minutes (meters) or Wh (emeters) and are not used.
 */
export function shellyGen1Watts(body: unknown, channel = 0): number | undefined {
  if (!isRecord(body)) return undefined
  for (const key of ['meters', 'emeters']) {
    const list = body[key]
    if (Array.isArray(list) && isRecord(list[channel])) {
      const power = finiteNumber(list[channel]['power'])
      if (power !== undefined) return power
    }
  }
  return undefined
}

/**
 * The metering component to read from a `Shelly.GetStatus` body (keys `switch:0`, `pm1:0`, `em1:1`,
 * `em:0`): the one asked for, else the first of switch, pm1, em1, em with instance `id` that reports
 * power. Undefined when none does; `others` lists the other metering components, for the note.
 */
export function pickShellyComponent(
  status: unknown,
  options: {id: number; component?: ShellyComponent; phase?: 'a' | 'b' | 'c'},
): {component: ShellyComponent; watts: number; others: string[]} | undefined {
  if (!isRecord(status)) return undefined
  const metering = Object.keys(status).flatMap((key) => {
    const m = /^(switch|pm1|em1|em):(\d+)$/.exec(key)
    if (!m) return []
    const component = m[1] as ShellyComponent
    const watts = shellyComponentWatts(component, status[key], options.phase)
    return watts === undefined ? [] : [{key, component, id: Number(m[2]), watts}]
  })
  const order = (c: ShellyComponent) => SHELLY_COMPONENTS.indexOf(c)
  const chosen = metering
    .filter((c) => c.id === options.id && (options.component === undefined || c.component === options.component))
    .sort((a, b) => order(a.component) - order(b.component))[0]
  if (!chosen) return undefined
  return {component: chosen.component, watts: chosen.watts, others: metering.filter((c) => c !== chosen).map((c) => c.key)}
}

/** Logs in as the device asks: Digest (Gen2+, SHA-256) or Basic (Gen1), reusing a nonce while the device accepts it. */
class ShellyLogin {
  private challenge: DigestChallenge | undefined
  private basic = false
  private nc = 0

  constructor(
    private readonly name: string,
    private readonly user: string,
    private readonly password: string | undefined,
  ) {}

  /** `get` with the credentials; answers a 401 once with a fresh challenge. */
  wrap(get: HttpGet): HttpGet {
    return async (url) => {
      let response = await get(url, this.header(url))
      if (response.status !== 401) return response
      if (!this.learn(response)) return response
      response = await get(url, this.header(url))
      if (response.status === 401) throw new UserError(`${this.name} refused the password`, `check it: shelly://admin:PASSWORD@HOST (the user is always admin)`)
      return response
    }
  }

  private header(url: string): Record<string, string> | undefined {
    if (this.password === undefined) return undefined
    if (this.basic) return {Authorization: basicAuthorization(this.user, this.password)}
    if (!this.challenge) return undefined
    const target = new URL(url)
    return {Authorization: digestAuthorization({challenge: this.challenge, method: 'GET', uri: `${target.pathname}${target.search}`, user: this.user, password: this.password, nc: ++this.nc})}
  }

  /** Takes the challenge of a 401; false when there is nothing to answer it with. */
  private learn(response: HttpResponse): boolean {
    const header = response.headers['www-authenticate']
    const text = Array.isArray(header) ? header.join(', ') : header
    if (this.password === undefined) {
      throw new UserError(`${this.name} asks for a password`, 'give it in the address: shelly://admin:PASSWORD@HOST (Gen2+ log in with digest authentication, Gen1 with basic)')
    }
    const digest = parseDigestChallenge(text)
    if (digest) {
      this.challenge = digest
      this.nc = 0
      return true
    }
    if (text && /^\s*basic\b/i.test(text) && !this.basic) {
      this.basic = true
      return true
    }
    return false
  }
}

/**
 * A Shelly plug, switch or meter from `shelly://[admin:PASSWORD@]HOST[?id=N][&component=pm1|em1|em|switch][&phase=a|b|c]`.
 * Gen2-Gen4 firmware answers `/rpc/Shelly.GetStatus` with every component; the metering one is
 * chosen there (Switch, PM1 of the PM Mini Gen3 and Plug PM Gen3, EM1 of the Pro EM, EM of the
 * Pro 3EM) and then polled alone through `/rpc/<Component>.GetStatus?id=N`. Gen1 firmware has no
 * /rpc and answers `/status`. Devices with a password log in with digest authentication (Gen2+)
 * or basic authentication (Gen1).
 */
export function shellyDriver(uri: string): HttpMeterDriver {
  const {base, params, user, password} = parseMeterUri(uri, 'shelly')
  const channel = Number(params.get('id') ?? '0')
  if (!Number.isInteger(channel) || channel < 0) throw new UserError(`bad channel in ${uri}`, 'write it as shelly://HOST?id=0')
  const componentText = params.get('component')?.toLowerCase()
  if (componentText !== undefined && !(SHELLY_COMPONENTS as readonly string[]).includes(componentText)) {
    throw new UserError(`unknown Shelly component '${componentText}' in ${uri}`, `use one of: ${SHELLY_COMPONENTS.join(', ')}`)
  }
  const component = componentText as ShellyComponent | undefined
  const phaseText = params.get('phase')?.toLowerCase()
  if (phaseText !== undefined && !['a', 'b', 'c'].includes(phaseText)) throw new UserError(`bad phase '${phaseText}' in ${uri}`, 'phases of a Pro 3EM are a, b and c')
  const phase = phaseText as 'a' | 'b' | 'c' | undefined
  const host = base.slice('http://'.length)
  const name = `shelly://${host}`
  const login = new ShellyLogin(name, user ?? 'admin', password)
  return {
    kind: 'shelly',
    name,
    // Shelly meters refresh their power reading about once a second.
    updateMs: 1000,
    async resolve(plainGet) {
      const get = login.wrap(plainGet)
      const statusUrl = `${base}/rpc/Shelly.GetStatus`
      const all = await get(statusUrl)
      if (all.status === 200) {
        const picked = pickShellyComponent(all.body, {id: channel, component, phase})
        if (!picked) {
          const what = component ? `${component}:${channel}` : `a metering component with id ${channel} (switch, pm1, em1 or em)`
          throw new UserError(`${name} reports no power for ${what}: this Shelly does not measure power there`, 'use a metering device (Plus Plug S, PM Mini Gen3, Pro EM) or pick the channel with ?id=N')
        }
        const url = `${base}/rpc/${RPC_NAMESPACE[picked.component]}.GetStatus?id=${channel}`
        const field = `${picked.component}:${channel}.${shellyPowerField(picked.component, phase)}`
        return {
          url,
          field,
          device: `Shelly Gen2+ ${picked.component}:${channel} at ${host}`,
          read: (body) => requiredWatts(shellyComponentWatts(picked.component, body, phase), field),
          get,
          notes: [
            ...(picked.component === 'em' && !phase ? ['total_act_power: the sum of the three phases the Pro 3EM measures'] : []),
            ...(picked.others.length > 0 ? [`the device also meters ${picked.others.join(', ')} (choose with ?id=N&component=...)`] : []),
          ],
        }
      }
      // Before Shelly.GetStatus answered everywhere, Gen2 switches were read this way; keep it as a fallback.
      const switchUrl = `${base}/rpc/Switch.GetStatus?id=${channel}`
      const gen2 = all.status === 404 ? await get(switchUrl) : all
      if (gen2.status === 200) {
        if (shellyGen2Watts(gen2.body) === undefined) {
          throw new UserError(`${name} switch ${channel} reports no apower: this Shelly does not measure power`, 'use a metering plug (Plus Plug S, Plug S Gen3, Plus 1PM) or another meter')
        }
        return {url: switchUrl, field: 'apower', device: `Shelly Gen2+ switch ${channel} at ${host}`, read: (body) => requiredWatts(shellyGen2Watts(body), 'apower'), get}
      }
      const gen1Url = `${base}/status`
      const gen1 = await get(gen1Url)
      if (gen1.status !== 200) {
        throw new UserError(
          `${name} answered neither /rpc/Shelly.GetStatus (HTTP ${all.status}), /rpc/Switch.GetStatus (HTTP ${gen2.status}) nor /status (HTTP ${gen1.status})`,
          'check that the address is a Shelly device (its web page opens at that address)',
        )
      }
      if (shellyGen1Watts(gen1.body, channel) === undefined) {
        throw new UserError(`${name} reports no meters[${channel}].power: this Shelly does not measure power`, 'use a metering plug or another meter')
      }
      return {
        url: gen1Url,
        field: `meters[${channel}].power`,
        device: `Shelly Gen1 meter ${channel} at ${host}`,
        read: (body) => requiredWatts(shellyGen1Watts(body, channel), `meters[${channel}].power`),
        get,
      }
    },
  }
}

export function shellySource(uri: string, options?: HttpMeterOptions): HttpMeterSource {
  return new HttpMeterSource(shellyDriver(uri), options)
}
