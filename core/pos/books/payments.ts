import type Database from 'better-sqlite3';
import { lazyStatements } from '../../db/lazy-statements.ts';
import type { BooksContext } from './context.ts';
import { checkDate } from './checks.ts';
import { toPayment, type NewPaymentDbRow, type PaymentDbRow } from './rows.ts';
import type { PaymentFilter, TerminalPayment } from './types.ts';

/**
 * The transaction rows (terminal_payments): every payment, refund and reversal the till took,
 * append-only, in the order taken. The one place that reads and inserts them, so that "ours"
 * (terminal_id) is checked the same way by the queue, corrections and reconciliation.
 */

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
});

export class PaymentRows {
  private readonly s: ReturnType<typeof prepareStatements>;
  private readonly filterStatements = new Map<
    string,
    Database.Statement<Record<string, unknown>, PaymentDbRow>
  >();

  constructor(private readonly ctx: BooksContext) {
    this.s = prepareStatements(ctx.db);
  }

  /** Any terminal's transaction has this id: ids are unique across the whole file. */
  exists(id: string): boolean {
    return this.s.paymentExists.get(id) !== undefined;
  }

  insert(row: NewPaymentDbRow): void {
    this.s.insertPayment.run(row);
  }

  payment(paymentId: string): TerminalPayment | null {
    const row = this.s.getPayment.get(paymentId);
    return row && row.terminal_id === this.ctx.terminalId ? toPayment(row) : null;
  }

  payments(filter: PaymentFilter): TerminalPayment[] {
    if (filter.date !== undefined) checkDate(filter.date);
    const params: Record<string, unknown> = { terminalId: this.ctx.terminalId };
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
      stmt = this.ctx.db.prepare<Record<string, unknown>, PaymentDbRow>(sql);
      this.filterStatements.set(sql, stmt);
    }
    const rows = stmt.all(params);
    return rows.map(toPayment);
  }
}
