import type Database from 'better-sqlite3';

/**
 * What every part of the books is built with: the one database handle (so that their writes
 * can share a transaction), the ledger's clock, and whose books they are. Each part reads and
 * writes only this terminal's rows.
 */
export interface BooksContext {
  readonly db: Database.Database;
  readonly clock: () => Date;
  readonly terminalId: string;
  readonly merchantId: string;
}
