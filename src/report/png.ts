import {createCanvas} from '@napi-rs/canvas'
import {Chart, registerables} from 'chart.js'
import type {ChartSpec} from './charts.js'
import {chartPlugins} from './chart-plugins.js'

Chart.register(...registerables)

// PNGs are shared on white pages and forums: paint the background, chart.js leaves it transparent.
const whiteBackground = {
  id: 'owbenchWhiteBackground',
  beforeDraw(chart: Chart) {
    const {ctx, width, height} = chart
    ctx.save()
    ctx.fillStyle = '#ffffff'
    ctx.fillRect(0, 0, width, height)
    ctx.restore()
  },
}

/** One chart as a PNG, server-side on @napi-rs/canvas; scale 2 for high-density screens. */
export function renderChartPng(spec: ChartSpec, options: {width?: number; height?: number; scale?: number} = {}): Buffer {
  const width = options.width ?? 900
  const height = options.height ?? 450
  const scale = options.scale ?? 1
  // chart.js multiplies the canvas by devicePixelRatio itself.
  const canvas = createCanvas(width, height)
  const config = structuredClone(spec.config)
  config.options = {...config.options, devicePixelRatio: scale, plugins: {...config.options?.plugins, title: {display: true, text: spec.title}}}
  config.plugins = [whiteBackground, ...chartPlugins()]
  const chart = new Chart(canvas as unknown as ConstructorParameters<typeof Chart>[0], config)
  const png = canvas.toBuffer('image/png')
  chart.destroy()
  return png
}
