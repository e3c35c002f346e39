import type {ChartConfiguration} from 'chart.js'
import {deriveResult} from '../derive/derive.js'
import {energyValue, type Objective, paretoFrontier, type ParetoPoint, paretoSeries} from '../derive/pareto.js'
import {loadCost} from '../cost/load-costs.js'
import {loadLabel} from '../results/load.js'
import type {EnergyReferenceRow, ResultCosts} from '../results/cost-schema.js'
import type {ResultFile} from '../results/schema.js'
import type {ChartSpec} from './charts.js'
import {COLORS} from './chart-style.js'
import {energyNote, loadLevelsText, resultLabel, targetName} from './labels.js'

/** A point as Chart.js draws it; `level` names its load in the data (and the HTML tooltip's raw value). */
type XY = {x: number; y: number; level: string}

/** A series as a chart draws it: a name, a colour, a marker (endpoints square) and its points. */
interface Drawn<P> {
  name: string
  color: string
  kind: 'local' | 'endpoint'
  points: readonly P[]
}

interface Series extends Drawn<ParetoPoint> {
  result: ResultFile
  costs?: ResultCosts
}

type SpeedPoint = Pick<ParetoPoint, 'load' | 'perUserTps' | 'totalTps'>

/**
 * The Pareto charts of one or many results, every target on the same axes (home and hosted side by
 * side): tokens/s per user (1 / TPOT) against total tokens/s; J/token against tokens/s per user,
 * with the published datacenter figures of data/energy-reference.csv (boundary in the legend); $/Mtok
 * against tokens/s per user, one chart per money. Each target's points are its load levels of one
 * test (src/derive/pareto.ts); its frontier is drawn as a line through the points no other level of
 * it beats, the levels it beats as points alone.
 */
export function paretoCharts(results: readonly ResultFile[], options: {costs?: readonly (ResultCosts | undefined)[]; energyReference?: readonly EnergyReferenceRow[]} = {}): ChartSpec[] {
  const series: Series[] = []
  results.forEach((result, i) => {
    for (const s of paretoSeries(deriveResult(result))) {
      const target = result.targets.find((t) => t.id === s.target)
      if (!target) continue
      const name = `${targetName(target)} ${s.test}${results.length > 1 ? ` (${resultLabel(result)})` : ''}`
      series.push({name, color: COLORS[series.length % COLORS.length]!, kind: target.kind, points: s.points, result, costs: options.costs?.[i]})
    }
  })
  if (series.length === 0) return []
  const perUser: Objective<ParetoPoint> = [(p) => p.perUserTps, 'max']
  const specs: ChartSpec[] = []
  const speed = throughputFrontierChart(series)
  if (speed) specs.push(speed)
  const energy = drawn(series, perUser, [(p) => energyValue(p.energy)?.value, 'min'], (s, levels) => `${s.name} · ${levels} [${energyNote(s.points.find((p) => energyValue(p.energy))?.energy ?? s.points[0]!.energy)}]`, (p) => {
    const e = energyValue(p.energy)
    return e?.low !== undefined ? [e.low, e.high!] : null
  })
  if (energy.length > 0) {
    const references = (options.energyReference ?? []).filter((r) => r.setting === 'datacenter' && r.j_per_output_token !== undefined && r.tokens_per_s_per_user !== undefined)
    const groups = new Map<string, EnergyReferenceRow[]>()
    for (const r of references) groups.set(`${r.model}, ${r.hardware}`, [...(groups.get(`${r.model}, ${r.hardware}`) ?? []), r])
    const published = [...groups].map(([key, rows], i) => ({
      label: `published: ${key} by batch [${rows[0]!.boundary}; ${rows[0]!.source.split(' (')[0]}]`,
      type: 'scatter' as const,
      borderColor: '#555',
      backgroundColor: ['#999', '#555', '#bbb', '#333'][i % 4],
      pointStyle: 'triangle' as const,
      pointRadius: 6,
      showLine: true,
      borderDash: [4, 4],
      data: rows.map((r) => ({x: r.tokens_per_s_per_user!, y: r.j_per_output_token!, level: `batch ${r.batch}`})).sort((a, b) => a.x - b.x),
    }))
    specs.push({
      id: 'pareto-energy',
      title: 'Pareto: J/token against tokens/s per user, with published datacenter figures (boundaries differ: compare like with like; a hosted model is its low–high range)',
      config: scatter([...energy, ...published], {x: 'tokens / s per user', y: 'J / token'}, {log: true}),
    })
  }
  const moneys = [...new Set(series.flatMap((s) => (s.costs ? [s.costs.money] : [])))]
  for (const money of moneys) {
    const priced = series.filter((s) => s.costs?.money === money)
    const costOf = (s: Series) => (p: ParetoPoint) => {
      const cell = deriveResult(s.result).cells.find((c) => c.target === p.target && c.test === p.test && loadLabel(c.load) === loadLabel(p.load))
      return cell ? loadCost(s.costs, s.result, cell) : undefined
    }
    const datasets = priced.flatMap((s) => {
      const cost = costOf(s)
      const basis = s.points.map(cost).find((c) => c)
      return basis ? drawn([s], perUser, [(p) => cost(p)?.perMtok, 'min'], (_, levels) => `${s.name} · ${levels} [${basis.basis}${basis.basis === 'owned' ? (basis.withElectricity ? ': hardware + electricity' : ': hardware only') : ''}]`) : []
    })
    if (datasets.length === 0) continue
    specs.push({
      id: `pareto-cost${moneys.length > 1 ? `-${money.split(',')[0]!.toLowerCase()}` : ''}`,
      title: `Pareto: cost per million generated tokens against tokens/s per user (${money})`,
      config: scatter(datasets, {x: 'tokens / s per user', y: `${money} per million generated tokens`}, {log: true}),
    })
  }
  return specs
}

/**
 * Tokens/s per user against total tokens/s, each series' frontier drawn: the first Pareto chart of
 * a report, and each leaderboard board's frontier page (one series per hardware group).
 */
export function throughputFrontierChart(series: readonly Drawn<SpeedPoint>[], id = 'pareto-throughput'): ChartSpec | undefined {
  const datasets = drawn<SpeedPoint>(series, [(p) => p.totalTps, 'max'], [(p) => p.perUserTps, 'max'], (s, levels) => `${s.name} · ${levels}`)
  if (datasets.length === 0) return undefined
  return {
    id,
    title: 'Pareto: tokens/s per user (1 / TPOT, median) against total output tokens/s; line: each series\' frontier over its load levels',
    config: scatter(datasets, {x: 'total output tokens / s (all users)', y: 'tokens / s per user'}, {log: false}),
  }
}

/**
 * Two datasets per series: its frontier (a line, in order of x) and the levels the frontier beats
 * (points alone, lighter); points without both values are left out. Each dataset's label names the
 * load levels it holds (`label` places loadLevelsText's text), so a series spanning c1, c2 and r2
 * is never named after one of them.
 */
function drawn<P extends {load: ParetoPoint['load']}>(series: readonly Drawn<P>[], x: Objective<P>, y: Objective<P>, label: (s: Drawn<P>, levels: string) => string, range?: (p: P) => [number, number] | null) {
  return series.flatMap((s) => {
    const xy = (p: P): XY | undefined => {
      const a = x[0](p)
      const b = y[0](p)
      return a === undefined || b === undefined ? undefined : {x: a, y: b, level: loadLabel(p.load)}
    }
    const placed = s.points.filter((p) => xy(p))
    if (placed.length === 0) return []
    const frontier = paretoFrontier(placed, x, y)
    const rest = placed.filter((p) => !frontier.includes(p))
    const marker = s.kind === 'endpoint' ? ('rect' as const) : ('circle' as const)
    return [
      {label: label(s, loadLevelsText(frontier.map((p) => p.load))), type: 'scatter' as const, showLine: true, borderColor: s.color, backgroundColor: s.color, pointStyle: marker, pointRadius: 5, data: frontier.map((p) => xy(p)!), ...(range ? {errorBars: frontier.map(range)} : {})},
      ...(rest.length > 0 ? [{label: `${label(s, loadLevelsText(rest.map((p) => p.load)))}: off its frontier`, type: 'scatter' as const, showLine: false, borderColor: s.color, backgroundColor: `${s.color}55`, pointStyle: marker, pointRadius: 4, data: rest.map((p) => xy(p)!), ...(range ? {errorBars: rest.map(range)} : {})}] : []),
    ]
  })
}

function scatter(datasets: NonNullable<ChartConfiguration['data']>['datasets'], titles: {x: string; y: string}, options: {log: boolean}): ChartConfiguration {
  const axis = (text: string) => ({type: options.log ? ('logarithmic' as const) : ('linear' as const), title: {display: true, text}, ...(options.log ? {} : {beginAtZero: true})})
  return {
    type: 'scatter',
    data: {datasets},
    options: {animation: false, responsive: false, plugins: {legend: {position: 'bottom'}}, scales: {x: axis(titles.x), y: axis(titles.y)}},
  }
}
