import type { PgMigration } from '../pg-migrate.ts';

/**
 * The central host's first schema: cards, their accounts (balance on the row, CHECK ≥ 0), the
 * double-entry postings, the records a terminal's ids key, their legs, append-only triggers and the
 * carry-over log.
 * One file per schema version: the file's number is the version (pg-migrations.test.ts).
 */
export const migration: PgMigration = {
  version: 1,
  name: 'central host: cards, accounts, postings, records, legs, carry-over',
  sql: `
CREATE TABLE host_cards (
  card_id            TEXT PRIMARY KEY CHECK (length(card_id) > 0),
  generation         SMALLINT NOT NULL CHECK (generation IN (1, 2, 3)),
  status             TEXT NOT NULL CHECK (status IN ('active', 'not-activated', 'loss-reported', 'closed')),
  -- Salted scrypt hash of the bank transaction password (core/card/pin.ts SecretHash), never the password.
  password_hash      JSONB,
  password_failures  INTEGER NOT NULL DEFAULT 0 CHECK (password_failures >= 0),
  registered_by      TEXT NOT NULL,
  registered_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE host_accounts (
  account_id  BIGSERIAL PRIMARY KEY,
  card_id     TEXT REFERENCES host_cards (card_id),
  kind        TEXT NOT NULL CHECK (kind IN ('reserve', 'medical_current', 'medical_prior',
                                            'bank_funding', 'medical_funding', 'merchant')),
  balance_fen BIGINT CHECK (balance_fen >= 0),
  opened_at   TIMESTAMPTZ NOT NULL,
  CHECK ((card_id IS NULL) = (kind IN ('bank_funding', 'medical_funding', 'merchant'))),
  CHECK ((card_id IS NULL) = (balance_fen IS NULL))
);
CREATE UNIQUE INDEX host_accounts_card_kind ON host_accounts (card_id, kind) WHERE card_id IS NOT NULL;
CREATE UNIQUE INDEX host_accounts_system_kind ON host_accounts (kind) WHERE card_id IS NULL;
INSERT INTO host_accounts (card_id, kind, balance_fen, opened_at)
VALUES (NULL, 'bank_funding', NULL, now()), (NULL, 'medical_funding', NULL, now()), (NULL, 'merchant', NULL, now());

-- Double entry: every money movement is a set of postings summing to zero under one txn_id.
CREATE TABLE host_postings (
  txn_id     TEXT NOT NULL,
  line       SMALLINT NOT NULL CHECK (line >= 1),
  kind       TEXT NOT NULL,
  account_id BIGINT NOT NULL REFERENCES host_accounts (account_id),
  amount_fen BIGINT NOT NULL CHECK (amount_fen <> 0),
  posted_at  TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (txn_id, line)
);
CREATE INDEX host_postings_by_account ON host_postings (account_id);

-- One row per applied payment, refund (退费) or reversal (冲正), keyed by the id the terminal
-- gave it: a forwarded payment is applied exactly once.
CREATE TABLE host_records (
  seq                 BIGSERIAL UNIQUE,
  payment_id          TEXT PRIMARY KEY CHECK (length(payment_id) > 0),
  kind                TEXT NOT NULL CHECK (kind IN ('payment', 'refund', 'reversal')),
  ref_payment_id      TEXT REFERENCES host_records (payment_id),
  mode                TEXT CHECK (mode IN ('online', 'offline')),
  terminal_id         TEXT NOT NULL,
  merchant_id         TEXT NOT NULL,
  card_id             TEXT NOT NULL REFERENCES host_cards (card_id),
  card_status         TEXT NOT NULL,
  method              TEXT NOT NULL CHECK (method IN ('medical', 'reserve')),
  amount_fen          BIGINT NOT NULL CHECK (amount_fen > 0),
  medical_current_fen BIGINT NOT NULL CHECK (medical_current_fen >= 0),
  medical_prior_fen   BIGINT NOT NULL CHECK (medical_prior_fen >= 0),
  reserve_fen         BIGINT NOT NULL CHECK (reserve_fen >= 0),
  self_pay_fen        BIGINT NOT NULL CHECK (self_pay_fen >= 0),
  advanced_fen        BIGINT NOT NULL CHECK (advanced_fen >= 0),
  created_at          TEXT NOT NULL,
  business_date       TEXT NOT NULL,
  applied_at          TEXT NOT NULL,
  CHECK (medical_current_fen + medical_prior_fen + reserve_fen + self_pay_fen = amount_fen),
  CHECK (advanced_fen <= amount_fen - self_pay_fen),
  CHECK ((kind = 'payment') = (ref_payment_id IS NULL)),
  CHECK ((kind = 'payment') = (mode IS NOT NULL))
);
CREATE INDEX host_records_by_terminal_day ON host_records (terminal_id, business_date, seq);
CREATE INDEX host_records_by_ref ON host_records (ref_payment_id);
CREATE UNIQUE INDEX host_records_one_reversal ON host_records (ref_payment_id) WHERE kind = 'reversal';

CREATE TABLE host_legs (
  payment_id TEXT NOT NULL REFERENCES host_records (payment_id),
  leg        SMALLINT NOT NULL CHECK (leg >= 1),
  part       TEXT NOT NULL CHECK (part IN ('medical_current', 'medical_prior', 'reserve', 'self_pay')),
  account_id BIGINT REFERENCES host_accounts (account_id),
  advanced   BOOLEAN NOT NULL,
  amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
  ref_leg    SMALLINT CHECK (ref_leg >= 1),
  PRIMARY KEY (payment_id, leg),
  CHECK ((part = 'self_pay') = (account_id IS NULL)),
  CHECK (part <> 'self_pay' OR NOT advanced)
);

-- Records, legs and postings are evidence: corrections are new rows.
CREATE FUNCTION host_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'host records are append-only: corrections are new records';
END $$;
CREATE TRIGGER host_records_append_only BEFORE UPDATE OR DELETE ON host_records
  FOR EACH ROW EXECUTE FUNCTION host_append_only();
CREATE TRIGGER host_legs_append_only BEFORE UPDATE OR DELETE ON host_legs
  FOR EACH ROW EXECUTE FUNCTION host_append_only();
CREATE TRIGGER host_postings_append_only BEFORE UPDATE OR DELETE ON host_postings
  FOR EACH ROW EXECUTE FUNCTION host_append_only();

CREATE TABLE host_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE host_carry_overs (
  year      INTEGER PRIMARY KEY,
  ran_at    TEXT NOT NULL,
  cards     INTEGER NOT NULL CHECK (cards >= 0),
  moved_fen BIGINT NOT NULL CHECK (moved_fen >= 0)
);
`,
};
