import Database from 'better-sqlite3';
import { migrate } from './migrations.ts';

function isInMemory(path: string): boolean {
  // '' is SQLite's private temporary database; neither has a file to put a WAL next to.
  return path === ':memory:' || path === '';
}

/**
 * Opens (creating if needed) the ledger database at `path` and migrates it to the newest
 * schema. The pragmas are per connection, so every connection must come through here.
 */
export function openLedgerDb(path: string): Database.Database {
  const db = new Database(path);
  try {
    // First, so that the pragmas and migrations below wait for another process's lock
    // instead of failing with SQLITE_BUSY.
    db.pragma('busy_timeout = 5000');
    if (!isInMemory(path)) {
      // WAL lets readers (UI, CLI) run while the card emulator writes.
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`cannot switch ${path} to WAL journal mode (got ${String(mode)})`);
    }
    // FULL also syncs the WAL on every commit: a PIN retry counter written before the card
    // answers must survive a power cut, which NORMAL does not promise in WAL mode.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}
