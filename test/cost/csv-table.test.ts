import {describe, expect, it} from 'vitest'
import {parseCsv} from '../../src/cost/csv-table.js'
import {loadCsvRows} from '../../src/cost/reference-data.js'
import {z} from 'zod'
import {UserError} from '../../src/errors/errors.js'

describe('CSV parsing', () => {
  it('reads quoted cells with commas, doubled quotes and line breaks, CRLF and a BOM', () => {
    const table = parseCsv('\uFEFFa,b\r\n1,"x, ""y"""\r\n2,"two\nlines"\r\n', 't.csv')
    expect(table.header).toEqual(['a', 'b'])
    expect(table.rows).toEqual([
      {line: 2, cells: {a: '1', b: 'x, "y"'}},
      {line: 3, cells: {a: '2', b: 'two\nlines'}},
    ])
  })

  it('names the line of a malformed row', () => {
    expect(() => parseCsv('a,b\n1,2\n3\n', 't.csv')).toThrow('t.csv line 3: 1 cells where the header has 2')
    expect(() => parseCsv('a,b\n1,"2\n', 't.csv')).toThrow('t.csv line 2: a quoted cell is never closed')
  })

  it('every shipped CSV parses with its columns (hosted-prices.csv uses CRLF, cloud-region-carbon.csv a BOM)', async () => {
    const any = z.record(z.string(), z.string())
    expect(await loadCsvRows('hosted-prices.csv', any)).toHaveLength(46)
    const cloud = await loadCsvRows('cloud-region-carbon.csv', any)
    expect(Object.keys(cloud[0]!)).toContain('provider')
    expect(await loadCsvRows('gpu-rental-prices.csv', any)).toHaveLength(14)
    expect(await loadCsvRows('energy-reference.csv', any)).toHaveLength(16)
    expect(await loadCsvRows('electricity-prices.csv', any)).toHaveLength(13)
    expect(await loadCsvRows('hardware-reference.csv', any)).toHaveLength(8)
  })

  it('a row failing its schema names the file, line and column', async () => {
    const error = await loadCsvRows('electricity-prices.csv', z.object({region: z.string().regex(/^US$/, 'expected US')})).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UserError)
    expect((error as UserError).message).toBe('data/electricity-prices.csv line 11: region: expected US')
  })
})
