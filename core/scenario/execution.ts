import { renderMessage } from '../../state-machines/messages.ts';
import type { SessionResult } from '../../state-machines/types.ts';
import type { TraceEntry } from '../../device/trace.ts';
import type { Scenario, ScenarioCard, Step } from './load.ts';
import { ScenarioWorld, type CarriedState } from './world.ts';
import { emptyObserved, type Observed } from './expect.ts';
import {
  errorText,
  stepLog,
  traceText,
  type ScenarioFailure,
  type ScenarioResult,
  type StepRecord,
  type StepStatus,
} from './run-report.ts';
import type { Segment } from './crash-child-process.ts';
import { executeStep } from './step-executors.ts';
import { runCrashStep } from './crash-step.ts';

/**
 * One run of a scenario's steps (all of them, or a crash child's segment): the world it opens,
 * what it observes of the till between steps, and the loop that records each step and stops at
 * the first that fails. The same class runs in the parent and in a crash child, so both report
 * alike; what each step does is in step-executors.ts, the crash step in crash-step.ts.
 */

export interface RunOptions {
  /**
   * The database to use; default a fresh temporary file, deleted afterwards. A path that does
   * not exist yet is made a fresh ledger the same way; an existing one is used as it is.
   */
  dbPath?: string;
  /**
   * Start a fresh ledger as a copy of this process's template for the scenario's cards
   * (template.ts; default true). false: migrate a new file and import every card, hashing its
   * PIN and password, as the till does on its own.
   */
  template?: boolean;
  /** A PC/SC reader to run against, whatever the scenario says. */
  readerOverride?: string;
  /** Internal: the crash child runs a segment of the steps. */
  segment?: Segment;
}

export class Execution {
  world: ScenarioWorld | null = null;
  seen: Observed = emptyObserved();
  readonly records: StepRecord[] = [];
  readonly failures: ScenarioFailure[] = [];
  readonly traceEntries: TraceEntry[] = [];
  error: string | null = null;
  private lastLast: SessionResult | null = null;
  /** One-shot faults still waiting for their moment (dropped with the world). */
  readonly pendingFaults: (() => void)[] = [];
  private unsubscribe: (() => void) | null = null;

  constructor(
    readonly s: Scenario,
    readonly dbPath: string,
    readonly o: RunOptions,
  ) {}

  async open(carried?: CarriedState): Promise<ScenarioWorld> {
    const seg = this.o.segment;
    const w = new ScenarioWorld({
      scenario: this.s,
      dbPath: this.dbPath,
      ...(this.o.readerOverride ? { readerOverride: this.o.readerOverride } : {}),
      ...(carried ? { carried } : {}),
      onTrace: (e) => {
        this.traceEntries.push(e);
        if (e.sw) this.seen.statusWords.push(e.sw);
        seg?.write({ t: 'trace', entry: e });
      },
    });
    this.world = w;
    this.lastLast = null;
    this.unsubscribe = w.terminal.subscribe(() => this.observe());
    if (seg) w.onStateChange(() => seg.write({ t: 'state', state: w.state() }));
    if (carried) await w.resume(carried);
    return w;
  }

  /** Keeps how the last session ended (or that the card was refused), across removals. */
  private observe(): void {
    const t = this.world!.terminal;
    const snap = t.snapshot;
    if (snap.matches('refused')) {
      if (this.seen.result !== 'refused' || this.seen.outcome !== null) {
        this.seen.result = 'refused';
        this.seen.outcome = null;
      }
      return;
    }
    const last = snap.context.last;
    if (last && last !== this.lastLast) {
      this.lastLast = last;
      this.seen.result = last.result;
      this.seen.outcome = last.outcome;
    }
  }

  async close(): Promise<void> {
    for (const stop of this.pendingFaults.splice(0)) stop();
    this.unsubscribe?.();
    this.unsubscribe = null;
    const w = this.world;
    this.world = null;
    await w?.close();
  }

  async run(): Promise<void> {
    const seg = this.o.segment;
    try {
      await this.open(seg?.carried);
    } catch (e) {
      this.error = `the till could not start: ${errorText(e)}`;
      seg?.write({ t: 'end', reason: 'stopped', at: seg.from, error: this.error });
      this.skipFrom(seg ? seg.from : 0);
      return;
    }
    const steps = this.s.steps;
    let i = seg ? seg.from : 0;
    while (i < steps.length) {
      const step = steps[i]!;
      if (step.kind === 'crash') {
        if (seg) {
          // The crash point was never reached before the next crash step.
          seg.write({ t: 'end', reason: 'next-crash', at: i });
          return;
        }
        const next = await runCrashStep(this, step);
        if (next === null) break;
        i = next;
        continue;
      }
      seg?.write({ t: 'start', index: i });
      const ok = await this.step(step);
      if (seg) {
        const record = this.records[this.records.length - 1]!;
        seg.write({
          t: 'step',
          record,
          failures: this.failures.filter((f) => f.index === i),
          error: this.error,
        });
      }
      if (!ok) {
        seg?.write({ t: 'end', reason: 'stopped', at: i });
        break;
      }
      i++;
    }
    if (seg && i >= steps.length) seg.write({ t: 'end', reason: 'done', at: i });
    this.skipFrom(i + 1);
  }

  /** Marks the steps not run (after a failure) as skipped. */
  private skipFrom(from: number): void {
    const done = new Set(this.records.map((r) => r.index));
    for (const st of this.s.steps.slice(from)) {
      if (done.has(st.index)) continue;
      this.records.push({
        index: st.index,
        line: st.line,
        text: st.text,
        status: 'skipped',
        ms: 0,
        after: '',
        notes: [],
      });
    }
  }

  /** Runs one step; false when the scenario must stop (a failed expectation, an error). */
  private async step(step: Step): Promise<boolean> {
    const t0 = performance.now();
    const notes: string[] = [];
    let status: StepStatus = 'ok';
    try {
      const failures = await executeStep(this, step, notes);
      if (failures.length) {
        status = 'failed';
        for (const f of failures)
          this.failures.push({ ...f, index: step.index, line: step.line, step: step.text });
      }
    } catch (e) {
      status = 'error';
      this.error = `line ${step.line} (${step.text}): ${errorText(e)}`;
    }
    this.records.push({
      index: step.index,
      line: step.line,
      text: step.text,
      status,
      ms: Math.round(performance.now() - t0),
      after: this.world ? describeTill(this.world) : '',
      notes,
    });
    return status === 'ok';
  }

  current(step: { card: ScenarioCard | null }): ScenarioCard {
    const c = step.card ?? this.world!.current ?? this.s.card;
    if (!c) throw new Error('no card: give the scenario a card or name one in the step');
    return c;
  }

  async settled(): Promise<void> {
    await this.world!.terminal.settled(this.s.stepTimeoutMs);
  }

  result(durationMs: number): ScenarioResult {
    const records = [...this.records].sort((a, b) => a.index - b.index);
    const status = this.error ? 'error' : this.failures.length ? 'failed' : 'passed';
    return {
      file: this.s.file,
      name: this.s.name,
      description: this.s.description,
      rules: this.s.rules,
      status,
      durationMs: Math.round(durationMs),
      steps: records,
      failures: this.failures,
      error: this.error,
      log: stepLog(records, this.failures),
      trace: traceText(this.traceEntries),
    };
  }
}

/** The till in a few words: state and screen message. */
function describeTill(w: ScenarioWorld): string {
  const t = w.terminal;
  return `${t.stateName()} 「${renderMessage(t.message(), 'zh')}」`;
}
