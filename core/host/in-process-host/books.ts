import type { CardRow, Ledger } from '../../ledger/ledger.ts';
import { invalid, type RecordHead } from '../request-checks.ts';
import type { Leg } from '../rules/legs.ts';
import type { OpenLeg } from '../rules/refund-order.ts';
import { planRecord } from '../rules/record-plan.ts';
import { hostRecordFromColumns } from '../split.ts';
import { HostError, type HostRecord, type MedicalOrder, type ShortfallPolicy } from '../types.ts';
import type { InProcessStatements, RecordDbRow } from './statements.ts';

/**
 * What the in-process host's per-concept modules share: the ledger and statements they write
 * through, the host's settings, and the one place a planned record is written — as ONE
 * balanced ledger transaction plus the host's record and legs rows.
 */
export interface InProcessBooks {
  readonly ledger: Ledger;
  readonly s: InProcessStatements;
  readonly medicalOrder: MedicalOrder;
  readonly shortfall: ShortfallPolicy;
  now(): string;
}

export function cardAt(books: InProcessBooks, id: string): CardRow {
  const card = books.ledger.getCard(id);
  if (!card) throw new HostError('UNKNOWN_CARD', `no card ${id} at the host`);
  return card;
}

/** The payment a refund or reversal points at. */
export function originalPayment(books: InProcessBooks, paymentId: string): RecordDbRow {
  const r = books.s.getRecord.get(paymentId);
  if (!r) throw new HostError('UNKNOWN_PAYMENT', `payment ${paymentId} was never applied at the host`);
  if (r.kind !== 'payment') throw invalid(`${paymentId} is a ${r.kind}, not a payment`);
  return r;
}

/** The legs of a payment with what is still unreturned of each, in drawing order. */
export function openLegs(books: InProcessBooks, paymentId: string): OpenLeg[] {
  return books.s.openLegs.all(paymentId).map((l) => ({
    leg: l.leg,
    part: l.part,
    accountId: l.account_id,
    advanced: l.advanced === 1,
    remainingFen: l.remaining_fen,
  }));
}

/**
 * Posts the legs as ONE balanced ledger transaction (id = the record's id) and stores the
 * record and its legs (the split and the postings are planned by rules/record-plan.ts).
 */
export function applyLegs(
  books: InProcessBooks,
  head: RecordHead,
  legs: readonly Leg[],
  kind: HostRecord['kind'],
): { record: HostRecord; row: RecordDbRow } {
  const { ledger, s } = books;
  const plan = planRecord(head, legs, kind, books.now(), () => ledger.systemAccount('merchant'));
  if (plan.lines.length > 0) {
    ledger.post({
      txnId: head.payment_id,
      kind,
      ...(head.ref_payment_id !== null ? { refTxnId: head.ref_payment_id } : {}),
      memo: `${head.method} ${kind} at terminal ${head.terminal_id}`,
      lines: plan.lines.map(([accountId, amountFen]) => ({ accountId, amountFen })),
    });
  }
  s.insertRecord.run(plan.row);
  legs.forEach((leg, i) =>
    s.insertLeg.run({
      payment_id: head.payment_id,
      leg: i + 1,
      part: leg.part,
      account_id: leg.accountId,
      advanced: leg.advanced ? 1 : 0,
      amount_fen: leg.amountFen,
      ref_leg: leg.refLeg,
    }),
  );
  return { record: hostRecordFromColumns(plan.row), row: plan.row };
}
