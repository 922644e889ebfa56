import type { Migration } from '../migrate.ts';

/**
 * The terminal's own books (offline-first): what the till took, its double-entry journal,
 * the queue of transactions still to reach the host, the day closings (日结) and a log of
 * events such as declines. Kept apart from the host's books (accounts/journal): the terminal
 * never reads or writes those.
 *
 * Money is integer fen. Every table but forward_queue is append-only: a mistake is corrected
 * by a new row (a refund or a reversal), never by an UPDATE or a DELETE.
 */
const SQL = `
-- One row per approved money movement at the till: a payment, or a refund (退费) or a
-- reversal (冲正) of one. Declines are not money movements and are not here (see
-- terminal_events). For refunds and reversals the amounts are what was returned.
-- seq orders the rows as they were taken (payment_id is a TEXT key, whose rowid VACUUM may
-- renumber); it is assigned inside the write transaction.
CREATE TABLE terminal_payments (
  payment_id          TEXT PRIMARY KEY CHECK (length(payment_id) BETWEEN 1 AND 128),
  seq                 INTEGER NOT NULL UNIQUE CHECK (seq >= 1),
  kind                TEXT NOT NULL CHECK (kind IN ('payment', 'refund', 'reversal')),
  ref_payment_id      TEXT REFERENCES terminal_payments (payment_id),
  terminal_id         TEXT NOT NULL CHECK (terminal_id <> ''),
  merchant_id         TEXT NOT NULL CHECK (merchant_id <> ''),
  card_id             TEXT NOT NULL CHECK (card_id <> ''),
  generation          INTEGER NOT NULL CHECK (generation IN (1, 2, 3)),
  method              TEXT NOT NULL CHECK (method IN ('medical', 'reserve')),
  amount_fen          INTEGER NOT NULL CHECK (amount_fen > 0),
  medical_current_fen INTEGER NOT NULL CHECK (medical_current_fen >= 0),
  medical_prior_fen   INTEGER NOT NULL CHECK (medical_prior_fen >= 0),
  reserve_fen         INTEGER NOT NULL CHECK (reserve_fen >= 0),
  self_pay_fen        INTEGER NOT NULL CHECK (self_pay_fen >= 0),
  mode                TEXT NOT NULL CHECK (mode IN ('online', 'offline')),
  created_at          TEXT NOT NULL,
  business_date       TEXT NOT NULL
                      CHECK (business_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
  receipt_text        TEXT,
  operator            TEXT,
  CHECK (medical_current_fen + medical_prior_fen + reserve_fen + self_pay_fen = amount_fen),
  CHECK ((kind = 'payment') = (ref_payment_id IS NULL))
) STRICT;

CREATE INDEX terminal_payments_by_day ON terminal_payments (terminal_id, business_date);
CREATE INDEX terminal_payments_by_ref ON terminal_payments (ref_payment_id);

-- A payment is reversed at most once.
CREATE UNIQUE INDEX terminal_payments_one_reversal ON terminal_payments (ref_payment_id)
  WHERE kind = 'reversal';

-- A refund or reversal points at a payment (not at another refund) of the same terminal and card.
CREATE TRIGGER terminal_payments_ref_is_payment BEFORE INSERT ON terminal_payments
WHEN NEW.ref_payment_id IS NOT NULL AND NOT EXISTS (
  SELECT 1 FROM terminal_payments p
  WHERE p.payment_id = NEW.ref_payment_id AND p.kind = 'payment'
    AND p.terminal_id = NEW.terminal_id AND p.card_id = NEW.card_id
)
BEGIN
  SELECT RAISE(ABORT, 'terminal_payments: a refund or reversal must refer to a payment of the same terminal and card');
END;

CREATE TRIGGER terminal_payments_no_update BEFORE UPDATE ON terminal_payments
BEGIN
  SELECT RAISE(ABORT, 'terminal_payments is append-only: corrections are refunds or reversals');
END;

CREATE TRIGGER terminal_payments_no_delete BEFORE DELETE ON terminal_payments
BEGIN
  SELECT RAISE(ABORT, 'terminal_payments is append-only: corrections are refunds or reversals');
END;

-- The till's double-entry journal: the lines of one payment_id sum to zero. A payment credits
-- sales and debits what the till is owed (receivable from the medical centre or the bank) and
-- the cash it took; a refund or reversal posts the mirror lines.
CREATE TABLE terminal_journal (
  entry_id      INTEGER PRIMARY KEY AUTOINCREMENT,
  payment_id    TEXT NOT NULL REFERENCES terminal_payments (payment_id),
  line          INTEGER NOT NULL CHECK (line >= 1),
  account       TEXT NOT NULL CHECK (account IN ('sales', 'cash', 'receivable:medical-current',
                                                 'receivable:medical-prior', 'receivable:reserve')),
  amount_fen    INTEGER NOT NULL CHECK (amount_fen <> 0),
  business_date TEXT NOT NULL,
  UNIQUE (payment_id, line)
) STRICT;

CREATE INDEX terminal_journal_by_day ON terminal_journal (business_date, account);

CREATE TRIGGER terminal_journal_no_update BEFORE UPDATE ON terminal_journal
BEGIN
  SELECT RAISE(ABORT, 'terminal_journal is append-only: corrections are new entries');
END;

CREATE TRIGGER terminal_journal_no_delete BEFORE DELETE ON terminal_journal
BEGIN
  SELECT RAISE(ABORT, 'terminal_journal is append-only: corrections are new entries');
END;

-- What still has to reach the host, and what the host answered. origin 'queued': taken or
-- corrected at the till and sent later by the forwarder; origin 'online': applied by the host
-- while the customer waited, recorded here as confirmed ('sent') straight away.
-- Rows are never deleted: a closed day or an exhausted retry budget must not lose a payment.
CREATE TABLE forward_queue (
  payment_id      TEXT PRIMARY KEY REFERENCES terminal_payments (payment_id),
  origin          TEXT NOT NULL CHECK (origin IN ('queued', 'online')),
  state           TEXT NOT NULL CHECK (state IN ('pending', 'sent')),
  attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error      TEXT,
  next_attempt_at TEXT NOT NULL,
  enqueued_at     TEXT NOT NULL,
  sent_at         TEXT,
  advanced_fen    INTEGER CHECK (advanced_fen >= 0),
  host_applied_at TEXT,
  CHECK ((state = 'sent') = (sent_at IS NOT NULL)),
  CHECK (origin = 'queued' OR state = 'sent')
) STRICT;

CREATE INDEX forward_queue_by_state ON forward_queue (state, next_attempt_at);

CREATE TRIGGER forward_queue_no_delete BEFORE DELETE ON forward_queue
BEGIN
  SELECT RAISE(ABORT, 'forward_queue rows are never deleted: a queued payment must reach the host');
END;

CREATE TRIGGER forward_queue_fixed_columns BEFORE UPDATE OF payment_id, origin, enqueued_at ON forward_queue
WHEN NEW.payment_id IS NOT OLD.payment_id OR NEW.origin IS NOT OLD.origin
  OR NEW.enqueued_at IS NOT OLD.enqueued_at
BEGIN
  SELECT RAISE(ABORT, 'forward_queue: payment_id, origin and enqueued_at never change');
END;

CREATE TRIGGER forward_queue_sent_is_final BEFORE UPDATE ON forward_queue
WHEN OLD.state = 'sent' AND NEW.state <> 'sent'
BEGIN
  SELECT RAISE(ABORT, 'forward_queue: a sent entry never goes back to pending');
END;

-- Day closings (日结). Closing a day again after its books changed stores a new version;
-- closing never touches forward_queue.
CREATE TABLE terminal_settlements (
  terminal_id         TEXT NOT NULL,
  business_date       TEXT NOT NULL
                      CHECK (business_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
  version             INTEGER NOT NULL CHECK (version >= 1),
  closed_at           TEXT NOT NULL,
  payments            INTEGER NOT NULL CHECK (payments >= 0),
  refunds             INTEGER NOT NULL CHECK (refunds >= 0),
  reversals           INTEGER NOT NULL CHECK (reversals >= 0),
  gross_fen           INTEGER NOT NULL,
  refunded_fen        INTEGER NOT NULL,
  reversed_fen        INTEGER NOT NULL,
  total_fen           INTEGER NOT NULL,
  medical_current_fen INTEGER NOT NULL,
  medical_prior_fen   INTEGER NOT NULL,
  reserve_fen         INTEGER NOT NULL,
  cash_fen            INTEGER NOT NULL,
  method_medical_fen  INTEGER NOT NULL,
  method_reserve_fen  INTEGER NOT NULL,
  pending_forward     INTEGER NOT NULL CHECK (pending_forward >= 0),
  PRIMARY KEY (terminal_id, business_date, version)
) STRICT;

CREATE TRIGGER terminal_settlements_no_update BEFORE UPDATE ON terminal_settlements
BEGIN
  SELECT RAISE(ABORT, 'terminal_settlements is append-only: a reclosing is a new version');
END;

CREATE TRIGGER terminal_settlements_no_delete BEFORE DELETE ON terminal_settlements
BEGIN
  SELECT RAISE(ABORT, 'terminal_settlements is append-only: a reclosing is a new version');
END;

-- Things that happened at the till without moving money (declines, errors), for the operator
-- and QA. payment_id is not a foreign key: a declined payment has no row in terminal_payments.
CREATE TABLE terminal_events (
  event_id      INTEGER PRIMARY KEY AUTOINCREMENT,
  terminal_id   TEXT NOT NULL,
  at            TEXT NOT NULL,
  business_date TEXT NOT NULL,
  kind          TEXT NOT NULL CHECK (kind <> ''),
  payment_id    TEXT,
  card_id       TEXT,
  amount_fen    INTEGER CHECK (amount_fen >= 0),
  code          TEXT,
  message       TEXT NOT NULL
) STRICT;

CREATE INDEX terminal_events_by_day ON terminal_events (terminal_id, business_date);

CREATE TRIGGER terminal_events_no_update BEFORE UPDATE ON terminal_events
BEGIN
  SELECT RAISE(ABORT, 'terminal_events is append-only');
END;

CREATE TRIGGER terminal_events_no_delete BEFORE DELETE ON terminal_events
BEGIN
  SELECT RAISE(ABORT, 'terminal_events is append-only');
END;
`;

export const migration: Migration = {
  version: 30,
  name: 'terminal books: payments, journal, forward queue, settlements, events',
  sql: SQL,
};
