import {UserError} from '../errors/errors.js'
import {finiteNumber, HttpMeterSource, isRecord, parseMeterUri, requiredWatts, type HttpMeterDriver, type HttpMeterOptions} from './http-meter.js'

/**
 * Watts from a Gen2+ `Switch.GetStatus` body: `apower`, the instantaneous active power in W.
 * Switches that do not meter (Mini 1 Gen4) leave `apower` out entirely: undefined then.
 */
export function shellyGen2Watts(body: unknown): number | undefined {
  return isRecord(body) ? finiteNumber(body['apower']) : undefined
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
 * A Shelly plug or switch from `shelly://HOST[?id=N]`: Gen2+ firmware answers
 * `/rpc/Switch.GetStatus?id=N` (Gen2, Gen3, Gen4); Gen1 firmware has no /rpc and answers `/status`.
 */
export function shellyDriver(uri: string): HttpMeterDriver {
  const {base, params} = parseMeterUri(uri, 'shelly')
  const channel = Number(params.get('id') ?? '0')
  if (!Number.isInteger(channel) || channel < 0) throw new UserError(`bad channel in ${uri}`, 'write it as shelly://HOST?id=0')
  const name = `shelly://${base.slice('http://'.length)}`
  return {
    kind: 'shelly',
    name,
    async resolve(get) {
      const gen2Url = `${base}/rpc/Switch.GetStatus?id=${channel}`
      const gen2 = await get(gen2Url)
      if (gen2.status === 401) throw new UserError(`${name} asks for a password`, 'owbench cannot log in to Shelly devices yet: turn off authentication in the device settings while benchmarking')
      if (gen2.status === 200) {
        if (shellyGen2Watts(gen2.body) === undefined) {
          throw new UserError(`${name} switch ${channel} reports no apower: this Shelly does not measure power`, 'use a metering plug (Plus Plug S, Plug S Gen3, Plus 1PM) or another meter')
        }
        return {url: gen2Url, field: 'apower', device: `Shelly Gen2+ switch ${channel} at ${base.slice(7)}`, read: (body) => requiredWatts(shellyGen2Watts(body), 'apower')}
      }
      const gen1Url = `${base}/status`
      const gen1 = await get(gen1Url)
      if (gen1.status === 401) throw new UserError(`${name} asks for a password`, 'owbench cannot log in to Shelly devices yet: turn off restricted login while benchmarking')
      if (gen1.status !== 200) throw new UserError(`${name} answered neither /rpc/Switch.GetStatus (HTTP ${gen2.status}) nor /status (HTTP ${gen1.status})`, 'check that the address is a Shelly device')
      if (shellyGen1Watts(gen1.body, channel) === undefined) {
        throw new UserError(`${name} reports no meters[${channel}].power: this Shelly does not measure power`, 'use a metering plug or another meter')
      }
      return {
        url: gen1Url,
        field: `meters[${channel}].power`,
        device: `Shelly Gen1 meter ${channel} at ${base.slice(7)}`,
        read: (body) => requiredWatts(shellyGen1Watts(body, channel), `meters[${channel}].power`),
      }
    },
  }
}

export function shellySource(uri: string, options?: HttpMeterOptions): HttpMeterSource {
  return new HttpMeterSource(shellyDriver(uri), options)
}
