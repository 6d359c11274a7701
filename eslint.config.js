// Lint rules, including the layering: runtime and nodes never import UI or HTTP frameworks, the runtime never
// imports the packages built on it, the API contract is pure (zod and the runtime's pure modules), and the editor
// reaches the runtime only through its pure modules and the server only through the contract and HTTP.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const frameworks = [
  'react',
  'react-dom',
  'react/*',
  'react-dom/*',
  '@xyflow/*',
  'express',
  'express/*',
  'socket.io',
  'socket.io-client',
  'helmet',
  'better-sqlite3',
  'monaco-editor',
  'zustand',
];
const framework = {
  group: frameworks,
  message: 'runtime/ and nodes/ are headless: no UI, HTTP or storage frameworks (STYLE.md §1).',
};
const upper = {
  group: [
    '@finflow/server',
    '@finflow/server/*',
    '@finflow/editor',
    '@finflow/editor/*',
    '@finflow/templates',
    '@finflow/templates/*',
  ],
  message: 'dependencies point one way: server and editor build on runtime and nodes, never the reverse.',
};

export default defineConfig(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'coverage/**',
      'bench/results/**',
      'test/e2e/screenshots/**',
      // Packages that tests scaffold and remove again.
      '.tmp-*/**',
      '**/*.d.ts',
      '**/*.d.mts',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['nodes/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [framework, upper] }] },
  },
  {
    files: ['runtime/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            framework,
            upper,
            {
              group: ['@finflow/nodes', '@finflow/nodes/*', '@finflow/sdk', '@finflow/sdk/*', '**/nodes/**'],
              message:
                'the runtime knows node types only through the registry; nodes depend on the runtime, not the reverse.',
            },
          ],
        },
      ],
    },
  },
  {
    // The contract is bundled into the editor: zod and the runtime's pure modules only.
    files: ['contract/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@finflow/runtime',
              message:
                "the contract may import the runtime's pure modules only (@finflow/runtime/ports, /document, /events, ...).",
            },
          ],
          patterns: [
            framework,
            upper,
            {
              group: [
                '@finflow/nodes',
                '@finflow/nodes/*',
                '@finflow/sdk',
                '@finflow/sdk/*',
                '**/nodes/**',
                '**/runtime/src/**',
                '**/server/src/**',
              ],
              message: 'the contract describes the API; it holds no node, runtime or server code.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['editor/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@finflow/runtime',
              message:
                'the editor may import the pure runtime modules (@finflow/runtime/ports, /document, /evaluation, ...) only: never the executor.',
            },
          ],
          patterns: [
            {
              group: [
                '@finflow/nodes',
                '@finflow/nodes/*',
                '@finflow/sdk',
                '@finflow/sdk/*',
                '**/nodes/**',
                '**/runtime/src/**',
              ],
              message: 'the editor gets a catalog, not node code: talk to the server.',
            },
            {
              group: [
                '@finflow/server',
                '@finflow/server/*',
                '**/server/src/**',
                'express',
                'better-sqlite3',
                'langchain',
                '@langchain/*',
                'tesseract.js',
              ],
              message: 'the editor talks to the server over HTTP and socket.io only.',
            },
          ],
        },
      ],
    },
  },
);
