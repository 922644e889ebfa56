import type { HostRecord, PaymentMethod, PaymentSplit } from './types.ts';

/** The four split columns every book stores a payment's parts in. */
export interface SplitColumns {
  medical_current_fen: number;
  medical_prior_fen: number;
  reserve_fen: number;
  self_pay_fen: number;
}

export function splitFromColumns(r: SplitColumns): PaymentSplit {
  return {
    medicalCurrentFen: r.medical_current_fen,
    medicalPriorFen: r.medical_prior_fen,
    reserveFen: r.reserve_fen,
    selfPayFen: r.self_pay_fen,
  };
}

/** The columns a host record is stored in, by the in-process host (SQLite) and the central host (PostgreSQL). */
export interface HostRecordColumns extends SplitColumns {
  payment_id: string;
  kind: HostRecord['kind'];
  ref_payment_id: string | null;
  terminal_id: string;
  card_id: string;
  method: PaymentMethod;
  amount_fen: number;
  advanced_fen: number;
  created_at: string;
  applied_at: string;
}

export function hostRecordFromColumns(r: HostRecordColumns): HostRecord {
  return {
    paymentId: r.payment_id,
    kind: r.kind,
    refPaymentId: r.ref_payment_id,
    terminalId: r.terminal_id,
    cardId: r.card_id,
    method: r.method,
    amountFen: r.amount_fen,
    split: splitFromColumns(r),
    advancedFen: r.advanced_fen,
    createdAt: r.created_at,
    appliedAt: r.applied_at,
  };
}
