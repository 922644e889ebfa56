import type { TraceEntry } from '../../device/trace.ts';
import type { ExpectationFailure } from './expect.ts';

/**
 * What a scenario run reports: the step records and failures, and the step log and APDU trace
 * made from them. Kept apart from the engine so the runner, JUnit and the CLI share one shape
 * whether the steps ran here or in a crash child.
 */

export type StepStatus = 'ok' | 'failed' | 'error' | 'skipped' | 'crashed';

export interface StepRecord {
  index: number;
  line: number;
  text: string;
  status: StepStatus;
  ms: number;
  /** The till after the step: state and screen message. */
  after: string;
  notes: string[];
}

export interface ScenarioFailure extends ExpectationFailure {
  index: number;
  line: number;
  step: string;
}

export interface ScenarioResult {
  file: string;
  name: string;
  description: string;
  rules: string[];
  status: 'passed' | 'failed' | 'error';
  durationMs: number;
  steps: StepRecord[];
  failures: ScenarioFailure[];
  /** An unexpected problem (a step that threw, a till that never settled). */
  error: string | null;
  /** The step log, one line per step, for people and JUnit's system-out. */
  log: string[];
  /** The APDU trace (PIN data masked), one exchange per line. */
  trace: string;
}

const MARK: Record<StepStatus, string> = { ok: '✔', failed: '✘', error: '!', skipped: '-', crashed: '☠' };

export function stepLog(records: readonly StepRecord[], failures: readonly ScenarioFailure[]): string[] {
  const out: string[] = [];
  for (const r of records) {
    out.push(
      `${MARK[r.status]} line ${r.line}: ${r.text}${r.status === 'skipped' ? ' (skipped)' : `  → ${r.after}`}${r.ms ? ` (${r.ms} ms)` : ''}`,
    );
    for (const n of r.notes) out.push(`    ${n}`);
    for (const f of failures.filter((x) => x.index === r.index))
      out.push(`    ✘ ${f.field}: expected ${f.expected}, got ${f.actual}`);
  }
  return out;
}

/** The trace as ApduTrace.toText() writes it, numbered across restarts. */
export function traceText(entries: readonly TraceEntry[]): string {
  return entries
    .map((e, i) => `${i + 1}\t${e.at}\t${e.reader}\t> ${e.command}\t< ${e.response || '-'}\t${e.meaning}`)
    .join('\n');
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
