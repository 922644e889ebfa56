import type { Migration } from '../migrate.ts';

/**
 * Version 10: the ledger itself — cards, the card's EEPROM (PIN verifier and counters), the
 * bank's transaction password, accounts and the append-only double-entry journal.
 */
const SQL = `
-- One row per virtual card. profile_json is the card profile with its secrets (PIN,
-- transaction password) removed by the caller; the secrets live hashed in the tables below.
CREATE TABLE cards (
  card_id      TEXT PRIMARY KEY,
  profile_id   TEXT,
  generation   INTEGER NOT NULL CHECK (generation IN (1, 2, 3)),
  ssn          TEXT NOT NULL,
  holder_name  TEXT NOT NULL,
  pan          TEXT,
  status       TEXT NOT NULL CHECK (status IN ('active', 'not-activated', 'loss-reported', 'closed')),
  profile_json TEXT NOT NULL CHECK (json_valid(profile_json)),
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL
) STRICT;

-- The card's EEPROM: PIN verifier and retry counters, written before the card answers.
CREATE TABLE card_security (
  card_id         TEXT PRIMARY KEY REFERENCES cards (card_id),
  pin_hash        TEXT NOT NULL CHECK (json_valid(pin_hash)),
  pin_tries_left  INTEGER NOT NULL CHECK (pin_tries_left >= 0),
  pin_retry_limit INTEGER NOT NULL CHECK (pin_retry_limit >= 1),
  pin_initial     INTEGER NOT NULL CHECK (pin_initial IN (0, 1)),
  key_tries_left  INTEGER NOT NULL CHECK (key_tries_left >= 0),
  updated_at      TEXT NOT NULL
) STRICT;

-- Gen 2/3: the bank transaction password, held by the bank rather than the chip.
CREATE TABLE bank_secrets (
  card_id       TEXT PRIMARY KEY REFERENCES cards (card_id),
  password_hash TEXT NOT NULL CHECK (json_valid(password_hash)),
  updated_at    TEXT NOT NULL
) STRICT;

-- Card accounts (reserve, 95000, 95001) belong to a card and never go negative. System
-- accounts (card_id NULL) are the counterparties of every posting and may go negative.
CREATE TABLE accounts (
  account_id  INTEGER PRIMARY KEY,
  card_id     TEXT REFERENCES cards (card_id),
  kind        TEXT NOT NULL CHECK (kind IN ('reserve', 'medical_current', 'medical_prior',
                                            'bank_funding', 'medical_funding', 'merchant')),
  code        TEXT,
  balance_fen INTEGER NOT NULL DEFAULT 0,
  opened_at   TEXT NOT NULL,
  UNIQUE (card_id, kind),
  CHECK ((card_id IS NULL) = (kind IN ('bank_funding', 'medical_funding', 'merchant'))),
  CHECK (code IS CASE kind WHEN 'medical_current' THEN '95000' WHEN 'medical_prior' THEN '95001' END),
  CHECK (card_id IS NULL OR balance_fen >= 0)
) STRICT;

-- UNIQUE (card_id, kind) does not cover system accounts: NULLs never collide in SQLite.
CREATE UNIQUE INDEX accounts_one_system_account_per_kind ON accounts (kind) WHERE card_id IS NULL;

-- Double-entry journal: the lines of one txn_id sum to zero. AUTOINCREMENT so that an
-- entry_id is never reused, even after the newest rows of a restored backup are gone.
CREATE TABLE journal (
  entry_id   INTEGER PRIMARY KEY AUTOINCREMENT,
  txn_id     TEXT NOT NULL,
  line       INTEGER NOT NULL CHECK (line >= 1),
  at         TEXT NOT NULL,
  account_id INTEGER NOT NULL REFERENCES accounts (account_id),
  amount_fen INTEGER NOT NULL,
  kind       TEXT NOT NULL,
  ref_txn_id TEXT,
  memo       TEXT,
  UNIQUE (txn_id, line)
) STRICT;

CREATE INDEX journal_by_account ON journal (account_id);

CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN
  SELECT RAISE(ABORT, 'journal is append-only: corrections are new entries');
END;

CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN
  SELECT RAISE(ABORT, 'journal is append-only: corrections are new entries');
END;
`;

export const migration: Migration = {
  version: 10,
  name: 'initial ledger schema',
  sql: SQL,
};
