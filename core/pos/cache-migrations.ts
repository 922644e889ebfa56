import type { Migration } from '../ledger/migrations.ts';

/**
 * The terminal's balance list (versions 40–49): what it last heard from the host about each
 * card's accounts, so that gen 3 medical payments can be taken with the host down.
 */
export const CACHE_MIGRATIONS: readonly Migration[] = [
  {
    version: 40,
    name: 'terminal balance cache',
    sql: `
      CREATE TABLE card_balance_cache (
        card_id TEXT PRIMARY KEY REFERENCES cards(card_id),
        reserve_fen INTEGER CHECK (reserve_fen IS NULL OR reserve_fen >= 0),
        medical_current_fen INTEGER CHECK (medical_current_fen IS NULL OR medical_current_fen >= 0),
        medical_prior_fen INTEGER CHECK (medical_prior_fen IS NULL OR medical_prior_fen >= 0),
        as_of TEXT NOT NULL
      ) STRICT;
    `,
  },
];

/** Migrations of the terminal that came after the bank's (versions 70–79). */
export const TERMINAL_LATE_MIGRATIONS: readonly Migration[] = [
  {
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
  },
];
