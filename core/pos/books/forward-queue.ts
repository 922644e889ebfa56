import type { HostRecord } from '../../host/types.ts';
import { lazyStatements } from '../../db/lazy-statements.ts';
import type { BooksContext } from './context.ts';
import { TerminalLedgerError } from './errors.ts';
import type { PaymentRows } from './payments.ts';
import type { QueueDbRow } from './rows.ts';
import type { ForwardEntry, ForwardState, TerminalPayment } from './types.ts';

/**
 * The forward queue (forward_queue): what the host still has to learn of (origin 'queued',
 * sent later by the forwarder) and what it confirmed at the till (origin 'online'). The only
 * table of the books that is updated in place, so every change of state runs in its own
 * IMMEDIATE transaction and is idempotent: a replay or a second forwarder changes nothing.
 */

const queueSelect = 'SELECT q.* FROM forward_queue q JOIN terminal_payments p ON p.payment_id = q.payment_id';

const prepareStatements = lazyStatements({
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
  dayPending: (db) =>
    db
      .prepare<[string, string], number>(
        `SELECT COUNT(*) FROM forward_queue q JOIN terminal_payments p ON p.payment_id = q.payment_id
         WHERE p.terminal_id = ? AND p.business_date = ? AND q.state = 'pending'`,
      )
      .pluck(),
});

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function checkRecordFor(paymentId: string, hostRecord: HostRecord): void {
  if (hostRecord.paymentId !== paymentId) {
    throw new TerminalLedgerError(
      'HOST_RECORD_MISMATCH',
      `${paymentId}: the host record is for ${hostRecord.paymentId}`,
    );
  }
}

export class ForwardQueue {
  private readonly s: ReturnType<typeof prepareStatements>;

  constructor(
    private readonly ctx: BooksContext,
    private readonly rows: PaymentRows,
  ) {
    this.s = prepareStatements(ctx.db);
  }

  // ---- written with the transaction, inside its database transaction -------------------------

  /** Queues a transaction the host has not applied yet. */
  enqueue(paymentId: string, iso: string): void {
    this.s.enqueue.run(paymentId, iso, iso);
  }

  /** Books a transaction the host already applied (online) as sent, with the host's answer. */
  insertConfirmed(paymentId: string, iso: string, hostRecord: HostRecord): void {
    this.s.insertConfirmed.run(paymentId, iso, iso, iso, hostRecord.advancedFen, hostRecord.appliedAt);
  }

  // ---- reading -------------------------------------------------------------------------------

  /** The raw queue row of any transaction id, or undefined (reconciliation reads state and attempts). */
  row(paymentId: string): QueueDbRow | undefined {
    return this.s.getQueue.get(paymentId);
  }

  private toEntry(q: QueueDbRow): ForwardEntry {
    const payment = this.rows.payment(q.payment_id) as TerminalPayment;
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

  pendingForwards(now: Date): ForwardEntry[] {
    return this.s.dueForwards.all(this.ctx.terminalId, now.toISOString()).map((q) => this.toEntry(q));
  }

  forwardQueue(state?: ForwardState): ForwardEntry[] {
    const rows =
      state === undefined
        ? this.s.queueAll.all(this.ctx.terminalId)
        : this.s.queueByState.all(this.ctx.terminalId, state);
    return rows.map((q) => this.toEntry(q));
  }

  pendingCount(): number {
    return this.s.pendingCount.get(this.ctx.terminalId) ?? 0;
  }

  /** That business day's transactions still waiting for the host (the closing records it). */
  pendingCountOn(date: string): number {
    return this.s.dayPending.get(this.ctx.terminalId, date) ?? 0;
  }

  queueEntry(paymentId: string): ForwardEntry | null {
    const q = this.s.getQueue.get(paymentId);
    return q && this.rows.payment(paymentId) ? this.toEntry(q) : null;
  }

  // ---- changes of state ----------------------------------------------------------------------

  markSent(paymentId: string, hostRecord: HostRecord): ForwardEntry {
    checkRecordFor(paymentId, hostRecord);
    return this.ctx.db
      .transaction(() => {
        const q = this.queued(paymentId);
        if (q.state === 'pending') {
          this.s.markSent.run(
            this.ctx.clock().toISOString(),
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
   * One transaction for the whole batch, one durable commit. A crash before the commit loses
   * only the booking, never money: the entries stay pending, are sent again, and the host
   * answers each known id with its first record.
   */
  markSentMany(
    confirmations: readonly { readonly paymentId: string; readonly hostRecord: HostRecord }[],
  ): number {
    for (const { paymentId, hostRecord } of confirmations) checkRecordFor(paymentId, hostRecord);
    if (confirmations.length === 0) return 0;
    return this.ctx.db
      .transaction(() => {
        const sentAt = this.ctx.clock().toISOString();
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

  confirmOnline(paymentId: string, hostRecord: HostRecord): ForwardEntry {
    checkRecordFor(paymentId, hostRecord);
    return this.ctx.db
      .transaction(() => {
        if (!this.rows.payment(paymentId)) {
          throw new TerminalLedgerError(
            'UNKNOWN_PAYMENT',
            `no transaction ${paymentId} in the books of ${this.ctx.terminalId}`,
          );
        }
        const q = this.s.getQueue.get(paymentId);
        if (q?.origin === 'queued') {
          throw new TerminalLedgerError(
            'INVALID_INPUT',
            `${paymentId} is queued for the forwarder: use markSent`,
          );
        }
        if (!q) this.insertConfirmed(paymentId, this.ctx.clock().toISOString(), hostRecord);
        return this.queueEntry(paymentId) as ForwardEntry;
      })
      .immediate();
  }

  markFailed(paymentId: string, error: unknown, nextAttemptAt: Date): ForwardEntry {
    return this.ctx.db
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

  deferForwards(until: Date): number {
    return this.s.defer.run(until.toISOString(), this.ctx.terminalId, until.toISOString()).changes;
  }

  private queued(paymentId: string): QueueDbRow {
    const q = this.s.getQueue.get(paymentId);
    if (!q || q.origin !== 'queued' || !this.rows.payment(paymentId)) {
      throw new TerminalLedgerError(
        'NOT_QUEUED',
        `${paymentId} is not in the forward queue of ${this.ctx.terminalId}`,
      );
    }
    return q;
  }
}
