/**
 * owbench's Chart.js plugins, kept as source text so the PNG renderer and the HTML report run the
 * very same code: ±1 sd whiskers from a dataset's `errorBars` ([low, high] per point), and shaded
 * prefill/decode windows from `options.plugins.owbenchPhases.windows` ([{from, to, phase}] in x units).
 */
export const CHART_PLUGINS_SOURCE = `[{
  id: 'owbenchErrorBars',
  afterDatasetsDraw(chart) {
    const ctx = chart.ctx
    const y = chart.scales.y
    chart.data.datasets.forEach((dataset, i) => {
      const bars = dataset.errorBars
      const meta = chart.getDatasetMeta(i)
      if (!bars || meta.hidden) return
      ctx.save()
      ctx.strokeStyle = '#333'
      ctx.lineWidth = 1.5
      meta.data.forEach((element, j) => {
        const range = bars[j]
        if (!range) return
        const x = element.x
        const top = y.getPixelForValue(range[1])
        const bottom = y.getPixelForValue(range[0])
        const half = Math.min(8, (element.width || 16) / 4)
        ctx.beginPath()
        ctx.moveTo(x, top); ctx.lineTo(x, bottom)
        ctx.moveTo(x - half, top); ctx.lineTo(x + half, top)
        ctx.moveTo(x - half, bottom); ctx.lineTo(x + half, bottom)
        ctx.stroke()
      })
      ctx.restore()
    })
  },
}, {
  id: 'owbenchPhases',
  beforeDatasetsDraw(chart, _args, options) {
    const windows = options && options.windows
    if (!windows || !chart.scales.x) return
    const ctx = chart.ctx
    const area = chart.chartArea
    const colors = {prefill: 'rgba(255, 127, 14, 0.18)', decode: 'rgba(31, 119, 180, 0.12)'}
    ctx.save()
    for (const w of windows) {
      const left = Math.max(area.left, chart.scales.x.getPixelForValue(w.from))
      const right = Math.min(area.right, chart.scales.x.getPixelForValue(w.to))
      if (right <= left) continue
      ctx.fillStyle = colors[w.phase] || 'rgba(0, 0, 0, 0.08)'
      ctx.fillRect(left, area.top, right - left, area.bottom - area.top)
    }
    ctx.restore()
  },
}]`

/** The plugins as objects, for Chart.js in Node. */
export function chartPlugins(): {id: string}[] {
  return new Function(`return ${CHART_PLUGINS_SOURCE}`)() as {id: string}[]
}
