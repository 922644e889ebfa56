import type { PaymentMethod } from '../../host/types.ts';
import { crashPoint } from '../../crash-points.ts';
import { lazyStatements } from '../../db/lazy-statements.ts';
import { sign } from './accounts.ts';
import { checkDate } from './checks.ts';
import { TerminalLedgerError } from './errors.ts';
import { businessDate } from '../../time.ts';
import type { BooksContext } from './context.ts';
import type { ForwardQueue } from './forward-queue.ts';
import { toSettlement, type SettlementDbRow } from './rows.ts';
import type {
  ClosedSettlement,
  Settlement,
  SettlementAccount,
  TerminalAccount,
  TransactionKind,
} from './types.ts';

/**
 * The day closing (日结): a business day's totals from the journal and the rows, and the
 * closings stored in terminal_settlements. A closing is append-only and versioned so that
 * every printed closing stays on file; it never touches the forward queue.
 */

const prepareStatements = lazyStatements({
  dayAccounts: (db) =>
    db.prepare<[string, string], { account: TerminalAccount; total: number }>(`
      SELECT j.account, SUM(j.amount_fen) AS total
      FROM terminal_journal j JOIN terminal_payments p ON p.payment_id = j.payment_id
      WHERE p.terminal_id = ? AND j.business_date = ? GROUP BY j.account`),
  dayKinds: (db) =>
    db.prepare<[string, string], { kind: TransactionKind; method: PaymentMethod; n: number; total: number }>(`
      SELECT kind, method, COUNT(*) AS n, SUM(amount_fen) AS total FROM terminal_payments
      WHERE terminal_id = ? AND business_date = ? GROUP BY kind, method`),
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
});

/** Same counts and amounts: a queue that drained since the closing does not make a new version. */
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

export class DayClosing {
  private readonly s: ReturnType<typeof prepareStatements>;

  constructor(
    private readonly ctx: BooksContext,
    private readonly queue: ForwardQueue,
  ) {
    this.s = prepareStatements(ctx.db);
  }

  settlement(date: string): Settlement {
    checkDate(date);
    const byAccount: Record<SettlementAccount, number> = {
      'receivable:medical-current': 0,
      'receivable:medical-prior': 0,
      'receivable:reserve': 0,
      cash: 0,
    };
    let sales = 0;
    for (const r of this.s.dayAccounts.all(this.ctx.terminalId, date)) {
      if (r.account === 'sales') sales = r.total;
      else byAccount[r.account] = r.total;
    }
    const count: Record<TransactionKind, number> = { payment: 0, refund: 0, reversal: 0 };
    const amount: Record<TransactionKind, number> = { payment: 0, refund: 0, reversal: 0 };
    const byMethod: Record<PaymentMethod, number> = { medical: 0, reserve: 0 };
    for (const r of this.s.dayKinds.all(this.ctx.terminalId, date)) {
      count[r.kind] += r.n;
      amount[r.kind] += r.total;
      byMethod[r.method] += sign(r.kind) * r.total;
    }
    return {
      terminalId: this.ctx.terminalId,
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
      pendingForward: this.queue.pendingCountOn(date),
    };
  }

  /**
   * Closes the business day `date`: a calendar date, and not after today's business date
   * (Beijing time) by the till's clock — a day that has not begun cannot be closed, and a
   * closing of 2999-01-01 would stand in the books as if it had happened. Any earlier day can
   * be closed (again): a late closing, or one after a forwarded payment changed the totals.
   */
  closeDay(date: string): ClosedSettlement {
    checkDate(date);
    const today = businessDate(this.ctx.clock());
    if (date > today) {
      throw new TerminalLedgerError(
        'INVALID_DATE',
        `cannot close ${date}: it is after today's business date ${today} (Beijing time); close a day on or after it`,
      );
    }
    return this.ctx.db
      .transaction(() => {
        const now = this.settlement(date);
        const latest = this.s.latestSettlement.get(this.ctx.terminalId, date);
        if (latest && sameMoney(toSettlement(latest), now)) return toSettlement(latest);
        const row: SettlementDbRow = {
          terminal_id: this.ctx.terminalId,
          business_date: date,
          version: (latest?.version ?? 0) + 1,
          closed_at: this.ctx.clock().toISOString(),
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

  closedSettlement(date: string): ClosedSettlement | null {
    checkDate(date);
    const row = this.s.latestSettlement.get(this.ctx.terminalId, date);
    return row ? toSettlement(row) : null;
  }

  settlementVersions(date: string): ClosedSettlement[] {
    checkDate(date);
    return this.s.settlementVersions.all(this.ctx.terminalId, date).map(toSettlement);
  }
}
