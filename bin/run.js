#!/usr/bin/env node
// Errors are one line each when stderr is a file or pipe (logs, CI): oclif would wrap them at 80 columns.
if (!process.stderr.isTTY && !process.env.OCLIF_COLUMNS) process.env.OCLIF_COLUMNS = '100000'

const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
