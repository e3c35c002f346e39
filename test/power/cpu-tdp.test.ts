import {describe, expect, it} from 'vitest'
import {computeEnergy} from '../../src/energy/summary.js'
import {CpuEstimateSource, countSockets} from '../../src/power/cpu-estimate-source.js'
import {loadTdpTable, matchCpuTdp, normalizeCpuName, parseTdpCsv} from '../../src/power/cpu-tdp.js'
import {parseProcStat, UtilizationMeter, type CpuTimes} from '../../src/power/cpu-utilization.js'
import {manualContext} from './helpers/fixtures.js'

describe('CPU TDP table (data/cpu-tdp.csv)', () => {
  const table = loadTdpTable()

  it('loads every row, quoted names with commas included', () => {
    expect(table).toHaveLength(4903)
    expect(table).toContainEqual({name: 'Intel EP80579 Integrated, 1066 MHz', tdpWatts: 18})
    expect(parseTdpCsv('Name,TDP\n"A, B",12.5\nC,7\n')).toEqual([
      {name: 'A, B', tdpWatts: 12.5},
      {name: 'C', tdpWatts: 7},
    ])
  })

  it.each([
    ['AMD EPYC 7763 64-Core Processor', 'AMD EPYC 7763', 280],
    ['Intel(R) Core(TM) i9-13900K', 'Intel Core i9-13900K', 125],
    ['13th Gen Intel(R) Core(TM) i9-13900K', 'Intel Core i9-13900K', 125],
    ['Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz', 'Intel Xeon Platinum 8380', 270],
    ['AMD Ryzen 9 7950X 16-Core Processor', 'AMD Ryzen 9 7950X', 170],
    ['AMD Ryzen 7 5800H with Radeon Graphics', 'AMD Ryzen 7 5800H', 45],
    ['AMD Ryzen Threadripper PRO 5995WX 64-Cores', 'AMD Ryzen Threadripper PRO 5995WX', 280],
    // The K, T and Optane variants differ only by a suffix: the plain model is matched, not them.
    ['Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz', 'Intel Core i7-4770', 84],
    ['Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz', 'Intel Core i7-8700', 65],
    ['Apple M1', 'Apple M1', 10],
  ])('%s -> %s (%d W)', (brand, name, tdp) => {
    expect(matchCpuTdp(brand, table)).toMatchObject({matched: true, row: {name, tdpWatts: tdp}})
  })

  it('refuses what it cannot match for sure, saying why', () => {
    expect(matchCpuTdp('Apple M2 Pro', table)).toEqual({matched: false, normalized: 'apple m2 pro', reason: "no row of data/cpu-tdp.csv matches 'Apple M2 Pro'"})
    // 'Apple M1' is in the table, but an M1 Max is another chip.
    expect(matchCpuTdp('Apple M1 Max', table)).toMatchObject({matched: false, reason: "'Apple M1 Max' only partly matches 'Apple M1' in data/cpu-tdp.csv (extra words: max), which may be another chip"})
    expect(matchCpuTdp('', table)).toMatchObject({matched: false, reason: 'empty CPU model string'})
  })

  it('normalizes brand strings deterministically', () => {
    expect(normalizeCpuName('Intel(R) Core(TM) i9-13900K CPU @ 3.00GHz')).toBe('intel core i9-13900k')
    expect(normalizeCpuName('AMD EPYC 7763 64-Core Processor')).toBe('amd epyc 7763')
  })
})

describe('CPU utilization and the TDP estimate', () => {
  it('reads the aggregate /proc/stat line (guest time is already in user)', () => {
    // user nice system idle iowait irq softirq steal guest guest_nice
    expect(parseProcStat('cpu  100 5 50 800 20 3 2 10 40 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n')).toEqual({busy: 160, total: 990, steal: 10})
    expect(countSockets('processor\t: 0\nphysical id\t: 0\nprocessor\t: 1\nphysical id\t: 1\n')).toBe(2)
    expect(countSockets('processor : 0\n')).toBeUndefined()
  })

  it('estimates watts = TDP x sockets x utilization, labelled estimated with the formula', async () => {
    const times: CpuTimes[] = [
      {busy: 0, total: 0},
      {busy: 250, total: 1000},
    ]
    const source = new CpuEstimateSource({model: 'AMD EPYC 7763 64-Core Processor', sockets: 2, readTimes: () => times.shift()!})
    const {context, sink, clock} = manualContext(500)
    const [info] = await source.start(context)
    expect(info).toMatchObject({id: 'cpu-tdp:package', boundary: 'cpu-package', method: 'estimated', formula: 'watts = TDP x sockets x utilization = 280 W x 2 x utilization'})
    expect(info!.assumptions![0]).toBe("TDP 280 W per package from data/cpu-tdp.csv row 'AMD EPYC 7763' (matched to 'AMD EPYC 7763 64-Core Processor' by exact name)")
    clock.now = 1000
    await source.stop()
    // 25% busy: 280 x 2 x 0.25 = 140 W over [0, 1000] ms, stored as a step: 140 J.
    expect(sink.samples.get('cpu-tdp:package')).toEqual([
      [0, 140],
      [1000, 140],
    ])
    const summary = computeEnergy({sources: [info!], samples: Object.fromEntries(sink.samples), failures: []}, [{prefill: [0, 1000], promptTokens: 1, outputTokens: 0}], {minUpdates: 2})
    // Averaged over 500 ms readings: a 1 s window spans 2 of them.
    expect(info).toMatchObject({intervalMs: 500, averagingMs: 500})
    expect(summary.phases[0]!.boundaries[0]).toMatchObject({boundary: 'cpu-package', method: 'estimated', grossJ: 140})
  })

  it('refuses a CPU without a TDP row', async () => {
    await expect(new CpuEstimateSource({model: 'Apple M2 Pro', readTimes: () => ({busy: 0, total: 0})}).start(manualContext().context)).rejects.toThrow(/no TDP for this CPU/)
  })

  it('measures utilization between calls', () => {
    const seq: CpuTimes[] = [
      {busy: 10, total: 100},
      {busy: 60, total: 200},
      {busy: 60, total: 200},
    ]
    const meter = new UtilizationMeter(() => seq.shift()!)
    expect(meter.next()).toBe(0.5)
    expect(meter.next()).toBeUndefined()
  })
})
