import type {z} from 'zod'

/**
 * One line naming the field that is wrong, e.g. `tests[2].nPrompt: expected a positive integer`.
 * Union failures are unwrapped to the branch that got furthest, since "Invalid input" names nothing.
 */
export function describeZodError(error: z.ZodError): string {
  const issue = deepestIssue(error.issues)
  if (!issue) return 'invalid'
  return `${formatPath(issue.path)}: ${issue.message}`
}

type Issue = z.core.$ZodIssue

function deepestIssue(issues: readonly Issue[], prefix: PropertyKey[] = []): (Issue & {path: PropertyKey[]}) | undefined {
  let best: (Issue & {path: PropertyKey[]}) | undefined
  for (const issue of issues) {
    const path = [...prefix, ...issue.path]
    let candidate: (Issue & {path: PropertyKey[]}) | undefined = {...issue, path}
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      for (const branch of issue.errors) {
        const inner = deepestIssue(branch, path)
        if (inner && (candidate.code === 'invalid_union' || inner.path.length > candidate.path.length)) candidate = inner
      }
    }
    if (!best || candidate.path.length > best.path.length) best = candidate
  }
  return best
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out ? `.${String(key)}` : String(key)
  }
  return out || '(top level)'
}
