import type { PgMigration } from '../pg-migrate.ts';

/**
 * Per-terminal credentials and sign-on sessions (docs/security.md, "Till and central host").
 * One file per schema version: the file's number is the version (pg-migrations.test.ts).
 */
export const migration: PgMigration = {
  version: 4,
  name: 'central host: terminal credentials, sign-on sessions, request sequence numbers',
  sql: `
-- One row per enrolled till (sscard host enrol): its master key (TMK, hex), the algorithm of
-- its keys, the key's check value. revoked_at set: every sign-on and request of the till is
-- refused (sscard host revoke). Re-enrolling replaces the key (the old credential stops working).
CREATE TABLE host_terminal_credentials (
  terminal_id TEXT PRIMARY KEY CHECK (terminal_id ~ '^[A-Za-z0-9_.]{1,32}$'),
  alg         TEXT NOT NULL CHECK (alg IN ('3des', 'sm4')),
  master_key  TEXT NOT NULL CHECK (master_key ~ '^[0-9a-f]{32}$'),
  key_check   TEXT NOT NULL,
  enrolled_at TIMESTAMPTZ NOT NULL,
  revoked_at  TIMESTAMPTZ
);

-- A sign-on (签到): the working keys it delivered, stored as sent (wrapped under the TMK). A
-- terminal keeps its newest sessions (several processes of one till may run); older ones and
-- all of a revoked or re-enrolled terminal's are deleted.
CREATE TABLE host_terminal_sessions (
  session_id   TEXT PRIMARY KEY,
  terminal_id  TEXT NOT NULL REFERENCES host_terminal_credentials (terminal_id) ON DELETE CASCADE,
  pin_key      TEXT NOT NULL,
  mac_key      TEXT NOT NULL,
  signed_on_at TIMESTAMPTZ NOT NULL,
  -- Sequence numbers at or below are refused without looking them up (their rows are pruned).
  seq_floor    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX host_terminal_sessions_by_terminal ON host_terminal_sessions (terminal_id, signed_on_at);

-- Sequence numbers used in a session: a request whose number is here already, or at or below
-- the session's seq_floor, is a replay. Every 1024th number moves the floor 4096 behind it and
-- prunes the rows under it, so a long session keeps a few thousand rows, not one per request.
CREATE TABLE host_request_seq (
  session_id TEXT NOT NULL REFERENCES host_terminal_sessions (session_id) ON DELETE CASCADE,
  seq        BIGINT NOT NULL CHECK (seq > 0),
  PRIMARY KEY (session_id, seq)
);

-- Sign-on nonces already used by a terminal: a replayed sign-on is refused.
CREATE TABLE host_sign_on_nonces (
  terminal_id TEXT NOT NULL REFERENCES host_terminal_credentials (terminal_id) ON DELETE CASCADE,
  nonce       TEXT NOT NULL,
  used_at     TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (terminal_id, nonce)
);
`,
};
