import { formatYuan, invalid, type HostRecordRow } from '../request-checks.ts';
import { hostRecordFromColumns } from '../split.ts';
import type { HostPaymentRequest, HostRecord } from '../types.ts';

/**
 * Idempotency: pay, forward, refund and reverse are keyed by the id the terminal gave them, so a
 * retry is answered with the first record, and an id reused for something else is refused. Both
 * hosts look the id up under their locks and ask here; null means the id is new.
 */

/** The stored record of a payment applied before, or null; refuses an id reused for another. */
export function replayOfPayment(
  existing: HostRecordRow | null,
  request: HostPaymentRequest,
): HostRecord | null {
  const r = existing;
  if (!r) return null;
  if (
    r.kind !== 'payment' ||
    r.card_id !== request.cardId ||
    r.terminal_id !== request.terminalId ||
    r.merchant_id !== request.merchantId ||
    r.method !== request.method ||
    r.amount_fen !== request.amountFen
  ) {
    throw invalid(
      `paymentId ${request.paymentId} was already used for a different ${r.kind} ` +
        `(card ${r.card_id}, terminal ${r.terminal_id}, ${r.method} ${formatYuan(r.amount_fen)})`,
    );
  }
  return hostRecordFromColumns(r);
}

/** The stored record of a refund applied before, or null; refuses an id reused for another. */
export function replayOfRefund(
  existing: HostRecordRow | null,
  refundId: string,
  paymentId: string,
  amount: number,
): HostRecord | null {
  if (!existing) return null;
  if (existing.kind === 'refund' && existing.ref_payment_id === paymentId && existing.amount_fen === amount) {
    return hostRecordFromColumns(existing);
  }
  throw invalid(
    `refundId ${refundId} was already used for a ${existing.kind} of ${existing.ref_payment_id ?? refundId} ` +
      `(${formatYuan(existing.amount_fen)})`,
  );
}

/** The stored record of a reversal applied before, or null; refuses an id reused for another. */
export function replayOfReversal(
  existing: HostRecordRow | null,
  reversalId: string,
  paymentId: string,
): HostRecord | null {
  if (!existing) return null;
  if (existing.kind === 'reversal' && existing.ref_payment_id === paymentId)
    return hostRecordFromColumns(existing);
  throw invalid(
    `reversalId ${reversalId} was already used for a ${existing.kind} of ${existing.ref_payment_id ?? reversalId}`,
  );
}
