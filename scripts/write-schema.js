#!/usr/bin/env node
// Regenerates schemas/result.schema.json from the zod schema (run `npm run build` first).
import {writeFileSync} from 'node:fs'
import {resultJsonSchema} from '../dist/results/json-schema.js'

writeFileSync(new URL('../schemas/result.schema.json', import.meta.url), `${JSON.stringify(resultJsonSchema(), null, 2)}\n`)
