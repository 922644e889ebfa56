import { carryOverYearDue } from '../medical.ts';

/**
 * The 21 June carry-over (R4.2) as both hosts run it: which years are due, the meta row that
 * records the last year done, and each card's move of its whole 95000 balance into 95001. The
 * host reads the meta row and the balances under its locks and writes what is decided here.
 */

/** One carry-over year done by the host (R4.2). */
export interface CarryOverResult {
  readonly year: number;
  /** Cards whose 95000 balance moved (cards with an empty 95000 only get their 95001 opened). */
  readonly cards: number;
  readonly movedFen: number;
}

/** The host_meta key holding the last carry-over year done. */
export const CARRY_OVER_KEY = 'carry_over_done_year';

/**
 * The years to carry over now, given the stored last year done (undefined: never stored). At
 * first use only the year due is recorded as done, so a host started in November does not
 * move this year's money. `store` is the value to write to the meta row, if any.
 */
export function carryOverYears(
  stored: string | undefined,
  now: Date,
): { years: number[]; done: number; store: { value: string; insert: boolean } | null } {
  const due = carryOverYearDue(now);
  if (stored === undefined) return { years: [], done: due, store: { value: String(due), insert: true } };
  const done = Number(stored);
  const years: number[] = [];
  for (let year = done + 1; year <= due; year++) years.push(year);
  return {
    years,
    done: Math.max(done, due),
    store: due > done ? { value: String(due), insert: false } : null,
  };
}

/** Whether the host's known carry-over year still covers `now` (then nothing is due). */
export function carryOverCurrent(doneYear: number | null, now: Date): boolean {
  return doneYear !== null && doneYear >= carryOverYearDue(now);
}

/** The posting id of one card's move in one year: a year is moved at most once per card. */
export function carryOverTxnId(year: number, cardId: string): string {
  return `carry-over:${year}:${cardId}`;
}

/** The fen to move from a card's 95000 into 95001 (0: nothing to move, or moved already). */
export function carryOverMove(currentBalanceFen: number, alreadyPosted: boolean): number {
  return currentBalanceFen <= 0 || alreadyPosted ? 0 : currentBalanceFen;
}
