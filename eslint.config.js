import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import layers from './scripts/eslint-layers.js';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'out/', 'coverage/', 'artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Each layer imports only its own and those below it (scripts/eslint-layers.js).
    files: ['**/*.ts', '**/*.tsx', '**/*.mjs'],
    plugins: { layers },
    rules: { 'layers/allowed-imports': 'error' },
  },
  {
    // core/ and state-machines/ run anywhere: no Electron, React, DOM or UI imports.
    files: ['core/**/*.ts', 'state-machines/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['electron', 'electron/*'], message: 'core/ must not import Electron' },
            {
              group: ['react', 'react-dom', 'react/*', 'react-dom/*'],
              message: 'core/ must not import React',
            },
            {
              group: ['**/renderer/**', '**/electron/**', '**/web/**', '**/cli/**'],
              message: 'core/ must not import outer layers',
            },
          ],
        },
      ],
    },
  },
);
