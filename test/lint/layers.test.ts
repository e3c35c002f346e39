import path from 'node:path'
import {ESLint} from 'eslint'
import {describe, expect, it} from 'vitest'
import {repoRoot} from '../helpers/cli.js'

/**
 * `npm run lint` enforces the layers of src/ (eslint.config.js, README "Layout") with
 * eslint-plugin-boundaries. The fixtures under test/lint-fixtures/src are laid out like src/ and
 * linted here with the project's own configuration (plain `npm run lint` skips them, since one of
 * them is wrong on purpose).
 */
describe('layers', () => {
  const lint = async (file: string) => {
    const eslint = new ESLint({cwd: repoRoot, ignore: false})
    const [report] = await eslint.lintFiles([path.join(repoRoot, 'test', 'lint-fixtures', 'src', file)])
    return report!.messages.map((m) => `${m.ruleId}: ${m.message}`)
  }

  it('rejects an import that runs back up a layer', async () => {
    expect(await lint('metrics/upward.ts')).toEqual(['boundaries/dependencies: There is no policy allowing dependencies from elements of type "metrics" to elements of type "results"'])
  }, 60_000)

  it('allows an import down the layers', async () => {
    expect(await lint('results/downward.ts')).toEqual([])
  }, 60_000)

  it('src itself has no upward import', async () => {
    const eslint = new ESLint({cwd: repoRoot})
    const reports = await eslint.lintFiles([path.join(repoRoot, 'src')])
    expect(reports.flatMap((r) => r.messages.filter((m) => m.ruleId === 'boundaries/dependencies').map((m) => `${path.relative(repoRoot, r.filePath)}: ${m.message}`))).toEqual([])
  }, 120_000)
})
