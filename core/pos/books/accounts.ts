import type { PaymentSplit } from '../../host/types.ts';
import type { SettlementAccount, TransactionKind } from './types.ts';

/**
 * How a transaction's split maps onto the till's accounts, and the sign a kind gives its
 * amounts. Shared by the journal (lines are written in this order), the input checks,
 * refunds, the closing and reconciliation, so that they cannot disagree about it.
 */

export type SplitPart = keyof PaymentSplit;
export type CoveredPart = Exclude<SplitPart, 'selfPayFen'>;

export const PART_ACCOUNT: Readonly<Record<SplitPart, SettlementAccount>> = {
  medicalCurrentFen: 'receivable:medical-current',
  medicalPriorFen: 'receivable:medical-prior',
  reserveFen: 'receivable:reserve',
  selfPayFen: 'cash',
};

/** Journal line order of a transaction, after the sales line. */
export const PART_LINE_ORDER: readonly SplitPart[] = [
  'medicalCurrentFen',
  'medicalPriorFen',
  'reserveFen',
  'selfPayFen',
];
export const COVERED_PARTS: readonly CoveredPart[] = ['medicalCurrentFen', 'medicalPriorFen', 'reserveFen'];

export const PART_NAME: Readonly<Record<SplitPart, string>> = {
  medicalCurrentFen: '95000 医保当年 medical current',
  medicalPriorFen: '95001 医保上年 medical prior',
  reserveFen: '备用金 reserve',
  selfPayFen: '自付 cash',
};

export const emptySplit = (): PaymentSplit => ({
  medicalCurrentFen: 0,
  medicalPriorFen: 0,
  reserveFen: 0,
  selfPayFen: 0,
});

export function covered(split: PaymentSplit): number {
  return split.medicalCurrentFen + split.medicalPriorFen + split.reserveFen;
}

export function fen(n: number): string {
  return `${n} fen`;
}

export function sign(kind: TransactionKind): 1 | -1 {
  return kind === 'payment' ? 1 : -1;
}
