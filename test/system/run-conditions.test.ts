import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {deriveResult} from '../../src/derive/derive.js'
import {endpointTarget, handResult, request, run} from '../helpers/result-builder.js'
import {idleWarnings, measuredServerNotes, testWarnings} from '../../src/metrics/reliability.js'
import {parseProcStat} from '../../src/power/cpu-utilization.js'
import {ConditionsMonitor, ownTreeCpuMs, RunConditionsSchema, serverTreeCpuMs, type ConditionReaders} from '../../src/system/run-conditions.js'

/** /proc/stat's aggregate line as the kernel prints it: user nice system idle iowait irq softirq steal guest guest_nice. */
const stat = (user: number, idle: number, steal: number) => parseProcStat(`cpu  ${user} 0 0 ${idle} 0 0 0 ${steal} 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n`)

describe('ConditionsMonitor', () => {
  it('measures steal, other processes\' load, clocks and throttling between the edges of a repetition', () => {
    // A 2-CPU VM: 10 s of wall time is 2000 ticks. During the test: 1000 busy, 240 idle, 760 steal (38%);
    // owbench itself used 6 s of CPU (0.6 cores), so others used 1000/2000 x 2 - 0.6 = 0.4 cores.
    const times = [stat(0, 0, 0), stat(500, 1500, 0), stat(1500, 1740, 760)]
    const own = [0, 1000, 7000]
    const clock = [0, 10_000, 20_000]
    let k = 0
    const readers: ConditionReaders = {
      clock: () => clock[k]!,
      cpuTimes: () => times[k]!,
      ownCpuMs: () => own[k]!,
      logicalCpus: 2,
      cpuFreqsMHz: () => (k === 1 ? [3700, 2900] : [3100, 3300]),
      cpuTemperatureC: () => [40, 71.5, 88][k],
      cpuThrottleCount: () => [0, 3, 7][k],
      gpus: () => [{index: 0, name: 'NVIDIA H100 80GB HBM3', smClockMHz: 1755, temperatureC: 83, throttleReasons: ['sw_power_cap', 'hw_thermal_slowdown']}],
    }
    const monitor = new ConditionsMonitor(readers)
    k = 1
    monitor.begin()
    k = 2
    const c = monitor.end()!
    expect(c.during.durationMs).toBe(10_000)
    expect(c.during.busyCores).toBeCloseTo(1, 12)
    expect(c.during.ownCores).toBeCloseTo(0.6, 12)
    expect(c.during.otherCores).toBeCloseTo(0.4, 12)
    expect(c.during.stealShare).toBeCloseTo(0.38, 12)
    // Before: 500 busy of 2000 ticks = 0.5 cores, owbench 1 s of CPU in 10 s = 0.1 core.
    expect(c.before).toMatchObject({durationMs: 10_000, busyCores: 0.5, stealShare: 0})
    expect(c.before!.otherCores).toBeCloseTo(0.4, 12)
    expect(c).toMatchObject({logicalCpus: 2, cpuFreqMHz: {min: 2900, avg: 3250, max: 3700}, cpuTemperatureC: 88, cpuThrottleEvents: 4})
    expect(RunConditionsSchema.parse(c)).toEqual(c)
    // And what it means, in hyperfine's manner.
    expect(testWarnings({test: 'tg128', conditions: [c]})).toEqual([
      'this machine was busy: 38% steal time during tg128 — rerun on a quiet machine',
      'the CPU throttled for heat 4 times during tg128 — let it cool, or improve its cooling, and rerun',
      'the GPU was slowed during tg128 (GPU 0 hw_thermal_slowdown) — let it cool and rerun',
    ])
  })

  it('warns about other processes, a spread of t/s and a noisy idle baseline; stays quiet on a quiet machine', () => {
    const load = (busyCores: number, ownCores: number) => ({durationMs: 1000, busyCores, ownCores, otherCores: Math.max(0, busyCores - ownCores), stealShare: 0})
    const busy = {logicalCpus: 2, during: load(2, 1)}
    expect(testWarnings({test: 'pp256', conditions: [busy]})).toEqual(['this machine was busy: other processes used 1.0 of 2 CPUs during or right before pp256 — rerun on a quiet machine'])
    // A 5.8 ms window between two repetitions read 2 busy CPUs (one 10 ms tick on each): too short to judge alone, and
    // beside a 588 ms repetition with nobody else busy the two read (1.04 x 5.8) / 593.8 = 0.01 cores of others.
    const tick = {durationMs: 5.8, busyCores: 2, ownCores: 0.96, otherCores: 1.04, stealShare: 0}
    expect(testWarnings({test: 'tg64 @c4', conditions: [{logicalCpus: 2, during: {...load(1, 1), durationMs: 588}, before: tick}]})).toEqual([])
    // The same load over 150 ms before the repetition is a reading.
    expect(testWarnings({test: 'tg64 @c4', conditions: [{logicalCpus: 2, during: {...load(1, 1), durationMs: 588}, before: {...tick, durationMs: 150}}]})).toEqual([
      'this machine was busy: other processes used 1.0 of 2 CPUs during or right before tg64 @c4 — rerun on a quiet machine',
    ])
    // Two short windows together: 40 ms + 40 ms of 1.5 other cores is 80 ms, still too short to say anything.
    expect(testWarnings({test: 'tg8', conditions: [{logicalCpus: 2, during: {...load(2, 0.5), durationMs: 40}, before: {...load(2, 0.5), durationMs: 40}}]})).toEqual([])
    const quiet = {logicalCpus: 2, during: load(1.02, 1)}
    // 289, 348 and 238 tok/s: the three llama-bench rounds of issue 16 (mean 291.7, sd 55.1, CV 19%).
    const tps = {mean: 291.6667, sd: 55.0485, min: 238, max: 348, n: 3}
    expect(testWarnings({test: 'pp256', conditions: [quiet], tokensPerSecond: tps})).toEqual([
      't/s of pp256 varied by 19% (coefficient of variation; 238.0 to 348.0) — the figure is unreliable: rerun on a quiet machine or with more repetitions',
    ])
    expect(testWarnings({test: 'pp256', conditions: [quiet], tokensPerSecond: {mean: 800, sd: 20, min: 780, max: 820, n: 3}})).toEqual([])
    expect(idleWarnings([{sourceId: 'shelly:plug', watts: 50, sdW: 8}, {sourceId: 'rapl:package-0', watts: 10, sdW: 0.2}])).toEqual([
      'the idle baseline of shelly:plug varied by ±8.0 W around 50.0 W (16%): net energy is unreliable — rerun with a quiet machine or a longer --idle-seconds',
    ])
  })

  it('counts the CPU time of owbench\'s child processes as its own', async () => {
    const {spawn} = await import('node:child_process')
    const before = ownTreeCpuMs()
    // The child burns 400 ms of its own CPU time (however long that takes on a shared machine), then says so and waits.
    const child = spawn(process.execPath, ['-e', 'const u = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000 }; while (u() < 400) {}; console.log("done"); setTimeout(() => {}, 10000)'])
    await new Promise((resolve) => child.stdout.once('data', resolve))
    const during = ownTreeCpuMs() - before
    child.kill()
    // /proc counts in 10 ms ticks.
    expect(during).toBeGreaterThanOrEqual(390)
  })

  it('takes the CPU time a child process reports of itself instead of /proc\'s 10 ms ticks', async () => {
    // A /proc holding this process and one child (the engine's, say): 37 ticks of user time, 4 of system, 2 reaped.
    const proc = await mkdtemp(path.join(os.tmpdir(), 'owbench-proc-'))
    const child = 999_999
    const statLine = (pid: number, ppid: number, utime: number, stime: number, cutime: number) => `${pid} (node worker) S ${ppid} ${Array.from({length: 9}, () => 0).join(' ')} ${utime} ${stime} ${cutime} 0 20 0 3 0\n`
    await mkdir(path.join(proc, String(process.pid)))
    await writeFile(path.join(proc, String(process.pid), 'stat'), statLine(process.pid, 1, 0, 0, 0))
    await mkdir(path.join(proc, String(child)))
    await writeFile(path.join(proc, String(child), 'stat'), statLine(child, process.pid, 37, 4, 2))
    const ticks = ownTreeCpuMs(proc)
    const exact = ownTreeCpuMs(proc, new Map([[child, 412.345]]))
    const ticksAgain = ownTreeCpuMs(proc)
    // The child as /proc counts it: (37 + 4) ticks = 410 ms, plus 20 ms of its reaped children; reported: 412.345 ms, plus the same 20.
    // This process's own CPU time (process.cpuUsage) moves on between the readings by a fraction of a millisecond.
    expect(exact - ticks).toBeGreaterThan(2.345 - 0.01)
    expect(exact - ticksAgain).toBeLessThan(2.345 + 0.01)
    expect(exact - ticks).toBeLessThan(2.345 + 1)
    await rm(proc, {recursive: true, force: true})
  })

  it('counts a local endpoint server\'s CPU time as the measured server\'s, not as other processes\' load', () => {
    // 2 CPUs, 1 s windows (200 ticks each). Before: 120 busy ticks = 1.2 cores, owbench 0.1, llama-server 700 ms and its
    // worker 30 ms = 0.73:
    // others 0.37. During: 180 busy = 1.8 cores, owbench 0.2, the server's main process 1300 ms and a worker that started
    // during the window 150 ms, while a worker that ended counts nothing more: 1.45 cores; others 1.8 - 0.2 - 1.45 = 0.15.
    const times = [stat(0, 0, 0), stat(120, 80, 0), stat(300, 100, 0)]
    const own = [0, 100, 300]
    const server = [new Map([[300, 1000], [301, 50]]), new Map([[300, 1700], [301, 80]]), new Map([[300, 3000], [302, 150]])]
    let k = 0
    const readers: ConditionReaders = {
      clock: () => k * 1000,
      cpuTimes: () => times[k]!,
      ownCpuMs: () => own[k]!,
      logicalCpus: 2,
      servers: new Map([['llama', {port: 18080, processes: [{pid: 300, name: 'llama-server'}]}], ['far', {port: 8000, unidentified: 'no /proc/net/tcp on this system (not Linux)'}]]),
      serverCpuMs: () => server[k]!,
    }
    const monitor = new ConditionsMonitor(readers)
    k = 1
    monitor.begin('llama')
    k = 2
    const c = monitor.end()!
    expect(c.server).toEqual({port: 18080, processes: [{pid: 300, name: 'llama-server'}]})
    expect(c.during.serverCores).toBeCloseTo(1.45, 12)
    expect(c.during.otherCores).toBeCloseTo(0.15, 12)
    expect(c.before!.serverCores).toBeCloseTo(0.73, 12)
    expect(c.before!.otherCores).toBeCloseTo(0.37, 12)
    expect(RunConditionsSchema.parse(c)).toEqual(c)
    // Without the server's share the same windows read 1.6 other cores and warn; with it, nothing.
    expect(testWarnings({test: 'tg64', conditions: [c]})).toEqual([])
    expect(testWarnings({test: 'tg64', conditions: [{...c, during: {...c.during, otherCores: c.during.busyCores - c.during.ownCores}}]})).toHaveLength(1)
    // A repetition of another target records its own server, or none (the local engine).
    monitor.begin('far')
    expect(monitor.end()!.server).toEqual({port: 8000, unidentified: 'no /proc/net/tcp on this system (not Linux)'})
    monitor.begin('local')
    expect(monitor.end()!.server).toBeUndefined()
  })

  it('words the busy warning and the target notes for a local server found or not found', () => {
    const load = {durationMs: 1000, busyCores: 2, ownCores: 0.2, otherCores: 1.8, stealShare: 0}
    const unidentified = {port: 18080, unidentified: 'no /proc/net/tcp on this system (not Linux)'}
    expect(testWarnings({test: 'tg64', conditions: [{logicalCpus: 2, server: unidentified, during: load}]})).toEqual([
      "this machine was busy: other processes used 1.8 of 2 CPUs during or right before tg64, which may include the measured server's own CPU use (its process listening on port 18080 was not found) — rerun on a quiet machine",
    ])
    const found = {port: 18080, processes: [{pid: 300, name: 'llama-server'}]}
    const withServer = {logicalCpus: 2, server: found, during: {...load, serverCores: 1.2, otherCores: 0.6}}
    expect(testWarnings({test: 'tg64', conditions: [withServer]})).toEqual(['this machine was busy: other processes used 0.6 of 2 CPUs during or right before tg64 — rerun on a quiet machine'])
    expect(measuredServerNotes('llama', [withServer, withServer])).toEqual([
      "llama: served on this machine by llama-server (pid 300) on port 18080: its CPU time (threads and child processes included) counts as the measured server's own, not as other processes' load",
    ])
    expect(measuredServerNotes('llama', [{logicalCpus: 2, server: unidentified, during: load}])).toEqual([
      "llama: served on this machine, but the process listening on port 18080 was not found (no /proc/net/tcp on this system (not Linux)): other processes' load may include the measured server's own CPU use",
    ])
    expect(measuredServerNotes('local', [{logicalCpus: 2, during: load}])).toEqual([])
  })

  it('words the busy warning of an older result\'s loopback endpoint, whose server was not told apart, with the same caveat', () => {
    const load = {durationMs: 1000, busyCores: 2, ownCores: 0.2, otherCores: 1.8, stealShare: 0}
    const loopback = endpointTarget('llama')
    if (loopback.kind === 'endpoint') loopback.endpoint.baseUrl = 'http://127.0.0.1:18080/v1'
    const older = deriveResult(handResult([loopback, endpointTarget('far')], [
      {...run('llama', 'tg64', 0, [request(0, {nPrompt: 1, nOut: 64, ttft: 20, tpot: 4})]), conditions: {logicalCpus: 2, during: load}},
      {...run('far', 'tg64', 0, [request(0, {nPrompt: 1, nOut: 64, ttft: 20, tpot: 4})]), conditions: {logicalCpus: 2, during: load}},
    ]))
    expect(older.cells.find((c) => c.target === 'llama')!.warnings).toEqual([
      "this machine was busy: other processes used 1.8 of 2 CPUs during or right before tg64, which may include the measured server's own CPU use (the server on this machine's port 18080 was not told apart when this result was recorded) — rerun on a quiet machine",
    ])
    // A remote endpoint's warning is as it was.
    expect(older.cells.find((c) => c.target === 'far')!.warnings).toEqual(['this machine was busy: other processes used 1.8 of 2 CPUs during or right before tg64 — rerun on a quiet machine'])
    // A result that names the server needs no caveat: its load is out of otherCores already.
    const server = {port: 18080, processes: [{pid: 300, name: 'llama-server'}]}
    expect(testWarnings({test: 'tg64', conditions: [{logicalCpus: 2, server, during: {...load, serverCores: 1, otherCores: 0.8}}], unrecordedLocalServerPort: 18080})).toEqual([
      'this machine was busy: other processes used 0.8 of 2 CPUs during or right before tg64 — rerun on a quiet machine',
    ])
  })

  it('reads a server\'s process tree from /proc, leaving out owbench\'s own tree', async () => {
    // The server (300) with a worker (301, which reaped a child of its own: cutime 5) and owbench (this process) with
    // its engine (900): utime + stime + cutime + cstime ticks of 10 ms each. An unrelated process (700) is not the server's.
    const proc = await mkdtemp(path.join(os.tmpdir(), 'owbench-proc-tree-'))
    const statLine = (pid: number, ppid: number, utime: number, stime: number, cutime: number, cstime: number) => `${pid} (llama server) S ${ppid} ${Array.from({length: 9}, () => 0).join(' ')} ${utime} ${stime} ${cutime} ${cstime} 20 0 3 0\n`
    const put = async (pid: number, text: string) => {
      await mkdir(path.join(proc, String(pid)))
      await writeFile(path.join(proc, String(pid), 'stat'), text)
    }
    await put(300, statLine(300, 1, 120, 30, 0, 0))
    await put(301, statLine(301, 300, 40, 2, 5, 1))
    await put(700, statLine(700, 1, 999, 999, 0, 0))
    await put(800, statLine(800, 1, 1, 1, 0, 0))
    await put(900, statLine(900, 800, 50, 50, 0, 0))
    expect(serverTreeCpuMs([300], proc, 800)).toEqual(new Map([[300, 1500], [301, 480]]))
    // A server that owbench itself started (a descendant of it) is already owbench's own: not counted twice.
    expect(serverTreeCpuMs([900], proc, 800)).toEqual(new Map())
    expect(serverTreeCpuMs([12345], proc, 800)).toEqual(new Map())
    await rm(proc, {recursive: true, force: true})
  })
})
