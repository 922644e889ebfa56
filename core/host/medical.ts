import type { HostBalances, MedicalOrder, PaymentSplit, ShortfallPolicy } from './types.ts';

/**
 * How a medical payment is covered (R4): from 95000 (current year) and 95001 (prior year)
 * in the configured order; what they cannot cover is self-pay (cash) or a decline.
 * Public settlement data consumes the current-year account first, hence the default.
 */
export type MedicalSplitResult = { ok: true; split: PaymentSplit } | { ok: false; shortfallFen: number };

export function splitMedical(
  amountFen: number,
  balances: Pick<HostBalances, 'medicalCurrent' | 'medicalPrior'>,
  order: MedicalOrder = 'current-first',
  shortfall: ShortfallPolicy = 'self-pay',
): MedicalSplitResult {
  const current = balances.medicalCurrent ?? 0;
  const prior = balances.medicalPrior ?? 0;
  let rest = amountFen;
  const take = (available: number) => {
    const t = Math.min(Math.max(available, 0), rest);
    rest -= t;
    return t;
  };
  let medicalCurrentFen: number;
  let medicalPriorFen: number;
  if (order === 'current-first') {
    medicalCurrentFen = take(current);
    medicalPriorFen = take(prior);
  } else {
    medicalPriorFen = take(prior);
    medicalCurrentFen = take(current);
  }
  if (rest > 0 && shortfall === 'decline') return { ok: false, shortfallFen: rest };
  return { ok: true, split: { medicalCurrentFen, medicalPriorFen, reserveFen: 0, selfPayFen: rest } };
}

/** The 21 June of a year, in Beijing time, as an instant. */
export function carryOverInstant(year: number): Date {
  return new Date(Date.UTC(year, 5, 20, 16, 0, 0)); // 21 June 00:00 UTC+8
}

/**
 * The carry-over year due at `now`: the latest year whose 21 June has passed. The host keeps
 * which years it has done, so running the job again in the same year moves nothing (R4.2).
 */
export function carryOverYearDue(now: Date): number {
  // Beijing has no daylight saving: its year is the UTC year of the instant shifted by 8 h.
  const y = new Date(now.getTime() + 8 * 3600_000).getUTCFullYear();
  return now >= carryOverInstant(y) ? y : y - 1;
}
