import type { Migration } from '../migrate.ts';

/** Version 70: reversals of debits whose outcome the terminal never learnt. */
export const migration: Migration = {
  version: 70,
  name: 'reversals of debits whose outcome the terminal never learnt',
  // A debit that timed out may have been applied by the host without the terminal hearing of
  // it. Its reversal is owed whatever happened, and is kept here until the host confirms it.
  sql: `
      CREATE TABLE pending_host_reversals (
        reversal_id TEXT PRIMARY KEY,
        payment_id TEXT NOT NULL UNIQUE,
        card_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        last_error TEXT,
        done_at TEXT,
        outcome TEXT CHECK (outcome IS NULL OR outcome IN ('reversed', 'never-applied'))
      ) STRICT;
    `,
};
