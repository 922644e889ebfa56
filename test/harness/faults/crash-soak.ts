/**
 * Crash soak: one ledger file, a till process started again and again on it, and killed with
 * SIGKILL at random points — at a named crash point after a random number of passes, or by the
 * parent at a random instant — until the wanted number of payments is committed. After every
 * kill the parent reopens the file as the till does at start (forward queue, reversals owed),
 * then checks the books against everything the children reported:
 *
 * - every payment a child saw approved is in the terminal's books once, with its amount and
 *   card, and, once forwarded (or taken online), at the host once with the same amount;
 * - every transaction in the terminal's books was reported by a child, or belongs to the one
 *   step the killed child was in (at most one payment per step: a sale is never taken twice);
 * - both books balance, card balances equal the journal, money moved ⇔ a host record
 *   (checkBooks of the crash harness);
 * - the forward queue: every transaction has its row, a row marked sent is at the host, and
 *   after a recovery with the link up nothing is left pending (queue or reversals owed);
 * - the witness cards' PIN try counter and bank password failures are exactly what the steps
 *   played make them (a wrong try is never given back, recovery resets nothing), and the paying
 *   cards' counters stay full;
 * - a closed day whose books did not change since equals its stored settlement; the 21 June
 *   carry-over, once the clock passed it and the host was reached, is recorded once.
 *
 * The parent decides whether the step the child was killed in took effect by what the books
 * and counters show (as an operator would look at the till after a restart), and plays the next
 * child from there: a committed sale is not taken again, a sale that left nothing is.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { openPosSystem } from '../../../core/pos/pos-system.ts';
import { resolveCard } from '../../../core/card/wallet.ts';
import { fixedClock } from '../../../core/time.ts';
import type { LinkState } from '../../../core/host/types.ts';
import { checkBooks } from '../../../core/faults/crash-harness.ts';
import type { CrashPoint } from '../../../core/crash-points.ts';
import {
  EVERYTHING_DUE,
  IN_DOUBT_POINT,
  SOAK_CARDS,
  type SoakLogLine,
  type SoakLogTxn,
  isPaymentStep,
  planSoak,
  seededRandom,
  type SoakPlan,
  type SoakPlanOptions,
  type SoakStep,
} from './crash-soak-plan.ts';
import { PendingReversals } from '../../../core/pos/pending-reversals.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./crash-soak-child.ts', import.meta.url));

export type KillKind = 'point' | 'timer' | 'none';

/** A named crash point, or the soak child's own in-doubt point (IN_DOUBT_POINT). */
export type SoakPoint = CrashPoint | typeof IN_DOUBT_POINT;

export interface SoakOptions {
  /** A folder for the ledger, the plan and the log (created when missing; must not hold an old soak). */
  dir: string;
  seed: number;
  /** Stop once this many payments are in the terminal's books. */
  payments: number;
  /** Crash mode: also go on until this many kills are done (default 0). */
  minKills?: number;
  /** Steps each child is given (default 25): it is killed before, or it reaches the end and exits. */
  batch?: number;
  /**
   * 'crash' (default): the soak. 'baseline': the same plan played by one child that is never
   * killed, `steps` steps long (default: until `payments`), checked once at the end.
   */
  mode?: 'crash' | 'baseline';
  /** Baseline: how many steps to play. */
  steps?: number;
  /** Give up on a child that neither finishes nor dies (default 60 s): a violation. */
  childTimeoutMs?: number;
  /**
   * Also kill right after the host applied a debit whose answer is lost, before the till
   * hears of it (IN_DOUBT_POINT): the window of a till on a remote host, closed by the reversal
   * the till writes ahead of every online debit (docs/faults.md). Default true.
   */
  inDoubtKills?: boolean;
  /** Crash mode: also go on until this many kills happened at these points (as far as the plan lasts). */
  minKillsAt?: Partial<Record<SoakPoint, number>>;
  /** The plan's link-up mix, with these weights replaced (planSoak's `upWeights`). */
  upWeights?: SoakPlanOptions['upWeights'];
  /** Stop at the first child after which an invariant is broken. */
  stopOnViolation?: boolean;
  /**
   * Called after each child exits and before the restart (tests: damage the file the way a
   * bug would, to prove the checks see it).
   */
  afterChild?: (info: { dbPath: string; child: number }) => void;
  /** Progress lines (one per child). */
  onProgress?: (line: string) => void;
}

export interface SoakReport {
  seed: number;
  mode: 'crash' | 'baseline';
  /** Transactions of kind 'payment' in the terminal's books at the end. */
  paymentsCommitted: number;
  /** Of those, reported approved by a child ('paid'). */
  paymentsApproved: number;
  stepsPlayed: number;
  children: number;
  restarts: number;
  kills: {
    total: number;
    /** SIGKILL by a named crash point, by point. */
    byPoint: Partial<Record<SoakPoint, number>>;
    /** SIGKILL by the parent at a random instant. */
    byTimer: number;
  };
  /** Children that reached the end of their steps (a crash point not reached, or no kill planned). */
  cleanExits: number;
  /** Steps a child was killed in, and whether the books show they took effect. */
  inFlight: { tookEffect: number; redone: number };
  /** How the steps ended, by kind and result ('gen3-medical paid', 'wrong-pin cancelled'…). */
  outcomes: Record<string, number>;
  /** Broken invariants, each with the child (restart) after which it was found. Must be empty. */
  violations: string[];
  elapsedMs: number;
  /** Wall time spent in children (start to exit). */
  childMs: number;
  /** Wall time spent reopening, recovering and checking. */
  checkMs: number;
}

interface Model {
  pinTries: number;
  pinLimit: number;
  passwordFailures: number;
  passwordLimit: number;
}

interface ChildRun {
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
  lines: SoakLogLine[];
  ms: number;
  loadedToExitMs: number | null;
  timedOut: boolean;
}

const PAYMENT_POINTS: readonly CrashPoint[] = [
  'during-apdu',
  'after-card-debit',
  'before-journal-commit',
  'after-journal-commit',
];

/** Runs the soak (or its baseline) and reports. Never throws for a broken invariant: see `violations`. */
export async function runCrashSoak(options: SoakOptions): Promise<SoakReport> {
  const mode = options.mode ?? 'crash';
  const batch = options.batch ?? 25;
  if (!Number.isSafeInteger(batch) || batch < 1) throw new RangeError(`batch must be ≥ 1, got ${batch}`);
  mkdirSync(options.dir, { recursive: true });
  const dbPath = join(options.dir, 'ledger.db');
  const planFile = join(options.dir, 'plan.json');
  const logFile = join(options.dir, 'soak-log.jsonl');
  if (existsSync(dbPath)) throw new Error(`crash soak: ${dbPath} exists already; give an empty folder`);
  const plan = planSoak({
    seed: options.seed,
    payments: options.payments,
    // Room for the kills asked for: each child plays at most `batch` steps.
    steps: Math.max(options.payments * 3, (options.minKills ?? 0) * batch * 2),
    ...(options.upWeights ? { upWeights: options.upWeights } : {}),
  });
  writeFileSync(planFile, JSON.stringify(plan));
  writeFileSync(logFile, '');
  const model = prepareLedger(dbPath, plan);

  const rnd = seededRandom(options.seed ^ 0x5eed);
  const randInt = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const report: SoakReport = {
    seed: options.seed,
    mode,
    paymentsCommitted: 0,
    paymentsApproved: 0,
    stepsPlayed: 0,
    children: 0,
    restarts: 0,
    kills: { total: 0, byPoint: {}, byTimer: 0 },
    cleanExits: 0,
    inFlight: { tookEffect: 0, redone: 0 },
    outcomes: {},
    violations: [],
    elapsedMs: 0,
    childMs: 0,
    checkMs: 0,
  };
  const started = performance.now();
  /** Every transaction reported or attributed, by id: the step it belongs to. */
  const known = new Map<string, { step: number; txn: SoakLogTxn }>();
  /** Payments reported approved. */
  const approved: SoakLogTxn[] = [];
  const paymentsOfStep = new Map<number, number>();
  const seen = new Set<string>();
  let next = 0;
  let lastDoneAt = plan.setupAt;
  let logOffset = 0;
  let estimateMs = 400 + batch * 12; // a child's life after loading, refined as children exit
  const maxSteps = mode === 'baseline' ? (options.steps ?? plan.steps.length) : plan.steps.length;
  const maxChildren = mode === 'baseline' ? 1 : options.payments * 4 + 50;

  while (next < maxSteps && report.children < maxChildren) {
    if (
      mode === 'crash' &&
      report.paymentsCommitted >= options.payments &&
      report.kills.total >= (options.minKills ?? 0) &&
      Object.entries(options.minKillsAt ?? {}).every(
        ([p, n]) => (report.kills.byPoint[p as SoakPoint] ?? 0) >= (n ?? 0),
      )
    )
      break;
    const count = mode === 'baseline' ? maxSteps - next : Math.min(batch, maxSteps - next);
    const steps = plan.steps.slice(next, next + count);
    // How this child dies.
    let kill: KillKind = 'none';
    let point: SoakPoint | null = null;
    let after = 1;
    let timerMs = 0;
    if (mode === 'crash') {
      const r = rnd();
      kill = r < 0.5 ? 'point' : r < 0.9 ? 'timer' : 'none';
      if (kill === 'point') {
        ({ point, after } = choosePoint(steps, plan, rnd, randInt, options.inDoubtKills ?? true));
      } else if (kill === 'timer') {
        timerMs = Math.floor(rnd() * estimateMs);
      }
    }
    const who = `child ${report.children + 1} (steps ${next}–${next + count - 1}, ${
      kill === 'point' ? `${point} #${after}` : kill === 'timer' ? `SIGKILL after ${timerMs} ms` : 'no kill'
    })`;
    report.children += 1;
    if (report.children > 1) report.restarts += 1;

    const run = await runChild({
      dbPath,
      planFile,
      logFile,
      from: next,
      count,
      logOffset,
      point,
      after,
      timerMs: kill === 'timer' ? timerMs : null,
      timeoutMs: options.childTimeoutMs ?? 60_000,
    });
    logOffset = readFileSync(logFile).length;
    report.childMs += run.ms;
    const killed = run.signal === 'SIGKILL';
    if (run.timedOut) report.violations.push(`${who}: neither finished nor died within the timeout`);
    if (run.stderr.trim() !== '') report.violations.push(`${who}: wrote to stderr: ${run.stderr.trim()}`);
    if (!killed && !run.timedOut) {
      if (run.code !== 0) report.violations.push(`${who}: exited with code ${run.code}`);
      report.cleanExits += 1;
      if (run.loadedToExitMs !== null && kill !== 'none')
        estimateMs = Math.max(100, Math.round((estimateMs + run.loadedToExitMs) / 2));
    } else if (killed && !run.timedOut) {
      report.kills.total += 1;
      if (kill === 'point' && point) report.kills.byPoint[point] = (report.kills.byPoint[point] ?? 0) + 1;
      else report.kills.byTimer += 1;
    }
    if (!killed && kill === 'timer' && run.loadedToExitMs !== null)
      estimateMs = Math.max(100, Math.round((estimateMs + run.loadedToExitMs) / 2));

    // What the child said it did.
    let inFlight: number | null = null;
    for (const line of run.lines) {
      if (line.ev === 'begin') {
        inFlight = line.step;
        continue;
      }
      inFlight = null;
      const step = plan.steps[line.step]!;
      report.stepsPlayed += 1;
      const key = `${step.kind} ${line.result}`;
      report.outcomes[key] = (report.outcomes[key] ?? 0) + 1;
      for (const v of checkOutcome(step, line)) report.violations.push(`${who}: step ${step.i}: ${v}`);
      for (const txn of line.txns) {
        if (known.has(txn.id)) report.violations.push(`${who}: ${txn.id} reported twice`);
        known.set(txn.id, { step: step.i, txn });
        if (txn.kind === 'payment') paymentsOfStep.set(step.i, (paymentsOfStep.get(step.i) ?? 0) + 1);
        if (txn.kind === 'payment' && line.result === 'paid') approved.push(txn);
      }
      applyStep(model, step);
      lastDoneAt = step.at;
      next = step.i + 1;
    }
    if (!killed && inFlight !== null)
      report.violations.push(`${who}: step ${inFlight} began and never ended, yet the child was not killed`);

    options.afterChild?.({ dbPath, child: report.children });
    // Restart as the till does, and check.
    const t0 = performance.now();
    const restartLink = (plan.steps[next] ?? plan.steps[plan.steps.length - 1]!).link;
    const check = await recoverAndCheck({
      dbPath,
      plan,
      model,
      known,
      approved,
      paymentsOfStep,
      inFlight: inFlight === null ? null : plan.steps[inFlight]!,
      at: lastDoneAt,
      link: restartLink,
    });
    report.checkMs += performance.now() - t0;
    // A broken invariant stays broken: report each once, after the child that broke it.
    for (const v of check.problems) {
      if (seen.has(v)) continue;
      seen.add(v);
      report.violations.push(`${who}: ${v}`);
    }
    if (inFlight !== null) {
      if (check.inFlightTookEffect) {
        report.inFlight.tookEffect += 1;
        applyStep(model, plan.steps[inFlight]!);
        lastDoneAt = plan.steps[inFlight]!.at;
        next = inFlight + 1;
      } else {
        report.inFlight.redone += 1;
        next = inFlight;
      }
    }
    report.paymentsCommitted = check.payments;
    report.paymentsApproved = approved.length;
    options.onProgress?.(
      `${who}: ${killed ? 'killed' : 'exited'}; ${check.payments} payments committed` +
        (check.problems.length ? `; ${check.problems.length} VIOLATIONS` : ''),
    );
    if (options.stopOnViolation && report.violations.length > 0) break;
  }
  report.elapsedMs = performance.now() - started;
  return report;
}

/** A crash point that this child's steps go through, and which pass of it kills. */
function choosePoint(
  steps: readonly SoakStep[],
  plan: SoakPlan,
  rnd: () => number,
  randInt: (lo: number, hi: number) => number,
  inDoubt: boolean,
): { point: SoakPoint; after: number } {
  const payments = steps.filter((s) => isPaymentStep(s.kind)).length;
  const settles = steps.filter((s) => s.kind === 'settle').length;
  const crossesCarryOver =
    steps.length > 0 && steps[0]!.at <= plan.carryOverAt && steps[steps.length - 1]!.at >= plan.carryOverAt;
  const answerLost = steps.filter((s) => s.kind === 'gen2-answer-lost' && s.link === 'up').length;
  if (inDoubt && answerLost > 0 && rnd() < 0.5)
    return { point: IN_DOUBT_POINT, after: randInt(1, answerLost) };
  if (crossesCarryOver && rnd() < 0.6) return { point: 'during-carry-over', after: randInt(1, 3) };
  if (settles > 0 && rnd() < 0.2) return { point: 'during-settlement', after: randInt(1, settles) };
  const point = PAYMENT_POINTS[Math.floor(rnd() * PAYMENT_POINTS.length)]!;
  if (point === 'during-apdu') return { point, after: randInt(1, Math.max(1, steps.length * 28)) };
  return { point, after: randInt(1, Math.max(1, payments)) };
}

function runChild(o: {
  dbPath: string;
  planFile: string;
  logFile: string;
  from: number;
  count: number;
  logOffset: number;
  point: SoakPoint | null;
  after: number;
  timerMs: number | null;
  timeoutMs: number;
}): Promise<ChildRun> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SSCARD_CRASH_AT;
  delete env.SSCARD_CRASH_AFTER;
  if (o.point) {
    env.SSCARD_CRASH_AT = o.point;
    env.SSCARD_CRASH_AFTER = String(o.after);
  }
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CHILD,
      '--db',
      o.dbPath,
      '--plan',
      o.planFile,
      '--from',
      String(o.from),
      '--count',
      String(o.count),
      '--log',
      o.logFile,
    ],
    { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  let loadedAt: number | null = null;
  let timer: NodeJS.Timeout | null = null;
  let timedOut = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (loadedAt === null && stdout.includes('loaded\n')) {
      loadedAt = performance.now();
      if (o.timerMs !== null) {
        timer = setTimeout(() => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        }, o.timerMs);
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise<ChildRun>((resolve, reject) => {
    const guard = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(guard);
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      if (timer) clearTimeout(timer);
      const end = performance.now();
      resolve({
        signal,
        code,
        stderr,
        lines: readLog(o.logFile, o.logOffset),
        ms: end - t0,
        loadedToExitMs: loadedAt === null ? null : end - loadedAt,
        timedOut,
      });
    });
  });
}

/** The log lines written since `offset`; a partial last line (cut by a SIGKILL) is left out. */
function readLog(file: string, offset: number): SoakLogLine[] {
  const text = readFileSync(file).subarray(offset).toString('utf8');
  const out: SoakLogLine[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as SoakLogLine);
    } catch {
      // Only the last line can be cut; a cut `end` leaves its step in flight, as it was.
    }
  }
  return out;
}

/** The cards registered, and the counters of the witnesses to follow. */
function prepareLedger(dbPath: string, plan: SoakPlan): Model {
  const pos = openPosSystem({ dbPath, clock: fixedClock(plan.setupAt) });
  try {
    for (const c of Object.values(SOAK_CARDS)) pos.register(resolveCard(c.id).profile);
    const pin = pos.store.security(resolveCard(SOAK_CARDS.pinWitness.id).profile.card.number);
    return {
      pinTries: pin.pinTriesLeft,
      pinLimit: pin.pinRetryLimit,
      passwordFailures: passwordFailures(pos.store.db, SOAK_CARDS.passwordWitness.id) ?? 0,
      passwordLimit: 3, // the in-process bank's default
    };
  } finally {
    pos.close();
  }
}

function cardNumber(id: string): string {
  return resolveCard(id).profile.card.number;
}

function passwordFailures(db: Database.Database, id: string): number | undefined {
  return db
    .prepare<[string], number>('SELECT password_failures FROM bank_secrets WHERE card_id = ?')
    .pluck()
    .get(cardNumber(id));
}

/** The witnesses' counters after a step took effect. */
function applyStep(model: Model, step: SoakStep): void {
  if (step.kind === 'wrong-pin') model.pinTries = Math.max(0, model.pinTries - 1);
  else if (step.kind === 'unblock') model.pinTries = model.pinLimit;
  else if (step.kind === 'wrong-password' && step.link === 'up')
    model.passwordFailures = Math.min(model.passwordLimit, model.passwordFailures + 1);
}

/** What the till must answer for a step played to its end. */
function checkOutcome(step: SoakStep, line: Extract<SoakLogLine, { ev: 'end' }>): string[] {
  const problems: string[] = [];
  const payments = line.txns.filter((t) => t.kind === 'payment');
  const reversals = line.txns.filter((t) => t.kind === 'reversal');
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(`${step.kind} (link ${step.link}) ended ${line.result}/${line.code}: ${what}`);
  };
  const onePayment = (mode: 'online' | 'offline') =>
    payments.length === 1 &&
    line.txns.length === 1 &&
    payments[0]!.amountFen === step.amountFen &&
    payments[0]!.mode === mode;
  switch (step.kind) {
    case 'gen3-medical':
      expect(
        line.result === 'paid' && onePayment(step.link === 'up' ? 'online' : 'offline'),
        `expected paid ${step.link === 'up' ? 'online' : 'offline'}, one payment of ${step.amountFen} fen`,
      );
      break;
    case 'gen3-reserve':
    case 'gen2':
      if (step.link === 'up')
        expect(line.result === 'paid' && onePayment('online'), `expected paid online, ${step.amountFen} fen`);
      else expect(line.result === 'declined' && line.txns.length === 0, 'expected declined, nothing booked');
      break;
    case 'gen2-answer-lost':
      expect(
        line.result === 'reversed' && line.txns.length === 0,
        'expected reversed (answer lost), nothing booked at the till',
      );
      break;
    case 'pulled':
      expect(
        payments.length <= 1 &&
          reversals.length <= payments.length &&
          reversals.every((r) => r.ref === payments[0]?.id) &&
          (line.result === 'paid') === (payments.length === 1 && reversals.length === 0),
        'expected a payment reversed, paid, or nothing',
      );
      break;
    case 'wrong-pin':
      expect(
        (line.result === 'cancelled' && line.code === 'WRONG_PIN') ||
          (line.result === 'declined' && line.code === 'PIN_BLOCKED'),
        'expected WRONG_PIN or PIN_BLOCKED',
      );
      expect(line.txns.length === 0, 'nothing booked');
      break;
    case 'wrong-password':
      expect(line.result !== 'paid' && line.txns.length === 0, 'expected refused, nothing booked');
      break;
    case 'unblock':
    case 'settle':
    case 'sync':
      expect(line.result === 'done' && line.txns.length === 0, 'expected done, nothing booked');
      break;
  }
  return problems;
}

interface TxnRow {
  payment_id: string;
  kind: SoakLogTxn['kind'];
  ref_payment_id: string | null;
  card_id: string;
  amount_fen: number;
  mode: SoakLogTxn['mode'];
}

/**
 * Reopens the file as a restarting till (terminal started, queue forwarded, reversals owed
 * settled), decides whether the step in flight took effect, and checks every invariant.
 */
async function recoverAndCheck(o: {
  dbPath: string;
  plan: SoakPlan;
  model: Model;
  known: Map<string, { step: number; txn: SoakLogTxn }>;
  approved: readonly SoakLogTxn[];
  paymentsOfStep: Map<number, number>;
  inFlight: SoakStep | null;
  at: string;
  link: LinkState;
}): Promise<{ problems: string[]; payments: number; inFlightTookEffect: boolean }> {
  const problems: string[] = [];
  const pos = openPosSystem({ dbPath: o.dbPath, clock: fixedClock(o.at), link: o.link });
  try {
    const db = pos.store.db;
    pos.terminal.start();
    const synced = await pos.sync({ now: EVERYTHING_DUE });
    if (o.link === 'up' && synced.pending > 0)
      problems.push(
        `recovery with the link up left ${synced.pending} entries owed to the host ` +
          `(${synced.errors.map((e) => `${e.paymentId}: ${e.code} ${e.message}`).join('; ')})`,
      );
    // A reversal written ahead of a debit the dead till never finished is owed (or settled)
    // once a restarted till has synced, whatever the link: none is left armed.
    for (const a of new PendingReversals(db).armed())
      problems.push(
        `${a.paymentId}: reversal written ahead by ${a.owner ?? 'no owner'} still armed after the restart` +
          (a.inFlight ? ' (its owner counted as alive)' : ''),
      );

    // Every transaction in the books is a reported one or the killed step's.
    let tookEffect = false;
    const rows = db
      .prepare<[string], TxnRow>(
        'SELECT payment_id, kind, ref_payment_id, card_id, amount_fen, mode FROM terminal_payments WHERE terminal_id = ? ORDER BY seq',
      )
      .all(pos.ledger.terminalId);
    const inFlightCard = o.inFlight ? stepCard(o.inFlight) : null;
    for (const r of rows) {
      const k = o.known.get(r.payment_id);
      if (k) {
        if (k.txn.amountFen !== r.amount_fen || k.txn.cardId !== r.card_id || k.txn.kind !== r.kind)
          problems.push(`${r.payment_id}: in the books as ${r.kind} ${r.amount_fen} fen, reported otherwise`);
        continue;
      }
      const s = o.inFlight;
      const fits =
        s !== null &&
        isPaymentStep(s.kind) &&
        r.card_id === inFlightCard &&
        ((r.kind === 'payment' && r.amount_fen === s.amountFen && (o.paymentsOfStep.get(s.i) ?? 0) === 0) ||
          (r.kind === 'reversal' &&
            r.ref_payment_id !== null &&
            o.known.get(r.ref_payment_id)?.step === s.i));
      if (!fits || !s) {
        problems.push(
          `${r.payment_id}: ${r.kind} of ${r.amount_fen} fen (card ${r.card_id}) in the books, reported by no child` +
            (s ? ` and not of the step killed (${s.i} ${s.kind})` : ''),
        );
        continue;
      }
      const txn: SoakLogTxn = {
        id: r.payment_id,
        kind: r.kind,
        ref: r.ref_payment_id,
        cardId: r.card_id,
        amountFen: r.amount_fen,
        mode: r.mode,
      };
      o.known.set(r.payment_id, { step: s.i, txn });
      if (r.kind === 'payment') o.paymentsOfStep.set(s.i, 1);
      tookEffect = true;
    }
    for (const [step, n] of o.paymentsOfStep)
      if (n > 1) problems.push(`step ${step}: ${n} payments in the books for one sale (DOUBLED)`);

    problems.push(...checkBooks(pos));

    // Every approved payment once in the terminal's books and, once forwarded, at the host.
    const hostRecord = db.prepare<[string], { amount_fen: number; card_id: string; kind: string }>(
      'SELECT amount_fen, card_id, kind FROM host_records WHERE payment_id = ?',
    );
    for (const a of o.approved) {
      const p = pos.ledger.payment(a.id);
      if (!p) {
        problems.push(`${a.id}: approved at the till, LOST from the terminal's books`);
        continue;
      }
      if (p.amountFen !== a.amountFen || p.cardId !== a.cardId)
        problems.push(`${a.id}: approved for ${a.amountFen} fen, booked ${p.amountFen}`);
      const q = pos.ledger.queueEntry(a.id);
      if (!q) problems.push(`${a.id}: approved, with no forward-queue row`);
      else if (q.state === 'sent') {
        const h = hostRecord.get(a.id);
        if (!h) problems.push(`${a.id}: approved and marked sent, LOST at the host`);
        else if (h.kind !== 'payment' || h.amount_fen !== a.amountFen || h.card_id !== a.cardId)
          problems.push(
            `${a.id}: at the host as ${h.kind} of ${h.amount_fen} fen, approved for ${a.amountFen}`,
          );
      } else if (a.mode !== 'offline') problems.push(`${a.id}: approved online, yet queued for the host`);
    }

    // The counters: witnesses exactly as the steps made them, paying cards never touched.
    const pinNow = pos.store.security(cardNumber(SOAK_CARDS.pinWitness.id)).pinTriesLeft;
    const pwNow = passwordFailures(db, SOAK_CARDS.passwordWitness.id) ?? -1;
    const s = o.inFlight;
    const ifApplied: Model = { ...o.model };
    if (s) applyStep(ifApplied, s);
    if (pinNow !== o.model.pinTries) {
      if (s && (s.kind === 'wrong-pin' || s.kind === 'unblock') && pinNow === ifApplied.pinTries)
        tookEffect = true;
      else
        problems.push(
          `PIN witness ${cardNumber(SOAK_CARDS.pinWitness.id)}: ${pinNow} tries left, expected ${o.model.pinTries}` +
            (pinNow > o.model.pinTries ? ' (a try GIVEN BACK)' : ''),
        );
    }
    if (pwNow !== o.model.passwordFailures) {
      if (s?.kind === 'wrong-password' && pwNow === ifApplied.passwordFailures) tookEffect = true;
      else
        problems.push(
          `password witness ${cardNumber(SOAK_CARDS.passwordWitness.id)}: ${pwNow} failures at the bank, expected ${o.model.passwordFailures}` +
            (pwNow < o.model.passwordFailures ? ' (a failure FORGOTTEN)' : ''),
        );
    }
    for (const id of [SOAK_CARDS.gen3.id, SOAK_CARDS.gen2.id]) {
      const sec = pos.store.security(cardNumber(id));
      if (sec.pinTriesLeft !== sec.pinRetryLimit)
        problems.push(`card ${cardNumber(id)}: ${sec.pinTriesLeft} PIN tries left, never given a wrong PIN`);
    }
    for (const id of [SOAK_CARDS.gen3.id, SOAK_CARDS.gen2.id]) {
      const f = passwordFailures(db, id);
      if (f !== 0)
        problems.push(`card ${cardNumber(id)}: ${f} bank password failures, never given a wrong one`);
    }

    // A day closed whose books did not change since matches its stored settlement.
    const closings = db
      .prepare<
        [string],
        {
          business_date: string;
          version: number;
          closed_at: string;
          payments: number;
          reversals: number;
          total_fen: number;
        }
      >(
        `SELECT s.business_date, s.version, s.closed_at, s.payments, s.reversals, s.total_fen FROM terminal_settlements s
         WHERE s.terminal_id = ? AND s.version = (SELECT MAX(version) FROM terminal_settlements
           WHERE terminal_id = s.terminal_id AND business_date = s.business_date)`,
      )
      .all(pos.ledger.terminalId);
    const laterTxns = db.prepare<[string, string, string], number>(
      'SELECT COUNT(*) FROM terminal_payments WHERE terminal_id = ? AND business_date = ? AND created_at > ?',
    );
    for (const c of closings) {
      if ((laterTxns.pluck().get(pos.ledger.terminalId, c.business_date, c.closed_at) ?? 0) > 0) continue;
      const now = pos.ledger.settlement(c.business_date);
      if (now.payments !== c.payments || now.reversals !== c.reversals || now.totalFen !== c.total_fen)
        problems.push(
          `settlement ${c.business_date} v${c.version}: ${c.payments} payments, ${c.total_fen} fen stored; ` +
            `the books say ${now.payments}, ${now.totalFen} fen`,
        );
    }

    // The carry-over: once the host was reached after 21 June, done once, recorded.
    const reachedAfter =
      (db
        .prepare<[string], number>('SELECT COUNT(*) FROM host_records WHERE applied_at >= ?')
        .pluck()
        .get(o.plan.carryOverAt) ?? 0) > 0;
    const doneYear = Number(
      db.prepare<[], string>("SELECT value FROM host_meta WHERE key = 'carry_over_done_year'").pluck().get(),
    );
    const years = db.prepare<[], number>('SELECT year FROM host_carry_overs').pluck().all();
    if (reachedAfter && doneYear < 2026)
      problems.push('the host was reached after 21 June 2026 without carrying over');
    if (doneYear >= 2026 && !years.includes(2026)) problems.push('carry-over 2026 marked done, not recorded');
    if (doneYear < 2026 && years.includes(2026)) problems.push('carry-over 2026 recorded, not marked done');

    // A killed step that changed nothing is played again; one that did is not.
    if (s && (s.kind === 'settle' || s.kind === 'sync')) tookEffect = false; // replaying is harmless
    const payments = rows.filter((r) => r.kind === 'payment').length;
    return { problems, payments, inFlightTookEffect: tookEffect };
  } finally {
    pos.close();
  }
}

function stepCard(step: SoakStep): string {
  switch (step.kind) {
    case 'gen2':
    case 'gen2-answer-lost':
      return cardNumber(SOAK_CARDS.gen2.id);
    default:
      return cardNumber(SOAK_CARDS.gen3.id);
  }
}
