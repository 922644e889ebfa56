import { businessDate } from '../../time.ts';
import type { HostRecordRow, RecordHead } from '../request-checks.ts';
import type { HostRecord, PaymentSplit } from '../types.ts';
import { cardDeltas, SPLIT_FIELD, type Leg } from './legs.ts';

/**
 * What a set of legs makes — the record's split columns, its advance, and ONE balanced posting —
 * worked out the same way by both hosts before either writes anything.
 */

/** A record decided and not written yet, with its postings and card balance deltas. */
export interface PlannedRecord {
  readonly row: HostRecordRow;
  readonly legs: readonly Leg[];
  /**
   * Postings in line order: [account, signed fen]; payments debit the accounts and credit the
   * merchant, refunds and reversals the opposite. Empty when every leg is cash at the till.
   */
  readonly lines: readonly [number, number][];
  /** Card accounts' balance changes: [account, signed fen]. */
  readonly cardDeltas: readonly [number, number][];
}

/**
 * Plans the record of `legs` under `head`. Self-pay legs are cash at the till and are not
 * posted. `merchantAccount` is asked only when something is posted (the in-process ledger
 * opens the merchant account on first use). Throws when the legs do not sum to the amount.
 */
export function planRecord(
  head: RecordHead,
  legs: readonly Leg[],
  kind: HostRecord['kind'],
  appliedAt: string,
  merchantAccount: () => number,
): PlannedRecord {
  const out = kind === 'payment' ? -1 : 1;
  const split: PaymentSplit = { medicalCurrentFen: 0, medicalPriorFen: 0, reserveFen: 0, selfPayFen: 0 };
  let advanced = 0;
  let covered = 0;
  const lines: [number, number][] = [];
  for (const leg of legs) {
    split[SPLIT_FIELD[leg.part]] += leg.amountFen;
    if (leg.advanced) advanced += leg.amountFen;
    if (leg.accountId !== null) {
      covered += leg.amountFen;
      lines.push([leg.accountId, out * leg.amountFen]);
    }
  }
  const total = split.medicalCurrentFen + split.medicalPriorFen + split.reserveFen + split.selfPayFen;
  if (total !== head.amount_fen) {
    throw new Error(`host: legs of ${head.payment_id} sum to ${total} fen, not ${head.amount_fen}`);
  }
  if (covered > 0) lines.push([merchantAccount(), -out * covered]);
  const row: HostRecordRow = {
    ...head,
    kind,
    medical_current_fen: split.medicalCurrentFen,
    medical_prior_fen: split.medicalPriorFen,
    reserve_fen: split.reserveFen,
    self_pay_fen: split.selfPayFen,
    advanced_fen: advanced,
    business_date: businessDate(new Date(head.created_at)),
    applied_at: appliedAt,
  };
  return { row, legs, lines, cardDeltas: cardDeltas(legs, kind) };
}
