/**
 * One clock for every process on this machine: libuv's uv_hrtime, which `process.hrtime` and
 * `performance.now()` both read (clock_gettime(CLOCK_MONOTONIC) on Linux, mach_absolute_time on
 * macOS, QueryPerformanceCounter on Windows). Its readings are system-wide, so a reading taken in
 * the engine's child process compares with one taken in owbench's own process; performance.now()
 * is the same clock minus a per-process origin.
 */

/** Milliseconds of the machine's monotonic clock (since boot on Linux), fractional to the nanosecond. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6
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
