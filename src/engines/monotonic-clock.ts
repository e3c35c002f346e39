/**
 * One clock for every process on this machine: libuv's uv_hrtime, which `process.hrtime` and
 * `performance.now()` both read (clock_gettime(CLOCK_MONOTONIC) on Linux, mach_absolute_time on
 * macOS, QueryPerformanceCounter on Windows). Its readings are system-wide, so a reading taken in
 * the engine's child process compares with one taken in owbench's own process; performance.now()
 * is the same clock minus a per-process origin.
 */

// performance.now() is uv_hrtime less this process's origin; that origin, read once, turns it back
// into the machine's clock without a BigInt per reading (the engine reads the clock once per token).
const processOrigin = originOfPerformanceNow()

function originOfPerformanceNow(): number {
  let best = Number.POSITIVE_INFINITY
  let origin = 0
  for (let i = 0; i < 5; i++) {
    const before = performance.now()
    const mono = Number(process.hrtime.bigint()) / 1e6
    const after = performance.now()
    if (after - before < best) {
      best = after - before
      origin = mono - (before + after) / 2
    }
  }
  return origin
}

/** Milliseconds of the machine's monotonic clock (since boot on Linux), to about a microsecond across processes. */
export function monotonicMs(): number {
  return performance.now() + processOrigin
}

/**
 * What to add to a monotonicMs() reading to get a reading of `clock` (a monotonic clock in ms on
 * the same time base, such as the runner's performance.now()-based clock). Of three adjacent
 * samples the tightest pair is used, so the error is the gap between two clock reads (about a
 * microsecond).
 */
export function offsetTo(clock: () => number): number {
  let best = Number.POSITIVE_INFINITY
  let offset = 0
  for (let i = 0; i < 3; i++) {
    const before = clock()
    const mono = monotonicMs()
    const after = clock()
    if (after - before < best) {
      best = after - before
      offset = (before + after) / 2 - mono
    }
  }
  return offset
}
