import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {type Inflation, inflate, parseAmount} from '../cost/inflation.js'

export default class Inflate extends BaseCommand {
  static override summary = 'Convert a price from one year (or month) into another year\'s money by CPI.'

  static override description = `price x CPI(to) / CPI(from). US CPI-U (annual 1913-2025, monthly from 1913-01) and UK CPI (annual 1988-2023) ship with owbench; --cpi takes your own annual series as a CSV of year,index rows.
A month (--from 1995-08) uses the monthly index where the series has one. --to defaults to the series' newest year and may be earlier than --from (deflation).`

  static override examples = [
    {description: 'What $1,000 in 1995 is in 2025 dollars', command: '<%= config.bin %> <%= command.id %> 1000 --from 1995'},
    {description: 'A Commodore 64 at launch (August 1982), with monthly precision', command: '<%= config.bin %> <%= command.id %> 595 --from 1982-08'},
    {description: 'UK prices, as JSON', command: '<%= config.bin %> <%= command.id %> 500 --from 2000 --cpi uk --json'},
  ]

  static override args = {
    amount: Args.string({description: 'The price to convert, e.g. 1000 or 1,999.99.', required: true}),
  }

  static override flags = {
    from: Flags.string({summary: 'Year (1995) or month (1995-08) the price is from.', required: true}),
    to: Flags.string({summary: 'Year or month to express it in (default: the newest year of the series).'}),
    cpi: Flags.string({summary: 'CPI series: us, uk, or the path of a year,index CSV.', default: 'us'}),
    currency: Flags.string({summary: 'Currency of a --cpi CSV series (ISO 4217, default USD).'}),
  }

  public async run(): Promise<Inflation> {
    const {args, flags} = await this.parse(Inflate)
    const result = await inflate(parseAmount(args.amount), {from: flags.from, to: flags.to, cpi: flags.cpi, currency: flags.currency})
    if (!this.jsonEnabled()) this.log(result.line)
    for (const note of result.notes) this.note(note)
    return result
  }
}
