import {writeFile} from 'node:fs/promises'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {exportCsv} from '../report/csv.js'
import {exportMarkdown} from '../report/markdown.js'
import {readResult, serializeResult} from '../results/io.js'

export default class Report extends BaseCommand {
  static override summary = 'Render result files as Markdown, CSV or JSON (several files: a comparison).'

  static override examples = [
    {description: 'A Markdown report on stdout', command: '<%= config.bin %> <%= command.id %> owbench-results/*.json'},
    {description: 'One CSV row per test per target', command: '<%= config.bin %> <%= command.id %> a.json b.json --format csv --out results.csv'},
  ]

  static override args = {results: Args.string({description: 'Result files written by owbench run.', required: true})}
  static override strict = false

  static override flags = {
    format: Flags.string({summary: 'Output format.', options: ['md', 'csv', 'json'], default: 'md'}),
    out: Flags.string({char: 'o', summary: 'Output file; - for stdout.', default: '-'}),
  }

  public async run(): Promise<{format: string; out: string; results: number}> {
    const {argv, flags} = await this.parse(Report)
    const results = []
    for (const file of argv as string[]) results.push(await readResult(file))
    const text = flags.format === 'csv' ? exportCsv(results) : flags.format === 'json' ? serializeResult(results as never) : exportMarkdown(results)
    if (flags.out === '-') {
      if (!this.jsonEnabled()) process.stdout.write(text)
    } else {
      await writeFile(flags.out, text)
      this.note(`report written to ${flags.out}`)
    }
    return {format: flags.format, out: flags.out, results: results.length}
  }
}
