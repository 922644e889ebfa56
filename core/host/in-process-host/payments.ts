import { decideOnlinePayment, validatePaymentRequest, validatePaymentSplit } from '../request-checks.ts';
import { forwardLegs, onlineLegs } from '../rules/legs.ts';
import { replayOfPayment } from '../rules/replay.ts';
import { voidedError, voidingBlocked, voidingReversal } from '../rules/voiding.ts';
import type { HostPaymentRequest, HostRecord } from '../types.ts';
import { applyLegs, cardAt, type InProcessBooks } from './books.ts';
import { requireText } from '../request-checks.ts';

/**
 * The in-process host's payments, inside the caller's write transaction: an online payment the
 * host splits itself, and an offline one forwarded with the till's split (advanced where the
 * card account no longer covers it). The decisions are the shared rules in core/host/rules/.
 */

/** Online authorisation (pay). */
export function payInTx(books: InProcessBooks, request: HostPaymentRequest): HostRecord {
  const head = validatePaymentRequest(request, 'online');
  const replay = replayOfPayment(books.s.getRecord.get(request.paymentId) ?? null, request);
  if (replay) return replay;
  const card = cardAt(books, requireText(request.cardId, 'cardId'));
  // Reversed before it arrived (a debit delayed on the network): the till gave up on it.
  const voided = books.s.getVoided.get(request.paymentId);
  if (voided) throw voidedError(voided.payment_id, voided.reversal_id, voided.reversed_at);
  const split = decideOnlinePayment(
    card,
    request.method,
    request.amountFen,
    books.ledger.balances(card.cardId),
    books.medicalOrder,
    books.shortfall,
  );
  const legs = onlineLegs(
    split,
    books.medicalOrder,
    card.cardId,
    (part) => books.ledger.getAccount(card.cardId, part)?.accountId ?? null,
  );
  return applyLegs(books, { ...head, card_status: card.status }, legs, 'payment').record;
}

/** A payment the till booked offline, forwarded later with its split. */
export function forwardInTx(books: InProcessBooks, request: HostPaymentRequest): HostRecord {
  const head = validatePaymentRequest(request, 'offline');
  const replay = replayOfPayment(books.s.getRecord.get(request.paymentId) ?? null, request);
  if (replay) return replay;
  const split = validatePaymentSplit(request);
  // The card was accepted at the till: its status now is recorded, not re-checked.
  const card = cardAt(books, requireText(request.cardId, 'cardId'));
  const legs = forwardLegs(
    split,
    books.medicalOrder,
    (part) => {
      const a = books.ledger.getAccount(card.cardId, part);
      return a ? { accountId: a.accountId, balanceFen: a.balanceFen } : null;
    },
    (kind) => books.ledger.systemAccount(kind),
  );
  const voided = books.s.getVoided.get(request.paymentId);
  if (voided) {
    const blocked = voidingBlocked(voided, books.s.getRecord.get(voided.reversal_id) !== undefined);
    if (blocked) throw blocked;
  }
  const payment = applyLegs(books, { ...head, card_status: card.status }, legs, 'payment');
  // Reversed before it arrived: the till booked it offline and queued that reversal behind it.
  // Applied and reversed at once, by that reversal: nothing moves, and the queued reversal
  // finds its record (a replay).
  if (voided) {
    const reversal = voidingReversal({ row: payment.row, legs }, voided);
    applyLegs(books, reversal.head, reversal.legs, 'reversal');
  }
  return payment.record;
}
