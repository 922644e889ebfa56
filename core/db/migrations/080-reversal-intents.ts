import type { Migration } from '../migrate.ts';

/** Version 80: write-ahead reversal intents of online debits. */
export const migration: Migration = {
  version: 80,
  name: 'write-ahead reversal intents of online debits',
  // Before an online debit leaves the till its reversal is written 'armed', owned by the till
  // process (host|pid|start|nonce); booking the sale deletes it in the same transaction, a lost
  // answer makes it 'owed', and an armed one whose process died is reversed at the next start.
  // Rows written before this version are owed reversals.
  sql: `
      ALTER TABLE pending_host_reversals ADD COLUMN state TEXT NOT NULL DEFAULT 'owed'
        CHECK (state IN ('armed', 'owed'));
      ALTER TABLE pending_host_reversals ADD COLUMN owner TEXT
        CHECK (owner IS NULL OR owner <> '');
      CREATE INDEX pending_host_reversals_open ON pending_host_reversals (created_at)
        WHERE done_at IS NULL;
    `,
};
