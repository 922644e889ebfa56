import type { Migration } from '../migrate.ts';

/**
 * Bank counter tables (versions 50–69): what the counter (银行网点) and 省卡系统 know about the
 * applications it accepted and the cards it issued, besides the ledger's own `cards`,
 * `accounts` and `journal`.
 *
 * - `bank_applications`: one row per accepted application (申领), the form as JSON without
 *   the photo's bytes (only whether there was one, and its size).
 * - `card_lifecycle`: the persisted XState snapshot of each card's lifecycle
 *   (state-machines/card-lifecycle.machine.ts); `state` repeats the snapshot's value for
 *   queries; `version` guards against two counters writing the same card at once.
 * - `lifecycle_events`: append-only history of every event sent to a card's lifecycle,
 *   accepted (from → to) or refused (with the rule and the reason, both languages). Event
 *   details never hold a PIN or a password.
 * - `loss_reports`: 挂失 and 解挂 (R13: both also at another branch, cross-region).
 * - `bank_sequences`: counters for application ids, card numbers, chip serials and bank card
 *   numbers, so every issued number is unique in this database.
 */
const SQL = `
CREATE TABLE bank_sequences (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL CHECK (value >= 0)
) STRICT;

CREATE TABLE bank_applications (
  id               TEXT PRIMARY KEY CHECK (length(id) > 0),
  ssn              TEXT NOT NULL,
  name             TEXT NOT NULL,
  channel          TEXT NOT NULL,
  mode             TEXT NOT NULL CHECK (mode IN ('normal', 'instant', 'batch')),
  -- R12: 个人结算类型. Non-mainland applicants get 特殊一类账户.
  account_type     TEXT NOT NULL CHECK (account_type IN ('class-1', 'special-class-1')),
  status           TEXT NOT NULL CHECK (status IN ('accepted', 'completed')),
  branch_id        TEXT NOT NULL,
  card_id          TEXT REFERENCES cards (card_id),
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  application_json TEXT NOT NULL CHECK (json_valid(application_json))
) STRICT;

CREATE INDEX bank_applications_by_ssn ON bank_applications (ssn);

CREATE TABLE card_lifecycle (
  card_id          TEXT PRIMARY KEY REFERENCES cards (card_id),
  application_id   TEXT REFERENCES bank_applications (id),
  -- R2.1: the card this one replaces, for a replacement (补换卡).
  replaces_card_id TEXT REFERENCES cards (card_id),
  branch_id        TEXT NOT NULL,
  state            TEXT NOT NULL,
  snapshot_json    TEXT NOT NULL CHECK (json_valid(snapshot_json)),
  version          INTEGER NOT NULL CHECK (version >= 1),
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
) STRICT;

CREATE TABLE lifecycle_events (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  card_id        TEXT NOT NULL REFERENCES cards (card_id),
  event          TEXT NOT NULL,
  detail_json    TEXT CHECK (detail_json IS NULL OR json_valid(detail_json)),
  from_state     TEXT,
  to_state       TEXT NOT NULL,
  refused_reason TEXT CHECK (refused_reason IS NULL OR json_valid(refused_reason)),
  note           TEXT CHECK (note IS NULL OR json_valid(note)),
  branch_id      TEXT NOT NULL,
  at             TEXT NOT NULL
) STRICT;

CREATE INDEX lifecycle_events_by_card ON lifecycle_events (card_id, id);

CREATE TRIGGER lifecycle_events_no_update BEFORE UPDATE ON lifecycle_events
BEGIN
  SELECT RAISE(ABORT, 'lifecycle_events is append-only');
END;

CREATE TRIGGER lifecycle_events_no_delete BEFORE DELETE ON lifecycle_events
BEGIN
  SELECT RAISE(ABORT, 'lifecycle_events is append-only');
END;

CREATE TABLE loss_reports (
  id                   INTEGER PRIMARY KEY,
  card_id              TEXT NOT NULL REFERENCES cards (card_id),
  reported_at          TEXT NOT NULL,
  cross_region         INTEGER NOT NULL CHECK (cross_region IN (0, 1)),
  branch               TEXT NOT NULL,
  released_at          TEXT,
  release_cross_region INTEGER CHECK (release_cross_region IN (0, 1)),
  release_branch       TEXT,
  CHECK ((released_at IS NULL) = (release_branch IS NULL))
) STRICT;

-- At most one open loss report per card.
CREATE UNIQUE INDEX loss_reports_one_open ON loss_reports (card_id) WHERE released_at IS NULL;
`;

export const migration: Migration = {
  version: 50,
  name: 'bank counter: applications, card lifecycle, lifecycle events, loss reports',
  sql: SQL,
};
