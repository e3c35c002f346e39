import {distance} from 'fastest-levenshtein'

/**
 * The few candidates nearest to what the user typed, for a one-line "did you mean" instead of a
 * list of hundreds. A candidate is compared by each of its names (a litellm key and its last
 * `/` segment, a country code and its name), case-insensitively: one that starts with or contains
 * the query (or the query's last `/` segment) ranks first (by how little it adds), then the others
 * by Levenshtein distance, kept only when the distance is at most 40% of the query's length (at least 1). Returns at most
 * `limit` candidates, nearest first, ties in the candidates' order.
 */
export function closeMatches<T>(query: string, candidates: readonly T[], names: (candidate: T) => readonly string[], limit = 3): T[] {
  const wanted = query.trim().toLowerCase()
  if (!wanted) return []
  const scored: {candidate: T; score: number; index: number}[] = []
  candidates.forEach((candidate, index) => {
    let best = Number.POSITIVE_INFINITY
    for (const name of names(candidate)) {
      const lower = name.toLowerCase()
      // The whole query against the whole name and its last segment; the query's last segment against the name's.
      for (const [typed, form] of [[wanted, lower], [wanted, lastSegment(lower)], [lastSegment(wanted), lastSegment(lower)]] as const) {
        // Containing what was typed: ranked before every edit, the shorter (closer) first.
        if (!typed) continue
        const score = form.includes(typed) ? (form.length - typed.length) / 1e6 - 1 : withinTolerance(distance(typed, form), typed.length)
        best = Math.min(best, score)
      }
    }
    if (Number.isFinite(best)) scored.push({candidate, score: best, index})
  })
  return scored
    .sort((a, b) => a.score - b.score || a.index - b.index)
    .slice(0, limit)
    .map((s) => s.candidate)
}

/** Edits as a share of what was typed, kept when at most 40% of it (at least 1 edit); Infinity otherwise. */
function withinTolerance(edits: number, typedLength: number): number {
  return edits <= Math.max(1, Math.floor(typedLength * 0.4)) ? edits / typedLength : Number.POSITIVE_INFINITY
}

/** The last `/` segment of a name (`openrouter/openai/gpt-oss-20b`: `gpt-oss-20b`). */
function lastSegment(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1) || name
}

/** Choices few enough to name them all in a one-line hint. */
const LISTED_IN_FULL = 8

/**
 * The hint of an unknown choice, one short line: every choice when there are a few (`use one of
 * Lambda, RunPod`), else up to three close matches and where the full list is (`did you mean
 * "a", "b" or "c"? all 412 are in /path/data/hosted-prices.csv`).
 */
export function choiceHint(matches: readonly string[], all: readonly string[], where: string): string {
  if (all.length <= LISTED_IN_FULL) return `use one of ${all.join(', ')}`
  const total = all.length
  const list = matches.map((m) => `"${m}"`)
  const named = list.length <= 1 ? list.join('') : `${list.slice(0, -1).join(', ')} or ${list.at(-1)}`
  return `${named ? `did you mean ${named}? ` : 'no close match; '}all ${total} are in ${where}`
}
