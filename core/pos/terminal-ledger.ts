import type Database from 'better-sqlite3';
import { latestVersion, userVersion } from '../db/migrate.ts';
import type { HostRecord, MedicalOrder, PaymentSplit } from '../host/types.ts';
import { checkId, TERMINAL_ID_RE } from './books/checks.ts';
import type { BooksContext } from './books/context.ts';
import { Corrections } from './books/corrections.ts';
import { TerminalLedgerError } from './books/errors.ts';
import { EventLog } from './books/events.ts';
import { ForwardQueue } from './books/forward-queue.ts';
import { Journal } from './books/journal.ts';
import { PaymentIds } from './books/payment-ids.ts';
import { PaymentRows } from './books/payments.ts';
import { Reconciler } from './books/reconciliation.ts';
import { Recorder } from './books/recording.ts';
import { DayClosing } from './books/settlement.ts';
import type {
  BalanceCheck,
  ClosedSettlement,
  ForwardEntry,
  ForwardState,
  PaymentFilter,
  RecordCorrectionOptions,
  RecordPaymentInput,
  Reconciliation,
  Settlement,
  TerminalEvent,
  TerminalEventInput,
  TerminalJournalLine,
  TerminalPayment,
} from './books/types.ts';

/**
 * The terminal's own books, offline-first: every approved payment, refund (退费) and reversal
 * (冲正) the till took, its double-entry journal, the queue of what still has to reach the host,
 * the day closing (日结) and the reconciliation with the host (对账).
 *
 * The books live in SQLite (tables of core/db/migrations/030-terminal-books.ts) beside, but apart from, the
 * host's books: the terminal never reads or writes accounts/journal. Everything but the
 * forward queue is append-only; every multi-row change runs in one IMMEDIATE transaction.
 * Money is integer fen.
 *
 * This file is the books' public face; each concept lives in core/pos/books/ (rows, journal,
 * recording, corrections, forward queue, closing, reconciliation, events), all sharing this
 * ledger's database handle so that what commits together still commits together.
 */

export { TERMINAL_ACCOUNTS } from './books/types.ts';
export type {
  BalanceCheck,
  ClosedSettlement,
  ForwardEntry,
  ForwardState,
  Mismatch,
  MismatchKind,
  PaymentFilter,
  PaymentMode,
  RecordCorrectionOptions,
  RecordPaymentInput,
  ReconcileNote,
  Reconciliation,
  Settlement,
  SettlementAccount,
  TerminalAccount,
  TerminalEvent,
  TerminalEventInput,
  TerminalJournalLine,
  TerminalPayment,
  TransactionKind,
} from './books/types.ts';
export { TerminalLedgerError, type TerminalLedgerErrorCode } from './books/errors.ts';

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
export class TerminalLedger {
  readonly terminalId: string;
  readonly merchantId: string;
  private readonly clock: () => Date;
  private readonly ids: PaymentIds;
  private readonly rows: PaymentRows;
  private readonly journalBook: Journal;
  private readonly queue: ForwardQueue;
  private readonly recorder: Recorder;
  private readonly corrections: Corrections;
  private readonly closing: DayClosing;
  private readonly reconciler: Reconciler;
  private readonly eventLog: EventLog;

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
    this.clock = clock;
    this.terminalId = terminalId;
    this.merchantId = merchantId;
    // Every part shares the one handle: their writes join the transactions opened here and there.
    const ctx: BooksContext = { db, clock, terminalId, merchantId };
    this.rows = new PaymentRows(ctx);
    this.ids = new PaymentIds(clock, terminalId, (id) => this.rows.exists(id));
    this.journalBook = new Journal(ctx);
    this.queue = new ForwardQueue(ctx, this.rows);
    this.recorder = new Recorder(ctx, this.rows, this.journalBook, this.queue);
    this.corrections = new Corrections(ctx, this.rows, this.recorder, { medicalOrder, cashRefund });
    this.closing = new DayClosing(ctx, this.queue);
    this.reconciler = new Reconciler(ctx, this.rows, this.queue);
    this.eventLog = new EventLog(ctx);
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
    return this.ids.next();
  }

  // ---- recording -----------------------------------------------------------------------------

  /**
   * Records an approved payment: its row, its journal lines (sales − amount, receivables and
   * cash + their parts) and, when `forward`, its forward-queue entry — all or nothing.
   * With forward=false and `hostRecord` (an online payment the host already applied) it is
   * recorded as host-confirmed.
   */
  recordPayment(p: RecordPaymentInput): TerminalPayment {
    return this.recorder.recordPayment(p);
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
    return this.corrections.planRefund(paymentId, amountFen);
  }

  /**
   * What a reversal of `paymentId` would return (the whole split), without recording it.
   * A payment is reversed at most once, and not after a refund: a reversal (冲正) undoes an
   * interrupted transaction as a whole; once part was refunded, refund the rest instead.
   */
  planReversal(paymentId: string): PaymentSplit {
    return this.corrections.planReversal(paymentId);
  }

  /** Records the reversal (冲正) of a whole payment: a new row and the mirror journal lines. */
  recordReversal(
    reversalId: string,
    paymentId: string,
    forward: boolean,
    opts: RecordCorrectionOptions = {},
  ): TerminalPayment {
    return this.corrections.recordReversal(reversalId, paymentId, forward, opts);
  }

  /** Records a refund (退费) of part or all of what remains of a payment (see planRefund). */
  recordRefund(
    refundId: string,
    paymentId: string,
    amountFen: number,
    forward: boolean,
    opts: RecordCorrectionOptions = {},
  ): TerminalPayment {
    return this.corrections.recordRefund(refundId, paymentId, amountFen, forward, opts);
  }

  // ---- reading -------------------------------------------------------------------------------

  /** One transaction of this terminal, or null. */
  payment(paymentId: string): TerminalPayment | null {
    return this.rows.payment(paymentId);
  }

  /** This terminal's transactions in the order taken, optionally filtered. */
  payments(filter: PaymentFilter = {}): TerminalPayment[] {
    return this.rows.payments(filter);
  }

  /** The journal lines of one transaction, or (no argument) of every transaction of this terminal. */
  journal(paymentId?: string): TerminalJournalLine[] {
    if (paymentId === undefined) return this.journalBook.all();
    if (this.payment(paymentId) === null) return [];
    return this.journalBook.linesOf(paymentId);
  }

  /** Every transaction's lines sum to zero and its sales line is ∓ its amount. */
  checkBalanced(): BalanceCheck {
    return this.journalBook.checkBalanced();
  }

  // ---- forward queue -------------------------------------------------------------------------

  /** Pending entries due at `now` (next attempt reached), in the order the transactions were taken. */
  pendingForwards(now: Date = this.clock()): ForwardEntry[] {
    return this.queue.pendingForwards(now);
  }

  /** The queue of this terminal (all entries, or those in one state), in order. */
  forwardQueue(state?: ForwardState): ForwardEntry[] {
    return this.queue.forwardQueue(state);
  }

  /** Number of entries still waiting for the host. */
  pendingCount(): number {
    return this.queue.pendingCount();
  }

  queueEntry(paymentId: string): ForwardEntry | null {
    return this.queue.queueEntry(paymentId);
  }

  /**
   * Marks a queued entry as applied by the host and keeps the host's answer. Idempotent: an
   * entry already sent is returned unchanged (a replay, or a second forwarder).
   */
  markSent(paymentId: string, hostRecord: HostRecord): ForwardEntry {
    return this.queue.markSent(paymentId, hostRecord);
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
    return this.queue.markSentMany(confirmations);
  }

  /**
   * Records that an online transaction (recorded with forward=false) was confirmed by the
   * host, after the fact. Idempotent; refuses a queued one (use markSent).
   */
  confirmOnline(paymentId: string, hostRecord: HostRecord): ForwardEntry {
    return this.queue.confirmOnline(paymentId, hostRecord);
  }

  /** Counts a failed attempt and schedules the next one. */
  markFailed(paymentId: string, error: unknown, nextAttemptAt: Date): ForwardEntry {
    return this.queue.markFailed(paymentId, error, nextAttemptAt);
  }

  /**
   * Puts off every pending entry of this terminal due before `until` to `until`, without
   * counting an attempt: when the link is down, the whole queue waits, and the next run
   * starts again from the oldest entry. Returns how many entries were put off.
   */
  deferForwards(until: Date): number {
    return this.queue.deferForwards(until);
  }

  // ---- day closing (日结) ---------------------------------------------------------------------

  /** The totals of one business day as the books stand now. */
  settlement(date: string): Settlement {
    return this.closing.settlement(date);
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
    return this.closing.closeDay(date);
  }

  /** The latest stored closing of a day, or null when the day is not closed. */
  closedSettlement(date: string): ClosedSettlement | null {
    return this.closing.closedSettlement(date);
  }

  /** Every stored closing of a day, oldest first. */
  settlementVersions(date: string): ClosedSettlement[] {
    return this.closing.settlementVersions(date);
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
    return this.reconciler.reconcile(hostRecords, date);
  }

  // ---- events --------------------------------------------------------------------------------

  /** Logs something that happened without moving money, e.g. a decline. */
  logEvent(e: TerminalEventInput): TerminalEvent {
    return this.eventLog.logEvent(e);
  }

  events(date?: string): TerminalEvent[] {
    return this.eventLog.events(date);
  }
}
