import { invalid, type HostRecordRow, type RecordHead } from '../request-checks.ts';
import { HostError } from '../types.ts';
import type { Leg } from './legs.ts';

/**
 * Payment ids voided by a reversal that reached the host before the payment did (a debit
 * delayed on the network; its till gave up and reversed it). The reversal leaves a tombstone
 * and is answered UNKNOWN_PAYMENT; a later pay of the id is refused (PAYMENT_VOIDED); a later
 * forward is applied and at once reversed under the tombstone's reversal id and time. The
 * decisions are here, once; each host keeps its own tombstone table and locks.
 */

/** A tombstone as both hosts store it. */
export interface Tombstone {
  readonly payment_id: string;
  readonly reversal_id: string;
  readonly reversed_at: string;
}

/** The refusal of a payment whose id a reversal voided before it arrived. */
export function voidedError(paymentId: string, reversalId: string, reversedAt: string): HostError {
  return new HostError(
    'PAYMENT_VOIDED',
    `payment ${paymentId} was voided by reversal ${reversalId} (${reversedAt}) before it reached the host: ` +
      'refused, nothing applied',
  );
}

/** UNKNOWN_PAYMENT for a reversal of a payment the host never applied; the id is now void. */
export function neverAppliedError(paymentId: string, reversalId: string): HostError {
  return new HostError(
    'UNKNOWN_PAYMENT',
    `payment ${paymentId} was never applied at the host; its id is now voided by reversal ${reversalId}, ` +
      'so a late debit of it moves no money',
  );
}

/**
 * Why a voided payment cannot be forwarded, if so: the voiding reversal's id must still be free
 * to become the reversal's record.
 */
export function voidingBlocked(voided: Tombstone, reversalIdTaken: boolean): HostError | null {
  if (!reversalIdTaken) return null;
  return invalid(
    `payment ${voided.payment_id} was voided by reversal ${voided.reversal_id}, but that id is now ` +
      'another record: the payment cannot be applied and reversed',
  );
}

/** A reversal id that already voided another payment id is not reused for this one. */
export function refusedReversalIdOfOtherVoid(
  reversalId: string,
  paymentId: string,
  voidedPaymentId: string | undefined,
): void {
  if (voidedPaymentId !== undefined && voidedPaymentId !== paymentId) {
    throw invalid(`reversalId ${reversalId} was already used for the reversal of ${voidedPaymentId}`);
  }
}

/**
 * The reversal of a forwarded payment whose id was voided: everything goes back, last-drawn
 * first, to exactly where it came from, under the voiding reversal's id and time.
 */
export function voidingReversal(
  payment: { readonly row: HostRecordRow; readonly legs: readonly Leg[] },
  voided: Tombstone,
): { head: RecordHead; legs: Leg[] } {
  const legs = payment.legs.map((l, i): Leg => ({ ...l, refLeg: i + 1 })).reverse();
  const p = payment.row;
  return {
    head: {
      payment_id: voided.reversal_id,
      kind: 'reversal',
      ref_payment_id: p.payment_id,
      mode: null,
      terminal_id: p.terminal_id,
      merchant_id: p.merchant_id,
      card_id: p.card_id,
      card_status: p.card_status,
      method: p.method,
      amount_fen: p.amount_fen,
      created_at: voided.reversed_at,
    },
    legs,
  };
}
