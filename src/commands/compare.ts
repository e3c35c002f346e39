import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {type Comparison, COMPARE_METRICS, type CompareMetric, compareResults} from '../compare/compare.js'
import {renderComparison} from '../compare/comparison-text.js'
import {UserError} from '../errors/errors.js'
import {readResult} from '../results/io.js'

export default class Compare extends BaseCommand {
  static override summary = 'Is B really faster (or more efficient) than A? Difference, 95% CI and Welch\'s t-test over repetitions.'

  static override examples = [
    {description: 'Generation speed of two machines', command: '<%= config.bin %> <%= command.id %> home.json rented.json'},
    {description: 'Energy per token on one test', command: '<%= config.bin %> <%= command.id %> a.json b.json --metric j_per_token --test tg128'},
  ]

  static override args = {
    a: Args.string({description: 'Result file A (the baseline).', required: true}),
    b: Args.string({description: 'Result file B.', required: true}),
  }

  static override flags = {
    metric: Flags.string({summary: 'What to compare.', options: [...COMPARE_METRICS], default: 'tg'}),
    test: Flags.string({summary: 'Test to compare (default: the first shared test that fits the metric).'}),
    target: Flags.string({summary: 'Target of each side: one id for both, or A,B (default: the only one a result has).'}),
    load: Flags.string({summary: 'Load level of each side, c4 or r2.5: one for both, or A,B (default: the only one measured).'}),
  }

  public async run(): Promise<Comparison> {
    const {args, flags} = await this.parse(Compare)
    const [a, b] = await Promise.all([readResult(args.a), readResult(args.b)])
    const [targetA, targetB] = pair(flags.target, '--target')
    const [loadA, loadB] = pair(flags.load, '--load')
    const comparison = compareResults(a, b, {metric: flags.metric as CompareMetric, test: flags.test, labels: [args.a, args.b], sides: [{target: targetA, load: loadA}, {target: targetB, load: loadB}]})
    if (!this.jsonEnabled()) this.log(renderComparison(comparison))
    return comparison
  }
}

/** `X` for both sides, or `A,B` for one each. */
function pair(value: string | undefined, flag: string): [string | undefined, string | undefined] {
  if (value === undefined) return [undefined, undefined]
  const parts = value.split(',').map((p) => p.trim())
  if (parts.length === 1 && parts[0]) return [parts[0], parts[0]]
  if (parts.length === 2 && parts[0] && parts[1]) return [parts[0], parts[1]]
  throw new UserError(`${flag} "${value}" is not one value or two separated by a comma`, `for example ${flag} local or ${flag} local,endpoint`)
}
