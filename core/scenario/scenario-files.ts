import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative, resolve } from 'node:path';

/**
 * Which files a command line names as scenarios, and how a file's path is shown in reports
 * and issues.
 */

const SCENARIO_EXT = new Set(['.yaml', '.yml']);

/**
 * The scenario files named on the command line: files as given, folders searched recursively
 * for *.yaml and *.yml (sorted, hidden folders and node_modules skipped). Missing paths are
 * returned apart.
 */
export function findScenarioFiles(paths: readonly string[]): { files: string[]; missing: string[] } {
  const files: string[] = [];
  const missing: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith('.') || name === 'node_modules') continue;
      const full = join(dir, name);
      const st = statSync(full);
      if (st.isDirectory()) walk(full);
      else if (SCENARIO_EXT.has(extname(name).toLowerCase())) files.push(full);
    }
  };
  for (const p of paths) {
    if (!existsSync(p)) {
      missing.push(p);
      continue;
    }
    if (statSync(p).isDirectory()) walk(p);
    else files.push(p);
  }
  return { files: [...new Set(files.map((f) => resolve(f)))], missing };
}

/** A path as reports show it: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), resolve(file));
  return rel && !rel.startsWith('..') ? rel.split('\\').join('/') : resolve(file);
}
