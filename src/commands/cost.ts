import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {resolveCostInputs} from '../cost/cost-inputs.js'
import {UserError} from '../errors/errors.js'
import {costOfResult, type ResultCosts} from '../cost/result-costs.js'
import {renderCostTable} from '../report/cost-table.js'
import {readResult} from '../results/io.js'

export default class Cost extends BaseCommand {
  static override summary = 'Cost per million generated tokens of each target of result files: owned, rented and hosted, in constant money.'

  static override description = `Recomputed from the raw runs of each result: throughput over the generation tests, energy per token where power was sampled (run with a meter or --watts). Owned hardware: purchase price CPI-adjusted to the base year, amortized over --lifetime years at --hours-per-day, plus electricity (kWh/Mtok x tariff). Rented: price per hour over the measured throughput. Hosted: input and output prices blended by the input:output token mix of the generation tests at the highest load measured (the requests the throughput comes from). Break-even: tokens a month at which owning costs as much as the hosted price.`

  static override examples = [
    {description: 'A $2,000 box bought in 2024, 4 years at 6 h/day, paying $0.35/kWh (2024), the German grid\'s carbon, against a hosted price', command: '<%= config.bin %> <%= command.id %> owbench-results/run.json --price 2000 --purchased 2024 --lifetime 4 --hours-per-day 6 --tariff 0.35 --tariff-year 2024 --grid DEU --hosted openrouter/openai/gpt-oss-20b --tokens-per-month 50000000'},
    {description: 'The same box on the US residential tariff of data/electricity-prices.csv (a region\'s tariff must be in the CPI series\' currency: owbench converts no currencies)', command: '<%= config.bin %> <%= command.id %> owbench-results/run.json --price 2000 --purchased 2024 --region US'},
    {description: 'A rented GPU at $2.49/h', command: '<%= config.bin %> <%= command.id %> run.json --rent-per-hour 2.49'},
  ]

  static override args = {
    results: Args.string({description: 'Result files written by owbench run.', required: true}),
  }

  static override strict = false

  static override flags = {
    price: Flags.string({summary: 'Purchase price of the machine, in the money of --purchased.'}),
    purchased: Flags.string({summary: 'Year (2024) or month (2024-03) of purchase.'}),
    lifetime: Flags.string({summary: 'Years the machine is used (default 4).'}),
    'hours-per-day': Flags.string({summary: 'Hours a day it spends generating, (0-24] (default 8).'}),
    resale: Flags.string({summary: 'What it sells for at the end, in base-year money.'}),
    tariff: Flags.string({summary: 'Electricity price per kWh (default: --region\'s newest published price).'}),
    'tariff-year': Flags.string({summary: 'Year or month of --tariff (default: the base year).'}),
    region: Flags.string({summary: 'Region of the default tariff (data/electricity-prices.csv; default US).'}),
    'rent-per-hour': Flags.string({summary: 'Rental price per hour of the measured machine.'}),
    rent: Flags.string({summary: 'A reference rental price, PROVIDER:GPU (data/gpu-rental-prices.csv).'}),
    hosted: Flags.string({summary: 'A reference hosted price to compare with (litellm key of data/hosted-prices.csv).'}),
    grid: Flags.string({summary: 'Grid for carbon: a country (DEU, FR, France) or cloud region (gcp:europe-west9).'}),
    'tokens-per-month': Flags.string({summary: 'Your volume, for the payback time.'}),
    cpi: Flags.string({summary: 'CPI series: us, uk, or a year,index CSV (default us).'}),
    'base-year': Flags.string({summary: 'Express money in this year\'s prices (default: the series\' newest year).'}),
  }

  public async run(): Promise<{results: {file: string; costs: ResultCosts}[]}> {
    const {argv, flags} = await this.parse(Cost)
    const given = definedOnly({
      cpi: flags.cpi,
      baseYear: flags['base-year'],
      price: number(flags.price, '--price'),
      purchased: flags.purchased,
      lifetime: number(flags.lifetime, '--lifetime'),
      hoursPerDay: number(flags['hours-per-day'], '--hours-per-day'),
      resale: number(flags.resale, '--resale'),
      tariff: number(flags.tariff, '--tariff'),
      tariffYear: flags['tariff-year'],
      region: flags.region,
      rentPerHour: number(flags['rent-per-hour'], '--rent-per-hour'),
      rent: flags.rent,
      hosted: flags.hosted,
      grid: flags.grid,
      tokensPerMonth: number(flags['tokens-per-month'], '--tokens-per-month'),
    })
    const results: {file: string; costs: ResultCosts}[] = []
    for (const file of argv as string[]) {
      const result = await readResult(file)
      // Inputs stored by `owbench run` apply unless a flag says otherwise: the result alone recomputes.
      const costs = costOfResult(result, await resolveCostInputs({...result.costInputs, ...given}))
      results.push({file, costs})
      if (!this.jsonEnabled()) this.log(`${argv.length > 1 ? `${file}\n` : ''}${renderCostTable(costs)}\n`)
    }
    return {results}
  }
}

function definedOnly<T extends Record<string, unknown>>(record: T): Partial<T> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as Partial<T>
}

function number(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined
  const value = Number(text.replace(/[,_$€£]/g, ''))
  if (!Number.isFinite(value)) throw new UserError(`${flag} must be a number, not "${text}"`, `for example ${flag} 2000`)
  return value
}
