/** Python's inline flag group `(?i:X)` rewritten for JavaScript (see skypilot-schema.mjs). */
export function pythonPatternToJs(pattern: string): string
/** The errors SkyPilot's own schemas find in a task, checked as SkyPilot checks it; empty when valid. */
export function skypilotTaskErrors(task: unknown): string[]
