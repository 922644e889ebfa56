import type { MedicalOrder, PaymentSplit } from '../../host/types.ts';
import { lazyStatements } from '../../db/lazy-statements.ts';
import { businessDate } from '../../time.ts';
import { covered, emptySplit, fen, type SplitPart } from './accounts.ts';
import { checkAmount, checkId } from './checks.ts';
import type { BooksContext } from './context.ts';
import { TerminalLedgerError } from './errors.ts';
import type { PaymentRows } from './payments.ts';
import type { Recorder } from './recording.ts';
import type { PaymentDbRow } from './rows.ts';
import type { PaymentMode, RecordCorrectionOptions, TerminalPayment } from './types.ts';

/**
 * Refunds (退费) and reversals (冲正): which payment may still be corrected, and what goes
 * back where. They are new append-only rows pointing at the payment (ref_payment_id), never
 * changes to it; the checks run inside the recording transaction so that two tills on one
 * file cannot both refund the last of a payment.
 */

const prepareStatements = lazyStatements({
  corrections: (db) =>
    db.prepare<[string], PaymentDbRow>(
      'SELECT * FROM terminal_payments WHERE ref_payment_id = ? ORDER BY seq',
    ),
});

export interface RefundRules {
  readonly medicalOrder: MedicalOrder;
  readonly cashRefund: 'last' | 'first';
}

export class Corrections {
  private readonly s: ReturnType<typeof prepareStatements>;
  private readonly refundOrder: readonly SplitPart[];

  constructor(
    private readonly ctx: BooksContext,
    private readonly rows: PaymentRows,
    private readonly recorder: Recorder,
    { medicalOrder, cashRefund }: RefundRules,
  ) {
    this.s = prepareStatements(ctx.db);
    // Refunds go back in the reverse of the drawing order, cash last by default: see planRefund().
    const coveredBack: SplitPart[] =
      medicalOrder === 'current-first'
        ? ['reserveFen', 'medicalPriorFen', 'medicalCurrentFen']
        : ['reserveFen', 'medicalCurrentFen', 'medicalPriorFen'];
    this.refundOrder =
      cashRefund === 'first' ? ['selfPayFen', ...coveredBack] : [...coveredBack, 'selfPayFen'];
  }

  planRefund(paymentId: string, amountFen: number): PaymentSplit {
    checkAmount(amountFen, `refund of ${paymentId}: amountFen`);
    const original = this.refundablePayment(paymentId, 'refund');
    return this.refundSplit(original, amountFen);
  }

  planReversal(paymentId: string): PaymentSplit {
    const original = this.refundablePayment(paymentId, 'reversal');
    return { ...original.split };
  }

  recordReversal(
    reversalId: string,
    paymentId: string,
    forward: boolean,
    opts: RecordCorrectionOptions,
  ): TerminalPayment {
    checkId(reversalId, 'reversalId');
    checkId(paymentId, 'paymentId');
    this.recorder.checkForwardAndRecord(reversalId, forward, opts.hostRecord);
    this.checkCorrectionMode(reversalId, forward, opts.mode);
    return this.ctx.db
      .transaction(() => {
        this.recorder.assertNewId(reversalId);
        const original = this.refundablePayment(paymentId, 'reversal');
        const split = { ...original.split };
        this.insertCorrection(reversalId, 'reversal', original, original.amountFen, split, forward, opts);
        return this.rows.payment(reversalId) as TerminalPayment;
      })
      .immediate();
  }

  recordRefund(
    refundId: string,
    paymentId: string,
    amountFen: number,
    forward: boolean,
    opts: RecordCorrectionOptions,
  ): TerminalPayment {
    checkId(refundId, 'refundId');
    checkId(paymentId, 'paymentId');
    checkAmount(amountFen, `${refundId}: amountFen`);
    this.recorder.checkForwardAndRecord(refundId, forward, opts.hostRecord);
    this.checkCorrectionMode(refundId, forward, opts.mode);
    return this.ctx.db
      .transaction(() => {
        this.recorder.assertNewId(refundId);
        const original = this.refundablePayment(paymentId, 'refund');
        const split = this.refundSplit(original, amountFen);
        this.insertCorrection(refundId, 'refund', original, amountFen, split, forward, opts);
        return this.rows.payment(refundId) as TerminalPayment;
      })
      .immediate();
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
    const payment = this.rows.payment(paymentId);
    if (!payment) {
      throw new TerminalLedgerError(
        'UNKNOWN_PAYMENT',
        `no payment ${paymentId} in the books of ${this.ctx.terminalId}`,
      );
    }
    if (payment.kind !== 'payment') {
      throw new TerminalLedgerError('NOT_A_PAYMENT', `${paymentId} is a ${payment.kind}, not a payment`);
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
    return payment;
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
    const at = this.ctx.clock();
    this.recorder.insertTransaction(
      {
        payment_id: id,
        kind,
        ref_payment_id: original.paymentId,
        terminal_id: this.ctx.terminalId,
        merchant_id: this.ctx.merchantId,
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
}
