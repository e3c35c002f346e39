#!/usr/bin/env node
// Regenerates the committed JSON Schemas from the zod schemas (run `npm run build` first):
// schemas/result.schema.json (a result file) and schemas/site-index.schema.json (a published site's results.json).
import {writeFileSync} from 'node:fs'
import {resultJsonSchema} from '../dist/results/json-schema.js'
import {siteIndexJsonSchema} from '../dist/site/site-index.js'

writeFileSync(new URL('../schemas/result.schema.json', import.meta.url), `${JSON.stringify(resultJsonSchema(), null, 2)}\n`)
writeFileSync(new URL('../schemas/site-index.schema.json', import.meta.url), `${JSON.stringify(siteIndexJsonSchema(), null, 2)}\n`)
