import { requireFen, requireInstant, requireText } from '../request-checks.ts';
import {
  refundLegs,
  refusedAfterReversal,
  refusedSecondReversal,
  returnHead,
  reversalLegs,
} from '../rules/refund-order.ts';
import { replayOfRefund, replayOfReversal } from '../rules/replay.ts';
import { refusedReversalIdOfOtherVoid } from '../rules/voiding.ts';
import type { HostRecord } from '../types.ts';
import { applyLegs, openLegs, originalPayment, type InProcessBooks } from './books.ts';
import type { RecordDbRow, VoidedDbRow } from './statements.ts';

/**
 * The in-process host's refunds (退费) and reversals (冲正), inside the caller's write
 * transaction; a reversal of a payment not applied yet voids its id instead (the tombstone is
 * returned, and the caller answers UNKNOWN_PAYMENT after the commit so that it stays).
 */

export function reverseInTx(
  books: InProcessBooks,
  reversalId: string,
  paymentId: string,
  at: string,
): HostRecord | VoidedDbRow {
  const { s } = books;
  const id = requireText(reversalId, 'reversalId');
  requireText(paymentId, 'paymentId');
  requireInstant(at, 'at');
  const replay = replayOfReversal(s.getRecord.get(id) ?? null, id, paymentId);
  if (replay) return replay;
  refusedReversalIdOfOtherVoid(id, paymentId, s.voidedByReversal.get(id)?.payment_id);
  if (!s.getRecord.get(paymentId)) {
    // Nothing to reverse — yet: the debit may still be on its way. Its id is void from now
    // on (the first reversal's id and time are kept; a repeat changes nothing).
    s.insertVoided.run({ payment_id: paymentId, reversal_id: id, reversed_at: at, voided_at: books.now() });
    return s.getVoided.get(paymentId)!;
  }
  const original = originalPayment(books, paymentId);
  refusedSecondReversal(paymentId, s.reversalOf.get(paymentId)?.payment_id ?? null);
  const legs = reversalLegs(openLegs(books, paymentId), paymentId);
  const amount = legs.reduce((sum, l) => sum + l.amountFen, 0);
  return applyLegs(books, returnHeadOf(books, id, original, at, amount), legs, 'reversal').record;
}

export function refundInTx(
  books: InProcessBooks,
  refundId: string,
  paymentId: string,
  amountFen: number,
  at: string,
): HostRecord {
  const { s } = books;
  const id = requireText(refundId, 'refundId');
  requireText(paymentId, 'paymentId');
  const amount = requireFen(amountFen, 'amountFen', 1);
  requireInstant(at, 'at');
  const replay = replayOfRefund(s.getRecord.get(id) ?? null, id, paymentId, amount);
  if (replay) return replay;
  const original = originalPayment(books, paymentId);
  refusedAfterReversal(paymentId, s.reversalOf.get(paymentId)?.payment_id ?? null);
  const legs = refundLegs(openLegs(books, paymentId), amount, original);
  return applyLegs(books, returnHeadOf(books, id, original, at, amount), legs, 'refund').record;
}

function returnHeadOf(books: InProcessBooks, id: string, original: RecordDbRow, at: string, amount: number) {
  return returnHead(id, original, at, amount, books.ledger.getCard(original.card_id)?.status);
}
