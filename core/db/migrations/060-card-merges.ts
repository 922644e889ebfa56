import type { Migration } from '../migrate.ts';

/**
 * Version 60: `card_merges`, the one-person-one-card cleanup (一人一卡归并, R7). One row per
 * card merged into another card of the same person (same SSN): the merged card's social
 * security data, i.e. its insurance contribution records, is attached to the kept card (R7.2).
 * The merged card stays in `cards` with its status and accounts unchanged: a merge is not a
 * cancellation (R7.3), its financial account keeps working, and its medical account works
 * locally only (`medical_scope`) until the medical systems are connected to the provincial
 * card management system (R7.2).
 *
 * A card is merged at most once (UNIQUE). R7.4 is repeated as a CHECK: the cleanup merges only
 * another bank's card from another city of the province; the region and bank are what the
 * teller recorded, seen from the branch (`branch_id`) doing the cleanup.
 */
const SQL = `
CREATE TABLE card_merges (
  id             INTEGER PRIMARY KEY,
  kept_card_id   TEXT NOT NULL REFERENCES cards (card_id),
  merged_card_id TEXT NOT NULL UNIQUE REFERENCES cards (card_id),
  ssn            TEXT NOT NULL CHECK (length(ssn) > 0),
  merged_region  TEXT NOT NULL CHECK (merged_region IN ('same-city', 'other-city-in-province', 'other-province')),
  merged_bank    TEXT NOT NULL CHECK (merged_bank IN ('this', 'other')),
  -- R7.2: 'local-only' until the medical systems are connected ('connected').
  medical_scope  TEXT NOT NULL CHECK (medical_scope IN ('local-only', 'connected')),
  branch_id      TEXT NOT NULL,
  at             TEXT NOT NULL,
  CHECK (kept_card_id <> merged_card_id),
  -- R7.4: only another bank's card from another city in the province is merged.
  CHECK (merged_bank = 'other' AND merged_region = 'other-city-in-province')
) STRICT;

CREATE INDEX card_merges_by_kept ON card_merges (kept_card_id);
`;

export const migration: Migration = {
  version: 60,
  name: 'bank counter: one-person-one-card merges (card_merges)',
  sql: SQL,
};
