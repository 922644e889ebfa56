import { drawOrder, type Part } from '../request-checks.ts';
import type { MedicalOrder, PaymentSplit } from '../types.ts';

/**
 * How a payment's split becomes legs — which account gives how much — decided once for both
 * hosts (in-process on SQLite, central on PostgreSQL); the host only looks the accounts up
 * under its locks and writes what is planned here.
 */

export type AccountPart = Exclude<Part, 'self_pay'>;

/** The system accounts that advance what a card account cannot cover. */
export type FundingKind = 'bank_funding' | 'medical_funding';

/** One leg of a record: a part of the amount and the account it moved from (or back to). */
export interface Leg {
  readonly part: Part;
  /** null: cash at the till (self-pay), not in the host's books. */
  readonly accountId: number | null;
  readonly advanced: boolean;
  readonly amountFen: number;
  /** The payment's leg a refund or reversal leg returns; null for a payment's own legs. */
  readonly refLeg: number | null;
}

export const SPLIT_FIELD: Readonly<Record<Part, keyof PaymentSplit>> = {
  medical_current: 'medicalCurrentFen',
  medical_prior: 'medicalPriorFen',
  reserve: 'reserveFen',
  self_pay: 'selfPayFen',
};

/** Who advances a part the card account can no longer cover. */
export const ADVANCED_BY: Readonly<Record<AccountPart, FundingKind>> = {
  medical_current: 'medical_funding',
  medical_prior: 'medical_funding',
  reserve: 'bank_funding',
};

/**
 * The legs of an online payment the host split itself: each part from the card's account,
 * in drawing order. The split never takes more than an account holds, so the account exists.
 */
export function onlineLegs(
  split: PaymentSplit,
  medicalOrder: MedicalOrder,
  cardId: string,
  accountIdOf: (part: AccountPart) => number | null,
): Leg[] {
  const legs: Leg[] = [];
  for (const part of drawOrder(medicalOrder)) {
    const fen = split[SPLIT_FIELD[part]];
    if (fen === 0) continue;
    const accountId = part === 'self_pay' ? null : accountIdOf(part);
    if (part !== 'self_pay' && accountId === null) throw new Error(`no ${part} account for ${cardId}`);
    legs.push({ part, accountId, advanced: false, amountFen: fen, refLeg: null });
  }
  return legs;
}

/**
 * The legs of a forwarded (offline) payment, whose split the till decided: each part drawn from
 * its card account as far as the balance goes, the rest advanced by the funding account
 * (medical_funding for 95000/95001 — the centre; bank_funding for the reserve — the bank).
 * `fundingAccount` is asked only when an advance is needed (the in-process ledger opens it then).
 */
export function forwardLegs(
  split: PaymentSplit,
  medicalOrder: MedicalOrder,
  accountOf: (part: AccountPart) => { accountId: number; balanceFen: number } | null,
  fundingAccount: (kind: FundingKind) => number,
): Leg[] {
  const legs: Leg[] = [];
  for (const part of drawOrder(medicalOrder)) {
    const fen = split[SPLIT_FIELD[part]];
    if (fen === 0) continue;
    if (part === 'self_pay') {
      legs.push({ part, accountId: null, advanced: false, amountFen: fen, refLeg: null });
      continue;
    }
    const account = accountOf(part);
    const taken = Math.min(account?.balanceFen ?? 0, fen);
    if (account && taken > 0) {
      legs.push({ part, accountId: account.accountId, advanced: false, amountFen: taken, refLeg: null });
    }
    if (fen > taken) {
      legs.push({
        part,
        accountId: fundingAccount(ADVANCED_BY[part]),
        advanced: true,
        amountFen: fen - taken,
        refLeg: null,
      });
    }
  }
  return legs;
}

/**
 * What a record's legs take from (payment, sign −1) or give back to (refund, reversal, +1) the
 * card accounts: [account, signed fen] per card-account leg. Advanced legs move the funding
 * account, whose balance is the sum of its postings, so they are not card balance changes.
 */
export function cardDeltas(
  legs: readonly Leg[],
  kind: 'payment' | 'refund' | 'reversal',
): [number, number][] {
  const out = kind === 'payment' ? -1 : 1;
  const deltas: [number, number][] = [];
  for (const leg of legs) {
    if (leg.accountId !== null && !leg.advanced) deltas.push([leg.accountId, out * leg.amountFen]);
  }
  return deltas;
}
