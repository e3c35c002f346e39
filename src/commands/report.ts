import {mkdir, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {UserError} from '../errors/errors.js'
import {costsOfResults} from '../cost/report-costs.js'
import {answerOf, loadAnswerReferences} from '../cost/answer.js'
import type {EnergyReferenceRow, ResultCosts} from '../results/cost-schema.js'
import {chartSpecs} from '../report/charts.js'
import {exportCsv} from '../report/csv.js'
import {exportHtml} from '../report/html.js'
import {renderChartPng} from '../report/png.js'
import {exportMarkdown} from '../report/markdown.js'
import {deriveResult} from '../derive/derive.js'
import {readResult, serializeResult} from '../results/io.js'
import type {ResultFile} from '../results/schema.js'

export default class Report extends BaseCommand {
  static override summary = 'Render result files as Markdown, CSV, JSON, HTML (one self-contained page) or PNG charts (several files: a comparison).'

  static override examples = [
    {description: 'A Markdown report on stdout', command: '<%= config.bin %> <%= command.id %> owbench-results/*.json'},
    {description: 'One CSV row per test per target', command: '<%= config.bin %> <%= command.id %> a.json b.json --format csv --out results.csv'},
  ]

  static override args = {results: Args.string({description: 'Result files written by owbench run.', required: true})}
  static override strict = false

  static override flags = {
    format: Flags.string({summary: 'Output format: md, csv, json, html (one self-contained file) or png (a directory of charts).', options: ['md', 'csv', 'json', 'html', 'png'], default: 'md'}),
    out: Flags.string({char: 'o', summary: 'Output file (a directory for png); - for stdout.', default: '-'}),
    scale: Flags.integer({summary: 'PNG pixel density (1 or 2).', min: 1, max: 3, default: 2}),
  }

  public async run(): Promise<{format: string; out: string; results: number}> {
    const {argv, flags} = await this.parse(Report)
    const results = []
    for (const file of argv as string[]) results.push(await readResult(file))
    // Cost derived from each result's stored inputs, one base year per currency.
    const {costs, notes} = await costsOfResults(results)
    const references = await loadAnswerReferences()
    const energyReference = references.energyReference
    const answers = results.map((r, i) => answerOf(r, costs[i], references))
    if (flags.format === 'png') {
      if (flags.out === '-') throw new UserError('--format png writes one file per chart', 'give a directory with --out, e.g. --out charts/')
      await writeCharts(results, {costs, energyReference}, flags.out, flags.scale, flags.out)
      this.note(`charts written to ${flags.out}`)
      return {format: flags.format, out: flags.out, results: results.length}
    }
    const text =
      flags.format === 'csv'
        ? exportCsv(results)
        : flags.format === 'json'
          ? serializeResult(results.map((r, i) => withDerived(r, costs[i])))
          : flags.format === 'html'
            ? exportHtml(results, {png: (spec) => renderChartPng(spec, {scale: 1}), costs, costNotes: notes, energyReference, answers})
            : exportMarkdown(results, {answers, charts: flags.out === '-' ? undefined : await writeCharts(results, {costs, energyReference}, path.join(path.dirname(flags.out), 'charts'), flags.scale, path.dirname(flags.out))})
    if (flags.out === '-') {
      if (!this.jsonEnabled()) process.stdout.write(text)
    } else {
      await writeFile(flags.out, text)
      this.note(`report written to ${flags.out}`)
    }
    return {format: flags.format, out: flags.out, results: results.length}
  }
}

/** PNG charts into `dir`, returned with paths relative to `from` (for Markdown links beside them). */
async function writeCharts(results: ResultFile[], data: {costs: (ResultCosts | undefined)[]; energyReference: readonly EnergyReferenceRow[]}, dir: string, scale: number, from: string): Promise<{title: string; file: string}[]> {
  await mkdir(dir, {recursive: true})
  const written = []
  for (const spec of chartSpecs(results, data)) {
    const file = path.join(dir, `${spec.id}.png`)
    await writeFile(file, renderChartPng(spec, {scale}))
    written.push({title: spec.title, file: path.relative(from, file).split(path.sep).join('/')})
  }
  return written
}

/** A result with its derived caches as this owbench derives them (format json): never the stored ones. */
function withDerived(result: ResultFile, cost: ResultCosts | undefined): ResultFile {
  const {cost: _stored, ...rest} = result
  return {...rest, summary: deriveResult(result), ...(cost ? {cost} : {})}
}
