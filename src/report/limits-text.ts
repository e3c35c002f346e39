import {loadLabel} from '../results/load.js'
import type {ResultFile} from '../results/schema.js'
import type {BandwidthLimit, SpeedOfLight} from '../results/speed-of-light-schema.js'
import type {Cell, DerivedSummary} from '../results/summary-schema.js'
import type {SweepPoint, SweepSummary} from '../results/sweep-schema.js'
import {formatNumber} from './format.js'
import {cellLabel} from './labels.js'

/**
 * How the speed-of-light column and load sweeps read in every report (terminal, Markdown, HTML,
 * the site): one wording, from the derivation's figures.
 */

/** `43.1%`, `104.2% implausible`, `-` (missing: the reason goes in a note), `≥ 12.0%` when the KV reads are not modelled. */
export function speedOfLightText(sol: SpeedOfLight | undefined): string {
  if (!sol || sol.status === 'missing') return '-'
  return `${sol.weightsOnly ? '≥ ' : ''}${formatNumber(sol.percent)}%${sol.implausible ? ' implausible' : ''}`
}

/** `36.20 GB/s (STREAM triad probe on 2 threads, measured)` or `3350 GB/s (NVIDIA H100 SXM5 80GB published peak)`. */
export function limitText(limit: BandwidthLimit): string {
  return `${formatNumber(limit.gbs)} GB/s (${limit.label}${limit.source === 'probe' ? ', measured' : ''})`
}

/**
 * Notes under a table with the column (local targets' tg and pg cells): what it is, each target's
 * limit or why it has none, and every implausible cell. Empty when no cell has the figure.
 */
export function speedOfLightNotes(summary: Pick<DerivedSummary, 'cells' | 'targets'>, result: Pick<ResultFile, 'targets'>): string[] {
  const local = new Set(result.targets.filter((t) => t.kind === 'local').map((t) => t.id))
  const cells = summary.cells.filter((c) => c.speedOfLight && local.has(c.target))
  if (cells.length === 0) return []
  const lines = ['% BW limit: bytes read per generated token (weights once per decode step, shared by the requests in flight, + the KV cache at the test\'s mean position) × generated tokens/s (one request: tg n/time, pg 1/TPOT; in parallel: S_TG, the decode steps\' aggregate), over the memory bandwidth that bounds decode; above 100% is physically implausible.']
  for (const t of summary.targets) {
    if (!cells.some((c) => c.target === t.target)) continue
    lines.push(t.bandwidth.status === 'ok' ? `${t.target}: bandwidth limit ${limitText(t.bandwidth.limit)}` : `${t.target}: no % BW limit: ${t.bandwidth.reason}`)
  }
  for (const c of cells) {
    const s = c.speedOfLight!
    if (s.status === 'ok' && s.implausible) lines.push(`${c.target} ${cellLabel(c)}: IMPLAUSIBLE: ${formatNumber(s.achievedGBs)} GB/s achieved is ${formatNumber(s.percent)}% of the ${formatNumber(s.limit.gbs)} GB/s limit; the bytes per token or the speed is wrong (owbench publish refuses it without --allow-implausible)`)
    if (s.status === 'missing' && summary.targets.find((t) => t.target === c.target)?.bandwidth.status === 'ok') lines.push(`${c.target} ${cellLabel(c)}: no % BW limit: ${s.reason}`)
  }
  return lines
}

/** Cells whose achieved bandwidth exceeds the limit (publish refuses their result unless told). */
export function implausibleCells(cells: readonly Cell[]): Cell[] {
  return cells.filter((c) => c.speedOfLight?.status === 'ok' && c.speedOfLight.implausible)
}

function pointText(p: SweepPoint, search: SweepSummary['settings']['search']): string {
  const tps = p.aggregateTps === undefined ? 'no throughput' : `${formatNumber(p.aggregateTps)} tok/s`
  const ttft = p.ttftMs === undefined ? '' : `, TTFT ${formatNumber(p.ttftMs)} ms`
  const met = search === 'goodput' && p.attainment !== undefined ? `, ${formatNumber(p.attainment * 100)}% met SLO${p.resolved === false ? ' (unresolved)' : ''}` : ''
  const failed = p.failed > 0 ? `, ${p.failed} failed` : ''
  return `${loadLabel(p.load)} ${tps}${ttft}${met}${failed}`
}

const STAGE_NAMES: Record<SweepPoint['stage'], string> = {start: 'start', double: 'doubling', fill: 'filled in', bisect: 'bisecting', descend: 'halving'}

/**
 * One paragraph per sweep: what it searched, each level in the order measured (grouped by stage),
 * why it stopped, and where it saturated or the highest load meeting the objectives.
 */
export function sweepLines(sweeps: readonly SweepSummary[]): string[] {
  return sweeps.map((s) => {
    const what = s.settings.search === 'goodput' ? `goodput search (${s.settings.mode}, ≥ ${formatNumber(s.settings.goodputTarget! * 100)}% of requests meeting --slo)` : `${s.settings.mode} sweep`
    // In the order measured, consecutive levels of one stage together.
    const runs: {stage: SweepPoint['stage']; points: SweepPoint[]}[] = []
    for (const p of s.points) {
      if (runs.at(-1)?.stage === p.stage) runs.at(-1)!.points.push(p)
      else runs.push({stage: p.stage, points: [p]})
    }
    const parts = runs.map((r) => `${STAGE_NAMES[r.stage]}: ${r.points.map((p) => pointText(p, s.settings.search)).join('; ')}`)
    const stop = s.stop ? `stopped (${s.stop.code}): ${s.stop.reason}` : 'did not finish (the run ended first)'
    let verdict = ''
    if (s.saturation) {
      const share = (s.saturation.aggregateTps / s.saturation.peakTps) * 100
      verdict = ` Saturates at ${loadLabel(s.saturation.load)}: ${formatNumber(s.saturation.aggregateTps)} tok/s, ${formatNumber(share)}% of the peak ${formatNumber(s.saturation.peakTps)} tok/s (${loadLabel(s.saturation.peakLoad)}).`
    }
    if (s.goodput) {
      const g = s.goodput
      verdict = g.best
        ? ` Highest load meeting the objectives: ${loadLabel(g.best)}${g.bestAttainment !== undefined ? ` (${formatNumber(g.bestAttainment * 100)}% of requests met them${g.bestGoodputRps !== undefined ? `, goodput ${formatNumber(g.bestGoodputRps)} req/s` : ''})` : ''}${g.lowestFailing ? `; ${loadLabel(g.lowestFailing)} missed` : ''}.`
        : ' No load met the objectives.'
      if (g.unresolved.length > 0) verdict += ` Too few requests to decide at ${g.unresolved.map(loadLabel).join(', ')} (the 95% interval of the share straddles the target): raise --max-requests.`
    }
    return `${s.target} ${s.test} ${what}: ${parts.join('; ')}; ${stop}.${verdict}`
  })
}
