/** Number formatting shared by every text report, so a figure reads the same everywhere. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(unit === 0 ? 0 : 2)} ${units[unit]}`
}

export function formatParameters(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} K`
  return String(n)
}

/**
 * The one number formatter of every report, page and message: two decimals, or three significant
 * figures below 1 (1234.56, 1.23, 0.0123). Kept as source text so the site's leaderboard script
 * formats with the very same code in the browser.
 */
export const FORMAT_NUMBER_SOURCE = `(value) => (Math.abs(value) >= 1 ? value.toFixed(2) : value.toPrecision(3))`
export const formatNumber = new Function(`return ${FORMAT_NUMBER_SOURCE}`)() as (value: number) => string

/**
 * A figure cut to the digits formatNumber shows (263.8499 -> 263.85, 0.012345 -> 0.0123), as a
 * number: what a compact store (the site's leaderboard data) keeps so that formatting it again gives
 * formatNumber's text of the full value, with no digit the data does not hold. Rounding to
 * significant figures first would print invented zeros (4962.27 -> 4962 -> "4962.00"); this never
 * does. Non-finite values stay as they are.
 */
export function displayedValue(value: number): number {
  return Number.isFinite(value) ? Number(formatNumber(value)) : value
}

/** A token volume: 1.25 B, 50.00 M, 1234. */
export function formatTokens(n: number): string {
  if (n >= 1e9) return `${formatNumber(n / 1e9)} B`
  if (n >= 1e6) return `${formatNumber(n / 1e6)} M`
  return `${Math.round(n)}`
}

/** A Markdown table padded for reading in a terminal: 'l' or 'r' alignment per column. */
export function markdownTable(header: readonly string[], align: readonly ('l' | 'r')[], rows: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`
  const rule = `| ${widths.map((w, i) => (align[i] === 'r' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`
  return [line(header), rule, ...rows.map(line)].join('\n')
}
