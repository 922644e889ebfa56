import type { CardStatus } from '../../ledger/ledger.ts';
import { formatYuan, invalid, type HostRecordRow, type Part, type RecordHead } from '../request-checks.ts';
import type { Leg } from './legs.ts';

/**
 * What a refund (退费) or a reversal (冲正) gives back, and from which legs: refunds return money
 * last-drawn first — self-pay cash first (handed back at the till), then the sub-accounts in
 * reverse drawing order, an advance repaid to its funding account before the card account is
 * credited; a reversal returns everything not yet refunded, leg by leg, to where it came from.
 * One copy for both hosts; each reads the open legs under its own locks.
 */

/** A payment's leg with what is still unreturned of it. */
export interface OpenLeg {
  readonly leg: number;
  readonly part: Part;
  readonly accountId: number | null;
  readonly advanced: boolean;
  readonly remainingFen: number;
}

function returnLeg(l: OpenLeg, fen: number): Leg {
  return { part: l.part, accountId: l.accountId, advanced: l.advanced, amountFen: fen, refLeg: l.leg };
}

/**
 * The legs of a refund of `amount` fen; `open` is the payment's legs in drawing order. Refuses
 * a refund of more than is left.
 */
export function refundLegs(open: readonly OpenLeg[], amount: number, payment: HostRecordRow): Leg[] {
  const lastFirst = [...open].reverse();
  const remaining = lastFirst.reduce((sum, l) => sum + l.remainingFen, 0);
  if (amount > remaining) {
    throw invalid(
      `refund of ${formatYuan(amount)} exceeds the ${formatYuan(remaining)} not yet refunded ` +
        `of payment ${payment.payment_id} (${formatYuan(payment.amount_fen)})`,
    );
  }
  const legs: Leg[] = [];
  let rest = amount;
  for (const l of lastFirst) {
    if (rest === 0) break;
    const fen = Math.min(l.remainingFen, rest);
    if (fen === 0) continue;
    legs.push(returnLeg(l, fen));
    rest -= fen;
  }
  return legs;
}

/**
 * The legs of a reversal: everything not yet refunded, last-drawn first. `open` is the
 * payment's legs in drawing order. Refuses a payment with nothing left.
 */
export function reversalLegs(open: readonly OpenLeg[], paymentId: string): Leg[] {
  const left = open.filter((l) => l.remainingFen > 0);
  if (left.length === 0) throw invalid(`payment ${paymentId} is fully refunded: nothing left to reverse`);
  return left.reverse().map((l) => returnLeg(l, l.remainingFen));
}

/** A refund of a reversed payment is refused: the reversal gave everything back. */
export function refusedAfterReversal(paymentId: string, reversalId: string | null): void {
  if (reversalId !== null)
    throw invalid(`payment ${paymentId} was reversed by ${reversalId}: nothing to refund`);
}

/** A payment is reversed at most once. */
export function refusedSecondReversal(paymentId: string, reversalId: string | null): void {
  if (reversalId !== null) throw invalid(`payment ${paymentId} was already reversed by ${reversalId}`);
}

/**
 * The head of a refund or reversal: terminal, card and method are the payment's; the card's
 * status is the one the host holds now (the payment's when the card is gone).
 */
export function returnHead(
  id: string,
  payment: HostRecordRow,
  at: string,
  amountFen: number,
  cardStatusNow: CardStatus | undefined,
): RecordHead {
  return {
    payment_id: id,
    kind: 'refund',
    ref_payment_id: payment.payment_id,
    mode: null,
    terminal_id: payment.terminal_id,
    merchant_id: payment.merchant_id,
    card_id: payment.card_id,
    card_status: cardStatusNow ?? payment.card_status,
    method: payment.method,
    amount_fen: amountFen,
    created_at: at,
  };
}
