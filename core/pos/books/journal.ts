import type { PaymentSplit } from '../../host/types.ts';
import { lazyStatements } from '../../db/lazy-statements.ts';
import { fen, PART_ACCOUNT, PART_LINE_ORDER, sign } from './accounts.ts';
import type { BooksContext } from './context.ts';
import { toJournalLine, type JournalDbRow, type NewPaymentDbRow } from './rows.ts';
import type { BalanceCheck, TerminalAccount, TerminalJournalLine, TransactionKind } from './types.ts';

/**
 * The till's double-entry journal (terminal_journal): the lines every transaction posts, and
 * the check that they conserve money. Apart from the rows so that the one rule of how a
 * split becomes lines lives here, beside the check that relies on it.
 */

const prepareStatements = lazyStatements({
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
});

export class Journal {
  private readonly s: ReturnType<typeof prepareStatements>;

  constructor(private readonly ctx: BooksContext) {
    this.s = prepareStatements(ctx.db);
  }

  /** Inside the transaction that inserts the row: sales ∓ amount, then each part ± its amount. */
  post(row: NewPaymentDbRow): void {
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
  }

  /** The lines of one transaction (the caller has checked it is ours). */
  linesOf(paymentId: string): TerminalJournalLine[] {
    return this.s.journalOf.all(paymentId).map(toJournalLine);
  }

  /** The lines of every transaction of this terminal. */
  all(): TerminalJournalLine[] {
    return this.s.journalAll.all(this.ctx.terminalId).map(toJournalLine);
  }

  checkBalanced(): BalanceCheck {
    let total = 0n;
    const unbalanced: { paymentId: string; sumFen: number; detail: string }[] = [];
    for (const r of this.s.journalSums.all(this.ctx.terminalId)) {
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
}
