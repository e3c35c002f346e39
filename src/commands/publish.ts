import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {UserError} from '../errors/errors.js'
import {type CompareFile, publishSite, type PublishSummary} from '../site/publish.js'

export default class Publish extends BaseCommand {
  static override summary = 'Publish results as a static site: a sortable leaderboard, one page per result, comparisons and results.json.'

  static override description = `Any static host serves the site (every link is relative; .nojekyll for GitHub Pages). Results are grouped by model file hash, quantization, suite version, hardware and backend; exact duplicates are dropped and different suite versions are never ranked together. Hostnames, user names, home paths, private addresses and API keys are redacted (--include-host keeps the hostname). Re-publishing rewrites only what changed.`

  static override examples = [
    {description: 'Every result under a directory', command: '<%= config.bin %> <%= command.id %> owbench-results/ --out site/'},
    {description: 'With a comparison page and a commit to gh-pages (not pushed)', command: '<%= config.bin %> <%= command.id %> owbench-results/ --out site/ --compare home.json,rented.json --git gh-pages'},
  ]

  static override args = {results: Args.string({description: 'Result files or directories of them (searched recursively for *.json).', required: true})}
  static override strict = false

  static override flags = {
    out: Flags.string({char: 'o', summary: 'Directory to write the site to.', default: 'reports/site'}),
    'base-url': Flags.string({summary: 'Absolute URL the site will be served from (canonical links, sitemap.xml, URLs in results.json).'}),
    compare: Flags.string({summary: 'Two result files, comma-separated, to give a comparison page (repeatable); FILE#TARGET@LOAD picks a side\'s target and load level (e.g. a.json#local@c1) where a file has several.', multiple: true, multipleNonGreedy: true}),
    git: Flags.string({summary: 'Commit the site as the whole tree of this branch of the current repository (never pushed).'}),
    'include-host': Flags.boolean({summary: 'Keep the hostname of each result (user names, paths, private addresses and keys are still redacted).', default: false}),
    force: Flags.boolean({summary: 'Publish into a non-empty directory that is not an owbench site.', default: false}),
    'allow-implausible': Flags.boolean({summary: 'Publish results whose achieved memory bandwidth exceeds the machine\'s limit (above 100% of it: the bytes per token or the speed is wrong); refused otherwise.', default: false}),
  }

  public async run(): Promise<PublishSummary> {
    const {argv, flags} = await this.parse(Publish)
    const compare = (flags.compare ?? []).map((pair) => {
      const files = pair.split(',').map((f) => f.trim())
      if (files.length !== 2 || files.some((f) => f === '')) throw new UserError(`--compare ${pair} is not two files`, 'give two result files separated by a comma, e.g. --compare a.json,b.json')
      return [compareFile(files[0]!), compareFile(files[1]!)] as const
    })
    const summary = await publishSite({
      inputs: argv as string[],
      out: flags.out,
      baseUrl: flags['base-url'],
      includeHost: flags['include-host'],
      force: flags.force,
      allowImplausible: flags['allow-implausible'],
      compare,
      git: flags.git,
      warn: (line) => this.logToStderr(`warning: ${line}`),
    })
    if (!this.jsonEnabled()) {
      const f = summary.files
      this.log(
        [
          `published ${summary.results} results to ${summary.out}: ${summary.boards} boards, ${summary.groups} hardware groups${summary.comparisons ? `, ${summary.comparisons} comparisons` : ''}`,
          `files: ${f.written} written, ${f.unchanged} unchanged, ${f.removed} removed${summary.skipped.length + summary.duplicates.length > 0 ? `; skipped ${summary.skipped.length} unusable and ${summary.duplicates.length} duplicate files` : ''}`,
          ...(summary.git ? [summary.git.changed ? `committed to branch ${summary.git.branch}: ${summary.git.commit.slice(0, 12)} (not pushed)` : `branch ${summary.git.branch} already holds this site (${summary.git.commit.slice(0, 12)}); nothing committed`] : []),
        ].join('\n'),
      )
    }
    return summary
  }
}

/** `a.json`, `a.json#local`, `a.json#@c4`, `a.json#endpoint@r2.5`. */
function compareFile(spec: string): CompareFile {
  const hash = spec.lastIndexOf('#')
  if (hash < 0) return {file: spec}
  const [target, load] = spec.slice(hash + 1).split('@')
  return {file: spec.slice(0, hash), ...(target ? {target} : {}), ...(load ? {load} : {})}
}
