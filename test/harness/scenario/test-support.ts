import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadScenario, type LoadResult, type Scenario } from '../../../core/scenario/load.ts';
import { runScenario, type ScenarioResult } from '../../../core/scenario/engine.ts';

/** A scratch folder for scenario files written by a test. */
export function scratch(): { dir: string; write(name: string, text: string): string } {
  const dir = mkdtempSync(join(tmpdir(), 'sscard-scenario-test-'));
  return {
    dir,
    write(name, text) {
      const file = join(dir, name);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
  };
}

/** Writes the YAML to a file and loads it (a file, so that a crash child can read it too). */
export function load(text: string, name = 'scenario.yaml'): LoadResult {
  return loadScenario(scratch().write(name, text));
}

export function loaded(text: string): Scenario {
  const r = load(text);
  if (!r.ok)
    throw new Error(
      `scenario does not load:\n${r.issues.map((i) => `${i.line}: ${i.field}: ${i.message}`).join('\n')}`,
    );
  return r.scenario;
}

/** Loads and runs a scenario written inline. */
export function run(text: string): Promise<ScenarioResult> {
  return runScenario(loaded(text));
}

/** The scenario YAML for a card and steps, with a fixed start. */
export function yaml(card: string, steps: string, extra = ''): string {
  return `name: test\ncard: ${card}\nclock: 2026-03-02T10:00:00+08:00\n${extra}steps:\n${steps
    .trim()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}\n`;
}
