import type {ChartConfiguration} from 'chart.js'
import {deriveResult} from '../derive/derive.js'
import type {ResultCosts, TargetCost} from '../results/cost-schema.js'
import type {ResultFile} from '../results/schema.js'
import {formatNumber, formatTokens} from './format.js'
import {energyNote, resultLabel, targetName} from './labels.js'
import {type ReportRow, reportRows} from './rows.js'
import {chartOptions, COLORS} from './chart-style.js'
import {paretoCharts} from './pareto-charts.js'
import type {EnergyReferenceRow} from '../results/cost-schema.js'


/** A chart as plain data: the same config renders to PNG on the server and live in the HTML report. */
export interface ChartSpec {
  id: string
  title: string
  config: ChartConfiguration
}

export interface ChartOptions {
  /** Each result's cost (same order as the results), as costsOfResults computed them: one base period per currency. */
  costs?: readonly (ResultCosts | undefined)[]
  /** Published figures (data/energy-reference.csv) for the J/token Pareto chart. */
  energyReference?: readonly EnergyReferenceRow[]
}


/** The charts a set of results supports: throughput and latency always, energy and power when measured, cost when priced. */
export function chartSpecs(results: readonly ResultFile[], options: ChartOptions = {}): ChartSpec[] {
  const {rows} = reportRows(results)
  const series = [...new Map(rows.map((r) => [`${r.result.id}/${r.target.id}`, r])).values()]
  const tests = [...new Set(rows.map((r) => r.cell.test))]
  const name = (r: ReportRow) => (results.length > 1 ? `${targetName(r.target)} (${resultLabel(r.result)})` : targetName(r.target))
  // One request at a time where measured, else the first load level: one value per test and series.
  const pick = (s: ReportRow, test: string) => {
    const own = rows.filter((r) => r.result === s.result && r.target.id === s.target.id && r.cell.test === test)
    return own.find((r) => r.cell.load.mode === 'concurrency' && r.cell.load.level === 1) ?? own[0]
  }
  const tps = (r: ReportRow | undefined) => r?.cell.metrics.tokens_per_second?.repetitions
  const specs: ChartSpec[] = [
    {
      id: 'throughput',
      title: 'Throughput per test (t/s, mean ± 1 sd over repetitions)',
      config: {
        type: 'bar',
        data: {
          labels: tests,
          datasets: series.map((s, i) => ({
            label: name(s),
            backgroundColor: COLORS[i % COLORS.length],
            data: tests.map((t) => tps(pick(s, t))?.mean ?? null),
            // ±1 sample sd, drawn by the owbenchErrorBars plugin.
            errorBars: tests.map((t) => {
              const stats = tps(pick(s, t))
              return stats && stats.sd !== null ? [stats.mean - stats.sd, stats.mean + stats.sd] : null
            }),
          })),
        },
        // The axis must reach the top whisker, not just the tallest bar.
        options: withSuggestedMax(chartOptions('tokens / s'), Math.max(0, ...rows.map((r) => (tps(r) ? tps(r)!.mean + (tps(r)!.sd ?? 0) : 0)))),
      },
    },
    {
      id: 'latency',
      title: 'Time to first token and time per output token (p50 and p95 over requests, ms)',
      config: {
        type: 'bar',
        data: {
          labels: tests,
          datasets: series.flatMap((s, i) => [
            {label: `${name(s)} TTFT p50`, backgroundColor: COLORS[i % COLORS.length], data: tests.map((t) => pick(s, t)?.cell.metrics.ttft_ms?.requests?.median ?? null)},
            {label: `${name(s)} TTFT p95`, backgroundColor: `${COLORS[i % COLORS.length]}bb`, data: tests.map((t) => pick(s, t)?.cell.metrics.ttft_ms?.requests?.p95 ?? null)},
            {label: `${name(s)} TPOT p50`, backgroundColor: `${COLORS[i % COLORS.length]}77`, data: tests.map((t) => pick(s, t)?.cell.metrics.tpot_ms?.requests?.median ?? null)},
            {label: `${name(s)} TPOT p95`, backgroundColor: `${COLORS[i % COLORS.length]}44`, data: tests.map((t) => pick(s, t)?.cell.metrics.tpot_ms?.requests?.p95 ?? null)},
          ]),
        },
        options: chartOptions('ms'),
      },
    },
  ]
  const levelOf = (r: ReportRow) => (r.cell.load.mode === 'concurrency' ? r.cell.load.level : 0)
  const closed = rows.filter((r) => r.cell.load.mode === 'concurrency')
  if (closed.some((r) => levelOf(r) > 1)) {
    const lines = [...new Map(closed.map((r) => [`${r.result.id}/${r.target.id}/${r.cell.test}`, r])).values()]
    // Requests in flight are whole numbers: the x axis is the levels measured (a category each, in
    // order), never a linear scale that ticks at 1.5 or 2.5; a series skips the levels it lacks.
    const levels = [...new Set(closed.filter((r) => r.cell.metrics.aggregate_tps?.repetitions).map(levelOf))].sort((a, b) => a - b)
    specs.push({
      id: 'concurrency',
      title: 'Aggregate throughput vs requests in flight (output tokens/s, mean over repetitions)',
      config: {
        type: 'line',
        data: {
          labels: levels.map(String),
          datasets: lines.map((l, i) => {
            const own = closed.filter((r) => r.result === l.result && r.target.id === l.target.id && r.cell.test === l.cell.test && r.cell.metrics.aggregate_tps?.repetitions)
            return {
              label: `${name(l)} ${l.cell.test}`,
              borderColor: COLORS[i % COLORS.length],
              spanGaps: true,
              data: levels.map((level) => own.find((r) => levelOf(r) === level)?.cell.metrics.aggregate_tps!.repetitions!.mean ?? null),
            }
          }),
        },
        options: {...chartOptions('tokens / s'), scales: {x: {type: 'category', title: {display: true, text: 'concurrency (requests in flight)'}}, y: {beginAtZero: true, title: {display: true, text: 'tokens / s'}}}},
      },
    })
  }
  specs.push(...paretoCharts(results, options))
  specs.push(...costCharts(results, options.costs ?? []))
  if (rows.some((r) => r.cell.energy.status !== 'missing')) {
    specs.push({
      id: 'energy',
      title: 'Energy per token (J/token, gross, per token of the test kind; boundary and method in the legend; a hosted model is a low–high bar)',
      config: {
        type: 'bar',
        data: {
          labels: tests,
          datasets: series.map((s, i) => {
            const shown = tests.map((t) => pick(s, t)?.cell.energy).find((e) => e && e.status !== 'missing')
            return {
              label: `${name(s)}${shown ? ` [${energyNote(shown)}]` : ''}`,
              backgroundColor: COLORS[i % COLORS.length],
              // A modelled figure is a floating bar from its low to its high estimate.
              data: tests.map((t) => {
                const e = pick(s, t)?.cell.energy
                return e?.status === 'metered' ? e.jPerToken : e?.status === 'modelled' ? [e.low, e.high] : null
              }) as number[],
            }
          }),
        },
        options: chartOptions('J / token'),
      },
    })
  }
  const withPower = results.filter((r) => r.power && Object.keys(r.power.samples).length > 0)
  for (const result of withPower.slice(0, 4)) {
    const power = result.power!
    const watts = power.sources.filter((s) => s.unit === 'W')
    const times = watts.flatMap((s) => (power.samples[s.id] ?? []).map(([t]) => t / 1000))
    const idle = deriveResult(result).cells.find((c) => c.phases?.idle)?.phases?.idle?.series ?? []
    // Prefill and decode windows of the measured requests, shaded behind the lines (capped for size).
    const windows = result.runs
      .filter((r) => !r.warmup)
      .flatMap((r) => r.requests.filter((q) => !q.error))
      .slice(0, 400)
      .flatMap((q) => {
        const first = q.chunks[0]?.[0] ?? q.tPrefillEnd ?? q.tEnd
        return [{from: q.tSend / 1000, to: first / 1000, phase: 'prefill'}, ...(q.tEnd > first ? [{from: first / 1000, to: q.tEnd / 1000, phase: 'decode'}] : [])]
      })
    specs.push({
      id: `power-${result.id.slice(0, 8)}`,
      title: `Power timeline, ${resultLabel(result)} (W; shaded: prefill orange, decode blue${idle.some((w) => w.watts !== null) ? '; dashed: idle baseline' : ''})`,
      config: {
        type: 'line',
        data: {
          datasets: [
            ...watts.map((s, i) => ({
              label: `${s.id} [${s.boundary}, ${s.method}]`,
              borderColor: COLORS[i % COLORS.length],
              pointRadius: 0,
              data: (power.samples[s.id] ?? []).map(([t, w]) => ({x: t / 1000, y: w})),
            })),
            ...idle.flatMap((w, i) =>
              w.watts === null || times.length === 0
                ? []
                : [{label: `${w.sourceId} idle ${formatWatts(w.watts)}`, borderColor: COLORS[i % COLORS.length], borderDash: [6, 4], pointRadius: 0, data: [{x: Math.min(...times), y: w.watts}, {x: Math.max(...times), y: w.watts}]}],
            ),
          ],
        },
        options: {
          ...chartOptions('W'),
          plugins: {legend: {position: 'bottom'}, owbenchPhases: {windows}} as NonNullable<ChartConfiguration['options']>['plugins'],
          scales: {x: {type: 'linear', title: {display: true, text: 's'}}, y: {beginAtZero: true, title: {display: true, text: 'W'}}},
        },
      },
    })
  }
  return specs
}

function formatWatts(w: number): string {
  return `${formatNumber(w)} W`
}

function withSuggestedMax(options: NonNullable<ChartConfiguration['options']>, max: number): NonNullable<ChartConfiguration['options']> {
  return {...options, scales: {...options.scales, y: {...options.scales?.y, suggestedMax: max}}}
}

/**
 * Cost charts, one set per currency: every bar names its result, and within a currency all
 * amounts are in one base period (costsOfResults converted them by CPI); currencies are never
 * converted into each other, so each has its own axis labelled with its money.
 */
function costCharts(results: readonly ResultFile[], costs: readonly (ResultCosts | undefined)[]): ChartSpec[] {
  const priced = results.flatMap((result, i) => (costs[i] ? [{result, costs: costs[i]!}] : []))
  const byMoney = new Map<string, typeof priced>()
  for (const p of priced) byMoney.set(p.costs.money, [...(byMoney.get(p.costs.money) ?? []), p])
  const specs: ChartSpec[] = []
  const several = byMoney.size > 1
  for (const [money, group] of byMoney) {
    const suffix = several ? `-${group[0]!.costs.currency.toLowerCase()}` : ''
    const bars = group.flatMap(({result, costs: c}) => c.targets.map((t) => ({name: `${t.measurement.target}${results.length > 1 ? ` (${resultLabel(result)})` : ''}`, t})))
    const part = (pick: (t: TargetCost) => number | undefined) => bars.map((b) => pick(b.t) ?? null)
    specs.push({
      id: `cost${suffix}`,
      title: `Cost per million generated tokens (${money})`,
      config: {
        type: 'bar',
        data: {
          labels: bars.map((b) => b.name),
          datasets: [
            {label: 'electricity (owned)', backgroundColor: COLORS[2], stack: 'owned', data: part((t) => t.owned?.electricity?.perMtok.amount)},
            {label: 'hardware (owned)', backgroundColor: COLORS[0], stack: 'owned', data: part((t) => t.owned?.amortizationPerMtok.amount)},
            {label: 'rental', backgroundColor: COLORS[1], stack: 'rental', data: part((t) => t.rental?.perMtok.amount)},
            {label: 'hosted', backgroundColor: COLORS[3], stack: 'hosted', data: part((t) => (t.hosted?.perMtokOutput ?? t.hosted?.perMtokTotal)?.amount)},
          ],
        },
        options: {...chartOptions(money), scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true, title: {display: true, text: money}}}},
      },
    })
    const owned = bars.filter((b) => b.t.owned)
    if (owned.length > 0) {
      const base = owned[0]!.t.owned!.purchase.to.period.text
      specs.push({
        id: `cpi${suffix}`,
        title: `Hardware price in its year and in ${base} money (${money}; each bar: year paid, CPI series and index)`,
        config: {
          type: 'bar',
          data: {
            labels: owned.map((b) => {
              const p = b.t.owned!.purchase
              return `${b.name}: ${p.from.period.text} (${p.series.name} ${p.from.value} -> ${p.to.value})`
            }),
            datasets: [
              {label: 'paid (in the money of its year)', backgroundColor: COLORS[7], data: owned.map((b) => b.t.owned!.purchase.amount)},
              {label: `in ${base} money`, backgroundColor: COLORS[0], data: owned.map((b) => b.t.owned!.purchase.result.amount)},
            ],
          },
          options: chartOptions(group[0]!.costs.currency),
        },
      })
    }
    const even = bars.find((b) => b.t.breakEven)
    if (even) {
      const be = even.t.breakEven!
      const end = Math.max(be.capacityTokensPerMonth, (be.breakEvenTokensPerMonth ?? 0) * 2) || 1e6
      const points = Array.from({length: 21}, (_, i) => (end * i) / 20)
      specs.push({
        id: `break-even${suffix}`,
        title: `Monthly cost vs volume, ${even.name} (${money}; break-even ${be.breakEvenTokensPerMonth === null ? 'never' : `${formatTokens(be.breakEvenTokensPerMonth)} tokens/month${be.reachable ? '' : ', above capacity'}`})`,
        config: {
          type: 'line',
          data: {
            datasets: [
              {label: 'owned: amortization + electricity', borderColor: COLORS[0], pointRadius: 0, data: points.map((x) => ({x: x / 1e6, y: be.amortizationPerMonth.amount + (be.energyPerMtok.amount * x) / 1e6}))},
              {label: 'hosted', borderColor: COLORS[3], pointRadius: 0, data: points.map((x) => ({x: x / 1e6, y: (be.hostedPerMtok.amount * x) / 1e6}))},
            ],
          },
          options: {...chartOptions(money), scales: {x: {type: 'linear', title: {display: true, text: 'million generated tokens per month'}}, y: {beginAtZero: true, title: {display: true, text: `${money} per month`}}}},
        },
      })
    }
  }
  return specs
}
