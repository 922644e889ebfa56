#!/usr/bin/env node
/**
 * `npm run build:driver`: builds the native reader library build/libSSCardDriver.so from
 * native/sscard-driver/ with the system C compiler ($CC, else cc). Linux only. Skips the
 * compile when the library is newer than its sources (--force rebuilds). Exit 1 with the
 * compiler's message when it fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const SRC_DIR = join(ROOT, 'native', 'sscard-driver');
const SOURCES = ['sscard_driver.c', 'http.c', 'json.c'].map((f) => join(SRC_DIR, f));
const HEADERS = ['sscard_driver.h', 'internal.h'].map((f) => join(SRC_DIR, f));
export const DRIVER_LIBRARY = join(ROOT, 'build', 'libSSCardDriver.so');

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/** Builds the library unless it is up to date; returns its path. Throws with the compiler's output. */
export function buildDriver({ force = false, quiet = false } = {}) {
  if (process.platform !== 'linux') throw new Error('libSSCardDriver.so is built on Linux only');
  const newest = Math.max(...[...SOURCES, ...HEADERS, fileURLToPath(import.meta.url)].map(mtime));
  if (!force && mtime(DRIVER_LIBRARY) > newest) {
    if (!quiet) console.log(`${DRIVER_LIBRARY} is up to date`);
    return DRIVER_LIBRARY;
  }
  mkdirSync(dirname(DRIVER_LIBRARY), { recursive: true });
  const cc = process.env.CC || 'cc';
  // Built beside the target and renamed: a process that has the old library loaded keeps it,
  // and a failed build never leaves half a file.
  const tmp = `${DRIVER_LIBRARY}.${process.pid}.tmp`;
  const args = [
    '-std=c11',
    '-O2',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-fPIC',
    '-shared',
    '-fvisibility=hidden',
    '-pthread',
    '-Wl,-soname,libSSCardDriver.so',
    '-o',
    tmp,
    ...SOURCES,
  ];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.error)
    throw new Error(`cannot run the C compiler '${cc}': ${r.error.message} (install build-essential)`);
  if (r.status !== 0) throw new Error(`${cc} failed building libSSCardDriver.so:\n${r.stderr}${r.stdout}`);
  renameSync(tmp, DRIVER_LIBRARY);
  if (!quiet) console.log(`built ${DRIVER_LIBRARY}`);
  return DRIVER_LIBRARY;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    buildDriver({ force: process.argv.includes('--force') });
  } catch (e) {
    console.error(`build:driver: ${e.message}`);
    process.exit(1);
  }
}
