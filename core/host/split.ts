import type { PaymentSplit } from './types.ts';

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
