import type {ChartConfiguration} from 'chart.js'
import type {ResultCosts, TargetCost} from '../cost/result-costs.js'
import type {ResultFile} from '../results/schema.js'
import {energyFigure, label, reportRows, targetName} from './rows.js'

/** A chart as plain data: the same config renders to PNG on the server and live in the HTML report. */
export interface ChartSpec {
  id: string
  title: string
  config: ChartConfiguration
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f']

/** The charts a set of results supports: throughput and latency always, energy and power when measured. */
export function chartSpecs(results: readonly ResultFile[]): ChartSpec[] {
  const {rows} = reportRows(results)
  const series = [...new Map(rows.map((r) => [`${r.result.id}/${r.target.id}`, r])).values()]
  const tests = [...new Set(rows.map((r) => r.row.test))]
  const name = (r: (typeof rows)[number]) => (results.length > 1 ? `${targetName(r.target)} (${label(r.result)})` : targetName(r.target))
  const pick = (s: (typeof rows)[number], test: string) => rows.find((r) => r.result === s.result && r.target.id === s.target.id && r.row.test === test && r.row.concurrency === 1) ?? rows.find((r) => r.result === s.result && r.target.id === s.target.id && r.row.test === test)
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
            data: tests.map((t) => pick(s, t)?.row.metrics.tokens_per_second?.mean ?? null),
            // ±1 sample sd, drawn by the owbenchErrorBars plugin.
            errorBars: tests.map((t) => {
              const stats = pick(s, t)?.row.metrics.tokens_per_second
              return stats ? [stats.mean - stats.sd, stats.mean + stats.sd] : null
            }),
          })),
        },
        // The axis must reach the top whisker, not just the tallest bar.
        options: withSuggestedMax(chartOptions('tokens / s'), Math.max(0, ...rows.map((r) => (r.row.metrics.tokens_per_second ? r.row.metrics.tokens_per_second.mean + r.row.metrics.tokens_per_second.sd : 0)))),
      },
    },
    {
      id: 'latency',
      title: 'Time to first token and time per output token (p50 and p95, ms)',
      config: {
        type: 'bar',
        data: {
          labels: tests,
          datasets: series.flatMap((s, i) => [
            {label: `${name(s)} TTFT p50`, backgroundColor: COLORS[i % COLORS.length], data: tests.map((t) => pick(s, t)?.row.metrics.ttft_ms?.median ?? null)},
            {label: `${name(s)} TTFT p95`, backgroundColor: `${COLORS[i % COLORS.length]}bb`, data: tests.map((t) => pick(s, t)?.row.metrics.ttft_ms?.p95 ?? null)},
            {label: `${name(s)} TPOT p50`, backgroundColor: `${COLORS[i % COLORS.length]}77`, data: tests.map((t) => pick(s, t)?.row.metrics.tpot_ms?.median ?? null)},
            {label: `${name(s)} TPOT p95`, backgroundColor: `${COLORS[i % COLORS.length]}44`, data: tests.map((t) => pick(s, t)?.row.metrics.tpot_ms?.p95 ?? null)},
          ]),
        },
        options: chartOptions('ms'),
      },
    },
  ]
  if (rows.some((r) => r.row.concurrency > 1)) {
    const lines = [...new Map(rows.filter((r) => r.row.rate === undefined).map((r) => [`${r.result.id}/${r.target.id}/${r.row.test}`, r])).values()]
    specs.push({
      id: 'concurrency',
      title: 'Aggregate throughput vs requests in flight (output tokens/s, mean over phases)',
      config: {
        type: 'line',
        data: {
          datasets: lines.map((l, i) => ({
            label: `${name(l)} ${l.row.test}`,
            borderColor: COLORS[i % COLORS.length],
            data: rows
              .filter((r) => r.result === l.result && r.target.id === l.target.id && r.row.test === l.row.test && r.row.rate === undefined && r.row.metrics.aggregate_tps)
              .map((r) => ({x: r.row.concurrency, y: r.row.metrics.aggregate_tps!.mean})),
          })),
        },
        options: {...chartOptions('tokens / s'), scales: {x: {type: 'linear', title: {display: true, text: 'concurrency'}}, y: {beginAtZero: true, title: {display: true, text: 'tokens / s'}}}},
      },
    })
  }
  const costed = results.filter((r) => r.cost)
  if (costed.length > 0) {
    const bars = costed.flatMap((r) => ((r.cost as unknown as ResultCosts).targets ?? []).map((t) => ({name: `${t.measurement.target}${results.length > 1 ? ` (${label(r)})` : ''}`, t})))
    const money = (costed[0]!.cost as unknown as ResultCosts).money
    const part = (pick: (t: TargetCost) => number | undefined) => bars.map((b) => pick(b.t) ?? null)
    specs.push({
      id: 'cost',
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
      const purchase = owned[0]!.t.owned!.purchase
      specs.push({
        id: 'cpi',
        title: `Hardware price in its year and in ${purchase.to.period.text} money (${purchase.series.name}: ${purchase.from.value} -> ${purchase.to.value})`,
        config: {
          type: 'bar',
          data: {
            labels: owned.map((b) => b.name),
            datasets: [
              {label: `paid (${purchase.from.period.text})`, backgroundColor: COLORS[7], data: owned.map((b) => b.t.owned!.purchase.amount)},
              {label: `in ${purchase.to.period.text} money`, backgroundColor: COLORS[0], data: owned.map((b) => b.t.owned!.purchase.result.amount)},
            ],
          },
          options: chartOptions(purchase.result.currency),
        },
      })
    }
    const even = bars.find((b) => b.t.breakEven)
    if (even) {
      const be = even.t.breakEven!
      const end = Math.max(be.capacityTokensPerMonth, (be.breakEvenTokensPerMonth ?? 0) * 2) || 1e6
      const points = Array.from({length: 21}, (_, i) => (end * i) / 20)
      specs.push({
        id: 'break-even',
        title: `Monthly cost vs volume, ${even.name} (${money}; break-even ${be.breakEvenTokensPerMonth === null ? 'never' : `${(be.breakEvenTokensPerMonth / 1e6).toFixed(1)} M tokens/month`})`,
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
  if (rows.some((r) => energyFigure(r.row))) {
    specs.push({
      id: 'energy',
      title: 'Energy per token (J/token, gross; boundary and method in the legend)',
      config: {
        type: 'bar',
        data: {
          labels: tests,
          datasets: series.map((s, i) => {
            const any = tests.map((t) => pick(s, t)).find((r) => r && energyFigure(r.row))
            const e = any ? energyFigure(any.row) : undefined
            return {label: `${name(s)}${e ? ` [${e.boundary}, ${e.method}]` : ''}`, backgroundColor: COLORS[i % COLORS.length], data: tests.map((t) => {
              const r = pick(s, t)
              return r ? (energyFigure(r.row)?.jPerToken ?? null) : null
            })}
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
    const idle = result.summary.find((r) => r.energy?.idle)?.energy?.idle?.series ?? []
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
      title: `Power timeline, ${label(result)} (W; shaded: prefill orange, decode blue${idle.some((w) => w.watts !== null) ? '; dashed: idle baseline' : ''})`,
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
  return `${w.toFixed(1)} W`
}

function withSuggestedMax(options: NonNullable<ChartConfiguration['options']>, max: number): NonNullable<ChartConfiguration['options']> {
  return {...options, scales: {...options.scales, y: {...options.scales?.y, suggestedMax: max}}}
}

function chartOptions(unit: string): NonNullable<ChartConfiguration['options']> {
  return {
    animation: false,
    responsive: false,
    plugins: {legend: {position: 'bottom'}},
    scales: {y: {beginAtZero: true, title: {display: true, text: unit}}},
  }
}
