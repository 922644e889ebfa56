import {
  decideOnlinePayment,
  validatePaymentRequest,
  validatePaymentSplit,
  type RecordHead,
} from '../../request-checks.ts';
import { forwardLegs, onlineLegs, type AccountPart, type Leg } from '../../rules/legs.ts';
import type { PlannedRecord } from '../../rules/record-plan.ts';
import { replayOfPayment } from '../../rules/replay.ts';
import { voidedError, voidingBlocked, voidingReversal } from '../../rules/voiding.ts';
import { hostRecordFromColumns } from '../../split.ts';
import { HostError, type HostPaymentRequest, type HostRecord, type PaymentSplit } from '../../types.ts';
import {
  balancesOf,
  lockCardForPayment,
  readForPayment,
  type AccountRow,
  type CardRow,
  type PgBooks,
  type VoidedRow,
} from './books.ts';
import type { Client } from './pool.ts';
import type { ForwardBatchOutcome } from './public-types.ts';
import { LOCK_CARDS_FOR_BATCH_SQL, READ_FOR_BATCH_SQL } from './sql.ts';
import { apply, applyPlanned, plan } from './writes.ts';

/**
 * The central host's payments: online authorisation, a forwarded offline payment, and a batch
 * of forwarded payments with forward()'s answers in one transaction. Each locks the card (and
 * shares the payment id's void lock) before it reads; the decisions are core/host/rules/.
 */

/** Online authorisation; the terminal records after the answer (no shared transaction here). */
export async function pay(books: PgBooks, request: HostPaymentRequest): Promise<HostRecord> {
  const head = validatePaymentRequest(request, 'online');
  return books.tx(async (c) => {
    const card = await lockCardForPayment(c, head.card_id, head.payment_id);
    const { existing, accounts, voided } = await readForPayment(c, request);
    const replay = replayOfPayment(existing, request);
    if (replay) return replay;
    // Reversed before it arrived (a debit delayed on the network): the till gave up on it.
    if (voided) throw voidedError(voided.payment_id, voided.reversal_id, voided.reversed_at);
    const split = decideOnlinePayment(
      { cardId: card.card_id, generation: card.generation, status: card.status },
      request.method,
      request.amountFen,
      balancesOf(accounts),
      books.medicalOrder,
      books.shortfall,
    );
    const legs = onlineLegs(
      split,
      books.medicalOrder,
      card.card_id,
      (part) => accounts.get(part)?.account_id ?? null,
    );
    return apply(books, c, { ...head, card_status: card.status }, legs, 'payment');
  });
}

export async function forward(books: PgBooks, request: HostPaymentRequest): Promise<HostRecord> {
  const head = validatePaymentRequest(request, 'offline');
  const split = validatePaymentSplit(request);
  return books.tx(async (c) => {
    const card = await lockCardForPayment(c, head.card_id, head.payment_id);
    const { existing, accounts, voided } = await readForPayment(c, request);
    const replay = replayOfPayment(existing, request);
    if (replay) return replay;
    const blocked = voided && voidingBlocked(voided, voided.reversal_taken);
    if (blocked) throw blocked;
    // The card was accepted at the till: its status now is recorded, not re-checked.
    const p = plan(
      books,
      { ...head, card_status: card.status },
      drawForward(books, split, accounts),
      'payment',
    );
    await applyPlanned(c, voided ? [p, planVoiding(books, p, voided, accounts)] : [p]);
    return hostRecordFromColumns(p.row);
  });
}

/**
 * Forwards many payments in one transaction (the terminal's queue sent in batches), with the
 * same results as forward() called for each in turn: every card involved is locked first, in
 * card_id order; the records already known (replays) and the cards' accounts are read in one
 * statement; each payment is then decided in order against the balances the earlier ones
 * left (an id seen earlier in the batch or before is answered with its first record, an id
 * reused for another payment or an unknown card is refused on its own), and everything
 * decided is written in one statement. One commit for the batch.
 */
export async function forwardBatch(
  books: PgBooks,
  requests: readonly HostPaymentRequest[],
): Promise<ForwardBatchOutcome[]> {
  type Checked =
    | { request: HostPaymentRequest; head: RecordHead; split: PaymentSplit; error: null }
    | { request: HostPaymentRequest; error: HostError };
  const checked = requests.map((request): Checked => {
    try {
      const head = validatePaymentRequest(request, 'offline');
      return { request, head, split: validatePaymentSplit(request), error: null };
    } catch (e) {
      if (e instanceof HostError) return { request, error: e };
      throw e;
    }
  });
  const valid = checked.flatMap((x) => (x.error === null ? [x] : []));
  return books.tx(async (c) => {
    const { cards, known, voided, accounts } = await lockAndReadBatch(c, valid);
    const out: ForwardBatchOutcome[] = [];
    const plans: PlannedRecord[] = [];
    for (const x of checked) {
      const paymentId = String(x.request?.paymentId);
      if (x.error !== null) {
        out.push({ paymentId, error: { code: x.error.code, message: x.error.message } });
        continue;
      }
      const card = cards.get(x.head.card_id);
      if (!card) {
        out.push({
          paymentId,
          error: { code: 'UNKNOWN_CARD', message: `no card ${x.head.card_id} at the host` },
        });
        continue;
      }
      try {
        // An id applied before, or earlier in this batch: its first record (or a refusal).
        const replay = replayOfPayment(known.get(paymentId) ?? null, x.request);
        if (replay) {
          out.push({ paymentId, record: replay });
          continue;
        }
      } catch (e) {
        // Refusals are decided before anything is written: the batch goes on.
        if (!(e instanceof HostError)) throw e;
        out.push({ paymentId, error: { code: e.code, message: e.message } });
        continue;
      }
      // Voided before it arrived: applied and reversed at once, as forward() does (its
      // reversal id may also have been used by an earlier payment of this batch).
      const tombstone = voided.get(paymentId);
      const blocked =
        tombstone && voidingBlocked(tombstone, tombstone.reversal_taken || known.has(tombstone.reversal_id));
      if (blocked) {
        out.push({ paymentId, error: { code: blocked.code, message: blocked.message } });
        continue;
      }
      const cardAccounts = accounts.get(card.card_id) ?? new Map<AccountPart, AccountRow>();
      const p = plan(
        books,
        { ...x.head, card_status: card.status },
        drawForward(books, x.split, cardAccounts),
        'payment',
      );
      const voiding = tombstone ? planVoiding(books, p, tombstone, cardAccounts) : null;
      plans.push(p);
      known.set(paymentId, p.row);
      if (voiding) {
        plans.push(voiding);
        known.set(voiding.row.payment_id, voiding.row);
      }
      out.push({ paymentId, record: hostRecordFromColumns(p.row) });
    }
    await applyPlanned(c, plans);
    return out;
  });
}

/** A batch's card locks (card_id order, after the ids' shared void locks) and its one read. */
async function lockAndReadBatch(c: Client, valid: readonly { head: RecordHead }[]) {
  const ids = [...new Set(valid.map((x) => x.head.card_id))].sort();
  const paymentIds = valid.map((x) => x.head.payment_id);
  // The payment ids' shared locks come with the cards' (see PgHost): a reversal writing
  // a tombstone for one of them waits for this batch, or this batch reads its tombstone.
  const locked = await c.query<CardRow>({
    name: 'host-lock-cards-for-batch',
    text: LOCK_CARDS_FOR_BATCH_SQL,
    values: [ids, paymentIds],
  });
  const cards = new Map(locked.rows.map((r) => [r.card_id, r]));
  const read = await c.query<{
    existing: PlannedRecord['row'][];
    accounts: (AccountRow & { card_id: string })[];
    voided: VoidedRow[];
  }>({
    name: 'host-read-for-batch',
    text: READ_FOR_BATCH_SQL,
    values: [[...cards.keys()], paymentIds],
  });
  const known = new Map(read.rows[0]!.existing.map((r) => [r.payment_id, r]));
  const voided = new Map(read.rows[0]!.voided.map((v) => [v.payment_id, v]));
  const accounts = new Map<string, Map<AccountPart, AccountRow>>();
  for (const a of read.rows[0]!.accounts) {
    let m = accounts.get(a.card_id);
    if (!m) accounts.set(a.card_id, (m = new Map()));
    m.set(a.kind, { account_id: a.account_id, kind: a.kind, balance_fen: a.balance_fen });
  }
  return { cards, known, voided, accounts };
}

/**
 * The legs of a forwarded payment (rules/legs.ts forwardLegs); the accounts' balances are
 * lowered by what was drawn, for the next payment of a batch.
 */
function drawForward(books: PgBooks, split: PaymentSplit, accounts: Map<AccountPart, AccountRow>): Leg[] {
  const legs = forwardLegs(
    split,
    books.medicalOrder,
    (part) => {
      const a = accounts.get(part);
      return a ? { accountId: a.account_id, balanceFen: a.balance_fen } : null;
    },
    (kind) => books.system(kind),
  );
  moveBalances(accounts, legs, -1);
  return legs;
}

/**
 * The reversal of a forwarded payment whose id a reversal voided before it arrived
 * (rules/voiding.ts), written in the same statement; the queued reversal then finds its
 * record. The accounts' balances are raised again for the next payment of a batch.
 */
function planVoiding(
  books: PgBooks,
  payment: PlannedRecord,
  voided: VoidedRow,
  accounts: Map<AccountPart, AccountRow>,
): PlannedRecord {
  const reversal = voidingReversal(payment, voided);
  moveBalances(accounts, reversal.legs, 1);
  return plan(books, reversal.head, reversal.legs, 'reversal');
}

/** Card-account legs (not advances) move the in-memory balances a batch decides against. */
function moveBalances(accounts: Map<AccountPart, AccountRow>, legs: readonly Leg[], sign: 1 | -1): void {
  for (const l of legs) {
    if (l.advanced || l.accountId === null) continue;
    for (const a of accounts.values()) if (a.account_id === l.accountId) a.balance_fen += sign * l.amountFen;
  }
}
