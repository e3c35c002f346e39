import fs from 'node:fs'
import os from 'node:os'

/** Cumulative CPU time of all cores, in any unit (ticks or ms): only ratios of deltas are used. */
export interface CpuTimes {
  busy: number
  total: number
  /** Time the hypervisor ran other guests while this one wanted the CPU (/proc/stat steal); 0 where not reported. */
  steal?: number
}

/**
 * The aggregate `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal guest
 * guest_nice. guest and guest_nice are already inside user and nice, so they are not added again;
 * iowait counts as idle and steal (time the hypervisor gave to others) as not ours.
 */
export function parseProcStat(text: string): CpuTimes {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l))
  if (!line) throw new Error('no aggregate cpu line in /proc/stat')
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number)
  const total = user + nice + system + idle + iowait + irq + softirq + steal
  return {busy: user + nice + system + irq + softirq, total, steal}
}

/** os.cpus() summed over cores (macOS, Windows, or a Linux without a readable /proc). */
export function osCpuTimes(): CpuTimes {
  let busy = 0
  let total = 0
  for (const cpu of os.cpus()) {
    const {user, nice, sys, idle, irq} = cpu.times
    busy += user + nice + sys + irq
    total += user + nice + sys + idle + irq
  }
  return {busy, total}
}

/** /proc/stat where it is readable, os.cpus() otherwise. */
export function systemCpuTimes(procStat = '/proc/stat'): () => CpuTimes {
  try {
    parseProcStat(fs.readFileSync(procStat, 'utf8'))
    return () => parseProcStat(fs.readFileSync(procStat, 'utf8'))
  } catch {
    return osCpuTimes
  }
}

/** Utilization (0..1) between successive calls. */
export class UtilizationMeter {
  private last: CpuTimes

  constructor(private readonly read: () => CpuTimes) {
    this.last = read()
  }

  /** Share of CPU time busy since the previous call; undefined if no time passed. */
  next(): number | undefined {
    const now = this.read()
    const dTotal = now.total - this.last.total
    const dBusy = now.busy - this.last.busy
    this.last = now
    if (dTotal <= 0) return undefined
    return Math.min(1, Math.max(0, dBusy / dTotal))
  }
}
