import type { Migration } from '../migrate.ts';

/**
 * Host simulator tables (versions 20–29). The host's money lives in the ledger's own
 * `accounts` and `journal`; these tables hold what the bank and the medical insurance centre
 * know besides: the bank's password retry counter, the applied payments/refunds/reversals
 * (keyed by their id, which makes forwarding idempotent), how each one drew on the accounts,
 * and which 21 June carry-overs have been done.
 */
const SQL = `
-- R1.2: the bank counts wrong transaction passwords since the last success. Counting
-- failures (not tries left) keeps the row meaningful whatever retry limit the host runs with.
ALTER TABLE bank_secrets ADD COLUMN password_failures INTEGER NOT NULL DEFAULT 0
  CHECK (password_failures >= 0);

-- Setting a new password at the bank counter unlocks it.
CREATE TRIGGER bank_secrets_new_password_unlocks AFTER UPDATE OF password_hash ON bank_secrets
BEGIN
  UPDATE bank_secrets SET password_failures = 0 WHERE card_id = NEW.card_id;
END;

-- One row per applied payment, refund (退费) or reversal (冲正), keyed by the id the terminal
-- gave it; the ledger transaction of the same id holds the money. Refunds and reversals carry
-- the terminal, card and method of the payment they point at. created_at is the till's time,
-- business_date its Beijing business day; applied_at is the host's time.
CREATE TABLE host_records (
  payment_id          TEXT PRIMARY KEY CHECK (length(payment_id) > 0),
  kind                TEXT NOT NULL CHECK (kind IN ('payment', 'refund', 'reversal')),
  ref_payment_id      TEXT REFERENCES host_records (payment_id),
  mode                TEXT CHECK (mode IN ('online', 'offline')),
  terminal_id         TEXT NOT NULL,
  merchant_id         TEXT NOT NULL,
  card_id             TEXT NOT NULL REFERENCES cards (card_id),
  card_status         TEXT NOT NULL
                        CHECK (card_status IN ('active', 'not-activated', 'loss-reported', 'closed')),
  method              TEXT NOT NULL CHECK (method IN ('medical', 'reserve')),
  amount_fen          INTEGER NOT NULL CHECK (amount_fen > 0),
  medical_current_fen INTEGER NOT NULL CHECK (medical_current_fen >= 0),
  medical_prior_fen   INTEGER NOT NULL CHECK (medical_prior_fen >= 0),
  reserve_fen         INTEGER NOT NULL CHECK (reserve_fen >= 0),
  self_pay_fen        INTEGER NOT NULL CHECK (self_pay_fen >= 0),
  advanced_fen        INTEGER NOT NULL CHECK (advanced_fen >= 0),
  created_at          TEXT NOT NULL,
  business_date       TEXT NOT NULL,
  applied_at          TEXT NOT NULL,
  CHECK (medical_current_fen + medical_prior_fen + reserve_fen + self_pay_fen = amount_fen),
  CHECK (advanced_fen <= amount_fen - self_pay_fen),
  CHECK ((kind = 'payment') = (ref_payment_id IS NULL)),
  CHECK ((kind = 'payment') = (mode IS NOT NULL))
) STRICT;

CREATE INDEX host_records_by_terminal_day ON host_records (terminal_id, business_date);
CREATE INDEX host_records_by_ref ON host_records (ref_payment_id);
-- A payment is reversed at most once.
CREATE UNIQUE INDEX host_records_one_reversal ON host_records (ref_payment_id) WHERE kind = 'reversal';

-- How a record moved money, leg by leg in drawing order: which part of the split, from or to
-- which account (NULL: cash at the till, self-pay), and whether it is money the centre (or the
-- bank) advanced because the card account no longer had it. A refund or reversal leg names
-- the leg of the payment it returns (ref_leg).
CREATE TABLE host_legs (
  payment_id TEXT NOT NULL REFERENCES host_records (payment_id),
  leg        INTEGER NOT NULL CHECK (leg >= 1),
  part       TEXT NOT NULL CHECK (part IN ('medical_current', 'medical_prior', 'reserve', 'self_pay')),
  account_id INTEGER REFERENCES accounts (account_id),
  advanced   INTEGER NOT NULL CHECK (advanced IN (0, 1)),
  amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
  ref_leg    INTEGER CHECK (ref_leg >= 1),
  PRIMARY KEY (payment_id, leg),
  CHECK ((part = 'self_pay') = (account_id IS NULL)),
  CHECK (part <> 'self_pay' OR advanced = 0)
) STRICT;

-- Records are evidence for reconciliation: corrections are new records, as in the journal.
CREATE TRIGGER host_records_no_update BEFORE UPDATE ON host_records
BEGIN
  SELECT RAISE(ABORT, 'host records are append-only: corrections are new records');
END;
CREATE TRIGGER host_records_no_delete BEFORE DELETE ON host_records
BEGIN
  SELECT RAISE(ABORT, 'host records are append-only: corrections are new records');
END;
CREATE TRIGGER host_legs_no_update BEFORE UPDATE ON host_legs
BEGIN
  SELECT RAISE(ABORT, 'host records are append-only: corrections are new records');
END;
CREATE TRIGGER host_legs_no_delete BEFORE DELETE ON host_legs
BEGIN
  SELECT RAISE(ABORT, 'host records are append-only: corrections are new records');
END;

-- Host settings and state, e.g. 'carry_over_done_year' (R4.2).
CREATE TABLE host_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

-- One row per 21 June carry-over year the host has run (the baseline year recorded at first
-- use is not in here: nothing moved for it).
CREATE TABLE host_carry_overs (
  year      INTEGER PRIMARY KEY,
  ran_at    TEXT NOT NULL,
  cards     INTEGER NOT NULL CHECK (cards >= 0),
  moved_fen INTEGER NOT NULL CHECK (moved_fen >= 0)
) STRICT;
`;

export const migration: Migration = {
  version: 20,
  name: 'host simulator: records, legs, password retries, carry-over',
  sql: SQL,
};
