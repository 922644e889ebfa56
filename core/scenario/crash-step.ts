import type { TraceEntry } from '../../device/trace.ts';
import { checkRecovery } from '../faults/crash-harness.ts';
import type { Scenario, Step } from './load.ts';
import type { CarriedState, ScenarioWorld } from './world.ts';
import { emptyObserved, type Observed } from './expect.ts';
import { errorText, type ScenarioFailure, type StepRecord, type StepStatus } from './run-report.ts';
import { runCrashChild, type ProgressRecord } from './crash-child-process.ts';

/**
 * The `crash` step as the parent run sees it: the steps after it run in a child process armed
 * with the crash point; its progress is folded into this run's records, and when it was killed
 * the books get the recovery check and the till is reopened on the same ledger. Apart from the
 * loop because it is the one step that closes and reopens the world.
 */

/** The parts of the run a crash step reads, replaces and reopens. */
export interface CrashStepRun {
  readonly s: Scenario;
  readonly dbPath: string;
  readonly o: { readerOverride?: string };
  readonly world: ScenarioWorld | null;
  seen: Observed;
  error: string | null;
  readonly records: StepRecord[];
  readonly failures: ScenarioFailure[];
  readonly traceEntries: TraceEntry[];
  close(): Promise<void>;
  open(carried?: CarriedState): Promise<ScenarioWorld>;
}

/** Runs the crash step; returns the index to go on from, or null to stop. */
export async function runCrashStep(
  run: CrashStepRun,
  step: Step & { kind: 'crash' },
): Promise<number | null> {
  const t0 = performance.now();
  const world = run.world!;
  const carried = world.state();
  await run.close();
  const child = await runCrashChild({
    file: run.s.file,
    dbPath: run.dbPath,
    from: step.index + 1,
    carried,
    point: step.point,
    after: step.after,
    ...(run.o.readerOverride ? { readerOverride: run.o.readerOverride } : {}),
  });
  const notes: string[] = [];
  let state = carried;
  let started: number | null = null;
  let end: Extract<ProgressRecord, { t: 'end' }> | null = null;
  const childRecords: StepRecord[] = [];
  for (const r of child.records) {
    if (r.t === 'state') state = r.state;
    else if (r.t === 'start') started = r.index;
    else if (r.t === 'trace') run.traceEntries.push(r.entry);
    else if (r.t === 'step') {
      childRecords.push(r.record);
      run.failures.push(...r.failures);
      if (r.error) run.error = r.error;
      started = null;
    } else end = r;
  }
  const record = (status: StepStatus) =>
    run.records.push({
      index: step.index,
      line: step.line,
      text: step.text,
      status,
      ms: Math.round(performance.now() - t0),
      after: '',
      notes,
    });

  if (child.signal !== 'SIGKILL') {
    if (!end) {
      record('error');
      run.records.push(...childRecords);
      run.error = `line ${step.line} (${step.text}): the child process ended without a report (exit ${child.code ?? child.signal}): ${child.stderr.trim().slice(-2000)}`;
      return null;
    }
    if (end.error) run.error = end.error;
    if (end.reason === 'stopped') {
      // A step of the child failed before the crash point was reached.
      notes.push(`the crash point ${step.point} was not reached: a step failed first`);
      record('ok');
      run.records.push(...childRecords);
      return null;
    }
    record('failed');
    run.records.push(...childRecords);
    run.failures.push({
      index: step.index,
      line: step.line,
      step: step.text,
      field: 'crash',
      expected: `the till killed at ${step.point}`,
      actual: `the steps up to ${end.reason === 'done' ? 'the end' : `line ${run.s.steps[end.at]?.line}`} ran and never reached it`,
    });
    return null;
  }

  // Killed at the crash point: the step that was running is the interrupted one.
  const at = started;
  const interrupted = at === null ? null : run.s.steps[at]!;
  notes.push(
    interrupted
      ? `killed (SIGKILL) at ${step.point} during line ${interrupted.line} (${interrupted.text})`
      : `killed (SIGKILL) at ${step.point} while the till restarted`,
  );
  const recovery = checkRecovery(run.dbPath);
  run.seen = emptyObserved();
  run.seen.recovery = recovery;
  notes.push(
    recovery.ok
      ? `reopened on the same ledger: recovery ok (${recovery.payments} payments in the books)`
      : `reopened on the same ledger: recovery FAILED: ${recovery.problems.join('; ')}`,
  );
  record(recovery.ok ? 'ok' : 'failed');
  run.records.push(...childRecords);
  if (interrupted)
    run.records.push({
      index: interrupted.index,
      line: interrupted.line,
      text: interrupted.text,
      status: 'crashed',
      ms: 0,
      after: `killed at ${step.point}`,
      notes: [],
    });
  if (!recovery.ok) {
    run.failures.push({
      index: step.index,
      line: step.line,
      step: step.text,
      field: 'recovery',
      expected: 'the books consistent after the crash',
      actual: recovery.problems.join('; '),
    });
    return null;
  }
  try {
    await run.open(state);
  } catch (e) {
    run.error = `line ${step.line}: the till could not restart after the crash: ${errorText(e)}`;
    return null;
  }
  return at === null ? step.index + 1 : at + 1;
}
