import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrate.ts';

function isInMemory(path: string): boolean {
  // '' is SQLite's private temporary database; neither has a file to put a WAL next to.
  return path === ':memory:' || path === '';
}

/**
 * How long a connection waits for another connection's write lock before SQLITE_BUSY.
 *
 * Several tills (processes) on one file queue for the write lock, which each holds for one
 * short commit. SQLite's busy handler polls (every 100 ms once it has waited a while), so under
 * sustained contention a waiter can lose the race many times in a row: with 5 s, 8 terminals
 * paying flat out on a loaded 2-core machine saw a payment declined with "database is locked"
 * (core/pos/concurrency.test.ts). 30 s makes that vanishingly rare; an uncontended commit
 * never waits at all.
 */
export const BUSY_TIMEOUT_MS = 30_000;

/**
 * Opens (creating if needed, with its folder) the ledger database at `path` and migrates it to
 * the newest schema. The pragmas are per connection, so every connection must come through here.
 * Creating the folder here, not in each front end, is what lets a first run on an empty home
 * folder work whichever entry point it starts from (npm start, npm run web, the CLI, the app).
 */
export function openLedgerDb(path: string): Database.Database {
  if (!isInMemory(path)) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    // First, so that the pragmas and migrations below wait for another process's lock
    // instead of failing with SQLITE_BUSY.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
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
