import type { Migration } from '../migrate.ts';

/**
 * Version 90: payment ids voided by a reversal that reached the host before the payment did.
 */
const SQL = `
-- A till that gives up on an online debit (timeout, lost answer, till died) reverses it. When
-- that reversal arrives before the debit itself (delayed on the network), the host has nothing
-- to reverse: it answers UNKNOWN_PAYMENT as before and keeps the id here, so that the late
-- debit is refused (PAYMENT_VOIDED) instead of charging the card for a sale the till considers
-- void. A forwarded offline payment of a voided id is applied and at once reversed by this
-- reversal (same id and time): the till queued that reversal behind the payment. Not host
-- records (reconciliation never sees a tombstone); permanent, like the records.
CREATE TABLE host_voided_payments (
  payment_id  TEXT PRIMARY KEY CHECK (length(payment_id) > 0),
  reversal_id TEXT NOT NULL UNIQUE CHECK (length(reversal_id) > 0),
  reversed_at TEXT NOT NULL,  -- the 'at' of the reversal (the till's time)
  voided_at   TEXT NOT NULL   -- the host's time
) STRICT;

CREATE TRIGGER host_voided_payments_no_update BEFORE UPDATE ON host_voided_payments
BEGIN
  SELECT RAISE(ABORT, 'voided payment ids are permanent');
END;
CREATE TRIGGER host_voided_payments_no_delete BEFORE DELETE ON host_voided_payments
BEGIN
  SELECT RAISE(ABORT, 'voided payment ids are permanent');
END;
`;

export const migration: Migration = {
  version: 90,
  name: 'host: payment ids voided by a reversal that arrived first',
  sql: SQL,
};
