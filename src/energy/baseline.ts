import {sampleStandardDeviation} from 'simple-statistics'
import {pointsBetween} from './integrate.js'
import type {IdleWatts} from './schema.js'
import {seriesEnergy, type PreparedSeries} from './series-energy.js'

/**
 * Idle draw of one series: its energy over the idle window divided by the window's length, i.e.
 * the time-weighted mean watts (a plain mean of readings would over-weight bursts of readings).
 */
export function idleWatts(s: PreparedSeries, idle: {t0: number; t1: number}): IdleWatts {
  const duration = idle.t1 - idle.t0
  if (!(duration > 0)) return {sourceId: s.info.id, watts: null, missing: 'the idle window is empty'}
  // An idle machine is a steady state: one meter update in the window is enough to read it.
  const energy = seriesEnergy(s, [[idle.t0, idle.t1]], {minUpdates: 1})
  if ('missing' in energy) return {sourceId: s.info.id, watts: null, missing: energy.missing}
  const readings = pointsBetween(s.watts, idle.t0, idle.t1).map(([, w]) => w)
  return {sourceId: s.info.id, watts: (energy.joules * 1000) / duration, ...(readings.length >= 2 ? {sdW: sampleStandardDeviation(readings)} : {})}
}

/** Net energy: gross minus what the idle draw would have used over the same time. */
export function netJoules(grossJ: number, idleW: number, durationMs: number): number {
  return grossJ - (idleW * durationMs) / 1000
}
