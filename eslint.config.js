import js from '@eslint/js'
import boundaries from 'eslint-plugin-boundaries'
import tseslint from 'typescript-eslint'

/**
 * The layers of src/, top to bottom (README "Layout"). A folder may import its own files and the
 * folders of any layer below its own, never one above nor a sibling in its own layer: a formula
 * never knows who renders it, and the file format never knows who derives figures from it.
 */
export const LAYERS = [
  ['commands'],
  ['cloud'],
  ['cli', 'config'],
  ['site'],
  ['compare'],
  ['report'],
  ['runner'],
  ['engines', 'cost'],
  ['model'],
  ['derive'],
  ['results'],
  ['energy'],
  ['metrics'],
  ['suite', 'power', 'system'],
  ['paths', 'errors'],
]

const below = (index) => LAYERS.slice(index + 1).flat()

export default tseslint.config(
  {ignores: ['dist/', 'node_modules/', 'coverage/', 'reports/', 'test-artifacts/', 'owbench-results/', 'test/lint-fixtures/']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', performance: 'readonly', URL: 'readonly', fetch: 'readonly', AbortSignal: 'readonly', TextDecoder: 'readonly'},
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
    },
  },
  {
    files: ['src/**/*.ts', 'test/lint-fixtures/**/*.ts'],
    plugins: {boundaries},
    settings: {
      'boundaries/elements': LAYERS.flat().map((type) => ({type, pattern: [`src/${type}`, `test/lint-fixtures/src/${type}`]})),
      'import/resolver': {typescript: {project: './tsconfig.json'}},
    },
    rules: {
      'boundaries/dependencies': [
        2,
        {
          default: 'disallow',
          policies: LAYERS.flatMap((layer, i) => layer.map((type) => ({from: {element: {type}}, allow: {to: {element: {types: {anyOf: [type, ...below(i)]}}}}}))),
        },
      ],
    },
  },
)
