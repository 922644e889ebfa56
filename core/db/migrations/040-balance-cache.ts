import type { Migration } from '../migrate.ts';

/**
 * The terminal's balance list (versions 40–49): what it last heard from the host about each
 * card's accounts, so that gen 3 medical payments can be taken with the host down.
 */
export const migration: Migration = {
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
};
