/**
 * The layer rule (`layers/allowed-imports`): which part of the code may import which.
 *
 * Lowest first; a file may import files of its own layer and of the layers before it, never
 * one above it, so that a change to a feature cannot reach down and tangle the foundation:
 *
 *   foundation   core/db, core/time.ts, core/random.ts, core/paths.ts, core/crash-points.ts
 *   card         core/card, core/rules                       (the card and the number rules)
 *   device       device, core/terminal, core/ledger          (readers; the terminal side of the
 *                                                              card; the ledger's books)
 *   services     core/host, core/pos, core/bank, state-machines
 *   qa           core/faults, core/scenario, core/conformance, core/reader-interface,
 *                core/reader-interface-service
 *   api          core/api
 *   shells       cli, web, electron
 *
 * state-machines/ are pure: besides each other and xstate they see only types from core/.
 * renderer/ sees only the Api contract's types (`import type` from core/api) and the pure
 * machines. Tests (`*.test.ts`, test/, e2e/, bench/) may import anything.
 *
 * Besides layers, production code under core/ and device/ must not import a dev dependency
 * (the packaged app does not ship them): fast-check, vitest, playwright-core … are for tests.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.dirname(path.dirname(new URL(import.meta.url).pathname));

export const LAYERS = [
  {
    name: 'foundation',
    paths: ['core/db/', 'core/time.ts', 'core/random.ts', 'core/paths.ts', 'core/crash-points.ts'],
  },
  { name: 'card', paths: ['core/card/', 'core/rules/'] },
  { name: 'device', paths: ['device/', 'core/terminal/', 'core/ledger/'] },
  { name: 'services', paths: ['core/host/', 'core/pos/', 'core/bank/', 'state-machines/'] },
  {
    name: 'qa',
    paths: [
      'core/faults/',
      'core/scenario/',
      'core/conformance/',
      'core/reader-interface/',
      'core/reader-interface-service/',
    ],
  },
  { name: 'api', paths: ['core/api/'] },
  { name: 'shells', paths: ['cli/', 'web/', 'electron/'] },
];

const TEST_FILE = /(\.test\.tsx?$|^(test|e2e|bench)\/)/;

export function layerOf(rel) {
  return LAYERS.findIndex((l) => l.paths.some((p) => (p.endsWith('/') ? rel.startsWith(p) : rel === p)));
}

const devDependencies = Object.keys(
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).devDependencies ?? {},
);

function packageName(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Why `from` may not import `to` (paths relative to the repository), or null when it may. */
export function importProblem(from, to, typeOnly) {
  if (TEST_FILE.test(from)) return null;
  if (from.startsWith('renderer/')) {
    if (to.startsWith('renderer/') || to.startsWith('state-machines/')) return null;
    if (to.startsWith('core/api/') && typeOnly) return null;
    return `renderer/ may import only types from core/api/ and the pure machines in state-machines/, not ${to}`;
  }
  if (from.startsWith('state-machines/')) {
    if (to.startsWith('state-machines/')) return null;
    if (to.startsWith('core/') && typeOnly && layerOf(to) >= 0 && layerOf(to) <= layerOf(from)) return null;
    return `state-machines/ are pure: they may import only types from core/ below them, not ${to}`;
  }
  const mine = layerOf(from);
  if (mine < 0) return null;
  const theirs = layerOf(to);
  if (theirs < 0) {
    if (LAYERS[mine].name === 'shells' && to.startsWith('renderer/')) return null;
    return `${LAYERS[mine].name} code (${from}) may not import ${to}: it is outside the product's layers`;
  }
  if (theirs > mine) {
    return `the ${LAYERS[mine].name} layer may not import the ${LAYERS[theirs].name} layer above it (${to}); see scripts/eslint-layers.js`;
  }
  return null;
}

const allowedImports = {
  meta: {
    type: 'problem',
    docs: { description: 'each layer imports only its own layer and those below it' },
    schema: [],
  },
  create(context) {
    const file = path.relative(ROOT, context.filename).split(path.sep).join('/');
    const production = !TEST_FILE.test(file);
    const guardsDevDeps = production && (file.startsWith('core/') || file.startsWith('device/'));
    function check(node, source, typeOnly) {
      if (!source || typeof source.value !== 'string') return;
      const spec = source.value;
      if (spec.startsWith('.')) {
        const to = path
          .relative(ROOT, path.resolve(path.dirname(context.filename), spec))
          .split(path.sep)
          .join('/');
        const problem = importProblem(file, to, typeOnly);
        if (problem) context.report({ node: source, message: problem });
      } else if (guardsDevDeps && devDependencies.includes(packageName(spec)) && !typeOnly) {
        context.report({
          node: source,
          message: `${file} is product code and may not import the dev dependency ${packageName(spec)}`,
        });
      }
    }
    const allTypes = (node) =>
      node.importKind === 'type' ||
      node.exportKind === 'type' ||
      (node.specifiers?.length > 0 &&
        node.specifiers.every((s) => s.importKind === 'type' || s.exportKind === 'type'));
    return {
      ImportDeclaration: (node) => check(node, node.source, allTypes(node)),
      ExportNamedDeclaration: (node) => check(node, node.source, allTypes(node)),
      ExportAllDeclaration: (node) => check(node, node.source, node.exportKind === 'type'),
      ImportExpression: (node) => check(node, node.source, false),
      TSImportType: (node) => check(node, node.argument?.literal ?? node.argument, true),
    };
  },
};

export default { rules: { 'allowed-imports': allowedImports } };
