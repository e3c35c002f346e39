/**
 * Maps a tool's own time stamps (nvidia-smi's wall-clock `timestamp`, powermetrics' summed
 * `elapsed`) onto the sampler's monotonic clock. A line can only arrive after it was stamped, so
 * `arrival - deviceTime` is an upper bound of the offset; the smallest one seen is the best
 * estimate and removes the pipe's delivery jitter. A jump of the device clock (NTP, a suspended
 * laptop) beyond `jumpMs` re-anchors on the arrival time instead of shifting the series.
 *
 * `slackMs` trades that for contiguity: the offset only moves earlier when a reading would
 * otherwise have arrived more than `slackMs` before it was taken. powermetrics uses it so that
 * back-to-back sample spans stay back to back (a correction of the offset would shorten a span,
 * and with it the energy powermetrics measured over it).
 */
export class DeviceClock {
  private offset: number | undefined

  constructor(private readonly options: {jumpMs?: number; slackMs?: number} = {}) {}

  /** The sampler-clock time of a reading stamped `deviceMs` that arrived at `arrivalMs`. */
  map(deviceMs: number, arrivalMs: number): number {
    return deviceMs + this.offsetFor(deviceMs, arrivalMs)
  }

  /** The offset (sampler clock minus device clock) after taking this reading into account. */
  offsetFor(deviceMs: number, arrivalMs: number): number {
    const candidate = arrivalMs - deviceMs
    const jumpMs = this.options.jumpMs ?? 2000
    const slackMs = this.options.slackMs ?? 0
    if (this.offset === undefined || candidate < this.offset - slackMs || candidate - this.offset > jumpMs) this.offset = candidate
    return this.offset
  }
}
