import {createHash} from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import path from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {formatUserError, isUserError} from '../../src/errors/errors.js'
import {digestAuthorization, parseDigestChallenge} from '../../src/power/http-auth.js'
import {PowerSampler} from '../../src/power/sampler.js'
import {pickShellyComponent, shellyComponentWatts, shellyGen1Watts, shellyGen2Watts, shellySource} from '../../src/power/shelly.js'
import {tasmotaSource, tasmotaWatts} from '../../src/power/tasmota.js'
import {FIXTURES, manualContext, readRecorded, waitFor} from './helpers/fixtures.js'

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
        updateMs: 1000,
        notes: [expect.stringMatching(/whole machine at the socket/)],
      },
    ])
    await waitFor(() => (sampler.snapshot().samples[`shelly:${plug.host}`]?.length ?? 0) >= 3, 10_000, 'three readings')
    const recording = await sampler.stop()
    // The first body answered the probe; the poller's readings follow.
    expect(recording.samples[`shelly:${plug.host}`]!.map(([, w]) => w).slice(0, 2)).toEqual([47.11, 399.2])
    // Shelly.GetStatus is asked first (404 on this firmware), then the switch alone.
    expect(plug.requests[0]).toBe('/rpc/Shelly.GetStatus')
    expect(plug.requests.slice(1).every((r) => r === '/rpc/Switch.GetStatus?id=0')).toBe(true)
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
    expect(plug.requests.slice(0, 3)).toEqual(['/rpc/Shelly.GetStatus', '/rpc/Switch.GetStatus?id=0', '/status'])
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

const collected = (file: string) => fs.readFileSync(path.join(FIXTURES, 'collected', 'shelly', file), 'utf8')

describe('Shelly Gen2-Gen4 metering components (PM1, EM1, EM), recorded bodies', () => {
  it('reads PM1 apower, EM1 act_power and EM total or per-phase act_power', () => {
    const pm1 = JSON.parse(collected('shelly-gen3_shelly-getstatus_pm-mini-gen3_openwb-forum.json'))
    expect(pickShellyComponent(pm1, {id: 0})).toEqual({component: 'pm1', watts: 230, others: []})
    const em1 = JSON.parse(collected('shelly-gen3_shelly-getstatus_pro-em-50_shellypy-issue20.json'))
    expect(pickShellyComponent(em1, {id: 1})).toEqual({component: 'em1', watts: 501.8, others: ['em1:0']})
    expect(pickShellyComponent(em1, {id: 0})).toEqual({component: 'em1', watts: 0, others: ['em1:1']})
    const em = JSON.parse(collected('shelly-gen2_shelly-getstatus_pro-3em_openwb-test.json'))
    expect(pickShellyComponent(em, {id: 0})).toEqual({component: 'em', watts: 2990, others: []})
    expect(shellyComponentWatts('em', em['em:0'], 'c')).toBe(2300)
    // A Gen4 switch without metering is not a meter.
    const gen4 = JSON.parse(shelly('shelly-gen4_shelly-getstatus_mini-1-gen4_unmetered_aioshelly.json'))
    expect(pickShellyComponent(gen4, {id: 0})).toBeUndefined()
  })

  it('polls a PM Mini Gen3 at /rpc/PM1.GetStatus?id=0 after finding pm1:0 in Shelly.GetStatus', async () => {
    const body = collected('shelly-gen3_shelly-getstatus_pm-mini-gen3_openwb-forum.json')
    const plug = await device({'/rpc/Shelly.GetStatus': [body], '/rpc/PM1.GetStatus?id=0': [JSON.stringify(JSON.parse(body)['pm1:0'])]})
    const source = shellySource(`shelly://${plug.host}`)
    const {context, sink} = manualContext(500)
    const [info] = await source.start(context)
    expect(info).toMatchObject({field: 'pm1:0.apower', device: `Shelly Gen2+ pm1:0 at ${plug.host}`, updateMs: 1000, boundary: 'wall'})
    await waitFor(() => (sink.samples.get(info!.id)?.length ?? 0) >= 1, 5000, 'a reading')
    await source.stop()
    expect(sink.samples.get(info!.id)![0]![1]).toBe(230)
    expect(plug.requests.slice(0, 2)).toEqual(['/rpc/Shelly.GetStatus', '/rpc/PM1.GetStatus?id=0'])
  })

  it('polls a Pro EM clamp (EM1) and a Pro 3EM phase (EM) by id, component and phase', async () => {
    const em1 = JSON.parse(collected('shelly-gen3_shelly-getstatus_pro-em-50_shellypy-issue20.json'))
    const proEm = await device({'/rpc/Shelly.GetStatus': [JSON.stringify(em1)], '/rpc/EM1.GetStatus?id=1': [JSON.stringify(em1['em1:1'])]})
    const a = shellySource(`shelly://${proEm.host}?id=1`)
    const ctxA = manualContext(500)
    const [infoA] = await a.start(ctxA.context)
    expect(infoA).toMatchObject({field: 'em1:1.act_power', notes: [expect.any(String), 'the device also meters em1:0 (choose with ?id=N&component=...)']})
    await waitFor(() => (ctxA.sink.samples.get(infoA!.id)?.length ?? 0) >= 1, 5000, 'a reading')
    await a.stop()
    expect(ctxA.sink.samples.get(infoA!.id)![0]![1]).toBe(501.8)

    const em = JSON.parse(collected('shelly-gen2_shelly-getstatus_pro-3em_openwb-test.json'))
    const pro3 = await device({'/rpc/Shelly.GetStatus': [JSON.stringify(em)], '/rpc/EM.GetStatus?id=0': [JSON.stringify(em['em:0'])]})
    const b = shellySource(`shelly://${pro3.host}?component=em&phase=b`)
    const ctxB = manualContext(500)
    const [infoB] = await b.start(ctxB.context)
    expect(infoB).toMatchObject({field: 'em:0.b_act_power', device: `Shelly Gen2+ em:0 at ${pro3.host}`})
    await waitFor(() => (ctxB.sink.samples.get(infoB!.id)?.length ?? 0) >= 1, 5000, 'a reading')
    await b.stop()
    expect(ctxB.sink.samples.get(infoB!.id)![0]![1]).toBe(460)
  })
})

describe('Shelly authentication', () => {
  it('computes RFC 7616 digest responses (the RFC\'s own SHA-256 example, section 3.9.1)', () => {
    const challenge = parseDigestChallenge('Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')!
    expect(challenge).toEqual({realm: 'http-auth@example.org', nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v', algorithm: 'SHA-256', qop: 'auth', opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS'})
    const header = digestAuthorization({challenge, method: 'GET', uri: '/dir/index.html', user: 'Mufasa', password: 'Circle of Life', nc: 1, cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ'})
    expect(header).toContain('response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"')
    expect(header).toContain('nc=00000001')
  })

  /** A Gen2+ device with a password: 401 with Shelly's challenge until a digest answer checks out (RFC 7616, SHA-256). */
  async function lockedDevice(password: string, routes: Record<string, string>): Promise<{host: string; requests: {url: string; authorization?: string}[]}> {
    const requests: {url: string; authorization?: string}[] = []
    const realm = 'shellypmminig3-84fce63a1b2c'
    const nonce = '1763746991'
    const sha = (t: string) => createHash('sha256').update(t).digest('hex')
    const server = http.createServer((req, res) => {
      const url = req.url ?? ''
      requests.push({url, ...(req.headers.authorization ? {authorization: req.headers.authorization} : {})})
      const auth = req.headers.authorization ?? ''
      const field = (name: string) => new RegExp(`${name}="?([^",]+)"?`).exec(auth)?.[1]
      const expected = sha(`${sha(`admin:${realm}:${password}`)}:${nonce}:${field('nc')}:${field('cnonce')}:auth:${sha(`GET:${url}`)}`)
      if (!auth.startsWith('Digest ') || field('uri') !== url || field('response') !== expected) {
        res.writeHead(401, {'WWW-Authenticate': `Digest qop="auth", realm="${realm}", nonce="${nonce}", algorithm=SHA-256`}).end()
        return
      }
      const body = routes[url]
      if (!body) return void res.writeHead(404).end()
      res.writeHead(200, {'Content-Type': 'application/json'}).end(body)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    servers.push(server)
    return {host: `127.0.0.1:${(server.address() as AddressInfo).port}`, requests}
  }

  const pm1 = collected('shelly-gen3_shelly-getstatus_pm-mini-gen3_openwb-forum.json')
  const routes = {'/rpc/Shelly.GetStatus': pm1, '/rpc/PM1.GetStatus?id=0': JSON.stringify(JSON.parse(pm1)['pm1:0'])}

  it('logs in with digest authentication and keeps polling with the same nonce, nc counting up', async () => {
    const plug = await lockedDevice('s3cret pw', routes)
    const source = shellySource(`shelly://admin:${encodeURIComponent('s3cret pw')}@${plug.host}`)
    const {context, sink} = manualContext(500)
    const [info] = await source.start(context)
    await waitFor(() => (sink.samples.get(info!.id)?.length ?? 0) >= 2, 5000, 'two readings')
    await source.stop()
    expect(sink.samples.get(info!.id)!.map(([, w]) => w).slice(0, 2)).toEqual([230, 230])
    // The first request is refused with the challenge; every later one answers it.
    expect(plug.requests[0]).toEqual({url: '/rpc/Shelly.GetStatus'})
    expect(plug.requests[1]!.authorization).toMatch(/^Digest username="admin", realm="shellypmminig3-84fce63a1b2c", nonce="1763746991", uri="\/rpc\/Shelly\.GetStatus", algorithm=SHA-256, response="[0-9a-f]{64}", qop=auth, nc=00000001, cnonce="[0-9a-f]{32}"$/)
    expect(plug.requests[2]!.authorization).toMatch(/uri="\/rpc\/PM1\.GetStatus\?id=0".*nc=00000002/)
    // The password itself never travels.
    expect(plug.requests.some((r) => r.authorization?.includes('s3cret'))).toBe(false)
    // The source names the device without the credentials.
    expect(info!.id).toBe(`shelly:${plug.host}`)
  })

  it('says how to give the password when none was given, and that it was refused when wrong', async () => {
    const plug = await lockedDevice('right', routes)
    const none = await shellySource(`shelly://${plug.host}`).start(manualContext().context).catch((e: unknown) => e)
    expect(isUserError(none) && formatUserError(none)).toBe(`shelly://${plug.host} asks for a password — give it in the address: shelly://admin:PASSWORD@HOST (Gen2+ log in with digest authentication, Gen1 with basic)`)
    const wrong = await shellySource(`shelly://admin:wrong@${plug.host}`).start(manualContext().context).catch((e: unknown) => e)
    expect(isUserError(wrong) && wrong.message).toBe(`shelly://${plug.host} refused the password`)
  })
})
