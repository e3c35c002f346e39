// Lint fixture (test/lint/layers.test.ts): results importing the layer below it, which is allowed.
import {FORMULA} from '../metrics/formula.js'

export const DOWNWARD = FORMULA
