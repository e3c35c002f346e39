import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {type Comparison, COMPARE_METRICS, type CompareMetric, compareResults} from '../compare/compare.js'
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
  }

  public async run(): Promise<Comparison> {
    const {args, flags} = await this.parse(Compare)
    const [a, b] = await Promise.all([readResult(args.a), readResult(args.b)])
    const comparison = compareResults(a, b, {metric: flags.metric as CompareMetric, test: flags.test, labels: [args.a, args.b]})
    if (!this.jsonEnabled()) {
      const line = (s: Comparison['a']) => `  ${s.label}: ${s.n} values, mean ${s.mean.toPrecision(5)} ${comparison.unit}, sd ${s.sd.toPrecision(3)}`
      this.log([`${comparison.metric} on ${comparison.test} (${comparison.better} is better)`, line(comparison.a), line(comparison.b), comparison.verdict, ...comparison.warnings.map((w) => `warning: ${w}`)].join('\n'))
    }
    return comparison
  }
}
