import type { HostRecord } from '../../host/types.ts';
import { businessDate } from '../../time.ts';
import { checkAmount, checkId, checkSplit } from './checks.ts';
import type { BooksContext } from './context.ts';
import { TerminalLedgerError } from './errors.ts';
import type { ForwardQueue } from './forward-queue.ts';
import type { Journal } from './journal.ts';
import type { PaymentRows } from './payments.ts';
import type { NewPaymentDbRow } from './rows.ts';
import type { RecordPaymentInput, TerminalPayment } from './types.ts';

/**
 * The one write path of a transaction: its row, its journal lines and its queue entry (or
 * host confirmation) go in together, inside the caller's IMMEDIATE transaction, so that a
 * crash leaves either all of them or none. Payments are recorded here; refunds and reversals
 * (corrections.ts) work out their split and then write through insertTransaction too.
 */
export class Recorder {
  constructor(
    private readonly ctx: BooksContext,
    private readonly rows: PaymentRows,
    private readonly journal: Journal,
    private readonly queue: ForwardQueue,
  ) {}

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

    const at = this.ctx.clock();
    const row: NewPaymentDbRow = {
      payment_id: p.paymentId,
      kind: 'payment',
      ref_payment_id: null,
      terminal_id: this.ctx.terminalId,
      merchant_id: this.ctx.merchantId,
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
    return this.ctx.db
      .transaction(() => {
        this.insertTransaction(row, at, p.forward, p.hostRecord);
        return this.rows.payment(p.paymentId) as TerminalPayment;
      })
      .immediate();
  }

  checkForwardAndRecord(id: string, forward: boolean, hostRecord: HostRecord | undefined): void {
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

  assertNewId(id: string): void {
    if (this.rows.exists(id)) {
      throw new TerminalLedgerError('DUPLICATE_PAYMENT_ID', `transaction id ${id} is already used`);
    }
  }

  /** Inside a transaction: row, journal lines, queue entry or host confirmation. */
  insertTransaction(row: NewPaymentDbRow, at: Date, forward: boolean, hostRecord?: HostRecord): void {
    this.assertNewId(row.payment_id);
    this.rows.insert(row);
    this.journal.post(row);
    const iso = at.toISOString();
    if (forward) this.queue.enqueue(row.payment_id, iso);
    else if (hostRecord) this.queue.insertConfirmed(row.payment_id, iso, hostRecord);
  }
}
