// Lint fixture (test/lint/layers.test.ts): metrics importing the layer above it, which `npm run lint` must reject.
import {RECORD} from '../results/record.js'

export const UPWARD = RECORD
