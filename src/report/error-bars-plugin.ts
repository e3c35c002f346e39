/**
 * A Chart.js plugin drawing ±1 sd whiskers from a dataset's `errorBars` ([low, high] per point).
 * Kept as source text so the PNG renderer and the HTML report run the very same code.
 */
export const ERROR_BARS_PLUGIN_SOURCE = `({
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
})`

/** The plugin as an object, for Chart.js in Node. */
export function errorBarsPlugin(): {id: string} {
  return new Function(`return ${ERROR_BARS_PLUGIN_SOURCE}`)() as {id: string}
}
