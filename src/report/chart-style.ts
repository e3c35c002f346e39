import type {ChartConfiguration} from 'chart.js'

/** The colours of every chart's series, in order (matplotlib's tab10, which reads in print and for most colour blindness). */
export const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f']

/** Options every chart shares: no animation (the PNG renders one frame), fixed size, legend below, a y axis named by its unit. */
export function chartOptions(unit: string): NonNullable<ChartConfiguration['options']> {
  return {
    animation: false,
    responsive: false,
    plugins: {legend: {position: 'bottom'}},
    scales: {y: {beginAtZero: true, title: {display: true, text: unit}}},
  }
}
