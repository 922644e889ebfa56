import type Database from 'better-sqlite3';
import { HOST_MIGRATIONS, HOST_VOID_MIGRATIONS } from '../host/migrations.ts';
import { TERMINAL_INTENT_MIGRATIONS, TERMINAL_MIGRATIONS } from '../pos/migrations.ts';
import { CACHE_MIGRATIONS, TERMINAL_LATE_MIGRATIONS } from '../pos/cache-migrations.ts';
import { BANK_MIGRATIONS } from '../bank/migrations.ts';

/**
 * Schema migrations of the ledger database. The version applied last is kept in
 * `PRAGMA user_version` (it lives in the database header, so it commits and rolls back with
 * the migration's own transaction). Versions go in tens so that a fix can later be slotted
 * in between two released migrations without renumbering.
 *
 * Never edit a released migration: databases already at its version would not see the
 * change. Append a new one instead.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

const SCHEMA_10 = `
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

export const MIGRATIONS: readonly Migration[] = [
  { version: 10, name: 'initial ledger schema', sql: SCHEMA_10 },
  ...HOST_MIGRATIONS,
  ...TERMINAL_MIGRATIONS,
  ...CACHE_MIGRATIONS,
  ...BANK_MIGRATIONS,
  ...TERMINAL_LATE_MIGRATIONS,
  ...TERMINAL_INTENT_MIGRATIONS,
  ...HOST_VOID_MIGRATIONS,
];

/** Throws unless versions are positive, fit in user_version (32-bit) and strictly increase. */
export function assertMigrationOrder(migrations: readonly Migration[]): void {
  let previous = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version < 1 || m.version > 0x7fffffff) {
      throw new MigrationError(`migration "${m.name}" has an invalid version ${m.version}`);
    }
    if (m.version <= previous) {
      throw new MigrationError(
        `migrations are out of order: "${m.name}" (version ${m.version}) comes after version ${previous}; ` +
          'versions must strictly increase',
      );
    }
    previous = m.version;
  }
}

export function latestVersion(migrations: readonly Migration[] = MIGRATIONS): number {
  return migrations.at(-1)?.version ?? 0;
}

export function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database up to the newest migration, one transaction per migration, and
 * returns the version now applied. Refuses a database from a newer release rather than
 * guessing what its schema means.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  assertMigrationOrder(migrations);
  const latest = latestVersion(migrations);
  const current = userVersion(db);
  if (current > latest) {
    throw new MigrationError(`database was written by a newer SSCard Lab (version ${current} > ${latest})`);
  }

  for (const m of migrations) {
    if (m.version <= current) continue;
    // IMMEDIATE takes the write lock up front; re-reading the version under it makes two
    // processes opening the same fresh file apply each migration exactly once.
    try {
      db.transaction(() => {
        if (userVersion(db) >= m.version) return;
        db.exec(m.sql);
        db.pragma(`user_version = ${m.version}`);
      }).immediate();
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new MigrationError(`migration ${m.version} "${m.name}" failed: ${reason}`, { cause: e });
    }
  }
  return userVersion(db);
}
