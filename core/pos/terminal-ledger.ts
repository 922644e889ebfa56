import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { latestVersion, userVersion } from '../db/migrate.ts';
import type { CardGeneration } from '../ledger/ledger.ts';
import type { HostRecord, MedicalOrder, PaymentMethod, PaymentSplit } from '../host/types.ts';
import { businessDate } from '../time.ts';
import { splitFromColumns } from '../host/split.ts';
import { crashPoint } from '../crash-points.ts';
import { lazyStatements } from '../db/lazy-statements.ts';

/**
 * The terminal's own books, offline-first: every approved payment, refund (退费) and reversal
 * (冲正) the till took, its double-entry journal, the queue of what still has to reach the host,
 * the day closing (日结) and the reconciliation with the host (对账).
 *
 * The books live in SQLite (tables of core/db/migrations/030-terminal-books.ts) beside, but apart from, the
 * host's books: the terminal never reads or writes accounts/journal. Everything but the
 * forward queue is append-only; every multi-row change runs in one IMMEDIATE transaction.
 * Money is integer fen.
 */

export type TransactionKind = 'payment' | 'refund' | 'reversal';
export type PaymentMode = 'online' | 'offline';

/** The till's accounts: sales (credit), and what it is owed or holds (debit). */
export type TerminalAccount =
  'sales' | 'cash' | 'receivable:medical-current' | 'receivable:medical-prior' | 'receivable:reserve';

export const TERMINAL_ACCOUNTS: readonly TerminalAccount[] = [
  'sales',
  'receivable:medical-current',
  'receivable:medical-prior',
  'receivable:reserve',
  'cash',
];

/** The accounts a day's takings end up in (everything but sales): they sum to the net sales. */
export type SettlementAccount = Exclude<TerminalAccount, 'sales'>;

export interface TerminalPayment {
  readonly paymentId: string;
  /** Position in the till's books: the order transactions were taken (and are forwarded). */
  readonly seq: number;
  readonly kind: TransactionKind;
  /** The payment a refund or reversal returns; null for a payment. */
  readonly refPaymentId: string | null;
  readonly terminalId: string;
  readonly merchantId: string;
  readonly cardId: string;
  readonly generation: CardGeneration;
  readonly method: PaymentMethod;
  /** For a refund or reversal: the amount returned. Always > 0. */
  readonly amountFen: number;
  /** For a refund or reversal: what went back where. */
  readonly split: PaymentSplit;
  readonly mode: PaymentMode;
  readonly createdAt: string;
  /** YYYY-MM-DD, Beijing time. */
  readonly businessDate: string;
  readonly receiptText: string | null;
  readonly operator: string | null;
}

export interface TerminalJournalLine {
  readonly entryId: number;
  readonly paymentId: string;
  readonly line: number;
  readonly account: TerminalAccount;
  /** Signed: + debit (the till is owed / holds more), − credit (sales). */
  readonly amountFen: number;
  readonly businessDate: string;
}

export type ForwardState = 'pending' | 'sent';

export interface ForwardEntry {
  readonly paymentId: string;
  readonly kind: TransactionKind;
  readonly refPaymentId: string | null;
  /** 'queued': to be sent by the forwarder; 'online': confirmed by the host at the till. */
  readonly origin: 'queued' | 'online';
  readonly state: ForwardState;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly nextAttemptAt: string;
  readonly enqueuedAt: string;
  readonly sentAt: string | null;
  /** The host's answer, once sent. */
  readonly advancedFen: number | null;
  readonly hostAppliedAt: string | null;
  readonly payment: TerminalPayment;
}

export interface RecordPaymentInput {
  readonly paymentId: string;
  readonly cardId: string;
  readonly generation: CardGeneration;
  readonly method: PaymentMethod;
  readonly amountFen: number;
  readonly split: PaymentSplit;
  readonly mode: PaymentMode;
  /** The Chinese receipt, rendered before recording (rows are append-only). */
  readonly receiptText?: string | null;
  readonly operator?: string | null;
  /** true: the host has not applied it yet, queue it for the forwarder. */
  readonly forward: boolean;
  /** forward=false only: the host's answer to the online request; marks it host-confirmed. */
  readonly hostRecord?: HostRecord;
}

/** Extra fields of a refund or reversal. */
export interface RecordCorrectionOptions {
  readonly receiptText?: string | null;
  readonly operator?: string | null;
  /** forward=false only: the host's answer, when the correction was done online. */
  readonly hostRecord?: HostRecord;
  /**
   * forward=true only: 'online' for a correction written ahead that the till sends to the
   * host at once, before asking (its queue entry is marked sent on the host's answer, or
   * forwarded by sync should the till die first); default 'offline', queued for later.
   */
  readonly mode?: PaymentMode;
}

export interface PaymentFilter {
  readonly date?: string;
  readonly kind?: TransactionKind;
  readonly cardId?: string;
  readonly refPaymentId?: string;
  readonly mode?: PaymentMode;
}

export interface Settlement {
  readonly terminalId: string;
  readonly date: string;
  /** Count of kind 'payment' taken that day. */
  readonly payments: number;
  readonly refunds: number;
  readonly reversals: number;
  /** Payments taken. */
  readonly grossFen: number;
  /** Refunded that day (whatever day the payment was). */
  readonly refundedFen: number;
  readonly reversedFen: number;
  /** Net sales: grossFen − refundedFen − reversedFen; equals the sum of byAccount. */
  readonly totalFen: number;
  readonly byAccount: Readonly<Record<SettlementAccount, number>>;
  /** Net per payment method (refunds and reversals carry their payment's method). */
  readonly byMethod: Readonly<Record<PaymentMethod, number>>;
  /** That day's transactions still waiting for the host (when computed / closed). */
  readonly pendingForward: number;
}

export interface ClosedSettlement extends Settlement {
  readonly version: number;
  readonly closedAt: string;
}

export type MismatchKind =
  | 'missing-at-host'
  | 'missing-at-terminal'
  | 'amount-differs'
  | 'split-differs'
  | 'not-yet-forwarded'
  /** Same id, but kind, reference, card or method differ. */
  | 'record-differs';

export interface Mismatch {
  readonly paymentId: string;
  readonly kind: MismatchKind;
  readonly terminal?: TerminalPayment;
  readonly host?: HostRecord;
  /** Chinese / English. */
  readonly detail: string;
}

export interface ReconcileNote {
  readonly paymentId: string;
  readonly kind: 'advanced';
  readonly advancedFen: number;
  readonly detail: string;
}

export interface Reconciliation {
  readonly date: string | null;
  readonly agree: boolean;
  readonly mismatches: readonly Mismatch[];
  readonly notes: readonly ReconcileNote[];
  /** Net covered part (medical + reserve, no cash) of the terminal's transactions in scope. */
  readonly terminalTotalFen: number;
  /** Net covered part of the host's records in scope. */
  readonly hostTotalFen: number;
}

export interface BalanceCheck {
  readonly balanced: boolean;
  /** Sum of every journal line of this terminal: 0 when the books conserve money. */
  readonly totalFen: number;
  /** Payments whose lines do not sum to zero, or whose sales line disagrees with the row. */
  readonly unbalanced: readonly { paymentId: string; sumFen: number; detail: string }[];
}

export interface TerminalEventInput {
  /** e.g. 'decline', 'error', 'info'. */
  readonly kind: string;
  readonly message: string;
  readonly paymentId?: string | null;
  readonly cardId?: string | null;
  readonly amountFen?: number | null;
  readonly code?: string | null;
}

export interface TerminalEvent extends Required<TerminalEventInput> {
  readonly eventId: number;
  readonly terminalId: string;
  readonly at: string;
  readonly businessDate: string;
}

export type TerminalLedgerErrorCode =
  | 'INVALID_ID'
  | 'INVALID_AMOUNT'
  | 'INVALID_SPLIT'
  | 'INVALID_INPUT'
  | 'INVALID_DATE'
  | 'DUPLICATE_PAYMENT_ID'
  | 'UNKNOWN_PAYMENT'
  | 'NOT_A_PAYMENT'
  | 'ALREADY_REVERSED'
  | 'ALREADY_REFUNDED'
  | 'REFUND_EXCEEDS_REMAINING'
  | 'NOT_QUEUED'
  | 'ALREADY_SENT'
  | 'HOST_RECORD_MISMATCH'
  /** The host answered a refund written ahead with a refusal: it stays queued (see PosSystem.refund). */
  | 'HOST_REFUSED';

export class TerminalLedgerError extends Error {
  override readonly name = 'TerminalLedgerError';

  constructor(
    readonly code: TerminalLedgerErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface TerminalLedgerOptions {
  /** A database opened with openLedgerDb() (pragmas set, migrated). */
  readonly db: Database.Database;
  readonly clock: () => Date;
  readonly terminalId: string;
  readonly merchantId: string;
  /**
   * The order the host draws the medical accounts in (R4; default current year first). Only
   * used to return refunds in the reverse order.
   */
  readonly medicalOrder?: MedicalOrder;
  /**
   * When a refund hands back the cash part (自付): 'last' (default, see planRefund) or
   * 'first' (strictly last-drawn first). Must match the host's rule, or reconciliation
   * reports the partial refunds of payments with a cash part.
   */
  readonly cashRefund?: 'last' | 'first';
}

// ---- helpers ---------------------------------------------------------------------------------

type SplitPart = keyof PaymentSplit;
type CoveredPart = Exclude<SplitPart, 'selfPayFen'>;

const PART_ACCOUNT: Readonly<Record<SplitPart, SettlementAccount>> = {
  medicalCurrentFen: 'receivable:medical-current',
  medicalPriorFen: 'receivable:medical-prior',
  reserveFen: 'receivable:reserve',
  selfPayFen: 'cash',
};

/** Journal line order of a transaction, after the sales line. */
const PART_LINE_ORDER: readonly SplitPart[] = [
  'medicalCurrentFen',
  'medicalPriorFen',
  'reserveFen',
  'selfPayFen',
];
const COVERED_PARTS: readonly CoveredPart[] = ['medicalCurrentFen', 'medicalPriorFen', 'reserveFen'];

const PART_NAME: Readonly<Record<SplitPart, string>> = {
  medicalCurrentFen: '95000 医保当年 medical current',
  medicalPriorFen: '95001 医保上年 medical prior',
  reserveFen: '备用金 reserve',
  selfPayFen: '自付 cash',
};

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const ID_RE = /^[\x21-\x7e]{1,128}$/;
const TERMINAL_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.]{0,31}$/;

const emptySplit = (): PaymentSplit => ({
  medicalCurrentFen: 0,
  medicalPriorFen: 0,
  reserveFen: 0,
  selfPayFen: 0,
});

function covered(split: PaymentSplit): number {
  return split.medicalCurrentFen + split.medicalPriorFen + split.reserveFen;
}

function fen(n: number): string {
  return `${n} fen`;
}

function sign(kind: TransactionKind): 1 | -1 {
  return kind === 'payment' ? 1 : -1;
}

function checkId(id: unknown, what: string): asserts id is string {
  if (typeof id !== 'string' || !ID_RE.test(id)) {
    throw new TerminalLedgerError(
      'INVALID_ID',
      `${what} must be 1–128 printable ASCII characters without spaces, not ${JSON.stringify(id)}`,
    );
  }
}

function checkDate(date: unknown): asserts date is string {
  if (typeof date !== 'string' || !DATE_RE.test(date)) {
    throw new TerminalLedgerError('INVALID_DATE', `date must be YYYY-MM-DD, not ${JSON.stringify(date)}`);
  }
}

function checkAmount(amountFen: unknown, what: string): asserts amountFen is number {
  if (!Number.isSafeInteger(amountFen) || (amountFen as number) <= 0) {
    throw new TerminalLedgerError(
      'INVALID_AMOUNT',
      `${what} must be a positive whole number of fen within ${Number.MAX_SAFE_INTEGER}, not ${String(amountFen)}`,
    );
  }
}

/** The split's parts are safe non-negative integers summing (exactly: BigInt) to amountFen. */
function checkSplit(id: string, method: PaymentMethod, amountFen: number, split: PaymentSplit): void {
  if (typeof split !== 'object' || split === null) {
    throw new TerminalLedgerError('INVALID_SPLIT', `${id}: split is missing`);
  }
  let sum = 0n;
  for (const part of PART_LINE_ORDER) {
    const v = split[part];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new TerminalLedgerError(
        'INVALID_SPLIT',
        `${id}: split.${part} must be a non-negative whole number of fen, not ${String(v)}`,
      );
    }
    sum += BigInt(v);
  }
  if (sum !== BigInt(amountFen)) {
    throw new TerminalLedgerError('INVALID_SPLIT', `${id}: split parts sum to ${sum} fen, not ${amountFen}`);
  }
  // A medical payment draws on 95000/95001 (and cash for the shortfall), a reserve payment on
  // the reserve account (and cash): never both kinds of account in one transaction.
  if (method === 'medical' && split.reserveFen !== 0) {
    throw new TerminalLedgerError('INVALID_SPLIT', `${id}: a medical payment cannot draw on the reserve`);
  }
  if (method === 'reserve' && split.medicalCurrentFen + split.medicalPriorFen !== 0) {
    throw new TerminalLedgerError(
      'INVALID_SPLIT',
      `${id}: a reserve payment cannot draw on the medical accounts`,
    );
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** Beijing wall-clock digits of an instant: YYYYMMDD and HHmmssSSS. */
function beijingDigits(at: Date): { day: string; time: string } {
  const iso = new Date(at.getTime() + 8 * 3600_000).toISOString();
  return {
    day: iso.slice(0, 10).replaceAll('-', ''),
    time: iso.slice(11, 23).replaceAll(':', '').replace('.', ''),
  };
}

// ---- rows ------------------------------------------------------------------------------------

interface PaymentDbRow {
  payment_id: string;
  seq: number;
  kind: TransactionKind;
  ref_payment_id: string | null;
  terminal_id: string;
  merchant_id: string;
  card_id: string;
  generation: CardGeneration;
  method: PaymentMethod;
  amount_fen: number;
  medical_current_fen: number;
  medical_prior_fen: number;
  reserve_fen: number;
  self_pay_fen: number;
  mode: PaymentMode;
  created_at: string;
  business_date: string;
  receipt_text: string | null;
  operator: string | null;
}

type NewPaymentDbRow = Omit<PaymentDbRow, 'seq'>;

interface JournalDbRow {
  entry_id: number;
  payment_id: string;
  line: number;
  account: TerminalAccount;
  amount_fen: number;
  business_date: string;
}

interface QueueDbRow {
  payment_id: string;
  origin: 'queued' | 'online';
  state: ForwardState;
  attempts: number;
  last_error: string | null;
  next_attempt_at: string;
  enqueued_at: string;
  sent_at: string | null;
  advanced_fen: number | null;
  host_applied_at: string | null;
}

interface SettlementDbRow {
  terminal_id: string;
  business_date: string;
  version: number;
  closed_at: string;
  payments: number;
  refunds: number;
  reversals: number;
  gross_fen: number;
  refunded_fen: number;
  reversed_fen: number;
  total_fen: number;
  medical_current_fen: number;
  medical_prior_fen: number;
  reserve_fen: number;
  cash_fen: number;
  method_medical_fen: number;
  method_reserve_fen: number;
  pending_forward: number;
}

interface EventDbRow {
  event_id: number;
  terminal_id: string;
  at: string;
  business_date: string;
  kind: string;
  payment_id: string | null;
  card_id: string | null;
  amount_fen: number | null;
  code: string | null;
  message: string;
}

function toPayment(r: PaymentDbRow): TerminalPayment {
  return {
    paymentId: r.payment_id,
    seq: r.seq,
    kind: r.kind,
    refPaymentId: r.ref_payment_id,
    terminalId: r.terminal_id,
    merchantId: r.merchant_id,
    cardId: r.card_id,
    generation: r.generation,
    method: r.method,
    amountFen: r.amount_fen,
    split: splitFromColumns(r),
    mode: r.mode,
    createdAt: r.created_at,
    businessDate: r.business_date,
    receiptText: r.receipt_text,
    operator: r.operator,
  };
}

function toJournalLine(r: JournalDbRow): TerminalJournalLine {
  return {
    entryId: r.entry_id,
    paymentId: r.payment_id,
    line: r.line,
    account: r.account,
    amountFen: r.amount_fen,
    businessDate: r.business_date,
  };
}

function toSettlement(r: SettlementDbRow): ClosedSettlement {
  return {
    terminalId: r.terminal_id,
    date: r.business_date,
    version: r.version,
    closedAt: r.closed_at,
    payments: r.payments,
    refunds: r.refunds,
    reversals: r.reversals,
    grossFen: r.gross_fen,
    refundedFen: r.refunded_fen,
    reversedFen: r.reversed_fen,
    totalFen: r.total_fen,
    byAccount: {
      'receivable:medical-current': r.medical_current_fen,
      'receivable:medical-prior': r.medical_prior_fen,
      'receivable:reserve': r.reserve_fen,
      cash: r.cash_fen,
    },
    byMethod: { medical: r.method_medical_fen, reserve: r.method_reserve_fen },
    pendingForward: r.pending_forward,
  };
}

function sameMoney(a: Settlement, b: Settlement): boolean {
  return (
    a.payments === b.payments &&
    a.refunds === b.refunds &&
    a.reversals === b.reversals &&
    a.grossFen === b.grossFen &&
    a.refundedFen === b.refundedFen &&
    a.reversedFen === b.reversedFen &&
    a.totalFen === b.totalFen &&
    (Object.keys(a.byAccount) as SettlementAccount[]).every((k) => a.byAccount[k] === b.byAccount[k]) &&
    a.byMethod.medical === b.byMethod.medical &&
    a.byMethod.reserve === b.byMethod.reserve
  );
}

const queueSelect = 'SELECT q.* FROM forward_queue q JOIN terminal_payments p ON p.payment_id = q.payment_id';

/** The statements, each prepared on first use (lazyStatements). */
const prepareStatements = lazyStatements({
  insertPayment: (db) =>
    db.prepare<NewPaymentDbRow>(`
      INSERT INTO terminal_payments (payment_id, seq, kind, ref_payment_id, terminal_id, merchant_id, card_id,
        generation, method, amount_fen, medical_current_fen, medical_prior_fen, reserve_fen, self_pay_fen,
        mode, created_at, business_date, receipt_text, operator)
      VALUES (@payment_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM terminal_payments), @kind, @ref_payment_id,
        @terminal_id, @merchant_id, @card_id, @generation, @method, @amount_fen, @medical_current_fen,
        @medical_prior_fen, @reserve_fen, @self_pay_fen, @mode, @created_at, @business_date, @receipt_text,
        @operator)`),
  paymentExists: (db) =>
    db.prepare<[string], number>('SELECT 1 FROM terminal_payments WHERE payment_id = ?').pluck(),
  getPayment: (db) =>
    db.prepare<[string], PaymentDbRow>('SELECT * FROM terminal_payments WHERE payment_id = ?'),
  corrections: (db) =>
    db.prepare<[string], PaymentDbRow>(
      'SELECT * FROM terminal_payments WHERE ref_payment_id = ? ORDER BY seq',
    ),
  insertLine: (db) =>
    db.prepare<[string, number, TerminalAccount, number, string]>(
      'INSERT INTO terminal_journal (payment_id, line, account, amount_fen, business_date) VALUES (?, ?, ?, ?, ?)',
    ),
  journalOf: (db) =>
    db.prepare<[string], JournalDbRow>('SELECT * FROM terminal_journal WHERE payment_id = ? ORDER BY line'),
  journalAll: (db) =>
    db.prepare<[string], JournalDbRow>(`
      SELECT j.* FROM terminal_journal j JOIN terminal_payments p ON p.payment_id = j.payment_id
      WHERE p.terminal_id = ? ORDER BY j.entry_id`),
  journalSums: (db) =>
    db.prepare<
      [string],
      { payment_id: string; sum_fen: number; sales_fen: number; amount_fen: number; kind: TransactionKind }
    >(`
      SELECT p.payment_id, p.kind, p.amount_fen,
             COALESCE(SUM(j.amount_fen), 0) AS sum_fen,
             COALESCE(SUM(CASE WHEN j.account = 'sales' THEN j.amount_fen END), 0) AS sales_fen
      FROM terminal_payments p LEFT JOIN terminal_journal j ON j.payment_id = p.payment_id
      WHERE p.terminal_id = ?
      GROUP BY p.payment_id ORDER BY p.seq`),
  dayAccounts: (db) =>
    db.prepare<[string, string], { account: TerminalAccount; total: number }>(`
      SELECT j.account, SUM(j.amount_fen) AS total
      FROM terminal_journal j JOIN terminal_payments p ON p.payment_id = j.payment_id
      WHERE p.terminal_id = ? AND j.business_date = ? GROUP BY j.account`),
  dayKinds: (db) =>
    db.prepare<[string, string], { kind: TransactionKind; method: PaymentMethod; n: number; total: number }>(`
      SELECT kind, method, COUNT(*) AS n, SUM(amount_fen) AS total FROM terminal_payments
      WHERE terminal_id = ? AND business_date = ? GROUP BY kind, method`),
  dayPending: (db) =>
    db
      .prepare<[string, string], number>(
        `SELECT COUNT(*) FROM forward_queue q JOIN terminal_payments p ON p.payment_id = q.payment_id
         WHERE p.terminal_id = ? AND p.business_date = ? AND q.state = 'pending'`,
      )
      .pluck(),

  enqueue: (db) =>
    db.prepare<[string, string, string]>(`
      INSERT INTO forward_queue (payment_id, origin, state, attempts, next_attempt_at, enqueued_at)
      VALUES (?, 'queued', 'pending', 0, ?, ?)`),
  insertConfirmed: (db) =>
    db.prepare<[string, string, string, string, number, string]>(`
      INSERT INTO forward_queue (payment_id, origin, state, attempts, next_attempt_at, enqueued_at, sent_at,
                                 advanced_fen, host_applied_at)
      VALUES (?, 'online', 'sent', 0, ?, ?, ?, ?, ?)`),
  getQueue: (db) => db.prepare<[string], QueueDbRow>('SELECT * FROM forward_queue WHERE payment_id = ?'),
  markSent: (db) =>
    db.prepare<[string, number, string, string]>(`
      UPDATE forward_queue SET state = 'sent', sent_at = ?, advanced_fen = ?, host_applied_at = ?
      WHERE payment_id = ? AND state = 'pending'`),
  markFailed: (db) =>
    db.prepare<[string, string, string]>(`
      UPDATE forward_queue SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
      WHERE payment_id = ? AND state = 'pending'`),
  defer: (db) =>
    db.prepare<[string, string, string]>(`
      UPDATE forward_queue SET next_attempt_at = ?
      WHERE state = 'pending'
        AND payment_id IN (SELECT payment_id FROM terminal_payments WHERE terminal_id = ?)
        AND next_attempt_at < ?`),
  dueForwards: (db) =>
    db.prepare<[string, string], QueueDbRow>(`
      ${queueSelect} WHERE p.terminal_id = ? AND q.state = 'pending' AND q.next_attempt_at <= ?
      ORDER BY p.seq`),
  queueByState: (db) =>
    db.prepare<[string, string], QueueDbRow>(`
      ${queueSelect} WHERE p.terminal_id = ? AND q.state = ? ORDER BY p.seq`),
  queueAll: (db) => db.prepare<[string], QueueDbRow>(`${queueSelect} WHERE p.terminal_id = ? ORDER BY p.seq`),
  pendingCount: (db) =>
    db
      .prepare<[string], number>(
        `SELECT COUNT(*) FROM forward_queue q JOIN terminal_payments p ON p.payment_id = q.payment_id
         WHERE p.terminal_id = ? AND q.state = 'pending'`,
      )
      .pluck(),

  latestSettlement: (db) =>
    db.prepare<[string, string], SettlementDbRow>(`
      SELECT * FROM terminal_settlements WHERE terminal_id = ? AND business_date = ?
      ORDER BY version DESC LIMIT 1`),
  settlementVersions: (db) =>
    db.prepare<[string, string], SettlementDbRow>(`
      SELECT * FROM terminal_settlements WHERE terminal_id = ? AND business_date = ? ORDER BY version`),
  insertSettlement: (db) =>
    db.prepare<SettlementDbRow>(`
      INSERT INTO terminal_settlements (terminal_id, business_date, version, closed_at, payments, refunds,
        reversals, gross_fen, refunded_fen, reversed_fen, total_fen, medical_current_fen, medical_prior_fen,
        reserve_fen, cash_fen, method_medical_fen, method_reserve_fen, pending_forward)
      VALUES (@terminal_id, @business_date, @version, @closed_at, @payments, @refunds, @reversals, @gross_fen,
        @refunded_fen, @reversed_fen, @total_fen, @medical_current_fen, @medical_prior_fen, @reserve_fen,
        @cash_fen, @method_medical_fen, @method_reserve_fen, @pending_forward)`),

  insertEvent: (db) =>
    db.prepare<Omit<EventDbRow, 'event_id'>>(`
      INSERT INTO terminal_events (terminal_id, at, business_date, kind, payment_id, card_id, amount_fen, code,
                                   message)
      VALUES (@terminal_id, @at, @business_date, @kind, @payment_id, @card_id, @amount_fen, @code, @message)`),
  eventsAll: (db) =>
    db.prepare<[string], EventDbRow>('SELECT * FROM terminal_events WHERE terminal_id = ? ORDER BY event_id'),
  eventsOfDay: (db) =>
    db.prepare<[string, string], EventDbRow>(
      'SELECT * FROM terminal_events WHERE terminal_id = ? AND business_date = ? ORDER BY event_id',
    ),
});

type Statements = ReturnType<typeof prepareStatements>;

// ---- the ledger ------------------------------------------------------------------------------

export class TerminalLedger {
  readonly terminalId: string;
  readonly merchantId: string;
  private readonly db: Database.Database;
  private readonly clock: () => Date;
  private readonly s: Statements;
  private readonly refundOrder: readonly SplitPart[];
  private readonly filterStatements = new Map<
    string,
    Database.Statement<Record<string, unknown>, PaymentDbRow>
  >();
  private lastIdTime = '';
  private lastIdRandom = 0;

  constructor({
    db,
    clock,
    terminalId,
    merchantId,
    medicalOrder = 'current-first',
    cashRefund = 'last',
  }: TerminalLedgerOptions) {
    const version = userVersion(db);
    if (version !== latestVersion()) {
      throw new Error(
        `ledger database is at schema version ${version}, expected ${latestVersion()}: open it with openLedgerDb()`,
      );
    }
    if (db.pragma('foreign_keys', { simple: true }) !== 1) {
      throw new Error('ledger database has foreign keys off: open it with openLedgerDb()');
    }
    if (typeof terminalId !== 'string' || !TERMINAL_ID_RE.test(terminalId)) {
      throw new TerminalLedgerError(
        'INVALID_ID',
        `terminalId must be 1–32 letters, digits, '_' or '.', not ${JSON.stringify(terminalId)}`,
      );
    }
    checkId(merchantId, 'merchantId');
    this.db = db;
    this.clock = clock;
    this.terminalId = terminalId;
    this.merchantId = merchantId;
    this.s = prepareStatements(db);
    // Refunds go back in the reverse of the drawing order, cash last by default: see planRefund().
    const coveredBack: SplitPart[] =
      medicalOrder === 'current-first'
        ? ['reserveFen', 'medicalPriorFen', 'medicalCurrentFen']
        : ['reserveFen', 'medicalCurrentFen', 'medicalPriorFen'];
    this.refundOrder =
      cashRefund === 'first' ? ['selfPayFen', ...coveredBack] : [...coveredBack, 'selfPayFen'];
  }

  /** The ledger's clock (the forwarder schedules retries with it). */
  now(): Date {
    return this.clock();
  }

  /**
   * A new transaction id: `<terminal>-<YYYYMMDD>-<HHmmssSSS>-<8 hex>`, Beijing time, e.g.
   * `T01-20261126-143005123-9f3a0b1c`. Readable, sorts by time, and unique across processes
   * and restarts: the last part is 32 random bits, incremented instead of redrawn within the
   * same millisecond so that ids of one process still sort in the order they were made; an id
   * already in the books (a clock set back) is never returned.
   */
  newPaymentId(): string {
    for (;;) {
      const { day, time } = beijingDigits(this.clock());
      const stamp = `${day}-${time}`;
      if (stamp === this.lastIdTime && this.lastIdRandom < 0xffffffff) {
        this.lastIdRandom += 1;
      } else {
        this.lastIdTime = stamp;
        this.lastIdRandom = randomBytes(4).readUInt32BE(0) & 0x7fffffff; // room to count up
      }
      const id = `${this.terminalId}-${stamp}-${this.lastIdRandom.toString(16).padStart(8, '0')}`;
      if (this.s.paymentExists.get(id) === undefined) return id;
    }
  }

  // ---- recording -----------------------------------------------------------------------------

  /**
   * Records an approved payment: its row, its journal lines (sales − amount, receivables and
   * cash + their parts) and, when `forward`, its forward-queue entry — all or nothing.
   * With forward=false and `hostRecord` (an online payment the host already applied) it is
   * recorded as host-confirmed.
   */
  recordPayment(p: RecordPaymentInput): TerminalPayment {
    checkId(p.paymentId, 'paymentId');
    checkId(p.cardId, 'cardId');
    if (p.generation !== 1 && p.generation !== 2 && p.generation !== 3) {
      throw new TerminalLedgerError('INVALID_INPUT', `${p.paymentId}: generation must be 1, 2 or 3`);
    }
    if (p.method !== 'medical' && p.method !== 'reserve') {
      throw new TerminalLedgerError('INVALID_INPUT', `${p.paymentId}: method must be 'medical' or 'reserve'`);
    }
    if (p.mode !== 'online' && p.mode !== 'offline') {
      throw new TerminalLedgerError('INVALID_INPUT', `${p.paymentId}: mode must be 'online' or 'offline'`);
    }
    checkAmount(p.amountFen, `${p.paymentId}: amountFen`);
    checkSplit(p.paymentId, p.method, p.amountFen, p.split);
    this.checkForwardAndRecord(p.paymentId, p.forward, p.hostRecord);

    const at = this.clock();
    const row: NewPaymentDbRow = {
      payment_id: p.paymentId,
      kind: 'payment',
      ref_payment_id: null,
      terminal_id: this.terminalId,
      merchant_id: this.merchantId,
      card_id: p.cardId,
      generation: p.generation,
      method: p.method,
      amount_fen: p.amountFen,
      medical_current_fen: p.split.medicalCurrentFen,
      medical_prior_fen: p.split.medicalPriorFen,
      reserve_fen: p.split.reserveFen,
      self_pay_fen: p.split.selfPayFen,
      mode: p.mode,
      created_at: at.toISOString(),
      business_date: businessDate(at),
      receipt_text: p.receiptText ?? null,
      operator: p.operator ?? null,
    };
    return this.db
      .transaction(() => {
        this.insertTransaction(row, at, p.forward, p.hostRecord);
        return this.payment(p.paymentId) as TerminalPayment;
      })
      .immediate();
  }

  /**
   * What a refund of `amountFen` of `paymentId` would return where, without recording it
   * (to render the receipt first). Throws as recordRefund would.
   *
   * Order: the covered parts go back in the reverse of the order they were drawn (reserve;
   * for medical, 95001 then 95000 with the default current-first drawing), the cash part
   * (自付) last. Returning fund money first keeps the medical fund whole and the till's cash
   * drawer untouched for partial refunds; and after a partial refund, what stays drawn on the
   * accounts is what the earlier-drawn accounts paid, as if the payment had been smaller.
   * Never more than what remains of each part after earlier refunds. (cashRefund: 'first'
   * hands the cash back first instead, for a host that returns strictly last-drawn first.)
   */
  planRefund(paymentId: string, amountFen: number): PaymentSplit {
    checkAmount(amountFen, `refund of ${paymentId}: amountFen`);
    const original = this.refundablePayment(paymentId, 'refund');
    return this.refundSplit(original, amountFen);
  }

  /**
   * What a reversal of `paymentId` would return (the whole split), without recording it.
   * A payment is reversed at most once, and not after a refund: a reversal (冲正) undoes an
   * interrupted transaction as a whole; once part was refunded, refund the rest instead.
   */
  planReversal(paymentId: string): PaymentSplit {
    const original = this.refundablePayment(paymentId, 'reversal');
    return { ...original.split };
  }

  /** Records the reversal (冲正) of a whole payment: a new row and the mirror journal lines. */
  recordReversal(
    reversalId: string,
    paymentId: string,
    forward: boolean,
    opts: RecordCorrectionOptions = {},
  ): TerminalPayment {
    checkId(reversalId, 'reversalId');
    checkId(paymentId, 'paymentId');
    this.checkForwardAndRecord(reversalId, forward, opts.hostRecord);
    this.checkCorrectionMode(reversalId, forward, opts.mode);
    return this.db
      .transaction(() => {
        this.assertNewId(reversalId);
        const original = this.refundablePayment(paymentId, 'reversal');
        const split = { ...original.split };
        this.insertCorrection(reversalId, 'reversal', original, original.amountFen, split, forward, opts);
        return this.payment(reversalId) as TerminalPayment;
      })
      .immediate();
  }

  /** Records a refund (退费) of part or all of what remains of a payment (see planRefund). */
  recordRefund(
    refundId: string,
    paymentId: string,
    amountFen: number,
    forward: boolean,
    opts: RecordCorrectionOptions = {},
  ): TerminalPayment {
    checkId(refundId, 'refundId');
    checkId(paymentId, 'paymentId');
    checkAmount(amountFen, `${refundId}: amountFen`);
    this.checkForwardAndRecord(refundId, forward, opts.hostRecord);
    this.checkCorrectionMode(refundId, forward, opts.mode);
    return this.db
      .transaction(() => {
        this.assertNewId(refundId);
        const original = this.refundablePayment(paymentId, 'refund');
        const split = this.refundSplit(original, amountFen);
        this.insertCorrection(refundId, 'refund', original, amountFen, split, forward, opts);
        return this.payment(refundId) as TerminalPayment;
      })
      .immediate();
  }

  private checkForwardAndRecord(id: string, forward: boolean, hostRecord: HostRecord | undefined): void {
    if (typeof forward !== 'boolean') {
      throw new TerminalLedgerError('INVALID_INPUT', `${id}: forward must be true or false`);
    }
    if (hostRecord !== undefined) {
      if (forward) {
        throw new TerminalLedgerError(
          'INVALID_INPUT',
          `${id}: a transaction the host already applied (hostRecord) is not forwarded again`,
        );
      }
      if (hostRecord.paymentId !== id) {
        throw new TerminalLedgerError(
          'HOST_RECORD_MISMATCH',
          `${id}: the host record is for ${hostRecord.paymentId}`,
        );
      }
    }
  }

  private checkCorrectionMode(id: string, forward: boolean, mode: PaymentMode | undefined): void {
    if (mode === undefined) return;
    if (mode !== 'online' && mode !== 'offline') {
      throw new TerminalLedgerError('INVALID_INPUT', `${id}: mode must be 'online' or 'offline'`);
    }
    if (!forward && mode === 'offline') {
      throw new TerminalLedgerError(
        'INVALID_INPUT',
        `${id}: a correction the host already applied (forward=false) is an online one`,
      );
    }
  }

  /** The payment a refund/reversal points at, checked: ours, a payment, not reversed (nor refunded). */
  private refundablePayment(paymentId: string, as: 'refund' | 'reversal'): TerminalPayment {
    const row = this.s.getPayment.get(paymentId);
    if (!row || row.terminal_id !== this.terminalId) {
      throw new TerminalLedgerError(
        'UNKNOWN_PAYMENT',
        `no payment ${paymentId} in the books of ${this.terminalId}`,
      );
    }
    if (row.kind !== 'payment') {
      throw new TerminalLedgerError('NOT_A_PAYMENT', `${paymentId} is a ${row.kind}, not a payment`);
    }
    const corrections = this.s.corrections.all(paymentId);
    if (corrections.some((c) => c.kind === 'reversal')) {
      throw new TerminalLedgerError('ALREADY_REVERSED', `payment ${paymentId} is already reversed`);
    }
    if (as === 'reversal' && corrections.some((c) => c.kind === 'refund')) {
      throw new TerminalLedgerError(
        'ALREADY_REFUNDED',
        `payment ${paymentId} is partly refunded: refund the rest instead of reversing it`,
      );
    }
    return toPayment(row);
  }

  private refundSplit(original: TerminalPayment, amountFen: number): PaymentSplit {
    const remaining = { ...original.split };
    for (const c of this.s.corrections.all(original.paymentId)) {
      if (c.kind !== 'refund') continue;
      remaining.medicalCurrentFen -= c.medical_current_fen;
      remaining.medicalPriorFen -= c.medical_prior_fen;
      remaining.reserveFen -= c.reserve_fen;
      remaining.selfPayFen -= c.self_pay_fen;
    }
    const left = covered(remaining) + remaining.selfPayFen;
    if (amountFen > left) {
      throw new TerminalLedgerError(
        'REFUND_EXCEEDS_REMAINING',
        `refund of ${fen(amountFen)} exceeds the ${fen(left)} left of payment ${original.paymentId}`,
      );
    }
    const split = emptySplit();
    let rest = amountFen;
    for (const part of this.refundOrder) {
      const take = Math.min(remaining[part], rest);
      split[part] = take;
      rest -= take;
    }
    return split;
  }

  private insertCorrection(
    id: string,
    kind: 'refund' | 'reversal',
    original: TerminalPayment,
    amountFen: number,
    split: PaymentSplit,
    forward: boolean,
    opts: RecordCorrectionOptions,
  ): void {
    const at = this.clock();
    this.insertTransaction(
      {
        payment_id: id,
        kind,
        ref_payment_id: original.paymentId,
        terminal_id: this.terminalId,
        merchant_id: this.merchantId,
        card_id: original.cardId,
        generation: original.generation,
        method: original.method,
        amount_fen: amountFen,
        medical_current_fen: split.medicalCurrentFen,
        medical_prior_fen: split.medicalPriorFen,
        reserve_fen: split.reserveFen,
        self_pay_fen: split.selfPayFen,
        // A correction sent later is an offline one; one the host applied at the till, online;
        // one written ahead and sent at once, as the till says (opts.mode).
        mode: opts.mode ?? (forward ? 'offline' : 'online'),
        created_at: at.toISOString(),
        business_date: businessDate(at),
        receipt_text: opts.receiptText ?? null,
        operator: opts.operator ?? null,
      },
      at,
      forward,
      opts.hostRecord,
    );
  }

  private assertNewId(id: string): void {
    if (this.s.paymentExists.get(id) !== undefined) {
      throw new TerminalLedgerError('DUPLICATE_PAYMENT_ID', `transaction id ${id} is already used`);
    }
  }

  /** Inside a transaction: row, journal lines, queue entry or host confirmation. */
  private insertTransaction(row: NewPaymentDbRow, at: Date, forward: boolean, hostRecord?: HostRecord): void {
    this.assertNewId(row.payment_id);
    this.s.insertPayment.run(row);
    const s = sign(row.kind);
    const lines: [TerminalAccount, number][] = [['sales', -s * row.amount_fen]];
    const split: PaymentSplit = {
      medicalCurrentFen: row.medical_current_fen,
      medicalPriorFen: row.medical_prior_fen,
      reserveFen: row.reserve_fen,
      selfPayFen: row.self_pay_fen,
    };
    for (const part of PART_LINE_ORDER)
      if (split[part] !== 0) lines.push([PART_ACCOUNT[part], s * split[part]]);
    lines.forEach(([account, amount], i) =>
      this.s.insertLine.run(row.payment_id, i + 1, account, amount, row.business_date),
    );
    const iso = at.toISOString();
    if (forward) this.s.enqueue.run(row.payment_id, iso, iso);
    else if (hostRecord) {
      this.s.insertConfirmed.run(row.payment_id, iso, iso, iso, hostRecord.advancedFen, hostRecord.appliedAt);
    }
  }

  // ---- reading -------------------------------------------------------------------------------

  /** One transaction of this terminal, or null. */
  payment(paymentId: string): TerminalPayment | null {
    const row = this.s.getPayment.get(paymentId);
    return row && row.terminal_id === this.terminalId ? toPayment(row) : null;
  }

  /** This terminal's transactions in the order taken, optionally filtered. */
  payments(filter: PaymentFilter = {}): TerminalPayment[] {
    if (filter.date !== undefined) checkDate(filter.date);
    const params: Record<string, unknown> = { terminalId: this.terminalId };
    const where = ['terminal_id = @terminalId'];
    const add = (column: string, key: keyof PaymentFilter) => {
      if (filter[key] === undefined) return;
      where.push(`${column} = @${key}`);
      params[key] = filter[key];
    };
    add('business_date', 'date');
    add('kind', 'kind');
    add('card_id', 'cardId');
    add('ref_payment_id', 'refPaymentId');
    add('mode', 'mode');
    // Only fixed fragments are concatenated; the values are bound. One statement per shape.
    const sql = `SELECT * FROM terminal_payments WHERE ${where.join(' AND ')} ORDER BY seq`;
    let stmt = this.filterStatements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare<Record<string, unknown>, PaymentDbRow>(sql);
      this.filterStatements.set(sql, stmt);
    }
    const rows = stmt.all(params);
    return rows.map(toPayment);
  }

  /** The journal lines of one transaction, or (no argument) of every transaction of this terminal. */
  journal(paymentId?: string): TerminalJournalLine[] {
    if (paymentId === undefined) return this.s.journalAll.all(this.terminalId).map(toJournalLine);
    if (this.payment(paymentId) === null) return [];
    return this.s.journalOf.all(paymentId).map(toJournalLine);
  }

  /** Every transaction's lines sum to zero and its sales line is ∓ its amount. */
  checkBalanced(): BalanceCheck {
    let total = 0n;
    const unbalanced: { paymentId: string; sumFen: number; detail: string }[] = [];
    for (const r of this.s.journalSums.all(this.terminalId)) {
      total += BigInt(r.sum_fen);
      const expectedSales = -sign(r.kind) * r.amount_fen;
      if (r.sum_fen !== 0) {
        unbalanced.push({
          paymentId: r.payment_id,
          sumFen: r.sum_fen,
          detail: `lines sum to ${fen(r.sum_fen)}`,
        });
      } else if (r.sales_fen !== expectedSales) {
        unbalanced.push({
          paymentId: r.payment_id,
          sumFen: r.sum_fen,
          detail: `sales line is ${fen(r.sales_fen)}, expected ${fen(expectedSales)}`,
        });
      }
    }
    return { balanced: unbalanced.length === 0 && total === 0n, totalFen: Number(total), unbalanced };
  }

  // ---- forward queue -------------------------------------------------------------------------

  private toEntry(q: QueueDbRow): ForwardEntry {
    const payment = this.payment(q.payment_id) as TerminalPayment;
    return {
      paymentId: q.payment_id,
      kind: payment.kind,
      refPaymentId: payment.refPaymentId,
      origin: q.origin,
      state: q.state,
      attempts: q.attempts,
      lastError: q.last_error,
      nextAttemptAt: q.next_attempt_at,
      enqueuedAt: q.enqueued_at,
      sentAt: q.sent_at,
      advancedFen: q.advanced_fen,
      hostAppliedAt: q.host_applied_at,
      payment,
    };
  }

  /** Pending entries due at `now` (next attempt reached), in the order the transactions were taken. */
  pendingForwards(now: Date = this.clock()): ForwardEntry[] {
    return this.s.dueForwards.all(this.terminalId, now.toISOString()).map((q) => this.toEntry(q));
  }

  /** The queue of this terminal (all entries, or those in one state), in order. */
  forwardQueue(state?: ForwardState): ForwardEntry[] {
    const rows =
      state === undefined
        ? this.s.queueAll.all(this.terminalId)
        : this.s.queueByState.all(this.terminalId, state);
    return rows.map((q) => this.toEntry(q));
  }

  /** Number of entries still waiting for the host. */
  pendingCount(): number {
    return this.s.pendingCount.get(this.terminalId) ?? 0;
  }

  queueEntry(paymentId: string): ForwardEntry | null {
    const q = this.s.getQueue.get(paymentId);
    return q && this.payment(paymentId) ? this.toEntry(q) : null;
  }

  /**
   * Marks a queued entry as applied by the host and keeps the host's answer. Idempotent: an
   * entry already sent is returned unchanged (a replay, or a second forwarder).
   */
  markSent(paymentId: string, hostRecord: HostRecord): ForwardEntry {
    if (hostRecord.paymentId !== paymentId) {
      throw new TerminalLedgerError(
        'HOST_RECORD_MISMATCH',
        `${paymentId}: the host record is for ${hostRecord.paymentId}`,
      );
    }
    return this.db
      .transaction(() => {
        const q = this.queued(paymentId);
        if (q.state === 'pending') {
          this.s.markSent.run(
            this.clock().toISOString(),
            hostRecord.advancedFen,
            hostRecord.appliedAt,
            paymentId,
          );
        }
        return this.queueEntry(paymentId) as ForwardEntry;
      })
      .immediate();
  }

  /**
   * markSent for many entries in one IMMEDIATE transaction (one durable commit): the
   * forwarder books the host's confirmations of a batch together. All or nothing: a record
   * for another id (HOST_RECORD_MISMATCH) or an id not in the queue (NOT_QUEUED) books none of
   * them. Idempotent per entry: one already sent stays as it is. Returns how many entries went
   * from pending to sent.
   *
   * A crash before the commit loses only the booking, never money: the entries stay pending,
   * are sent again, and the host answers each known id with its first record.
   */
  markSentMany(
    confirmations: readonly { readonly paymentId: string; readonly hostRecord: HostRecord }[],
  ): number {
    for (const { paymentId, hostRecord } of confirmations) {
      if (hostRecord.paymentId !== paymentId) {
        throw new TerminalLedgerError(
          'HOST_RECORD_MISMATCH',
          `${paymentId}: the host record is for ${hostRecord.paymentId}`,
        );
      }
    }
    if (confirmations.length === 0) return 0;
    return this.db
      .transaction(() => {
        const sentAt = this.clock().toISOString();
        let marked = 0;
        for (const { paymentId, hostRecord } of confirmations) {
          if (this.queued(paymentId).state !== 'pending') continue;
          marked += this.s.markSent.run(
            sentAt,
            hostRecord.advancedFen,
            hostRecord.appliedAt,
            paymentId,
          ).changes;
        }
        return marked;
      })
      .immediate();
  }

  /**
   * Records that an online transaction (recorded with forward=false) was confirmed by the
   * host, after the fact. Idempotent; refuses a queued one (use markSent).
   */
  confirmOnline(paymentId: string, hostRecord: HostRecord): ForwardEntry {
    if (hostRecord.paymentId !== paymentId) {
      throw new TerminalLedgerError(
        'HOST_RECORD_MISMATCH',
        `${paymentId}: the host record is for ${hostRecord.paymentId}`,
      );
    }
    return this.db
      .transaction(() => {
        if (!this.payment(paymentId)) {
          throw new TerminalLedgerError(
            'UNKNOWN_PAYMENT',
            `no transaction ${paymentId} in the books of ${this.terminalId}`,
          );
        }
        const q = this.s.getQueue.get(paymentId);
        if (q?.origin === 'queued') {
          throw new TerminalLedgerError(
            'INVALID_INPUT',
            `${paymentId} is queued for the forwarder: use markSent`,
          );
        }
        if (!q) {
          const iso = this.clock().toISOString();
          this.s.insertConfirmed.run(paymentId, iso, iso, iso, hostRecord.advancedFen, hostRecord.appliedAt);
        }
        return this.queueEntry(paymentId) as ForwardEntry;
      })
      .immediate();
  }

  /** Counts a failed attempt and schedules the next one. */
  markFailed(paymentId: string, error: unknown, nextAttemptAt: Date): ForwardEntry {
    return this.db
      .transaction(() => {
        const q = this.queued(paymentId);
        if (q.state === 'sent') {
          throw new TerminalLedgerError('ALREADY_SENT', `${paymentId} already reached the host`);
        }
        this.s.markFailed.run(errorText(error).slice(0, 1000), nextAttemptAt.toISOString(), paymentId);
        return this.queueEntry(paymentId) as ForwardEntry;
      })
      .immediate();
  }

  /**
   * Puts off every pending entry of this terminal due before `until` to `until`, without
   * counting an attempt: when the link is down, the whole queue waits, and the next run
   * starts again from the oldest entry. Returns how many entries were put off.
   */
  deferForwards(until: Date): number {
    return this.s.defer.run(until.toISOString(), this.terminalId, until.toISOString()).changes;
  }

  private queued(paymentId: string): QueueDbRow {
    const q = this.s.getQueue.get(paymentId);
    if (!q || q.origin !== 'queued' || !this.payment(paymentId)) {
      throw new TerminalLedgerError(
        'NOT_QUEUED',
        `${paymentId} is not in the forward queue of ${this.terminalId}`,
      );
    }
    return q;
  }

  // ---- day closing (日结) ---------------------------------------------------------------------

  /** The totals of one business day as the books stand now. */
  settlement(date: string): Settlement {
    checkDate(date);
    const byAccount: Record<SettlementAccount, number> = {
      'receivable:medical-current': 0,
      'receivable:medical-prior': 0,
      'receivable:reserve': 0,
      cash: 0,
    };
    let sales = 0;
    for (const r of this.s.dayAccounts.all(this.terminalId, date)) {
      if (r.account === 'sales') sales = r.total;
      else byAccount[r.account] = r.total;
    }
    const count: Record<TransactionKind, number> = { payment: 0, refund: 0, reversal: 0 };
    const amount: Record<TransactionKind, number> = { payment: 0, refund: 0, reversal: 0 };
    const byMethod: Record<PaymentMethod, number> = { medical: 0, reserve: 0 };
    for (const r of this.s.dayKinds.all(this.terminalId, date)) {
      count[r.kind] += r.n;
      amount[r.kind] += r.total;
      byMethod[r.method] += sign(r.kind) * r.total;
    }
    return {
      terminalId: this.terminalId,
      date,
      payments: count.payment,
      refunds: count.refund,
      reversals: count.reversal,
      grossFen: amount.payment,
      refundedFen: amount.refund,
      reversedFen: amount.reversal,
      totalFen: 0 - sales, // not -sales: -0 on a day without sales
      byAccount,
      byMethod,
      pendingForward: this.s.dayPending.get(this.terminalId, date) ?? 0,
    };
  }

  /**
   * Closes a business day (日结): stores its settlement and returns it.
   *
   * Closing never touches the forward queue: the day's transactions still waiting for the
   * host stay queued and are forwarded afterwards like any other (pendingForward says how
   * many there were at closing). Losing them because the day was closed first is a known
   * failure of offline tills.
   *
   * Closing again returns the stored settlement unchanged when the day's money is the same
   * (counts and amounts; a queue that drained since does not count); when transactions of
   * that day were recorded after the closing, it stores and returns a new version, so every
   * printed closing stays on file.
   */
  closeDay(date: string): ClosedSettlement {
    checkDate(date);
    return this.db
      .transaction(() => {
        const now = this.settlement(date);
        const latest = this.s.latestSettlement.get(this.terminalId, date);
        if (latest && sameMoney(toSettlement(latest), now)) return toSettlement(latest);
        const row: SettlementDbRow = {
          terminal_id: this.terminalId,
          business_date: date,
          version: (latest?.version ?? 0) + 1,
          closed_at: this.clock().toISOString(),
          payments: now.payments,
          refunds: now.refunds,
          reversals: now.reversals,
          gross_fen: now.grossFen,
          refunded_fen: now.refundedFen,
          reversed_fen: now.reversedFen,
          total_fen: now.totalFen,
          medical_current_fen: now.byAccount['receivable:medical-current'],
          medical_prior_fen: now.byAccount['receivable:medical-prior'],
          reserve_fen: now.byAccount['receivable:reserve'],
          cash_fen: now.byAccount.cash,
          method_medical_fen: now.byMethod.medical,
          method_reserve_fen: now.byMethod.reserve,
          pending_forward: now.pendingForward,
        };
        this.s.insertSettlement.run(row);
        crashPoint('during-settlement');
        return toSettlement(row);
      })
      .immediate();
  }

  /** The latest stored closing of a day, or null when the day is not closed. */
  closedSettlement(date: string): ClosedSettlement | null {
    checkDate(date);
    const row = this.s.latestSettlement.get(this.terminalId, date);
    return row ? toSettlement(row) : null;
  }

  /** Every stored closing of a day, oldest first. */
  settlementVersions(date: string): ClosedSettlement[] {
    checkDate(date);
    return this.s.settlementVersions.all(this.terminalId, date).map(toSettlement);
  }

  // ---- reconciliation (对账) ------------------------------------------------------------------

  /**
   * Compares this terminal's transactions with the host's records, by id, and lists every
   * mismatch. With `date`, only that business day: the terminal's transactions of the day, the
   * host records of those ids, and host records unknown to the terminal created that day.
   *
   * The host holds only what it moved on the accounts, not the cash taken at the till, so the
   * covered parts (95000, 95001, reserve) are compared one by one, and the totals are the net
   * covered amounts. A transaction still in the forward queue is 'not-yet-forwarded' (and
   * also compared when the host has it already, e.g. after a timeout). An offline payment
   * the centre partly advanced agrees, and is listed in `notes`.
   */
  reconcile(hostRecords: readonly HostRecord[], date?: string): Reconciliation {
    if (date !== undefined) checkDate(date);
    const terminal = this.payments(date === undefined ? {} : { date });
    const terminalIds = new Set(terminal.map((t) => t.paymentId));
    const host = new Map<string, HostRecord>();
    for (const h of hostRecords) {
      if (h.terminalId !== this.terminalId) continue;
      if (date !== undefined && !terminalIds.has(h.paymentId)) {
        // Ours, but of another day in our books: not in scope.
        if (this.payment(h.paymentId) !== null) continue;
        if (businessDate(new Date(h.createdAt)) !== date) continue;
      }
      host.set(h.paymentId, h);
    }

    const mismatches: Mismatch[] = [];
    const notes: ReconcileNote[] = [];
    let terminalTotal = 0;
    let hostTotal = 0;

    for (const t of terminal) {
      terminalTotal += sign(t.kind) * covered(t.split);
      const h = host.get(t.paymentId);
      const q = this.s.getQueue.get(t.paymentId);
      if (q?.state === 'pending') {
        mismatches.push({
          paymentId: t.paymentId,
          kind: 'not-yet-forwarded',
          terminal: t,
          ...(h ? { host: h } : {}),
          detail:
            `尚未上传主机（${q.attempts} 次尝试） / not yet forwarded to the host (${q.attempts} attempts)` +
            (q.last_error ? `: ${q.last_error}` : ''),
        });
      } else if (!h) {
        mismatches.push({
          paymentId: t.paymentId,
          kind: 'missing-at-host',
          terminal: t,
          detail: `主机无此${kindZh(t.kind)}记录 / ${t.kind} missing at the host`,
        });
      }
      if (h) mismatches.push(...compareRecords(t, h));
      if (h && t.kind === 'payment' && t.mode === 'offline' && h.advancedFen > 0) {
        notes.push({
          paymentId: t.paymentId,
          kind: 'advanced',
          advancedFen: h.advancedFen,
          detail: `脱机交易中心垫付 ${h.advancedFen} 分 / offline payment: ${fen(h.advancedFen)} advanced by the centre`,
        });
      }
    }
    for (const h of host.values()) {
      hostTotal += sign(h.kind) * covered(h.split);
      if (!terminalIds.has(h.paymentId)) {
        mismatches.push({
          paymentId: h.paymentId,
          kind: 'missing-at-terminal',
          host: h,
          detail: `终端无此${kindZh(h.kind)}记录 / ${h.kind} missing at the terminal`,
        });
      }
    }
    return {
      date: date ?? null,
      agree: mismatches.length === 0,
      mismatches,
      notes,
      terminalTotalFen: terminalTotal,
      hostTotalFen: hostTotal,
    };
  }

  // ---- events --------------------------------------------------------------------------------

  /** Logs something that happened without moving money, e.g. a decline. */
  logEvent(e: TerminalEventInput): TerminalEvent {
    if (typeof e.kind !== 'string' || e.kind === '' || typeof e.message !== 'string') {
      throw new TerminalLedgerError('INVALID_INPUT', 'an event needs a kind and a message');
    }
    if (e.amountFen != null && (!Number.isSafeInteger(e.amountFen) || e.amountFen < 0)) {
      throw new TerminalLedgerError(
        'INVALID_AMOUNT',
        `event amountFen ${e.amountFen} is not a whole number of fen`,
      );
    }
    const at = this.clock();
    const row: Omit<EventDbRow, 'event_id'> = {
      terminal_id: this.terminalId,
      at: at.toISOString(),
      business_date: businessDate(at),
      kind: e.kind,
      payment_id: e.paymentId ?? null,
      card_id: e.cardId ?? null,
      amount_fen: e.amountFen ?? null,
      code: e.code ?? null,
      message: e.message,
    };
    const { lastInsertRowid } = this.s.insertEvent.run(row);
    return toEvent({ ...row, event_id: Number(lastInsertRowid) });
  }

  events(date?: string): TerminalEvent[] {
    if (date !== undefined) checkDate(date);
    const rows =
      date === undefined
        ? this.s.eventsAll.all(this.terminalId)
        : this.s.eventsOfDay.all(this.terminalId, date);
    return rows.map(toEvent);
  }
}

function toEvent(r: EventDbRow): TerminalEvent {
  return {
    eventId: r.event_id,
    terminalId: r.terminal_id,
    at: r.at,
    businessDate: r.business_date,
    kind: r.kind,
    message: r.message,
    paymentId: r.payment_id,
    cardId: r.card_id,
    amountFen: r.amount_fen,
    code: r.code,
  };
}

function kindZh(kind: TransactionKind): string {
  return kind === 'payment' ? '支付' : kind === 'refund' ? '退费' : '冲正';
}

/** The mismatches between a terminal transaction and the host's record of the same id. */
function compareRecords(t: TerminalPayment, h: HostRecord): Mismatch[] {
  const out: Mismatch[] = [];
  const diffs: string[] = [];
  if (h.kind !== t.kind) diffs.push(`kind ${t.kind} ≠ ${h.kind}`);
  if ((h.refPaymentId ?? null) !== t.refPaymentId) diffs.push(`ref ${t.refPaymentId} ≠ ${h.refPaymentId}`);
  if (h.cardId !== t.cardId) diffs.push(`card ${t.cardId} ≠ ${h.cardId}`);
  if (h.method !== t.method) diffs.push(`method ${t.method} ≠ ${h.method}`);
  if (diffs.length > 0) {
    out.push({
      paymentId: t.paymentId,
      kind: 'record-differs',
      terminal: t,
      host: h,
      detail: `记录不一致 / record differs: ${diffs.join('; ')}`,
    });
  }
  const tc = covered(t.split);
  const hc = covered(h.split);
  if (tc !== hc) {
    out.push({
      paymentId: t.paymentId,
      kind: 'amount-differs',
      terminal: t,
      host: h,
      detail: `账户金额不一致：终端 ${tc} 分，主机 ${hc} 分 / covered amount differs: terminal ${fen(tc)}, host ${fen(hc)}`,
    });
  } else {
    const parts = COVERED_PARTS.filter((p) => t.split[p] !== h.split[p]);
    if (parts.length > 0) {
      const list = parts.map((p) => `${PART_NAME[p]} ${t.split[p]}/${h.split[p]}`).join('; ');
      out.push({
        paymentId: t.paymentId,
        kind: 'split-differs',
        terminal: t,
        host: h,
        detail: `分账不一致（终端/主机） / split differs (terminal/host): ${list}`,
      });
    }
  }
  return out;
}
