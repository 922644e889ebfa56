import { requireFen, requireInstant, requireText, invalid, type RecordHead } from '../../request-checks.ts';
import {
  refundLegs,
  refusedAfterReversal,
  refusedSecondReversal,
  returnHead,
  reversalLegs,
} from '../../rules/refund-order.ts';
import { replayOfRefund, replayOfReversal } from '../../rules/replay.ts';
import { neverAppliedError, refusedReversalIdOfOtherVoid } from '../../rules/voiding.ts';
import { HostError, type HostRecord } from '../../types.ts';
import {
  getRecord,
  lockCard,
  openLegs,
  reversalOf,
  type CardStatus,
  type PgBooks,
  type RecordRow,
  type VoidedRow,
} from './books.ts';
import type { Client } from './pool.ts';
import { VOID_LOCK, VOIDED_SELECT } from './sql.ts';
import { apply } from './writes.ts';

/**
 * The central host's refunds (退费) and reversals (冲正): the payment's card is locked first, then
 * the id is checked for a replay; a reversal of a payment not applied yet voids its id under an
 * exclusive advisory lock (see PgHost). What goes back and from where is rules/refund-order.ts.
 */

/** The payment a reversal of a voided id was waiting for committed meanwhile: re-run as a serialization failure. */
class PaymentArrived extends Error {
  readonly code = '40001';
  constructor(paymentId: string) {
    super(`payment ${paymentId} arrived while its reversal was being recorded as a void: retried`);
  }
}

export async function reverse(
  books: PgBooks,
  reversalId: string,
  paymentId: string,
  at: string,
): Promise<HostRecord> {
  const id = requireText(reversalId, 'reversalId');
  requireText(paymentId, 'paymentId');
  requireInstant(at, 'at');
  const out = await books.tx(async (c): Promise<HostRecord | VoidedRow> => {
    const original = await lockedOriginal(c, id, paymentId);
    const replay = replayOfReversal(await getRecord(c, id), id, paymentId);
    if (replay) return replay;
    const voidedBy = (
      await c.query<{ payment_id: string }>(
        'SELECT payment_id FROM host_voided_payments WHERE reversal_id = $1',
        [id],
      )
    ).rows[0]?.payment_id;
    refusedReversalIdOfOtherVoid(id, paymentId, voidedBy);
    if (!original) return voidPayment(books, c, id, paymentId, at);
    refusedSecondReversal(paymentId, (await reversalOf(c, paymentId))?.payment_id ?? null);
    const legs = reversalLegs(await openLegs(c, paymentId), paymentId);
    const amount = legs.reduce((sum, l) => sum + l.amountFen, 0);
    return apply(books, c, await returnHeadOf(c, id, original, at, amount), legs, 'reversal');
  });
  // Answered after the commit: the tombstone stays.
  if ('reversal_id' in out) throw neverAppliedError(paymentId, out.reversal_id);
  return out;
}

/**
 * A reversal of a payment id the host has not applied: the id becomes void (the first
 * reversal's id and time are kept; a repeat changes nothing). Holds the id's advisory lock
 * exclusively, then looks for the payment again: one that committed meanwhile is reversed
 * instead (the transaction is re-run, locking its card first).
 */
async function voidPayment(
  books: PgBooks,
  c: Client,
  id: string,
  paymentId: string,
  at: string,
): Promise<VoidedRow> {
  await c.query({
    name: 'host-void-lock',
    text: `SELECT pg_advisory_xact_lock(${VOID_LOCK}, hashtext($1))`,
    values: [paymentId],
  });
  const arrived = await c.query<{ kind: HostRecord['kind'] }>(
    'SELECT kind FROM host_records WHERE payment_id = $1',
    [paymentId],
  );
  if (arrived.rows[0]) throw new PaymentArrived(paymentId);
  const r = await c.query<VoidedRow>(
    `WITH ins AS (
       INSERT INTO host_voided_payments (payment_id, reversal_id, reversed_at, voided_at)
       VALUES ($1, $2, $3, $4) ON CONFLICT (payment_id) DO NOTHING)
     ${VOIDED_SELECT} WHERE v.payment_id = $1`,
    [paymentId, id, at, books.now()],
  );
  // The statement's snapshot does not see its own insert: a new tombstone is the one just written.
  return r.rows[0] ?? { payment_id: paymentId, reversal_id: id, reversed_at: at, reversal_taken: false };
}

export async function refund(
  books: PgBooks,
  refundId: string,
  paymentId: string,
  amountFen: number,
  at: string,
): Promise<HostRecord> {
  const id = requireText(refundId, 'refundId');
  requireText(paymentId, 'paymentId');
  const amount = requireFen(amountFen, 'amountFen', 1);
  requireInstant(at, 'at');
  return books.tx(async (c) => {
    const original = await lockedOriginal(c, id, paymentId);
    const replay = replayOfRefund(await getRecord(c, id), id, paymentId, amount);
    if (replay) return replay;
    if (!original)
      throw new HostError('UNKNOWN_PAYMENT', `payment ${paymentId} was never applied at the host`);
    refusedAfterReversal(paymentId, (await reversalOf(c, paymentId))?.payment_id ?? null);
    const legs = refundLegs(await openLegs(c, paymentId), amount, original);
    return apply(books, c, await returnHeadOf(c, id, original, at, amount), legs, 'refund');
  });
}

/**
 * The payment a refund/reversal points at, with its card locked; null when it was never
 * applied. Without a payment the id may still be a stored record (answered as a replay).
 */
async function lockedOriginal(c: Client, id: string, paymentId: string): Promise<RecordRow | null> {
  const r = await getRecord(c, paymentId);
  if (!r) {
    const existing = await getRecord(c, id);
    if (existing) await lockCard(c, existing.card_id);
    return null;
  }
  if (r.kind !== 'payment') {
    const existing = await getRecord(c, id);
    if (!existing) throw invalid(`${paymentId} is a ${r.kind}, not a payment`);
  }
  await lockCard(c, r.card_id);
  return r.kind === 'payment' ? r : null;
}

async function returnHeadOf(
  c: Client,
  id: string,
  original: RecordRow,
  at: string,
  amountFen: number,
): Promise<RecordHead> {
  const status = (
    await c.query<{ status: CardStatus }>('SELECT status FROM host_cards WHERE card_id = $1', [
      original.card_id,
    ])
  ).rows[0]?.status;
  return returnHead(id, original, at, amountFen, status);
}
