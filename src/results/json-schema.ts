import {z} from 'zod'
import {ResultFileSchema, SCHEMA_VERSION} from './schema.js'

/** The published JSON Schema of a result file (schemas/result.schema.json), generated from the zod schema. */
export function resultJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(ResultFileSchema, {target: 'draft-2020-12', io: 'output'}),
    $id: `https://owbench.dev/schemas/result.v${SCHEMA_VERSION}.schema.json`,
    title: 'owbench result file',
  }
}
