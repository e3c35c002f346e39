/**
 * The Prometheus text exposition format (0.0.4), as vLLM, SGLang and llama-server's /metrics send
 * it: `# HELP`/`# TYPE` lines and samples `name{label="value",...} value [timestamp]`, label values
 * escaped with \\, \" and \n, values including NaN and ±Inf. (npm's parse-prometheus-text-format
 * 1.1.1, the one parser there, merges a labelled histogram's series into one and drops its _sum and
 * _count — its open issue #13 — which is every vLLM histogram, so owbench reads the format itself.)
 */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Exposition {
  samples: Sample[]
  /** Declared type per metric family (counter, gauge, histogram, summary, untyped). */
  types: Map<string, string>
}

/** Parses an exposition; throws an Error naming the line for text that is not the format. */
export function parsePrometheusText(text: string): Exposition {
  const samples: Sample[] = []
  const types = new Map<string, string>()
  const lines = text.split('\n')
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim()
    if (line === '') continue
    if (line.startsWith('#')) {
      const m = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line)
      if (m) types.set(m[1]!, m[2]!.toLowerCase())
      continue
    }
    const sample = parseSample(line)
    if (!sample) throw new Error(`line ${index + 1} is not a Prometheus sample: ${line.slice(0, 80)}`)
    samples.push(sample)
  }
  return {samples, types}
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/

function parseSample(line: string): Sample | undefined {
  const name = NAME.exec(line)?.[0]
  if (!name) return undefined
  let i = name.length
  const labels: Record<string, string> = {}
  if (line[i] === '{') {
    i++
    while (true) {
      while (line[i] === ' ' || line[i] === ',') i++
      if (line[i] === '}') {
        i++
        break
      }
      const label = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i))?.[0]
      if (!label || line[i + label.length] !== '=' || line[i + label.length + 1] !== '"') return undefined
      i += label.length + 2
      let value = ''
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\') {
          const next = line[i + 1]
          value += next === 'n' ? '\n' : (next ?? '')
          i += 2
        } else {
          value += line[i++]
        }
      }
      if (line[i] !== '"') return undefined
      i++
      labels[label] = value
    }
  }
  const [valueText] = line.slice(i).trim().split(/\s+/)
  const value = parseValue(valueText ?? '')
  return value === undefined ? undefined : {name, labels, value}
}

function parseValue(text: string): number | undefined {
  if (text === 'NaN') return Number.NaN
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined
  return Number(text)
}
