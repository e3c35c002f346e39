import {readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {Ajv} from 'ajv'

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'skypilot')

/**
 * Python's inline flag group `(?i:X)` (in SkyPilot's `infra` pattern) as a JavaScript pattern that
 * matches the same strings: the group becomes `(?:X)` with every letter outside a character class
 * turned into a two-case class.
 */
export function pythonPatternToJs(pattern) {
  let out = ''
  let depthCaseless = 0
  const stack = []
  let inClass = false
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]
    if (ch === '\\') {
      out += ch + (pattern[i + 1] ?? '')
      i++
      continue
    }
    if (inClass) {
      if (ch === ']') inClass = false
      out += ch
      continue
    }
    if (ch === '[') {
      inClass = true
      out += ch
      continue
    }
    if (pattern.startsWith('(?i:', i)) {
      stack.push(true)
      depthCaseless++
      out += '(?:'
      i += 3
      continue
    }
    if (ch === '(') {
      stack.push(false)
      out += ch
      continue
    }
    if (ch === ')') {
      if (stack.pop()) depthCaseless--
      out += ch
      continue
    }
    out += depthCaseless > 0 && /[a-z]/i.test(ch) ? `[${ch.toLowerCase()}${ch.toUpperCase()}]` : ch
  }
  return out
}

function load(file) {
  const schema = JSON.parse(readFileSync(path.join(dir, file), 'utf8'))
  // SkyPilot validates with Draft7Validator whatever $schema says (sky/utils/validator.py).
  delete schema.$schema
  return schema
}

function compile() {
  const ajv = new Ajv({strict: false, allErrors: true, code: {regExp: (pattern, flags) => new RegExp(pythonPatternToJs(pattern), flags)}})
  // sky/utils/validator.py: the two keywords SkyPilot adds to Draft 7.
  ajv.addKeyword({keyword: 'case_insensitive_enum', type: 'string', schemaType: 'array', validate: (enums, value) => enums.some((e) => e.toLowerCase() === value.toLowerCase())})
  ajv.addKeyword({keyword: 'case_sensitive_enum', type: 'string', schemaType: 'array', validate: (enums, value) => enums.includes(value)})
  return {task: ajv.compile(load('task.schema.json')), resources: ajv.compile(load('resources.schema.json'))}
}

let compiled

/**
 * The errors SkyPilot's own schemas find in a task (empty when valid), checked as SkyPilot checks
 * it: top-level None values dropped, the task schema, then `resources` with the resources schema.
 */
export function skypilotTaskErrors(task) {
  compiled ??= compile()
  if (typeof task !== 'object' || task === null || Array.isArray(task)) return ['the task is not a mapping']
  const config = Object.fromEntries(Object.entries(task).filter(([, v]) => v !== null && v !== undefined))
  const errors = []
  if (!compiled.task(config)) errors.push(...(compiled.task.errors ?? []).map((e) => `task${e.instancePath} ${e.message}`))
  const resources = config.resources
  if (resources !== undefined) {
    const r = typeof resources === 'object' && resources !== null ? Object.fromEntries(Object.entries(resources).filter(([, v]) => v !== null)) : resources
    if (!compiled.resources(r)) errors.push(...(compiled.resources.errors ?? []).map((e) => `resources${e.instancePath} ${e.message}`))
  }
  return errors
}
