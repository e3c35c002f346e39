import {UserError} from '../errors/errors.js'
import {finiteNumber, HttpMeterSource, isRecord, parseMeterUri, requiredWatts, type HttpMeterDriver, type HttpMeterOptions} from './http-meter.js'

export type TasmotaReading = {watts: number} | {error: string; hint: string}

/**
 * Watts from a `Status 8` body (`{"StatusSNS": {"ENERGY": {"Power": ...}}}`), or from a
 * `tele/.../SENSOR` message (no StatusSNS wrapper). Multi-channel devices send `Power` as an
 * array (one entry per relay): the channel must then be chosen. SML smart meters have no ENERGY
 * object; their keys are user-defined (`SML.Power_curr`), so they are read only with an explicit path.
 */
export function tasmotaWatts(body: unknown, options: {channel?: number; path?: string} = {}): TasmotaReading {
  const sns = isRecord(body) && isRecord(body['StatusSNS']) ? body['StatusSNS'] : body
  if (!isRecord(sns)) return {error: 'the response is not a Tasmota status object', hint: 'check that the address is a Tasmota device'}
  if (options.path) {
    const value = options.path.split('.').reduce<unknown>((node, key) => (isRecord(node) ? node[key] : undefined), sns)
    const watts = finiteNumber(value)
    return watts === undefined ? {error: `no number at StatusSNS.${options.path}`, hint: `keys present: ${Object.keys(sns).join(', ')}`} : {watts}
  }
  const energy = sns['ENERGY']
  if (!isRecord(energy)) {
    // Suggest a power-looking key the device has (SML.Power_curr); only the user knows what it meters.
    const powerKeys = Object.entries(sns).flatMap(([sensor, value]) => (isRecord(value) ? Object.keys(value).filter((k) => /power/i.test(k)).map((k) => `${sensor}.${k}`) : []))
    const example = powerKeys[0] ?? 'SML.Power_curr'
    return {error: 'the device reports no ENERGY object (not a metering plug, or an SML meter)', hint: `if it meters this machine, pass the key: tasmota://HOST?path=${example}`}
  }
  const power = energy['Power']
  if (Array.isArray(power)) {
    if (options.channel === undefined) {
      if (power.length === 1 && finiteNumber(power[0]) !== undefined) return {watts: power[0] as number}
      return {error: `the device has ${power.length} metered channels (Power: ${JSON.stringify(power)})`, hint: 'pick the one the machine is plugged into: tasmota://HOST?channel=1 (1 = first)'}
    }
    const watts = finiteNumber(power[options.channel - 1])
    return watts === undefined ? {error: `no channel ${options.channel} in Power: ${JSON.stringify(power)}`, hint: `channels are 1 to ${power.length}`} : {watts}
  }
  const watts = finiteNumber(power)
  return watts === undefined ? {error: 'ENERGY.Power is missing', hint: 'check the device template: it must measure power'} : {watts}
}

/** A Tasmota plug from `tasmota://[user:password@]HOST[?channel=N][&path=SML.Power_curr]`. */
export function tasmotaDriver(uri: string): HttpMeterDriver {
  const {base, params, user, password} = parseMeterUri(uri, 'tasmota')
  const channelText = params.get('channel')
  const channel = channelText === null ? undefined : Number(channelText)
  if (channel !== undefined && (!Number.isInteger(channel) || channel < 1)) throw new UserError(`bad channel in ${uri}`, 'channels count from 1: tasmota://HOST?channel=1')
  const path = params.get('path') ?? undefined
  const auth = user ? `&user=${encodeURIComponent(user)}&password=${encodeURIComponent(password ?? '')}` : ''
  const url = `${base}/cm?cmnd=Status%208${auth}`
  const name = `tasmota://${base.slice('http://'.length)}`
  const field = path ? `StatusSNS.${path}` : `StatusSNS.ENERGY.Power${channel !== undefined ? `[${channel}]` : ''}`
  return {
    kind: 'tasmota',
    name,
    // Tasmota's energy driver recomputes Power once a second (EnergyEverySecond).
    updateMs: 1000,
    async resolve(get) {
      const response = await get(url)
      if (response.status === 401) throw new UserError(`${name} asks for a password`, 'give it in the address: tasmota://admin:PASSWORD@HOST')
      if (response.status !== 200) throw new UserError(`${name} answered HTTP ${response.status} to Status 8`, 'check that the address is a Tasmota device')
      // Whatever else comes back (a password prompt, another firmware) is shown as it is.
      if (!isRecord(response.body) || !(isRecord(response.body['StatusSNS']) || isRecord(response.body['ENERGY']))) {
        throw new UserError(`${name} did not answer with a Status 8 object: ${JSON.stringify(response.body).slice(0, 200)}`, 'check the address; with a web password, give it: tasmota://admin:PASSWORD@HOST')
      }
      const first = tasmotaWatts(response.body, {channel, path})
      if ('error' in first) throw new UserError(`${name}: ${first.error}`, first.hint)
      return {
        url,
        field,
        device: `Tasmota at ${base.slice(7)}`,
        read: (body) => {
          const reading = tasmotaWatts(body, {channel, path})
          return requiredWatts('watts' in reading ? reading.watts : undefined, field)
        },
        notes: path ? ['read from a user-given path: check that it is the power of this machine, not of a whole house (SML meters)'] : [],
      }
    },
  }
}

export function tasmotaSource(uri: string, options?: HttpMeterOptions): HttpMeterSource {
  return new HttpMeterSource(tasmotaDriver(uri), options)
}
