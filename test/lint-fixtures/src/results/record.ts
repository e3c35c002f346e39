// Lint fixture (test/lint/layers.test.ts): a module of the results layer.
export const RECORD = 'record'
