import {createHash} from 'node:crypto'
import {readFile, readdir} from 'node:fs/promises'
import path from 'node:path'
import {UserError} from '../errors/errors.js'
import {packageRoot} from '../paths/paths.js'
import {type Suite, SuiteFileSchema, type SuiteTest, testId} from './schema.js'
import {describeZodError} from './zod-issue.js'

export const builtinSuiteDir = path.join(packageRoot, 'benchmarks')

export interface LoadedSuite {
  suite: Suite
  source: {kind: 'builtin' | 'file'; path: string}
  /** sha256 of the normalized suite: two results ran the same tests exactly when these match. */
  sha256: string
}

export async function builtinSuiteNames(): Promise<string[]> {
  const files = await readdir(builtinSuiteDir)
  return files.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort()
}

/** A built-in suite by name (`quick`), or a suite file by path (anything with a slash or `.json`). */
export async function loadSuite(nameOrPath: string): Promise<LoadedSuite> {
  const isPath = nameOrPath.endsWith('.json') || nameOrPath.includes('/') || nameOrPath.includes(path.sep)
  let file: string
  if (isPath) {
    file = path.resolve(nameOrPath)
  } else {
    const names = await builtinSuiteNames()
    if (!names.includes(nameOrPath)) {
      throw new UserError(`unknown suite "${nameOrPath}"`, `use one of ${names.join(', ')}, or pass the path of a suite .json file`)
    }
    file = path.join(builtinSuiteDir, `${nameOrPath}.json`)
  }
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new UserError(`cannot read suite file ${file} (${code ?? String(error)})`, 'check the path passed to --suite')
  }
  const suite = parseSuite(text, file)
  return {suite, source: {kind: isPath ? 'file' : 'builtin', path: file}, sha256: suiteHash(suite)}
}

export function parseSuite(text: string, origin: string): Suite {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new UserError(`suite ${origin} is not valid JSON: ${(error as Error).message}`, 'fix the JSON syntax')
  }
  const parsed = SuiteFileSchema.safeParse(raw)
  if (!parsed.success) {
    throw new UserError(`suite ${origin} is malformed: ${describeZodError(parsed.error)}`, 'see benchmarks/quick.json for a valid suite')
  }
  const file = parsed.data
  const tests: SuiteTest[] = file.tests.map((t) => {
    const repetitions = ('repetitions' in t && t.repetitions) || file.repetitions
    const levels = 'concurrency' in t && t.concurrency ? {concurrency: t.concurrency} : {}
    switch (t.kind) {
      case 'chat':
        return {id: t.id, kind: 'chat', messages: t.messages, maxTokens: t.maxTokens, ignoreEos: t.ignoreEos, ...levels, repetitions}
      case 'pp':
        return {id: testId(t), kind: 'pp', nPrompt: t.nPrompt, ...depthOf(t), ...levels, repetitions}
      case 'tg':
        return {id: testId(t), kind: 'tg', nGen: t.nGen, ...depthOf(t), ...levels, repetitions}
      case 'pg':
        return {id: testId(t), kind: 'pg', nPrompt: t.nPrompt, nGen: t.nGen, ...depthOf(t), ...levels, repetitions}
    }
  })
  const seen = new Set<string>()
  tests.forEach((t, i) => {
    if (seen.has(t.id)) throw new UserError(`suite ${origin} is malformed: tests[${i}]: duplicate test "${t.id}"`, 'each test may appear once; raise "repetitions" instead')
    seen.add(t.id)
  })
  return {name: file.name, version: file.version, description: file.description, repetitions: file.repetitions, warmup: file.warmup, tests}
}

/** A depth of 0 is no depth: left out, so a suite without depths hashes as it always did. */
function depthOf(test: {depth?: number}): {depth?: number} {
  return test.depth ? {depth: test.depth} : {}
}

export function suiteHash(suite: Suite): string {
  return createHash('sha256').update(JSON.stringify(suite)).digest('hex')
}

/**
 * Tokens one sequence of a test needs in the context at once, its depth included (llama-bench's
 * n_ctx = n_depth + n_prompt + n_gen); chat prompts are only known after tokenizing, so they count maxTokens here.
 */
export function contextNeeded(test: SuiteTest): number {
  switch (test.kind) {
    case 'pp':
      return (test.depth ?? 0) + test.nPrompt
    case 'tg':
      return (test.depth ?? 0) + 1 + test.nGen
    case 'pg':
      return (test.depth ?? 0) + test.nPrompt + test.nGen
    case 'chat':
      return test.maxTokens
  }
}
