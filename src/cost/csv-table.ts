import {UserError} from '../errors/errors.js'

/** One data row of a CSV file, with the 1-based line it started on so errors can name it. */
export interface CsvRow {
  line: number
  cells: Record<string, string>
}

export interface CsvTable {
  header: string[]
  rows: CsvRow[]
}

/**
 * RFC 4180 CSV: quoted cells may hold commas, doubled quotes and line breaks. The reference files
 * quote their source columns (which contain commas), one uses CRLF and one starts with a UTF-8 BOM,
 * so a split on commas and newlines would misread them.
 */
export function parseCsv(text: string, origin: string): CsvTable {
  const records = splitRecords(text.replace(/^\uFEFF/, ''), origin)
  const first = records.shift()
  if (!first || first.cells.every((c) => c.trim() === '')) throw new UserError(`${origin} is empty`, 'the first line must name the columns')
  const header = first.cells.map((c) => c.trim())
  const rows: CsvRow[] = []
  for (const record of records) {
    if (record.cells.length === 1 && record.cells[0]!.trim() === '') continue
    if (record.cells.length !== header.length) {
      throw new UserError(`${origin} line ${record.line}: ${record.cells.length} cells where the header has ${header.length}`, `every row needs the columns ${header.join(',')}`)
    }
    const cells: Record<string, string> = {}
    header.forEach((name, i) => (cells[name] = record.cells[i]!))
    rows.push({line: record.line, cells})
  }
  return {header, rows}
}

function splitRecords(text: string, origin: string): {line: number; cells: string[]}[] {
  const records: {line: number; cells: string[]}[] = []
  let cells: string[] = []
  let cell = ''
  let quoted = false
  let line = 1
  let recordLine = 1
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (ch === '"') {
        quoted = false
      } else {
        if (ch === '\n') line++
        cell += ch
      }
    } else if (ch === '"' && cell === '') {
      quoted = true
    } else if (ch === ',') {
      cells.push(cell)
      cell = ''
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++
      cells.push(cell)
      records.push({line: recordLine, cells})
      cells = []
      cell = ''
      line++
      recordLine = line
    } else {
      cell += ch
    }
  }
  if (quoted) throw new UserError(`${origin} line ${recordLine}: a quoted cell is never closed`, 'close the quote or remove it')
  if (cell !== '' || cells.length > 0) {
    cells.push(cell)
    records.push({line: recordLine, cells})
  }
  return records
}
