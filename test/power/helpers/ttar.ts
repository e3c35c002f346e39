import fs from 'node:fs'
import path from 'node:path'

/**
 * Extracts a ttar text archive (the format of the prometheus/procfs test fixtures): records of
 * `Directory:` / `Path:` + `Lines: N` + N lines / `SymlinkTo:`, each followed by `Mode:` and
 * separated by `# ttar - - -` lines. Modes are not applied: tests run as root, where they would
 * not stop a read anyway, and read-only files would block the tests' own writes.
 */
export function extractTtar(archive: string, into: string): void {
  const lines = fs.readFileSync(archive, 'utf8').split('\n')
  let i = 0
  while (i < lines.length) {
    const line = lines[i]!
    if (line.startsWith('Directory: ')) {
      fs.mkdirSync(path.join(into, line.slice('Directory: '.length)), {recursive: true})
      i++
    } else if (line.startsWith('Path: ')) {
      const file = path.join(into, line.slice('Path: '.length))
      const next = lines[i + 1] ?? ''
      if (next.startsWith('SymlinkTo: ')) {
        fs.mkdirSync(path.dirname(file), {recursive: true})
        fs.symlinkSync(next.slice('SymlinkTo: '.length), file)
        i += 2
        continue
      }
      const count = Number(/^Lines: (\d+)$/.exec(next)?.[1])
      if (!Number.isInteger(count)) throw new Error(`ttar: no Lines: after ${line}`)
      const content = lines.slice(i + 2, i + 2 + count)
      fs.mkdirSync(path.dirname(file), {recursive: true})
      fs.writeFileSync(file, content.length > 0 ? `${content.join('\n')}\n` : '')
      i += 2 + count
    } else {
      i++
    }
  }
}
