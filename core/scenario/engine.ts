import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { renderMessage } from '../../state-machines/messages.ts';
import type { SessionResult } from '../../state-machines/types.ts';
import type { TraceEntry } from '../../device/trace.ts';
import { businessDate } from '../time.ts';
import { checkRecovery } from '../faults/crash-harness.ts';
import { tillView } from '../pos/till-view.ts';
import type { Scenario, ScenarioCard, Step, StepBody } from './load.ts';
import { namedCards, ScenarioWorld, type CarriedState } from './world.ts';
import { ledgerTemplates, scratchFolder } from './template.ts';
import { checkExpectations, emptyObserved, type ExpectationFailure, type Observed } from './expect.ts';
import { fenToYuan } from './money.ts';

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

interface Segment {
  from: number;
  carried: CarriedState;
  /** Appends one progress record; must be synchronous (the process may be killed any time). */
  write: (record: ProgressRecord) => void;
}

type ProgressRecord =
  | { t: 'state'; state: CarriedState }
  | { t: 'start'; index: number }
  | { t: 'step'; record: StepRecord; failures: ScenarioFailure[]; error: string | null }
  | { t: 'trace'; entry: TraceEntry }
  | { t: 'end'; reason: 'done' | 'next-crash' | 'stopped'; at: number; error?: string };

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

class Execution {
  world: ScenarioWorld | null = null;
  seen: Observed = emptyObserved();
  readonly records: StepRecord[] = [];
  readonly failures: ScenarioFailure[] = [];
  readonly traceEntries: TraceEntry[] = [];
  error: string | null = null;
  private lastLast: SessionResult | null = null;
  /** One-shot faults still waiting for their moment (dropped with the world). */
  private pendingFaults: (() => void)[] = [];
  private unsubscribe: (() => void) | null = null;

  constructor(
    readonly s: Scenario,
    readonly dbPath: string,
    readonly o: RunOptions,
  ) {}

  private async open(carried?: CarriedState): Promise<ScenarioWorld> {
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
        const next = await this.crash(step);
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
      const failures = await this.exec(step, notes);
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

  private current(step: { card: ScenarioCard | null }): ScenarioCard {
    const c = step.card ?? this.world!.current ?? this.s.card;
    if (!c) throw new Error('no card: give the scenario a card or name one in the step');
    return c;
  }

  private async settled(): Promise<void> {
    await this.world!.terminal.settled(this.s.stepTimeoutMs);
  }

  private async exec(step: Step, notes: string[]): Promise<ExpectationFailure[]> {
    const w = this.world!;
    const t = w.terminal;
    const body = step as StepBody;
    const waiting = () => tillView(t).waitingFor;
    switch (body.kind) {
      case 'insert': {
        await this.settled();
        notes.push(...(await w.insert(this.current(body))));
        await this.settled();
        return [];
      }
      case 'remove':
        await w.remove();
        await this.settled();
        return [];
      case 'amount':
        await this.settled();
        if (waiting() !== 'amount')
          notes.push(`the till was not waiting for an amount (waiting for ${waiting() ?? 'nothing'})`);
        t.send({ type: 'AMOUNT_ENTERED', amountFen: body.fen, method: body.method });
        await this.settled();
        return [];
      case 'pin':
      case 'password': {
        await this.settled();
        const wf = waiting();
        if (wf !== 'pin' && wf !== 'password')
          notes.push(`the till was not waiting for a PIN or password (waiting for ${wf ?? 'nothing'})`);
        t.send({ type: 'PIN_ENTERED', pin: body.value });
        await this.settled();
        return [];
      }
      case 'cancel':
        t.send({ type: 'CANCEL' });
        await this.settled();
        return [];
      case 'timeout':
        t.send({ type: 'TIMEOUT' });
        await this.settled();
        return [];
      case 'host':
        if (body.to === 'up' || body.to === 'down' || body.to === 'slow') w.setLink(body.to);
        else w.setHostFault({ kind: body.to });
        return [];
      case 'clock': {
        const to = body.set ?? new Date(w.clock().getTime() + body.advanceMs!).toISOString();
        w.setClock(to);
        notes.push(`now ${to} (business day ${businessDate(new Date(to))})`);
        return [];
      }
      case 'counter': {
        await this.settled();
        const r = await w.counterAction(body.counter, this.current(body));
        this.seen.counter = r;
        notes.push(`${r.ok ? '✔' : `✘${r.rule ? ` ${r.rule}` : ''}`} ${r.zh} / ${r.en}`);
        await this.settled();
        return [];
      }
      case 'sync': {
        const r = await w.pos.sync({ now: new Date('9999-12-31T23:59:59Z') });
        this.seen.sync = r;
        notes.push(`sent ${r.sent}, failed ${r.failed}, pending ${r.pending}`);
        return [];
      }
      case 'settle': {
        const date = body.date ?? businessDate(w.clock());
        const closed = w.pos.ledger.closeDay(date);
        const s = { ...closed, pendingForward: w.pos.ledger.settlement(date).pendingForward };
        this.seen.settlement = s;
        notes.push(
          `日结 ${date}: ${s.payments} payments, net ¥${fenToYuan(s.totalFen)}, ${s.pendingForward} waiting for the host`,
        );
        return [];
      }
      case 'reconcile': {
        const r = await w.pos.reconcile(body.date ?? undefined);
        this.seen.reconciliation = r;
        notes.push(
          r.agree ? '对账一致 terminal and host agree' : `对账不一致 ${r.mismatches.length} mismatch(es)`,
        );
        return [];
      }
      case 'refund': {
        let id = body.payment;
        if (id === 'last') {
          const last = w.pos.ledger.payments({ kind: 'payment' }).at(-1);
          if (!last) throw new Error('no payment to refund yet');
          id = last.paymentId;
        }
        const r = await w.pos.refund(id, body.fen);
        notes.push(`退费 ¥${body.yuan} of ${id} (${r.mode})`);
        return [];
      }
      case 'fault': {
        const f = body.fault;
        if (f.type === 'remove-card-at-apdu') w.faults.setReaderFaults({ removeCardAtApdu: f.n });
        else if (f.type === 'remove-card-in-state') {
          // One shot: the card leaves the reader the moment the till is in that state.
          const stop = w.terminal.subscribe(() => {
            const name = w.terminal.stateName();
            if (name === f.state || name.endsWith(`/${f.state}`) || name.endsWith(`.${f.state}`)) {
              stop();
              notes.push(`card pulled in ${name}`);
              void w.remove();
            }
          });
          this.pendingFaults.push(stop);
        } else if (f.type === 'detach-reader-at-apdu') w.faults.setReaderFaults({ detachReaderAtApdu: f.n });
        else if (f.type === 'corrupt-record') {
          const c = this.current({ card: null });
          w.faults.corruptCard(c.profile.card.number, [{ file: f.file, record: f.record, mode: f.mode }]);
          notes.push(`${c.ref}: ${f.file} record ${f.record} corrupted (${f.mode}) from its next insertion`);
        } else if (f.type === 'reattach') {
          w.faults.reattachReader();
          await this.settled();
        } else {
          w.faults.clear();
          for (const stop of this.pendingFaults.splice(0)) stop();
        }
        return [];
      }
      case 'expect': {
        await this.settled();
        const failures = await checkExpectations(body.expect, w, this.seen, body.balancesCard);
        this.seen.statusWords = [];
        return failures;
      }
      case 'crash':
        throw new Error('crash steps are run by the scenario loop');
    }
  }

  /**
   * The crash step: the steps after it run in a child process armed with the crash point.
   * Returns the index to go on from, or null to stop.
   */
  private async crash(step: Step & { kind: 'crash' }): Promise<number | null> {
    const t0 = performance.now();
    const world = this.world!;
    const carried = world.state();
    await this.close();
    const child = await runCrashChild({
      file: this.s.file,
      dbPath: this.dbPath,
      from: step.index + 1,
      carried,
      point: step.point,
      after: step.after,
      ...(this.o.readerOverride ? { readerOverride: this.o.readerOverride } : {}),
    });
    const notes: string[] = [];
    let state = carried;
    let started: number | null = null;
    let end: Extract<ProgressRecord, { t: 'end' }> | null = null;
    const childRecords: StepRecord[] = [];
    for (const r of child.records) {
      if (r.t === 'state') state = r.state;
      else if (r.t === 'start') started = r.index;
      else if (r.t === 'trace') this.traceEntries.push(r.entry);
      else if (r.t === 'step') {
        childRecords.push(r.record);
        this.failures.push(...r.failures);
        if (r.error) this.error = r.error;
        started = null;
      } else end = r;
    }
    const record = (status: StepStatus) =>
      this.records.push({
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
        this.records.push(...childRecords);
        this.error = `line ${step.line} (${step.text}): the child process ended without a report (exit ${child.code ?? child.signal}): ${child.stderr.trim().slice(-2000)}`;
        return null;
      }
      if (end.error) this.error = end.error;
      if (end.reason === 'stopped') {
        // A step of the child failed before the crash point was reached.
        notes.push(`the crash point ${step.point} was not reached: a step failed first`);
        record('ok');
        this.records.push(...childRecords);
        return null;
      }
      record('failed');
      this.records.push(...childRecords);
      this.failures.push({
        index: step.index,
        line: step.line,
        step: step.text,
        field: 'crash',
        expected: `the till killed at ${step.point}`,
        actual: `the steps up to ${end.reason === 'done' ? 'the end' : `line ${this.s.steps[end.at]?.line}`} ran and never reached it`,
      });
      return null;
    }

    // Killed at the crash point: the step that was running is the interrupted one.
    const at = started;
    const interrupted = at === null ? null : this.s.steps[at]!;
    notes.push(
      interrupted
        ? `killed (SIGKILL) at ${step.point} during line ${interrupted.line} (${interrupted.text})`
        : `killed (SIGKILL) at ${step.point} while the till restarted`,
    );
    const recovery = checkRecovery(this.dbPath);
    this.seen = emptyObserved();
    this.seen.recovery = recovery;
    notes.push(
      recovery.ok
        ? `reopened on the same ledger: recovery ok (${recovery.payments} payments in the books)`
        : `reopened on the same ledger: recovery FAILED: ${recovery.problems.join('; ')}`,
    );
    record(recovery.ok ? 'ok' : 'failed');
    this.records.push(...childRecords);
    if (interrupted)
      this.records.push({
        index: interrupted.index,
        line: interrupted.line,
        text: interrupted.text,
        status: 'crashed',
        ms: 0,
        after: `killed at ${step.point}`,
        notes: [],
      });
    if (!recovery.ok) {
      this.failures.push({
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
      await this.open(state);
    } catch (e) {
      this.error = `line ${step.line}: the till could not restart after the crash: ${errorText(e)}`;
      return null;
    }
    return at === null ? step.index + 1 : at + 1;
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
function traceText(entries: readonly TraceEntry[]): string {
  return entries
    .map((e, i) => `${i + 1}\t${e.at}\t${e.reader}\t> ${e.command}\t< ${e.response || '-'}\t${e.meaning}`)
    .join('\n');
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---- the crash child ------------------------------------------------------------------------

interface CrashChildInput {
  file: string;
  dbPath: string;
  from: number;
  carried: CarriedState;
  point: string;
  after: number;
  readerOverride?: string;
}

const CHILD_ENTRY = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

/** The tsx loader, so a child process runs TypeScript from wherever it is started. */
export function tsxImport(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

async function runCrashChild(input: CrashChildInput): Promise<{
  records: ProgressRecord[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'sscard-crash-'));
  const progressFile = join(dir, 'progress.jsonl');
  try {
    const child = spawn(process.execPath, ['--import', tsxImport(), CHILD_ENTRY], {
      env: {
        ...process.env,
        SSCARD_CRASH_AT: input.point,
        SSCARD_CRASH_AFTER: String(input.after),
        SSCARD_SCENARIO_CHILD: JSON.stringify({ ...input, progressFile }),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-20_000);
    });
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve, reject) => {
        child.once('error', reject);
        child.once('close', (c, s) => resolve({ code: c, signal: s }));
      },
    );
    let text = '';
    try {
      text = readFileSync(progressFile, 'utf8');
    } catch {
      // nothing written
    }
    const records = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as ProgressRecord];
        } catch {
          return []; // a line cut short by the kill
        }
      });
    return { records, code, signal, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
