import fs from 'node:fs'
import path from 'node:path'
import {packageRoot} from '../paths/paths.js'

/** data/cpu-tdp.csv: CodeCarbon's CPU TDP table (see data/SOURCES.md). */
export const CPU_TDP_CSV = path.join(packageRoot, 'data', 'cpu-tdp.csv')

export interface TdpRow {
  name: string
  tdpWatts: number
}

export type TdpMatch =
  | {matched: true; row: TdpRow; normalized: string; rule: 'exact' | 'tokens'}
  | {matched: false; normalized: string; reason: string; candidates?: TdpRow[]}

/** Reads `Name,TDP` rows; names may be quoted (they can hold commas). */
export function parseTdpCsv(text: string): TdpRow[] {
  const rows: TdpRow[] = []
  for (const line of text.split(/\r?\n/).slice(1)) {
    if (line.trim() === '') continue
    const m = /^(?:"((?:[^"]|"")*)"|([^,]*)),\s*([0-9.]+)\s*$/.exec(line)
    if (!m) continue
    rows.push({name: (m[1] ?? m[2] ?? '').replace(/""/g, '"').trim(), tdpWatts: Number(m[3])})
  }
  return rows
}

let cached: TdpRow[] | undefined

export function loadTdpTable(file = CPU_TDP_CSV): TdpRow[] {
  if (file === CPU_TDP_CSV && cached) return cached
  const rows = parseTdpCsv(fs.readFileSync(file, 'utf8'))
  if (file === CPU_TDP_CSV) cached = rows
  return rows
}

/**
 * A CPU brand string reduced to the words that name the model: trademarks, 'CPU', 'Processor',
 * core counts, clock speeds, generation prefixes and 'with Radeon Graphics' tails go.
 * 'Intel(R) Core(TM) i9-13900K CPU @ 3.00GHz' -> 'intel core i9-13900k';
 * 'AMD EPYC 7763 64-Core Processor' -> 'amd epyc 7763'.
 */
export function normalizeCpuName(name: string): string {
  return name
    .toLowerCase()
    .replace(/\((r|tm|c)\)|®|™/g, ' ')
    .replace(/@\s*[\d.]+\s*[gm]hz/g, ' ')
    .replace(/\b\d+(st|nd|rd|th) gen(eration)?\b/g, ' ')
    .replace(/\b(\d+|dual|quad|six|eight)-cores?\b/g, ' ')
    .replace(/\bwith radeon( \w+)? graphics\b/g, ' ')
    .replace(/\b(cpu|processor|apu)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
}

function tokens(normalized: string): string[] {
  return normalized.split(' ').filter((t) => t !== '')
}

/** Words a brand string may carry beyond a row's name without naming a different chip. */
const NOISE_WORDS = new Set(['mobile', 'dual', 'quad', 'six', 'eight', 'core', 'cores', 'family'])

/**
 * Finds the TDP row of a CPU brand string, deterministically. An exact match of the normalized
 * names wins. Otherwise a row matches when its words are the brand's words (any order) and the
 * brand has no word left over but noise: a left-over word can name another chip ('Apple M1 Max'
 * is not an 'Apple M1'), so such a near match is refused with its reason, never taken.
 */
export function matchCpuTdp(brand: string, table: readonly TdpRow[]): TdpMatch {
  const normalized = normalizeCpuName(brand)
  if (normalized === '') return {matched: false, normalized, reason: 'empty CPU model string'}
  const exact = table.filter((r) => normalizeCpuName(r.name) === normalized)
  if (exact.length > 0) return {matched: true, row: exact.sort((a, b) => a.name.localeCompare(b.name))[0]!, normalized, rule: 'exact'}
  const words = new Set(tokens(normalized))
  const matches: {row: TdpRow; extra: string[]}[] = []
  for (const row of table) {
    const rowWords = tokens(normalizeCpuName(row.name))
    if (rowWords.length === 0 || !rowWords.some((w) => /\d/.test(w)) || !rowWords.every((w) => words.has(w))) continue
    matches.push({row, extra: [...words].filter((w) => !rowWords.includes(w) && !NOISE_WORDS.has(w))})
  }
  const clean = matches.filter((m) => m.extra.length === 0)
  if (clean.length === 0) {
    const near = matches.sort((a, b) => a.extra.length - b.extra.length || a.row.name.localeCompare(b.row.name))[0]
    const reason = near
      ? `'${brand}' only partly matches '${near.row.name}' in data/cpu-tdp.csv (extra words: ${near.extra.join(' ')}), which may be another chip`
      : `no row of data/cpu-tdp.csv matches '${brand}'`
    return {matched: false, normalized, reason, ...(near ? {candidates: [near.row]} : {})}
  }
  const tdps = new Set(clean.map((m) => m.row.tdpWatts))
  if (tdps.size > 1) return {matched: false, normalized, reason: `'${brand}' matches rows with different TDPs: ${clean.map((m) => `${m.row.name} (${m.row.tdpWatts} W)`).join(', ')}`, candidates: clean.map((m) => m.row)}
  return {matched: true, row: clean.map((m) => m.row).sort((a, b) => a.name.localeCompare(b.name))[0]!, normalized, rule: 'tokens'}
}
