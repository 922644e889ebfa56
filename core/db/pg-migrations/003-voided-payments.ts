import type { PgMigration } from '../pg-migrate.ts';

/**
 * Tombstones of payment ids a reversal voided before the payment reached the host (a debit delayed
 * on the network).
 * One file per schema version: the file's number is the version (pg-migrations.test.ts).
 */
export const migration: PgMigration = {
  version: 3,
  name: 'central host: payment ids voided by a reversal that arrived first',
  sql: `
-- Payment ids voided by a reversal that reached the host before the payment did (a debit
-- delayed on the network, its till gave up and reversed it). The reversal is answered
-- UNKNOWN_PAYMENT as before; a later pay of the id is refused (PAYMENT_VOIDED), a later forward
-- is applied and at once reversed by this reversal (same id and time). Not host records:
-- reconciliation never sees a tombstone. Pay/forward hold a shared advisory lock on the id, the
-- reversal that writes the tombstone an exclusive one (core/host/server/pg-host.ts VOID_LOCK).
CREATE TABLE host_voided_payments (
  payment_id  TEXT PRIMARY KEY CHECK (length(payment_id) > 0),
  reversal_id TEXT NOT NULL UNIQUE CHECK (length(reversal_id) > 0),
  reversed_at TEXT NOT NULL,       -- the 'at' of the reversal (the till's time)
  voided_at   TIMESTAMPTZ NOT NULL -- the host's time
);
CREATE TRIGGER host_voided_payments_append_only BEFORE UPDATE OR DELETE ON host_voided_payments
  FOR EACH ROW EXECUTE FUNCTION host_append_only();
`,
};
