/** Typed reader errors: a terminal reacts to what happened, never to a crash. */
export type ReaderErrorCode =
  | 'NO_CARD' // no card in the reader
  | 'CARD_REMOVED' // the card left the reader (possibly mid-command)
  | 'NOT_CONNECTED' // transmit before connect
  | 'READER_GONE' // the reader was detached
  | 'TRANSMIT_FAILED'; // the reader or driver failed

export class ReaderError extends Error {
  constructor(
    readonly code: ReaderErrorCode,
    message: string,
    readonly reader?: string,
  ) {
    super(message);
    this.name = 'ReaderError';
  }
}

export function isReaderError(e: unknown, code?: ReaderErrorCode): e is ReaderError {
  return e instanceof ReaderError && (code === undefined || e.code === code);
}
