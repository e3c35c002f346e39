// Lint fixture (test/lint/layers.test.ts): a module of the metrics layer, below results.
export const FORMULA = 'formula'
