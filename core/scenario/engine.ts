import { appendFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario } from './load.ts';
import { namedCards } from './world.ts';
import { ledgerTemplates, scratchFolder } from './template.ts';
import { Execution, type RunOptions } from './execution.ts';
import type { CrashChildInput, ProgressRecord } from './crash-child-process.ts';
import type { ScenarioResult } from './run-report.ts';

/**
 * Runs a scenario: each step against a fresh till on its own database, waiting after every
 * step until the till has settled; `expect` steps check what the till, the card and the books
 * show. The first expect step that does not hold ends the scenario (the rest is skipped), with
 * every failed expectation of that step reported as expected vs actual.
 *
 * A `crash` step hands the following steps to a child process started with
 * SSCARD_CRASH_AT=<point>; the child is killed when the point is reached. The till is then
 * reopened on the same database (the card that was in the reader is still in it), the
 * recovery check runs, and the scenario goes on after the step that was interrupted.
 *
 * This file is the engine's public face (the runner, worker, CLI and tests import from here);
 * the run loop is execution.ts, the steps step-executors.ts, fault-steps.ts and crash-step.ts,
 * the child process crash-child-process.ts, the report's shape and texts run-report.ts.
 */

export type { StepStatus, StepRecord, ScenarioFailure, ScenarioResult } from './run-report.ts';
export { stepLog } from './run-report.ts';
export type { RunOptions } from './execution.ts';
export { tsxImport } from './crash-child-process.ts';

export async function runScenario(s: Scenario, options: RunOptions = {}): Promise<ScenarioResult> {
  const started = performance.now();
  const tmp = options.dbPath ? null : scratchFolder('scenario');
  const dbPath = options.dbPath ?? join(tmp!, 'scenario.db');
  // A fresh ledger holding the scenario's cards: a copy of a freshly made one (template.ts).
  if (options.template !== false && !existsSync(dbPath)) {
    try {
      ledgerTemplates.freshLedger(
        dbPath,
        namedCards(s).map((c) => c.profile),
      );
    } catch {
      // No template (a card the store cannot import): the till makes the ledger itself below,
      // and reports what is wrong with it.
      for (const f of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) rmSync(f, { force: true });
    }
  }
  const run = new Execution(s, dbPath, options);
  try {
    await run.run();
  } finally {
    await run.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
  return run.result(performance.now() - started);
}

/** The child's side: runs the segment and writes its progress, synchronously, line by line. */
export async function crashChildMain(raw: string, load: (file: string) => Scenario): Promise<number> {
  const input = JSON.parse(raw) as CrashChildInput & { progressFile: string };
  const scenario = load(input.file);
  const write = (r: ProgressRecord) => appendFileSync(input.progressFile, `${JSON.stringify(r)}\n`);
  const run = new Execution(scenario, input.dbPath, {
    ...(input.readerOverride ? { readerOverride: input.readerOverride } : {}),
    segment: { from: input.from, carried: input.carried, write },
  });
  try {
    await run.run();
  } finally {
    await run.close();
  }
  return 0;
}
