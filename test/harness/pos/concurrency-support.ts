/**
 * Several terminals on ONE ledger file, each its own process: the cards, the host's books and
 * every terminal's books in the same SQLite database, as tills of one pharmacy sharing a
 * server-less ledger would. Used by core/pos/concurrency.test.ts (npm test) and
 * bench/concurrent-terminals.bench.ts.
 *
 * Each terminal (test/harness/pos/concurrency-worker.ts) opens the till on the file, registers its cards
 * (some shared with the other terminals, so that they contend for the same rows), waits for the
 * start signal, then plays a seeded mix of payments: gen 3 medical with the card PIN, online and
 * (while its link is down) offline; gen 2 medical and reserve with the transaction password;
 * forwarding its queue when the link comes back, closing the day now and then. It reports every
 * payment it saw approved and every error. verifyConcurrentRun() then checks the file.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { resolveCard } from '../../../core/card/wallet.ts';
import { parseProfile, type CardProfile, type CardProfileInput } from '../../../core/card/profile.ts';
import { cardNumberCheckChar } from '../../../core/rules/card-number.ts';
import { openLedgerDb } from '../../../core/db/open.ts';
import { Ledger } from '../../../core/ledger/ledger.ts';
import { TerminalLedger } from '../../../core/pos/terminal-ledger.ts';
import { hostRecordFromColumns } from '../../../core/host/split.ts';
import type { HostRecord, PaymentMethod, PaymentSplit } from '../../../core/host/types.ts';
import { businessDate, type Clock } from '../../../core/time.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WORKER = fileURLToPath(new URL('./concurrency-worker.ts', import.meta.url));

/** 10:00 in Beijing: every payment of a run falls on this business day. */
export const RUN_CLOCK_START = '2026-11-26T02:00:00Z';
export const RUN_BUSINESS_DATE = businessDate(new Date(RUN_CLOCK_START));

/** A clock starting at `iso` and running at real speed (ids keep sorting by time). */
export function steadyClock(iso: string = RUN_CLOCK_START): Clock {
  const base = new Date(iso).getTime();
  const t0 = Date.now();
  return () => new Date(base + (Date.now() - t0));
}

import { seededRandom } from '../../../core/random.ts';
export { seededRandom };

// ---- the cards -------------------------------------------------------------------------------

export interface RunCard {
  /** Stable name in reports: 'shared-g3-all', 'own-g2-3'… */
  readonly name: string;
  readonly profile: CardProfile;
  /** The PIN (gen 3) or the transaction password (gen 2) the holder types. */
  readonly secret: string;
}

function cloneCard(
  fixture: 'gen3-active' | 'gen2',
  body: string,
  serialSuffix: string,
  accounts: CardProfileInput['accounts'],
): CardProfile {
  const p = structuredClone(resolveCard(fixture).profile) as CardProfileInput;
  p.id = `${fixture}-${body.toLowerCase()}`;
  p.card.number = body + cardNumberCheckChar(body);
  p.card.chipSerial = p.card.chipSerial.slice(0, 12) + serialSuffix;
  p.accounts = accounts;
  return parseProfile(p, `${fixture} clone ${body}`);
}

const BIG = 50_000_000; // 500,000 yuan: medical accounts that never run short in a run

/**
 * The cards of a run with `terminals` terminals. Shared: one gen 3 card every terminal uses,
 * one the even-numbered terminals use, one gen 2 card every terminal uses whose reserve (1,500
 * yuan) runs out mid-run, so that reserve payments race for the last fen and some are
 * declined. Own: one gen 3 and one gen 2 card per terminal.
 */
export function runCards(terminals: number): { shared: RunCard[]; own: RunCard[][] } {
  if (!Number.isSafeInteger(terminals) || terminals < 1 || terminals > 99)
    throw new RangeError(`terminals must be 1–99, not ${terminals}`);
  const g3 = (name: string, body: string, serial: string): RunCard => ({
    name,
    profile: cloneCard('gen3-active', body, serial, {
      reserveFen: 200_000,
      medicalCurrentFen: BIG,
      medicalPriorFen: 1_000_000,
    }),
    secret: '258014',
  });
  const g2 = (name: string, body: string, serial: string, reserveFen: number): RunCard => ({
    name,
    profile: cloneCard('gen2', body, serial, {
      reserveFen,
      medicalCurrentFen: BIG,
      medicalPriorFen: 1_000_000,
    }),
    secret: '246810',
  });
  const shared = [
    g3('shared-g3-all', 'C4409000', 'F000'),
    g3('shared-g3-even', 'C4409001', 'F001'),
    g2('shared-g2-all', 'B4409000', 'F002', 150_000),
  ];
  const own: RunCard[][] = [];
  for (let i = 0; i < terminals; i++) {
    const n = String(i).padStart(2, '0');
    own.push([
      g3(`own-g3-${i}`, `C44091${n}`, `E${n}0`),
      g2(`own-g2-${i}`, `B44091${n}`, `E${n}1`, 10_000_000),
    ]);
  }
  return { shared, own };
}

/** The cards terminal `index` pays with. */
export function cardsOfTerminal(index: number, terminals: number): RunCard[] {
  const { shared, own } = runCards(terminals);
  return [...shared.filter((c) => c.name !== 'shared-g3-even' || index % 2 === 0), ...own[index]!];
}

export const terminalIdOf = (index: number): string => `T${String(index + 1).padStart(2, '0')}`;

// ---- what a terminal reports -------------------------------------------------------------------

export interface ApprovedPayment {
  readonly paymentId: string;
  readonly cardId: string;
  readonly method: PaymentMethod;
  readonly mode: 'online' | 'offline';
  readonly amountFen: number;
  readonly split: PaymentSplit;
  /** The receipt handed out, kept to compare with the stored one. */
  readonly receiptText: string;
}

export interface TerminalProblem {
  /** Which payment (index in the terminal's run) or step ('sync', 'close-day', 'start'…). */
  readonly where: string;
  readonly code: string;
  readonly message: string;
}

export interface TerminalReport {
  readonly terminalId: string;
  readonly seed: number;
  readonly attempted: number;
  readonly approved: ApprovedPayment[];
  /** Declines a business rule explains (funds short, gen 2 with the link down), by message code. */
  readonly declined: Record<string, number>;
  /** Everything else: unexpected declines, exceptions, SQLITE_BUSY. A correct run has none. */
  readonly problems: TerminalProblem[];
  /** Problems whose text says SQLITE_BUSY / database is locked. */
  readonly busy: number;
  readonly offlineApproved: number;
  readonly syncs: number;
  readonly closings: number;
  /** Wall time from the start signal to the last payment, ms. */
  readonly payingMs: number;
  /** The terminal's own reconciliation at the end. */
  readonly reconcileAgrees: boolean;
  readonly reconcileMismatches: string[];
}

/** Declines that are business answers, not failures. */
export const BUSINESS_DECLINES: ReadonlySet<string> = new Set([
  'INSUFFICIENT_FUNDS',
  'HOST_UNREACHABLE_GEN2',
]);

export const isBusy = (text: string): boolean => /SQLITE_BUSY|database is locked/i.test(text);

// ---- running terminals as processes ------------------------------------------------------------

export interface RunOptions {
  readonly dbPath: string;
  readonly terminals: number;
  /** Payments per terminal. */
  readonly payments: number;
  readonly seed: number;
  /** Give up after this long (default 10 min). */
  readonly timeoutMs?: number;
  /** Terminal index → how it is numbered among the cards (default: itself). */
  readonly cardSet?: number;
}

export interface RunResult {
  readonly reports: TerminalReport[];
  /** Start signal to the last terminal done, ms. */
  readonly wallMs: number;
  /** Anything a process wrote to stderr or how it ended, when not cleanly. */
  readonly crashes: string[];
}

interface WorkerMessage {
  type: 'ready' | 'report';
  report?: TerminalReport;
}

/**
 * Starts `terminals` processes on `dbPath` (created by the first to get there if absent), waits
 * until every one has opened the till and registered its cards, then gives them the start
 * signal at once and collects their reports.
 */
export async function runTerminals(o: RunOptions): Promise<RunResult> {
  const children = Array.from({ length: o.terminals }, (_, i) =>
    fork(
      WORKER,
      [
        '--db',
        o.dbPath,
        '--index',
        String(i),
        '--terminals',
        String(o.terminals),
        '--payments',
        String(o.payments),
        '--seed',
        String(o.seed),
      ],
      { cwd: REPO_ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
    ),
  );
  const crashes: string[] = [];
  const reports: (TerminalReport | null)[] = children.map(() => null);
  let ready = 0;
  let allReady!: () => void;
  const readyPromise = new Promise<void>((r) => (allReady = r));
  const exits = children.map(
    (child, i) =>
      new Promise<void>((resolve) => {
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        child.stdout!.resume();
        child.on('message', (m: WorkerMessage) => {
          if (m.type === 'ready' && ++ready === children.length) allReady();
          if (m.type === 'report' && m.report) reports[i] = m.report;
        });
        child.on('close', (code, signal) => {
          if (code !== 0 || signal !== null || stderr.trim() !== '' || !reports[i]) {
            crashes.push(
              `${terminalIdOf(i)}: exit ${code ?? signal}${reports[i] ? '' : ', no report'}` +
                (stderr.trim() ? `\n${stderr.trim()}` : ''),
            );
          }
          // A terminal that died before it was ready must not hold the others at the barrier.
          if (!reports[i] && ready < children.length) allReady();
          resolve();
        });
      }),
  );
  const timer = setTimeout(() => {
    for (const c of children) c.kill('SIGKILL');
  }, o.timeoutMs ?? 600_000);
  let wallMs: number;
  try {
    await readyPromise;
    const startedAt = performance.now();
    for (const c of children) if (c.connected) c.send({ type: 'go' });
    await Promise.all(exits);
    wallMs = performance.now() - startedAt;
  } finally {
    clearTimeout(timer);
  }
  return {
    reports: reports.filter((r): r is TerminalReport => r !== null),
    wallMs,
    crashes,
  };
}

// ---- checking the file afterwards ------------------------------------------------------------

export interface RunCheck {
  readonly problems: string[];
  readonly approved: number;
  readonly declined: number;
  readonly offline: number;
  readonly hostRecords: number;
}

interface HostRecordRow {
  payment_id: string;
  kind: HostRecord['kind'];
  terminal_id: string;
  card_id: string;
  medical_current_fen: number;
  medical_prior_fen: number;
  reserve_fen: number;
  self_pay_fen: number;
  advanced_fen: number;
}

/**
 * Checks the ledger file after a run against what the terminals reported:
 * - 0 lost: every payment a terminal saw approved is in its books once, with the receipt it
 *   handed out, and at the host once (all queues drained at the end);
 * - 0 doubled: the books hold no payment nobody saw approved; no host record twice; no
 *   posting of a payment twice in the host's journal;
 * - both books balance (the host's journal sums to zero per transaction and overall; every
 *   terminal's journal balances), card balances equal the journal, and each card's accounts
 *   went down by exactly the parts of its approved payments;
 * - every terminal's reconciliation agrees, every day closing adds up.
 * Terminal-side problems (errors, SQLITE_BUSY) are listed too.
 */
export function verifyConcurrentRun(dbPath: string, run: RunResult, terminals: number): RunCheck {
  const problems: string[] = [...run.crashes.map((c) => `process: ${c}`)];
  if (run.reports.length !== terminals)
    problems.push(`${run.reports.length} of ${terminals} terminals reported`);
  for (const r of run.reports) {
    for (const p of r.problems)
      problems.push(`${r.terminalId} (seed ${r.seed}) ${p.where}: ${p.code}: ${p.message}`);
    if (r.busy > 0) problems.push(`${r.terminalId}: ${r.busy} SQLITE_BUSY`);
    if (!r.reconcileAgrees)
      problems.push(`${r.terminalId}: reconciliation disagrees: ${r.reconcileMismatches.join('; ')}`);
  }

  const db = new Database(dbPath, { readonly: true });
  try {
    // Terminal books: every approved payment once, under the right terminal, receipt as handed out.
    const stored = new Map(
      db
        .prepare<
          [],
          {
            payment_id: string;
            terminal_id: string;
            card_id: string;
            amount_fen: number;
            receipt_text: string;
          }
        >(
          "SELECT payment_id, terminal_id, card_id, amount_fen, receipt_text FROM terminal_payments WHERE kind = 'payment'",
        )
        .all()
        .map((r) => [r.payment_id, r]),
    );
    const reported = new Map<string, ApprovedPayment & { terminalId: string }>();
    for (const r of run.reports) {
      for (const a of r.approved) {
        if (reported.has(a.paymentId)) problems.push(`${a.paymentId}: reported approved twice`);
        reported.set(a.paymentId, { ...a, terminalId: r.terminalId });
        const row = stored.get(a.paymentId);
        if (!row) problems.push(`${a.paymentId}: approved at ${r.terminalId}, LOST from the terminal books`);
        else {
          if (row.terminal_id !== r.terminalId)
            problems.push(`${a.paymentId}: booked under ${row.terminal_id}, taken at ${r.terminalId}`);
          if (row.amount_fen !== a.amountFen || row.card_id !== a.cardId)
            problems.push(
              `${a.paymentId}: booked ${row.card_id} ${row.amount_fen}, approved ${a.cardId} ${a.amountFen}`,
            );
          if (row.receipt_text !== a.receiptText)
            problems.push(`${a.paymentId}: stored receipt differs from the one handed out`);
        }
      }
    }
    for (const id of stored.keys())
      if (!reported.has(id)) problems.push(`${id}: in the terminal books, but no terminal saw it approved`);

    // Host: one record per approved payment, none twice, none unknown.
    const records = db
      .prepare<[], HostRecordRow>(
        `SELECT payment_id, kind, terminal_id, card_id, medical_current_fen, medical_prior_fen,
                reserve_fen, self_pay_fen, advanced_fen FROM host_records`,
      )
      .all();
    const seen = new Set<string>();
    for (const h of records) {
      if (seen.has(h.payment_id)) problems.push(`${h.payment_id}: host record twice`);
      seen.add(h.payment_id);
      if (h.kind !== 'payment') problems.push(`${h.payment_id}: unexpected host ${h.kind}`);
      else if (!reported.has(h.payment_id))
        problems.push(`${h.payment_id}: at the host, no terminal approved it`);
    }
    for (const id of reported.keys()) if (!seen.has(id)) problems.push(`${id}: approved, LOST at the host`);
    const pending = db
      .prepare<[], number>("SELECT COUNT(*) FROM forward_queue WHERE state = 'pending'")
      .pluck()
      .get()!;
    if (pending !== 0) problems.push(`${pending} forward-queue entries still pending after the final sync`);
    const noQueueRow = db
      .prepare<[], number>(
        `SELECT COUNT(*) FROM terminal_payments p LEFT JOIN forward_queue q ON q.payment_id = p.payment_id
         WHERE q.payment_id IS NULL`,
      )
      .pluck()
      .get()!;
    if (noQueueRow !== 0) problems.push(`${noQueueRow} terminal transactions without a forward-queue row`);

    // The host's journal: each payment posted once, every transaction and the whole balanced.
    const doubled = db
      .prepare<[], { txn_id: string; n: number }>(
        `SELECT txn_id, COUNT(*) AS n FROM journal WHERE kind = 'payment' GROUP BY txn_id, line HAVING n > 1`,
      )
      .all();
    for (const d of doubled) problems.push(`${d.txn_id}: posted ${d.n} times`);
    const unbalancedTxns = db
      .prepare<[], { txn_id: string; s: number }>(
        'SELECT txn_id, SUM(amount_fen) AS s FROM journal GROUP BY txn_id HAVING s <> 0',
      )
      .all();
    for (const u of unbalancedTxns) problems.push(`host journal ${u.txn_id} sums to ${u.s} fen`);
    const postedPayments = new Set(
      db.prepare<[], string>("SELECT DISTINCT txn_id FROM journal WHERE kind = 'payment'").pluck().all(),
    );
    for (const h of records) {
      const coveredFen = h.medical_current_fen + h.medical_prior_fen + h.reserve_fen;
      if (coveredFen > 0 && !postedPayments.has(h.payment_id))
        problems.push(`${h.payment_id}: host record without its posting`);
    }
    for (const id of postedPayments) if (!seen.has(id)) problems.push(`${id}: posted with no host record`);
  } finally {
    db.close();
  }

  // Balances against the journal, and against the approved payments.
  const rw = openLedgerDb(dbPath);
  try {
    const ledger = new Ledger({ db: rw, clock: () => new Date(RUN_CLOCK_START) });
    for (const i of ledger.checkConsistency())
      problems.push(
        `account ${i.accountId} (${i.kind} ${i.cardId ?? 'system'}): ${i.balanceFen} ≠ journal ${i.journalFen}`,
      );
    const advanced = rw
      .prepare<[], number>('SELECT COALESCE(SUM(advanced_fen), 0) FROM host_records')
      .pluck()
      .get()!;
    if (advanced !== 0)
      problems.push(`${advanced} fen advanced by the centre: the run's cards should never run short`);
    const cards = [...runCards(terminals).shared, ...runCards(terminals).own.flat()];
    const reports = run.reports.flatMap((r) => r.approved);
    for (const c of cards) {
      const id = c.profile.card.number;
      const mine = reports.filter((a) => a.cardId === id);
      const sum = (k: keyof PaymentSplit) => mine.reduce((s, a) => s + a.split[k], 0);
      const b = ledger.balances(id);
      const expect = {
        reserve: (c.profile.accounts.reserveFen ?? 0) - sum('reserveFen'),
        medicalCurrent: (c.profile.accounts.medicalCurrentFen ?? 0) - sum('medicalCurrentFen'),
        medicalPrior: (c.profile.accounts.medicalPriorFen ?? 0) - sum('medicalPriorFen'),
      };
      for (const k of ['reserve', 'medicalCurrent', 'medicalPrior'] as const) {
        if (b[k] !== expect[k])
          problems.push(`card ${c.name} ${k}: ${b[k]} fen, opening minus approved payments is ${expect[k]}`);
      }
    }
    for (const r of run.reports) {
      const t = new TerminalLedger({
        db: rw,
        clock: () => new Date(RUN_CLOCK_START),
        terminalId: r.terminalId,
        merchantId: '898440100001',
      });
      const bal = t.checkBalanced();
      if (!bal.balanced) problems.push(`${r.terminalId}: terminal journal unbalanced (${bal.totalFen} fen)`);
      const day = t.settlement(RUN_BUSINESS_DATE);
      if (day.payments !== r.approved.length)
        problems.push(
          `${r.terminalId}: settlement counts ${day.payments} payments, ${r.approved.length} approved`,
        );
      const gross = r.approved.reduce((s, a) => s + a.amountFen, 0);
      if (day.grossFen !== gross)
        problems.push(`${r.terminalId}: settlement gross ${day.grossFen}, approved ${gross}`);
      const closed = t.closedSettlement(RUN_BUSINESS_DATE);
      if (!closed || closed.payments !== r.approved.length)
        problems.push(
          `${r.terminalId}: last closing counts ${closed?.payments} payments, ${r.approved.length} approved`,
        );
      const rec = t.reconcile(
        rw
          .prepare<[string], HostRecordRowFull>('SELECT * FROM host_records WHERE terminal_id = ?')
          .all(r.terminalId)
          .map(toHostRecord),
      );
      if (!rec.agree)
        problems.push(
          `${r.terminalId}: reconciliation: ${rec.mismatches.map((m) => `${m.paymentId} ${m.kind}`).join('; ')}`,
        );
    }
  } finally {
    rw.close();
  }

  const approved = run.reports.reduce((s, r) => s + r.approved.length, 0);
  return {
    problems,
    approved,
    declined: run.reports.reduce((s, r) => s + Object.values(r.declined).reduce((a, b) => a + b, 0), 0),
    offline: run.reports.reduce((s, r) => s + r.offlineApproved, 0),
    hostRecords: approved,
  };
}

interface HostRecordRowFull extends HostRecordRow {
  ref_payment_id: string | null;
  method: PaymentMethod;
  amount_fen: number;
  created_at: string;
  applied_at: string;
}

function toHostRecord(r: HostRecordRowFull): HostRecord {
  return hostRecordFromColumns(r);
}
