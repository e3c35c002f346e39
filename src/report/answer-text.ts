import {type ResultAnswer, sizeText, type TargetAnswer} from '../cost/answer.js'
import type {ResultFile} from '../results/schema.js'
import {formatNumber} from './format.js'
import {backendLabel, basisText, cellLabel, energyNote, energyText, targetName} from './labels.js'
import {limitText} from './limits-text.js'

/**
 * "The answer first": the paragraph that opens every report and result page, worded from a
 * ResultAnswer (src/cost/answer.ts), one sentence group per target. Plain text (terminal and
 * Markdown) here; HTML escapes the same text.
 */
export function answerParagraph(result: ResultFile, answer: ResultAnswer): string {
  return answer.targets.map((t) => targetSentences(result, t)).join(' ')
}

const money = (x: number) => (x >= 1 ? x.toFixed(2) : x.toPrecision(2))

function targetSentences(result: ResultFile, a: TargetAnswer): string {
  const target = result.targets.find((t) => t.id === a.target)!
  const who = target.kind === 'local' ? `This machine (${result.host.cpu.manufacturer} ${result.host.cpu.brand}${result.host.gpus.length > 0 ? `, ${result.host.gpus.map((g) => g.name ?? g.model).join(', ')}` : ''}; ${backendLabel(target)}) running ${targetName(target)}` : `${targetName(target)}`
  const size = a.parameters ? ` (${sizeText(a.parameters.count)} parameters${a.parameters.from === 'model name' ? ', by its name' : ''})` : ''
  if (!a.cell) return `${who}${size}: no answer: ${a.noCell}.`
  const cell = a.cell
  // Generated tokens per second: a tg test's t/s one request at a time (n_out / time), else the output tokens the level delivered (a pg or chat t/s also counts the prompt).
  const tps = cell.kind === 'tg' && cell.load.mode === 'concurrency' && cell.load.level === 1 ? cell.metrics.tokens_per_second?.repetitions?.mean : cell.metrics.aggregate_tps?.repetitions?.mean
  const speed = tps === undefined ? 'gives no generation rate' : `generates ${formatNumber(tps)} tokens/s`
  const e = cell.energy
  const energy =
    e.status === 'missing'
      ? `${e.code === 'no-power' ? 'no J/token' : `J/token ${energyText(e)}`}: ${e.reason}`
      : `${e.status === 'metered' ? formatNumber(e.jPerToken) : `${formatNumber(e.low)}–${formatNumber(e.high)}`} J ${basisText(e.basis)} [${energyNote(e)}]`
  const cost = 'missing' in a.cost ? `no $/Mtok: ${a.cost.missing}` : `${money(a.cost.perMtok)} per million generated tokens [${a.cost.money}; ${costBasisText(a.cost)}]`
  const parts = [`${who}${size} on ${cellLabel(cell)}: ${speed}, ${energy}, ${cost}.`]
  parts.push(hostedText(a))
  parts.push(datacenterText(a, e.status === 'missing' ? undefined : e.boundary))
  const sol = cell.speedOfLight
  if (sol?.status === 'ok') parts.push(`Memory: ${formatNumber(sol.achievedGBs)} GB/s read, ${sol.weightsOnly ? 'at least ' : ''}${formatNumber(sol.percent)}% of the bandwidth limit, ${limitText(sol.limit)}${sol.implausible ? ': IMPLAUSIBLE, faster than the memory can deliver' : ''}.`)
  else if (sol?.status === 'missing') parts.push(`No % of the bandwidth limit: ${sol.reason}.`)
  return parts.join(' ')
}

function costBasisText(cost: Extract<TargetAnswer['cost'], {perMtok: number}>): string {
  if (cost.basis === 'owned') return cost.withElectricity ? 'owned hardware amortized + electricity' : 'owned hardware amortized, electricity not included (no metered J per generated token)'
  return cost.basis === 'rental' ? 'rented by the hour' : 'hosted list price'
}

function range(values: readonly number[], format: (x: number) => string): string {
  const low = Math.min(...values)
  const high = Math.max(...values)
  return low === high ? format(low) : `${format(low)}–${format(high)}`
}

function hostedText(a: TargetAnswer): string {
  if ('missing' in a.hosted) return `Hosted: ${a.hosted.missing}.`
  const rows = a.hosted.rows
  const dates = [...new Set(rows.map((r) => r.as_of))].sort()
  return `Hosted, models of about ${a.hosted.size}: $${range(rows.map((r) => r.output_usd_per_mtok), money)} per million output tokens (input $${range(rows.map((r) => r.input_usd_per_mtok), money)}; ${rows.length} offer${rows.length === 1 ? '' : 's'} in data/hosted-prices.csv, list prices as of ${dates.at(-1)}, nominal USD).`
}

function datacenterText(a: TargetAnswer, ours: string | undefined): string {
  if ('missing' in a.datacenter) return `Datacenter (published): ${a.datacenter.missing}.`
  const rows = a.datacenter.rows
  const boundaries = [...new Set(rows.map((r) => r.boundary))]
  const batches = rows.flatMap((r) => (r.batch === undefined ? [] : [r.batch]))
  const sources = [...new Set(rows.map((r) => r.source.split(' (')[0]))]
  const differs = ours !== undefined && !boundaries.includes(ours) ? `; a different boundary from this figure's ${ours}` : ''
  return `Datacenter (published), models of about ${a.datacenter.size}: ${range(rows.map((r) => r.j_per_output_token!), formatNumber)} J per output token [${boundaries.join(', ')}${batches.length > 0 ? `, batch ${range(batches, String)}` : ''}; ${sources.join('; ')}${differs}].`
}
