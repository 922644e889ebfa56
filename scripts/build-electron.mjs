#!/usr/bin/env node
// Builds the desktop app into dist/ (what electron-builder packages and `npm start` launches):
//   dist/electron/main.cjs     the main process with the core's TypeScript sources bundled in;
//                              only electron and the native modules stay outside
//   dist/electron/preload.cjs  the sandboxed preload: one CommonJS file requiring only electron
//   dist/renderer/             index.html, app.js, app.css (renderer/build.ts)
import { mkdirSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { tsImport } from 'tsx/esm/api';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Loaded by require() from node_modules at run time (rebuilt for Electron's ABI). */
export const MAIN_EXTERNALS = ['electron', 'better-sqlite3', 'smartcard', 'sockopt'];

// The core finds its files relative to import.meta.url; a CommonJS bundle has none, so it
// becomes the bundle's own file URL (dist/electron/main.cjs).
const IMPORT_META_URL_SHIM =
  'const __sscard_import_meta_url = require("node:url").pathToFileURL(__filename).href;';

/**
 * `ws` (the reader service's WebSocket) tries to require two optional native speed-ups inside a
 * try/catch and does without them. They are not shipped: bundle a stand-in that throws, so ws
 * takes its JavaScript path and main.cjs requires nothing beyond MAIN_EXTERNALS.
 */
const OPTIONAL_ABSENT = {
  name: 'optional-absent',
  setup(b) {
    b.onResolve({ filter: /^(bufferutil|utf-8-validate)$/ }, (a) => ({
      path: a.path,
      namespace: 'optional-absent',
    }));
    b.onLoad({ filter: /.*/, namespace: 'optional-absent' }, (a) => ({
      contents: `throw new Error(${JSON.stringify(`${a.path} is not shipped with SSCard Lab`)});`,
      loader: 'js',
    }));
  },
};

/** The modules a bundle still requires at run time, from esbuild's metafile. */
function runtimeImports(metafile, outfile) {
  const out = Object.entries(metafile.outputs).find(([path]) => resolve(ROOT, path) === resolve(outfile));
  return [...new Set((out?.[1].imports ?? []).filter((i) => i.external).map((i) => i.path))].sort();
}

export async function buildElectron({
  outdir = `${ROOT}dist`,
  minify = false,
  quiet = false,
  renderer = true,
} = {}) {
  const started = Date.now();
  rmSync(`${outdir}/electron`, { recursive: true, force: true });
  mkdirSync(`${outdir}/electron`, { recursive: true });
  if (renderer) {
    rmSync(`${outdir}/renderer`, { recursive: true, force: true });
    mkdirSync(`${outdir}/renderer`, { recursive: true });
  }

  const common = {
    absWorkingDir: ROOT,
    bundle: true,
    format: 'cjs',
    minify,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  };
  const mainFile = `${outdir}/electron/main.cjs`;
  const preloadFile = `${outdir}/electron/preload.cjs`;
  const [main, preload] = await Promise.all([
    build({
      ...common,
      entryPoints: [`${ROOT}electron/main.ts`],
      outfile: mainFile,
      platform: 'node',
      target: 'node20',
      external: MAIN_EXTERNALS,
      plugins: [OPTIONAL_ABSENT],
      banner: { js: IMPORT_META_URL_SHIM },
      define: { 'import.meta.url': '__sscard_import_meta_url' },
    }),
    build({
      ...common,
      entryPoints: [`${ROOT}electron/preload.ts`],
      outfile: preloadFile,
      // A sandboxed preload has no Node: platform browser makes any Node import fail here.
      platform: 'browser',
      target: 'chrome120',
      external: ['electron'],
    }),
  ]);

  const preloadImports = runtimeImports(preload.metafile, preloadFile);
  if (preloadImports.join() !== 'electron')
    throw new Error(`preload.cjs must require only electron, it requires: ${preloadImports.join(', ')}`);
  const mainImports = runtimeImports(main.metafile, mainFile).filter((i) => !i.startsWith('node:'));
  const stray = mainImports.filter((i) => !MAIN_EXTERNALS.includes(i) && !isBuiltin(i));
  if (stray.length) throw new Error(`main.cjs requires modules that are not shipped: ${stray.join(', ')}`);

  if (renderer) {
    const { buildRenderer } = await tsImport(pathToFileURL(`${ROOT}renderer/build.ts`).href, import.meta.url);
    await buildRenderer({ outdir: `${outdir}/renderer`, minify: true });
  }

  if (!quiet) {
    const what = renderer ? `, preload.cjs and ${outdir}/renderer/` : ' and preload.cjs';
    console.log(`built ${outdir}/electron/main.cjs${what} in ${Date.now() - started} ms`);
  }
  return { main: mainFile, preload: preloadFile, renderer: `${outdir}/renderer` };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // node scripts/build-electron.mjs [--outdir <dir>] [--minify] [--no-renderer]
  const { values } = parseArgs({
    options: {
      outdir: { type: 'string' },
      minify: { type: 'boolean', default: false },
      'no-renderer': { type: 'boolean', default: false },
    },
  });
  await buildElectron({
    ...(values.outdir ? { outdir: resolve(values.outdir) } : {}),
    minify: values.minify,
    renderer: !values['no-renderer'],
  });
}
