import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {isUserError} from '../../src/errors/errors.js'
import {PowerSampler} from '../../src/power/sampler.js'
import {shellyGen1Watts, shellyGen2Watts, shellySource} from '../../src/power/shelly.js'
import {tasmotaSource, tasmotaWatts} from '../../src/power/tasmota.js'
import {manualContext, readRecorded, waitFor} from './helpers/fixtures.js'

const shelly = (file: string) => readRecorded('smart-plugs', 'shelly', file)
const tasmota = (file: string) => readRecorded('smart-plugs', 'tasmota', file)

/** Answers the given paths (exactly as requested, query included) with recorded bodies in turn; 404 otherwise. */
async function device(routes: Record<string, string[]>): Promise<{host: string; requests: string[]; close: () => Promise<void>}> {
  const requests: string[] = []
  const counters = new Map<string, number>()
  const server = http.createServer((req, res) => {
    const url = req.url ?? ''
    requests.push(url)
    const bodies = routes[url]
    if (!bodies) {
      res.writeHead(404, {'Content-Type': 'text/plain'}).end('Not Found')
      return
    }
    const n = counters.get(url) ?? 0
    counters.set(url, n + 1)
    res.writeHead(200, {'Content-Type': 'application/json'}).end(bodies[Math.min(n, bodies.length - 1)])
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  servers.push(server)
  return {host: `127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve()))}
}

const servers: http.Server[] = []
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    server.close()
  }
})

describe('Shelly and Tasmota bodies (recorded)', () => {
  it('reads apower from Gen2/Gen3 Switch.GetStatus, and nothing from an unmetered Gen4 switch', () => {
    expect(shellyGen2Watts(JSON.parse(shelly('shelly-gen2_switch-status_plus-plug-s_SNPL-00112EU_fw1.1.0_aioshelly.json')))).toBe(2.7)
    expect(shellyGen2Watts(JSON.parse(shelly('shelly-gen2_switch-status_plus-1pm_SNSW-001P16EU_fw1.1.0_aioshelly.json')))).toBe(0)
    expect(shellyGen2Watts(JSON.parse(shelly('shelly-gen3_switch-getstatus_plug-s-gen3_evcc-issue32213.json')))).toBe(399.2)
    expect(shellyGen2Watts(JSON.parse(shelly('shelly-gen3_cover-getstatus_2pm-gen3_raw_aioshelly.json')))).toBe(123.1)
    const gen4 = JSON.parse(shelly('shelly-gen4_shelly-getstatus_mini-1-gen4_unmetered_aioshelly.json'))
    expect(shellyGen2Watts(gen4['switch:0'])).toBeUndefined()
  })

  it('reads Gen1 meters[].power (watts; the totals beside it are watt-minutes) and emeters[].power', () => {
    expect(shellyGen1Watts(JSON.parse(shelly('shelly-gen1_status_plug-s_SHPLG-S_fw1.14.0_aioshelly.json')))).toBe(0)
    expect(shellyGen1Watts(JSON.parse(shelly('shelly-gen1_status_shelly-1_evcc-test.json')))).toBe(81.5)
    expect(shellyGen1Watts(JSON.parse(shelly('shelly-gen1_status_shelly-em_evcc-test.json')))).toBe(-620.34)
    expect(shellyGen1Watts(JSON.parse(shelly('shelly-gen1_status_shelly-em_evcc-test.json')), 1)).toBe(0)
  })

  it('reads Tasmota Status 8, refuses arrays without a channel and SML meters without a path', () => {
    expect(tasmotaWatts(JSON.parse(tasmota('tasmota_status8_sonoff-pow-r2_docs-example.json')))).toEqual({watts: 2629})
    expect(tasmotaWatts(JSON.parse(tasmota('tasmota_status8_evcc-issue6082_4-decimal-energy.json')))).toEqual({watts: 47.11})
    expect(tasmotaWatts(JSON.parse(tasmota('tasmota_tele-SENSOR_sonoff-pow-r2_docs-example.json')))).toEqual({watts: 2635})
    const twoChannels = JSON.parse(tasmota('tasmota_status8_evcc-issue5731_2-channel-arrays.json'))
    expect(tasmotaWatts(twoChannels)).toMatchObject({error: 'the device has 2 metered channels (Power: [8.15,0])'})
    expect(tasmotaWatts(twoChannels, {channel: 1})).toEqual({watts: 8.15})
    const sml = JSON.parse(tasmota('tasmota_status8_evcc-issue3787_SML-meter.json'))
    expect(tasmotaWatts(sml)).toMatchObject({error: expect.stringMatching(/no ENERGY object/), hint: 'if it meters this machine, pass the key: tasmota://HOST?path=SML.Power_curr'})
    expect(tasmotaWatts(sml, {path: 'SML.Power_curr'})).toEqual({watts: -894})
    expect(tasmotaWatts(JSON.parse(tasmota('tasmota_status8_evcc-issue26857_SML-3phase.json')), {path: 'SML.Power_curr'})).toEqual({watts: -36})
  })
})

describe('wall meters over HTTP (a local server answering like the firmware, with recorded bodies)', () => {
  it('polls a Shelly Gen2+ plug at /rpc/Switch.GetStatus?id=0', async () => {
    const plug = await device({
      '/rpc/Switch.GetStatus?id=0': [
        shelly('shelly-gen2_switch-status_plus-plug-s_SNPL-00112EU_fw1.1.0_aioshelly.json'),
        shelly('shelly-gen2_switch-getstatus_evcc-test_A.json'),
        shelly('shelly-gen3_switch-getstatus_plug-s-gen3_evcc-issue32213.json'),
      ],
    })
    const sampler = new PowerSampler({sources: [shellySource(`shelly://${plug.host}`)], intervalMs: 100})
    const {sources} = await sampler.start()
    expect(sources).toEqual([
      {
        id: `shelly:${plug.host}`,
        // Every series says what it measures: this host, unless its source says otherwise.
        scope: 'host',
        kind: 'shelly',
        boundary: 'wall',
        method: 'sampled',
        unit: 'W',
        intervalMs: 500,
        device: `Shelly Gen2+ switch 0 at ${plug.host}`,
        field: 'apower',
        notes: [expect.stringMatching(/whole machine at the socket/)],
      },
    ])
    await waitFor(() => (sampler.snapshot().samples[`shelly:${plug.host}`]?.length ?? 0) >= 3, 10_000, 'three readings')
    const recording = await sampler.stop()
    // The first body answered the probe; the poller's readings follow.
    expect(recording.samples[`shelly:${plug.host}`]!.map(([, w]) => w).slice(0, 2)).toEqual([47.11, 399.2])
    expect(plug.requests.every((r) => r === '/rpc/Switch.GetStatus?id=0')).toBe(true)
  })

  it('falls back to /status on Gen1 firmware (no /rpc)', async () => {
    const plug = await device({'/status': [shelly('shelly-gen1_status_shelly-1_evcc-test.json')]})
    const source = shellySource(`shelly://${plug.host}`)
    const {context, sink} = manualContext(500)
    const [info] = await source.start(context)
    expect(info).toMatchObject({field: 'meters[0].power', device: `Shelly Gen1 meter 0 at ${plug.host}`})
    await waitFor(() => (sink.samples.get(info!.id)?.length ?? 0) >= 1, 5000, 'a reading')
    await source.stop()
    expect(sink.samples.get(info!.id)![0]![1]).toBe(81.5)
    expect(plug.requests.slice(0, 2)).toEqual(['/rpc/Switch.GetStatus?id=0', '/status'])
  })

  it('refuses a Shelly that does not meter power', async () => {
    // Switch.GetStatus answers with the same object Shelly.GetStatus holds under "switch:0".
    const gen4 = JSON.parse(shelly('shelly-gen4_shelly-getstatus_mini-1-gen4_unmetered_aioshelly.json'))
    const plug = await device({'/rpc/Switch.GetStatus?id=0': [JSON.stringify(gen4['switch:0'])]})
    const error = await shellySource(`shelly://${plug.host}`).start(manualContext().context).catch((e: unknown) => e)
    expect(isUserError(error) && error.message).toBe(`shelly://${plug.host} switch 0 reports no apower: this Shelly does not measure power`)
  })

  it('polls Tasmota Status 8, with a channel for a 2-channel device', async () => {
    const plug = await device({'/cm?cmnd=Status%208': [tasmota('tasmota_status8_evcc-issue5731_2-channel-arrays.json')]})
    await expect(tasmotaSource(`tasmota://${plug.host}`).start(manualContext().context)).rejects.toThrow(/2 metered channels/)
    const source = tasmotaSource(`tasmota://${plug.host}?channel=1`)
    const {context, sink} = manualContext(500)
    const [info] = await source.start(context)
    expect(info).toMatchObject({id: `tasmota:${plug.host}`, field: 'StatusSNS.ENERGY.Power[1]', boundary: 'wall'})
    await waitFor(() => (sink.samples.get(info!.id)?.length ?? 0) >= 1, 5000, 'a reading')
    await source.stop()
    expect(sink.samples.get(info!.id)![0]![1]).toBe(8.15)
  })

  it('passes a Tasmota web password in the query string', async () => {
    const plug = await device({'/cm?cmnd=Status%208&user=admin&password=s%3Ecret': [tasmota('tasmota_status8_sonoff-pow-r2_docs-example.json')]})
    const source = tasmotaSource(`tasmota://admin:s%3Ecret@${plug.host}`)
    await source.start(manualContext().context)
    await source.stop()
    expect(plug.requests[0]).toBe('/cm?cmnd=Status%208&user=admin&password=s%3Ecret')
  })

  it('records a failure when the plug stops answering, keeping the readings before', async () => {
    const plug = await device({'/cm?cmnd=Status%208': [tasmota('tasmota_status8_sonoff-pow-r2_docs-example.json')]})
    const sampler = new PowerSampler({sources: [tasmotaSource(`tasmota://${plug.host}`, {failAfterMs: 700, requestTimeoutMs: 200})]})
    await sampler.start()
    await waitFor(() => (sampler.snapshot().samples[`tasmota:${plug.host}`]?.length ?? 0) >= 2, 5000, 'two readings')
    for (const server of servers) server.closeAllConnections()
    await plug.close()
    await waitFor(() => sampler.snapshot().failures.length > 0, 10_000, 'the failure')
    const recording = await sampler.stop()
    expect(recording.samples[`tasmota:${plug.host}`]!.length).toBeGreaterThanOrEqual(2)
    expect(recording.failures[0]).toMatchObject({sourceId: `tasmota:${plug.host}`, reason: expect.stringMatching(/^tasmota:\/\/127\.0\.0\.1:\d+: no reading for \d+ s \(last error: /)})
  })
})
