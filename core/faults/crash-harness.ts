import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openPosSystem, type PosSystem } from '../pos/pos-system.ts';
import { PendingReversals } from '../pos/pending-reversals.ts';
import { resolveCard } from '../card/wallet.ts';
import { SELECT_SSSE, verifyPin } from '../terminal/card-commands.ts';
import { hostRecordFromColumns } from '../host/split.ts';
import type { HostRecord } from '../host/types.ts';
import type { Clock } from '../time.ts';
import { isCrashPoint, type CrashPoint } from '../crash-points.ts';

/**
 * Crash tests: a child process makes payments on a ledger file and is SIGKILLed at a crash
 * point; the ledger is then reopened and checked — nothing committed is lost, nothing is
 * applied twice, both books balance, the forward queue holds together, PIN counters survive.
 */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

/** When the ledger is prepared: two days before a 21 June, so the child's first host call carries over. */
export const SETUP_CLOCK_START = '2026-06-19T02:00:00Z';
/** When the child pays (10:00 in Beijing, 22 June): after the carry-over date. */
export const CHILD_CLOCK_START = '2026-06-22T02:00:00Z';

/** A clock starting at `iso` and running at real speed. */
export function clockFrom(iso: string): Clock {
  const base = new Date(iso).getTime();
  const t0 = Date.now();
  return () => new Date(base + (Date.now() - t0));
}

/** The payments the child saw approved, one id a line. */
export function approvedFile(dbPath: string): string {
  return `${dbPath}.approved`;
}

/** What the harness recorded before the first child ran: the PIN counters to find again. */
export function expectationsFile(dbPath: string): string {
  return `${dbPath}.crash.json`;
}

interface Expectations {
  /** Cards and the PIN tries left they must still have after any crash. */
  pinTriesLeft: Record<string, number>;
}

export interface CrashRunOptions {
  dbPath: string;
  crashAt: CrashPoint;
  /** Fire on the k-th time the point is reached (default 1). */
  crashAfter?: number;
  payments: number;
  /** A bundled card id (default gen3-active, PIN 258014). */
  cardId?: string;
  /** Give up on a child that neither finishes nor dies (default 60 s). */
  timeoutMs?: number;
}

export interface CrashRunResult {
  /** The child died of SIGKILL (the crash point fired). */
  killed: boolean;
  exitSignal: string | null;
  exitCode: number | null;
  /** Payments the child saw approved before it died. */
  approved: string[];
  stdout: string;
  stderr: string;
}

/**
 * Prepares the ledger on first use (the cards registered; a witness card with one wrong PIN
 * try on its counter), then runs a child that makes `payments` payments and is SIGKILLed at
 * `crashAt`. A child that reaches the end without crashing exits normally (killed: false).
 */
export async function runCrashingPayments(options: CrashRunOptions): Promise<CrashRunResult> {
  if (!isCrashPoint(options.crashAt)) throw new TypeError(`unknown crash point ${String(options.crashAt)}`);
  if (!Number.isSafeInteger(options.payments) || options.payments < 1)
    throw new RangeError('payments must be a whole number ≥ 1');
  const cardId = options.cardId ?? 'gen3-active';
  if (!existsSync(expectationsFile(options.dbPath))) prepareLedger(options.dbPath, cardId);
  const before = new Set(readApproved(options.dbPath));

  const env: NodeJS.ProcessEnv = { ...process.env, SSCARD_CRASH_AT: options.crashAt };
  if (options.crashAfter !== undefined) env.SSCARD_CRASH_AFTER = String(options.crashAfter);
  else delete env.SSCARD_CRASH_AFTER;
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CHILD,
      '--db',
      options.dbPath,
      '--payments',
      String(options.payments),
      '--card',
      cardId,
    ],
    { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      const timer = setTimeout(() => child.kill('SIGTERM'), options.timeoutMs ?? 60_000);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (c, s) => {
        clearTimeout(timer);
        resolve({ code: c, signal: s });
      });
    },
  );
  return {
    killed: signal === 'SIGKILL',
    exitSignal: signal,
    exitCode: code,
    approved: readApproved(options.dbPath).filter((id) => !before.has(id)),
    stdout,
    stderr,
  };
}

function readApproved(dbPath: string): string[] {
  const f = approvedFile(dbPath);
  return existsSync(f)
    ? readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => l.length > 0)
    : [];
}

/** The ledger as the first child finds it, and what must survive every crash. */
function prepareLedger(dbPath: string, cardId: string): void {
  const pos = openPosSystem({ dbPath, clock: clockFrom(SETUP_CLOCK_START) });
  try {
    const payCard = resolveCard(cardId).profile;
    pos.register(payCard);
    // The witness: a card with one wrong PIN on its counter. No crash may give the try back.
    const witnessProfile = resolveCard(cardId === 'gen2' ? 'gen1' : 'gen2').profile;
    const witness = pos.register(witnessProfile);
    witness.powerOn();
    witness.transmit(SELECT_SSSE);
    const wrong = witnessProfile.pin === '000000' ? '111111' : '000000';
    witness.transmit(verifyPin(wrong));
    witness.powerOff();
    const tries = (id: string) => pos.store.security(id).pinTriesLeft;
    const expect: Expectations = {
      pinTriesLeft: {
        [payCard.card.number]: tries(payCard.card.number),
        [witnessProfile.card.number]: tries(witnessProfile.card.number),
      },
    };
    writeFileSync(expectationsFile(dbPath), JSON.stringify(expect, null, 2));
  } finally {
    pos.close();
  }
}

export interface RecoveryCheck {
  ok: boolean;
  problems: string[];
  /** Payments (kind 'payment') in the terminal's books. */
  payments: number;
}

interface HostRecordRow {
  payment_id: string;
  kind: HostRecord['kind'];
  ref_payment_id: string | null;
  terminal_id: string;
  card_id: string;
  method: HostRecord['method'];
  amount_fen: number;
  medical_current_fen: number;
  medical_prior_fen: number;
  reserve_fen: number;
  self_pay_fen: number;
  advanced_fen: number;
  created_at: string;
  applied_at: string;
}

/**
 * Reopens the ledger as a till restarting after a crash would (openPosSystem) and checks it:
 * - every payment the terminal committed is at the host and vice versa (none lost, none
 *   doubled), reversals of debits the terminal never booked netting to zero;
 * - no money moved at the host without a host record, and no host record without its posting;
 * - card balances equal the journal (Ledger.checkConsistency), the terminal's books balance
 *   (TerminalLedger.checkBalanced), settlements add up, a carry-over is all or nothing;
 * - the forward queue holds together: every transaction has its queue row, a row marked sent
 *   is at the host;
 * - the PIN counters are what they were before the crash runs (never given back), and every
 *   payment the till approved is in both books.
 */
export function checkRecovery(dbPath: string): RecoveryCheck {
  const pos = openPosSystem({ dbPath, clock: clockFrom(CHILD_CLOCK_START) });
  try {
    const db = pos.store.db;
    const ledger = pos.ledger;
    const problems = checkBooks(pos);
    const hostIds = new Set(db.prepare<[], string>('SELECT payment_id FROM host_records').pluck().all());

    // PIN counters never given back; what the till approved is in both books.
    const exp = readExpectations(dbPath);
    for (const [cardId, tries] of Object.entries(exp?.pinTriesLeft ?? {})) {
      const now = pos.store.ledger.getSecurity(cardId)?.pinTriesLeft;
      if (now !== tries) problems.push(`card ${cardId}: PIN tries left ${now}, expected ${tries}`);
    }
    for (const id of readApproved(dbPath)) {
      if (!ledger.payment(id)) problems.push(`${id}: approved at the till, LOST from the terminal's books`);
      if (!hostIds.has(id) && ledger.queueEntry(id)?.state !== 'pending')
        problems.push(`${id}: approved at the till, LOST at the host`);
    }

    const payments = ledger.payments({ kind: 'payment' }).length;
    return { ok: problems.length === 0, problems, payments };
  } finally {
    pos.close();
  }
}

/**
 * The checks that hold for any till's file at any time after a restart, whatever it ran:
 * terminal against host by id (none lost, none doubled; queued and net-zero reversals
 * excepted), money moved at the host ⇔ a host record, card balances equal the journal, the
 * terminal's books balance, the forward queue and the reversals owed hold together,
 * settlements add up, a carry-over year is all or nothing, no PIN counter above its limit.
 * Returns the problems found (empty: all hold).
 */
export function checkBooks(pos: PosSystem): string[] {
  const problems: string[] = [];
  const db = pos.store.db;
  const ledger = pos.ledger;

  // The host's books: card balances against the journal.
  for (const i of pos.store.ledger.checkConsistency()) {
    problems.push(
      `account ${i.accountId} (${i.kind}${i.cardId ? ` of ${i.cardId}` : ''}) holds ${i.balanceFen} fen, its journal ${i.journalFen}`,
    );
  }
  // The terminal's books.
  const balanced = ledger.checkBalanced();
  if (!balanced.balanced) {
    problems.push(`terminal journal unbalanced (total ${balanced.totalFen} fen)`);
    for (const u of balanced.unbalanced) problems.push(`terminal ${u.paymentId}: ${u.detail}`);
  }

  // Terminal against host, by id.
  const rows = db
    .prepare<[string], HostRecordRow>('SELECT * FROM host_records WHERE terminal_id = ? ORDER BY rowid')
    .all(ledger.terminalId);
  const records: HostRecord[] = rows.map(hostRecordFromColumns);
  const unbooked = new PendingReversals(db).reversedUnbooked();
  const netZero = (id: string) => unbooked.has(id) || (id.endsWith('-R') && unbooked.has(id.slice(0, -2)));
  const rec = ledger.reconcile(records);
  for (const m of rec.mismatches) {
    // Queued, not forwarded yet: the queue check below covers it; the forwarder will send it.
    if (m.kind === 'not-yet-forwarded') continue;
    if (m.kind === 'missing-at-terminal' && netZero(m.paymentId)) continue;
    const what =
      m.kind === 'missing-at-host'
        ? 'LOST at the host'
        : m.kind === 'missing-at-terminal'
          ? 'applied at the host, LOST at the terminal'
          : m.kind;
    problems.push(`${m.paymentId}: ${what} (${m.detail})`);
  }

  // Money moved at the host ⇔ a host record, once.
  // (A second charge for one sale would be a host record the terminal does not know: above.)
  const posted = new Set(
    db
      .prepare<[], string>(
        "SELECT DISTINCT txn_id FROM journal WHERE kind IN ('payment', 'refund', 'reversal')",
      )
      .pluck()
      .all(),
  );
  const hostIds = new Set(db.prepare<[], string>('SELECT payment_id FROM host_records').pluck().all());
  for (const id of posted) {
    if (!hostIds.has(id)) problems.push(`${id}: money moved at the host with no host record`);
  }
  for (const r of rows) {
    const covered = r.medical_current_fen + r.medical_prior_fen + r.reserve_fen;
    if (covered > 0 && !posted.has(r.payment_id))
      problems.push(`${r.payment_id}: host record without its posting`);
  }

  // The forward queue.
  const noQueueRow = db
    .prepare<[string], string>(
      `SELECT p.payment_id FROM terminal_payments p LEFT JOIN forward_queue q ON q.payment_id = p.payment_id
       WHERE p.terminal_id = ? AND q.payment_id IS NULL`,
    )
    .pluck()
    .all(ledger.terminalId);
  for (const id of noQueueRow) problems.push(`${id}: no forward-queue row (neither queued nor confirmed)`);
  for (const e of ledger.forwardQueue('sent')) {
    if (!hostIds.has(e.paymentId)) problems.push(`${e.paymentId}: marked sent but not at the host`);
  }
  const reversalsDone = db
    .prepare<[], { reversal_id: string; payment_id: string }>(
      "SELECT reversal_id, payment_id FROM pending_host_reversals WHERE outcome = 'reversed'",
    )
    .all();
  for (const r of reversalsDone) {
    if (!hostIds.has(r.reversal_id))
      problems.push(`${r.reversal_id}: reversal marked done but not at the host`);
  }

  // Settlements add up; carry-overs are all or nothing.
  const settlements = db
    .prepare<[], { business_date: string; version: number; total_fen: number; parts: number }>(
      `SELECT business_date, version, total_fen,
              medical_current_fen + medical_prior_fen + reserve_fen + cash_fen AS parts
       FROM terminal_settlements`,
    )
    .all();
  for (const s of settlements) {
    if (s.total_fen !== s.parts)
      problems.push(`settlement ${s.business_date} v${s.version}: total ${s.total_fen} ≠ parts ${s.parts}`);
  }
  const carryOvers = db
    .prepare<[], { year: number; cards: number }>('SELECT year, cards FROM host_carry_overs')
    .all();
  const carried = db
    .prepare<[], { year: string; n: number }>(
      `SELECT substr(txn_id, 12, 4) AS year, COUNT(DISTINCT txn_id) AS n FROM journal
       WHERE kind = 'carry-over' GROUP BY year`,
    )
    .all();
  for (const c of carried) {
    const done = carryOvers.find((y) => String(y.year) === c.year);
    if (!done) problems.push(`carry-over ${c.year}: ${c.n} cards moved but the year is not recorded`);
    else if (done.cards !== c.n)
      problems.push(`carry-over ${c.year}: ${c.n} cards moved, ${done.cards} recorded`);
  }

  for (const s of db
    .prepare<[], { card_id: string; pin_tries_left: number; pin_retry_limit: number }>(
      'SELECT card_id, pin_tries_left, pin_retry_limit FROM card_security',
    )
    .all()) {
    if (s.pin_tries_left > s.pin_retry_limit)
      problems.push(
        `card ${s.card_id}: ${s.pin_tries_left} PIN tries left, above the limit ${s.pin_retry_limit}`,
      );
  }
  return problems;
}

function readExpectations(dbPath: string): Expectations | null {
  const f = expectationsFile(dbPath);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Expectations) : null;
}
