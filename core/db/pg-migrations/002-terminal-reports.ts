import type { PgMigration } from '../pg-migrate.ts';

/**
 * What each terminal last reported about itself, for sscard host status.
 * One file per schema version: the file's number is the version (pg-migrations.test.ts).
 */
export const migration: PgMigration = {
  version: 2,
  name: 'central host: terminal reports',
  sql: `
-- What each terminal last told the host about itself (sscard host status).
CREATE TABLE host_terminals (
  terminal_id      TEXT PRIMARY KEY,
  merchant_id      TEXT,
  first_seen       TIMESTAMPTZ NOT NULL,
  last_seen        TIMESTAMPTZ NOT NULL,
  queue_depth      INTEGER CHECK (queue_depth >= 0),
  last_sync_at     TIMESTAMPTZ,
  reconciliation   TEXT CHECK (reconciliation IN ('agree', 'mismatch', 'unknown')),
  mismatches       INTEGER CHECK (mismatches >= 0),
  reconciled_at    TIMESTAMPTZ,
  reported_at      TIMESTAMPTZ
);
`,
};
