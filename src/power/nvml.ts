import {UserError} from '../errors/errors.js'
import {CounterPoller, type CounterSeries} from './counter-poller.js'
import {effectiveInterval, errorMessage, type PowerSource, type SourceInfo, type StartContext, type UncoveredDevice} from './power-source.js'

/**
 * NVIDIA's management library (libnvidia-ml, installed with the driver) through koffi, a
 * maintained FFI with prebuilt binaries for Node 16+: the GPU's cumulative energy counter
 * (nvmlDeviceGetTotalEnergyConsumption, mJ since the driver was loaded, Volta and newer), and the
 * clocks, temperature and clocks-event (throttle) reasons for the run conditions. Return codes are
 * NVML's nvmlReturn_t (nvml.h); only the ones owbench acts on are named.
 */
export const NVML_SUCCESS = 0
export const NVML_ERROR_NOT_SUPPORTED = 3
export const NVML_ERROR_FUNCTION_NOT_FOUND = 13

/** nvmlClocksEventReasons bits (nvml.h; the older name is ClocksThrottleReasons). */
export const CLOCKS_EVENT_REASONS: readonly [number, string][] = [
  [0x1, 'gpu_idle'],
  [0x2, 'applications_clocks_setting'],
  [0x4, 'sw_power_cap'],
  [0x8, 'hw_slowdown'],
  [0x10, 'sync_boost'],
  [0x20, 'sw_thermal_slowdown'],
  [0x40, 'hw_thermal_slowdown'],
  [0x80, 'hw_power_brake_slowdown'],
  [0x100, 'display_clock_setting'],
]

export function decodeClocksEventReasons(mask: number | bigint): string[] {
  const value = Number(mask)
  return CLOCKS_EVENT_REASONS.filter(([bit]) => (value & bit) !== 0).map(([, name]) => name)
}

/** The library's file: OWBENCH_NVML_LIBRARY, else the name the driver installs. */
export function nvmlLibraryPath(env: NodeJS.ProcessEnv = process.env): string {
  return env['OWBENCH_NVML_LIBRARY'] || (process.platform === 'win32' ? 'nvml.dll' : 'libnvidia-ml.so.1')
}

type Handle = unknown

/** The NVML calls owbench makes; each returns NVML's code and the value written through the out pointer. */
export interface Nvml {
  readonly path: string
  init(): number
  shutdown(): number
  errorString(code: number): string
  deviceCount(): {code: number; count: number}
  handle(index: number): {code: number; handle: Handle}
  name(handle: Handle): {code: number; name: string}
  /** Millijoules since the driver was loaded. */
  totalEnergy(handle: Handle): {code: number; mJ: number}
  /** type: 0 graphics, 1 SM, 2 memory (nvmlClockType_t). */
  clock(handle: Handle, type: number): {code: number; mhz: number}
  /** sensor 0: the GPU die (NVML_TEMPERATURE_GPU). */
  temperature(handle: Handle): {code: number; celsius: number}
  /** undefined when the library has neither name of the function. */
  clocksEventReasons(handle: Handle): {code: number; mask: number} | undefined
}

/** Loads the library; throws a UserError naming the file and the fix when it cannot be loaded. */
export async function loadNvml(path = nvmlLibraryPath()): Promise<Nvml> {
  const {default: koffi} = await import('koffi')
  let lib: ReturnType<typeof koffi.load>
  try {
    lib = koffi.load(path)
  } catch (error) {
    throw new UserError(`${path} cannot be loaded: ${errorMessage(error).split('\n')[0]}`, 'install the NVIDIA driver (it brings libnvidia-ml); without an NVIDIA GPU use another meter')
  }
  const optional = (signature: string) => {
    try {
      return lib.func(signature)
    } catch {
      return undefined
    }
  }
  const init = lib.func('int nvmlInit_v2()')
  const shutdown = lib.func('int nvmlShutdown()')
  const errorString = lib.func('const char *nvmlErrorString(int result)')
  const deviceCount = lib.func('int nvmlDeviceGetCount_v2(_Out_ unsigned int *count)')
  const handleByIndex = lib.func('int nvmlDeviceGetHandleByIndex_v2(unsigned int index, _Out_ void **device)')
  const getName = lib.func('int nvmlDeviceGetName(void *device, _Out_ char *name, unsigned int length)')
  const totalEnergy = optional('int nvmlDeviceGetTotalEnergyConsumption(void *device, _Out_ unsigned long long *energy)')
  const clockInfo = optional('int nvmlDeviceGetClockInfo(void *device, int type, _Out_ unsigned int *clock)')
  const temperature = optional('int nvmlDeviceGetTemperature(void *device, int sensor, _Out_ unsigned int *temp)')
  // Renamed in driver 535; older libraries have only the throttle name.
  const reasons = optional('int nvmlDeviceGetCurrentClocksEventReasons(void *device, _Out_ unsigned long long *reasons)') ?? optional('int nvmlDeviceGetCurrentClocksThrottleReasons(void *device, _Out_ unsigned long long *reasons)')
  const out = <T>(call: (box: T[]) => number, initial: T): {code: number; value: T} => {
    const box = [initial]
    const code = call(box)
    return {code, value: box[0]!}
  }
  return {
    path,
    init: () => init() as number,
    shutdown: () => shutdown() as number,
    errorString: (code) => String(errorString(code)),
    deviceCount: () => {
      const r = out<number>((b) => deviceCount(b) as number, 0)
      return {code: r.code, count: r.value}
    },
    handle: (index) => {
      const r = out<unknown>((b) => handleByIndex(index, b) as number, null)
      return {code: r.code, handle: r.value}
    },
    name: (handle) => {
      const buffer = Buffer.alloc(96)
      const code = getName(handle, buffer, buffer.length) as number
      return {code, name: buffer.subarray(0, Math.max(0, buffer.indexOf(0))).toString('utf8')}
    },
    totalEnergy: (handle) => {
      if (!totalEnergy) return {code: NVML_ERROR_FUNCTION_NOT_FOUND, mJ: 0}
      const r = out<number | bigint>((b) => totalEnergy(handle, b) as number, 0)
      return {code: r.code, mJ: Number(r.value)}
    },
    clock: (handle, type) => {
      if (!clockInfo) return {code: NVML_ERROR_FUNCTION_NOT_FOUND, mhz: 0}
      const r = out<number>((b) => clockInfo(handle, type, b) as number, 0)
      return {code: r.code, mhz: r.value}
    },
    temperature: (handle) => {
      if (!temperature) return {code: NVML_ERROR_FUNCTION_NOT_FOUND, celsius: 0}
      const r = out<number>((b) => temperature(handle, 0, b) as number, 0)
      return {code: r.code, celsius: r.value}
    },
    clocksEventReasons: (handle) => {
      if (!reasons) return undefined
      const r = out<number | bigint>((b) => reasons(handle, b) as number, 0)
      return {code: r.code, mask: Number(r.value)}
    },
  }
}

interface Gpu {
  index: number
  name: string
  handle: Handle
}

/** Initializes NVML and lists the GPUs; throws a UserError with NVML's own words when it cannot. */
function openGpus(nvml: Nvml): Gpu[] {
  const init = nvml.init()
  if (init !== NVML_SUCCESS) throw new UserError(`NVML could not start: ${nvml.errorString(init)} (${nvml.path})`, 'check that the NVIDIA driver is loaded: nvidia-smi must run on its own')
  const {code, count} = nvml.deviceCount()
  if (code !== NVML_SUCCESS) throw new UserError(`NVML lists no GPUs: ${nvml.errorString(code)}`, 'check that nvidia-smi lists the GPU')
  const gpus: Gpu[] = []
  for (let index = 0; index < count; index++) {
    const h = nvml.handle(index)
    if (h.code !== NVML_SUCCESS) continue
    const n = nvml.name(h.handle)
    gpus.push({index, name: n.code === NVML_SUCCESS ? n.name : 'NVIDIA GPU', handle: h.handle})
  }
  return gpus
}

export interface NvmlSourceOptions {
  /** The library file (default: OWBENCH_NVML_LIBRARY, else libnvidia-ml.so.1). */
  library?: string
  env?: NodeJS.ProcessEnv
}

/**
 * GPU board energy from NVML's counter: read on a timer and at every window edge (mark()),
 * differenced by the energy code like RAPL. Preferred over nvidia-smi's sampled power: a counter
 * misses nothing between readings. GPUs older than Volta answer NOT_SUPPORTED: they are listed as
 * uncovered, so the gpu-board figure says it is partial; with none supported the source refuses to
 * start and nvidia-smi is the meter to use.
 */
export class NvmlSource implements PowerSource {
  readonly name = 'nvml'
  readonly minIntervalMs = 20
  uncovered: UncoveredDevice[] = []
  private nvml: Nvml | undefined
  private readonly poller = new CounterPoller()

  constructor(private readonly options: NvmlSourceOptions = {}) {}

  async start(context: StartContext): Promise<SourceInfo[]> {
    const nvml = await loadNvml(this.options.library ?? nvmlLibraryPath(this.options.env))
    const gpus = openGpus(nvml)
    this.nvml = nvml
    const interval = effectiveInterval(context.intervalMs, this.minIntervalMs)
    const infos: SourceInfo[] = []
    const series: CounterSeries[] = []
    for (const gpu of gpus) {
      const first = nvml.totalEnergy(gpu.handle)
      const device = `${gpu.name} (GPU ${gpu.index})`
      if (first.code !== NVML_SUCCESS) {
        const why = first.code === NVML_ERROR_NOT_SUPPORTED ? `${nvml.errorString(first.code)} (the energy counter needs Volta or newer)` : nvml.errorString(first.code)
        this.uncovered.push({source: 'nvml', boundary: 'gpu-board', device, reason: `nvmlDeviceGetTotalEnergyConsumption: ${why}`})
        continue
      }
      const id = `nvml:${gpu.index}`
      series.push({id, read: () => energyJoules(nvml, gpu)})
      infos.push({
        id,
        kind: 'nvml',
        boundary: 'gpu-board',
        method: 'counter',
        unit: 'J',
        intervalMs: interval,
        // arXiv 2312.02741: the board's power sensor, which the counter integrates, refreshes about every 100 ms.
        updateMs: 100,
        device,
        field: 'nvmlDeviceGetTotalEnergyConsumption',
        notes: ['mJ since the driver was loaded; a driver reload resets it (the window is then marked counter-backwards)'],
      })
    }
    if (infos.length === 0) {
      nvml.shutdown()
      throw new UserError(`NVML has no energy counter on any GPU (${this.uncovered.map((u) => `${u.device}: ${u.reason}`).join('; ') || 'no GPU'})`, 'use --meter nvidia (sampled power from nvidia-smi) or a wall meter')
    }
    this.poller.start(context, interval, series)
    return infos
  }

  mark(): void {
    this.poller.read()
  }

  async stop(): Promise<void> {
    this.poller.stop()
    this.nvml?.shutdown()
    this.nvml = undefined
  }
}

/** A GPU's energy counter in joules; throws NVML's own words when it cannot be read. */
function energyJoules(nvml: Nvml, gpu: Gpu): number {
  const r = nvml.totalEnergy(gpu.handle)
  if (r.code !== NVML_SUCCESS) throw new Error(`nvmlDeviceGetTotalEnergyConsumption: ${nvml.errorString(r.code)}`)
  return r.mJ / 1000
}

/**
 * One GPU's clocks, temperature and active throttle reasons as NVML reports them. The runner
 * records it as system/run-conditions.ts GpuCondition (the compiler checks the two agree where
 * the reader is handed over; power/ and system/ sit side by side and import neither).
 */
export interface NvmlGpuStatus {
  index: number
  name: string
  smClockMHz?: number
  memClockMHz?: number
  temperatureC?: number
  throttleReasons?: string[]
}

/**
 * A reader of every GPU's clocks, temperature and throttle reasons for the run conditions, or
 * undefined when NVML cannot be loaded (no NVIDIA driver). Synchronous: each call is a few
 * microseconds of library calls.
 */
export async function nvmlConditionsReader(library?: string): Promise<(() => NvmlGpuStatus[]) | undefined> {
  let nvml: Nvml
  let gpus: Gpu[]
  try {
    nvml = await loadNvml(library ?? nvmlLibraryPath())
    gpus = openGpus(nvml)
  } catch {
    return undefined
  }
  return () =>
    gpus.map((gpu) => {
      const sm = nvml.clock(gpu.handle, 1)
      const mem = nvml.clock(gpu.handle, 2)
      const temp = nvml.temperature(gpu.handle)
      const reasons = nvml.clocksEventReasons(gpu.handle)
      return {
        index: gpu.index,
        name: gpu.name,
        ...(sm.code === NVML_SUCCESS ? {smClockMHz: sm.mhz} : {}),
        ...(mem.code === NVML_SUCCESS ? {memClockMHz: mem.mhz} : {}),
        ...(temp.code === NVML_SUCCESS ? {temperatureC: temp.celsius} : {}),
        ...(reasons && reasons.code === NVML_SUCCESS ? {throttleReasons: decodeClocksEventReasons(reasons.mask)} : {}),
      }
    })
}
