import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The native llama.cpp addon is loaded in several files; forks keep each in its own process.
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 300_000,
  },
})
