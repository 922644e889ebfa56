/**
 * The one error type of the terminal's books: callers (the till, the CLI, the API) tell a
 * refused request from a failure by its code, whichever part of the books refused it.
 */

export type TerminalLedgerErrorCode =
  | 'INVALID_ID'
  | 'INVALID_AMOUNT'
  | 'INVALID_SPLIT'
  | 'INVALID_INPUT'
  | 'INVALID_DATE'
  | 'DUPLICATE_PAYMENT_ID'
  | 'UNKNOWN_PAYMENT'
  | 'NOT_A_PAYMENT'
  | 'ALREADY_REVERSED'
  | 'ALREADY_REFUNDED'
  | 'REFUND_EXCEEDS_REMAINING'
  | 'NOT_QUEUED'
  | 'ALREADY_SENT'
  | 'HOST_RECORD_MISMATCH'
  /** The host answered a refund written ahead with a refusal: it stays queued (see PosSystem.refund). */
  | 'HOST_REFUSED';

export class TerminalLedgerError extends Error {
  override readonly name = 'TerminalLedgerError';

  constructor(
    readonly code: TerminalLedgerErrorCode,
    message: string,
  ) {
    super(message);
  }
}
