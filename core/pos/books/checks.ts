import type { PaymentMethod, PaymentSplit } from '../../host/types.ts';
import { PART_LINE_ORDER } from './accounts.ts';
import { TerminalLedgerError } from './errors.ts';
import { isValidBusinessDate } from '../../time.ts';

/**
 * Checks of what callers hand the books, done before anything is written: an id, a date, an
 * amount or a split the books refuse is a TerminalLedgerError, never a half-written row.
 */

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const ID_RE = /^[\x21-\x7e]{1,128}$/;
export const TERMINAL_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.]{0,31}$/;

export function checkId(id: unknown, what: string): asserts id is string {
  if (typeof id !== 'string' || !ID_RE.test(id)) {
    throw new TerminalLedgerError(
      'INVALID_ID',
      `${what} must be 1–128 printable ASCII characters without spaces, not ${JSON.stringify(id)}`,
    );
  }
}

/** A business date: YYYY-MM-DD and a day of the calendar (not 0000-00-00, 2026-02-30 or 9999-99-99). */
export function checkDate(date: unknown): asserts date is string {
  if (typeof date !== 'string' || !DATE_RE.test(date)) {
    throw new TerminalLedgerError('INVALID_DATE', `date must be YYYY-MM-DD, not ${JSON.stringify(date)}`);
  }
  if (!isValidBusinessDate(date)) {
    throw new TerminalLedgerError('INVALID_DATE', `${date} is not a day of the calendar`);
  }
}

export function checkAmount(amountFen: unknown, what: string): asserts amountFen is number {
  if (!Number.isSafeInteger(amountFen) || (amountFen as number) <= 0) {
    throw new TerminalLedgerError(
      'INVALID_AMOUNT',
      `${what} must be a positive whole number of fen within ${Number.MAX_SAFE_INTEGER}, not ${String(amountFen)}`,
    );
  }
}

/** The split's parts are safe non-negative integers summing (exactly: BigInt) to amountFen. */
export function checkSplit(id: string, method: PaymentMethod, amountFen: number, split: PaymentSplit): void {
  if (typeof split !== 'object' || split === null) {
    throw new TerminalLedgerError('INVALID_SPLIT', `${id}: split is missing`);
  }
  let sum = 0n;
  for (const part of PART_LINE_ORDER) {
    const v = split[part];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new TerminalLedgerError(
        'INVALID_SPLIT',
        `${id}: split.${part} must be a non-negative whole number of fen, not ${String(v)}`,
      );
    }
    sum += BigInt(v);
  }
  if (sum !== BigInt(amountFen)) {
    throw new TerminalLedgerError('INVALID_SPLIT', `${id}: split parts sum to ${sum} fen, not ${amountFen}`);
  }
  // A medical payment draws on 95000/95001 (and cash for the shortfall), a reserve payment on
  // the reserve account (and cash): never both kinds of account in one transaction.
  if (method === 'medical' && split.reserveFen !== 0) {
    throw new TerminalLedgerError('INVALID_SPLIT', `${id}: a medical payment cannot draw on the reserve`);
  }
  if (method === 'reserve' && split.medicalCurrentFen + split.medicalPriorFen !== 0) {
    throw new TerminalLedgerError(
      'INVALID_SPLIT',
      `${id}: a reserve payment cannot draw on the medical accounts`,
    );
  }
}
