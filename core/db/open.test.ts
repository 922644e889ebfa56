import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type Database from 'better-sqlite3';
import { openLedgerDb } from './open.ts';
import { tempDir } from '../../test/harness/ledger/test-support.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const TABLES = ['cards', 'card_security', 'bank_secrets', 'accounts', 'journal'];

function withDb<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = openLedgerDb(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** A card, one card account and one system account, to hang rows on. */
function seed(db: Database.Database): { cardAccount: number; merchant: number } {
  db.prepare(
    `INSERT INTO cards (card_id, profile_id, generation, ssn, holder_name, pan, status, profile_json, created_at, updated_at)
     VALUES ('A00000001', 'p', 3, '11010519491231002X', '张三', NULL, 'active', '{}', 't', 't')`,
  ).run();
  const insert = db.prepare('INSERT INTO accounts (card_id, kind, code, opened_at) VALUES (?, ?, ?, ?)');
  const cardAccount = Number(insert.run('A00000001', 'reserve', null, 't').lastInsertRowid);
  const merchant = Number(insert.run(null, 'merchant', null, 't').lastInsertRowid);
  return { cardAccount, merchant };
}

describe('openLedgerDb pragmas', () => {
  it('turns WAL on for a file database', () => {
    withDb(tmp.file('wal.db'), (db) => {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    });
    // journal_mode=WAL is persistent: a plain reopen still sees it.
    withDb(tmp.file('wal.db'), (db) => expect(db.pragma('journal_mode', { simple: true })).toBe('wal'));
  });

  it('sets synchronous=FULL, foreign_keys=ON and busy_timeout=30000', () => {
    withDb(tmp.file('pragmas.db'), (db) => {
      expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('busy_timeout', { simple: true })).toBe(30_000);
    });
  });

  it('creates the folders of a file database that do not exist yet (a first run on an empty home)', () => {
    const path = tmp.file('new/home/.local/share/sscard-lab/sscard.db');
    withDb(path, (db) => expect(db.pragma('journal_mode', { simple: true })).toBe('wal'));
    expect(existsSync(path)).toBe(true);
  });

  it('opens an in-memory database without WAL', () => {
    withDb(':memory:', (db) => {
      expect(db.pragma('journal_mode', { simple: true })).toBe('memory');
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    });
  });
});

describe('schema', () => {
  it('declares every table STRICT', () => {
    withDb(':memory:', (db) => {
      const rows = db
        .prepare(`SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
        .all() as { name: string; sql: string }[];
      // The ledger's own tables, plus those of the host and the terminal (later migrations).
      expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining([...TABLES]));
      for (const r of rows) expect(r.sql, r.name).toMatch(/\)\s*STRICT\s*$/);
      for (const { name: t } of rows) {
        const strict = db.prepare('SELECT strict FROM pragma_table_list WHERE name = ?').pluck().get(t);
        expect(strict, t).toBe(1);
      }
    });
  });

  it('refuses TEXT in an INTEGER column of every table that has one', () => {
    withDb(':memory:', (db) => {
      const { cardAccount } = seed(db);
      const attempts: [string, unknown[]][] = [
        [
          `INSERT INTO cards (card_id, profile_id, generation, ssn, holder_name, pan, status, profile_json, created_at, updated_at)
           VALUES ('B00000002', 'p', ?, 's', 'n', NULL, 'active', '{}', 't', 't')`,
          ['three'],
        ],
        [
          `INSERT INTO card_security (card_id, pin_hash, pin_tries_left, pin_retry_limit, pin_initial, key_tries_left, updated_at)
           VALUES ('A00000001', '{}', ?, 3, 1, 3, 't')`,
          ['two'],
        ],
        [`UPDATE accounts SET balance_fen = ? WHERE account_id = ?`, ['lots', cardAccount]],
        [
          `INSERT INTO journal (txn_id, line, at, account_id, amount_fen, kind) VALUES ('t1', 1, 't', ?, ?, 'funding')`,
          [cardAccount, 'ten'],
        ],
      ];
      for (const [sql, params] of attempts) {
        expect(() => db.prepare(sql).run(...params), sql).toThrow(
          /cannot store TEXT value in INTEGER column/,
        );
      }
    });
  });

  it('keeps card accounts from going negative but lets system accounts', () => {
    withDb(':memory:', (db) => {
      const { cardAccount, merchant } = seed(db);
      const set = db.prepare('UPDATE accounts SET balance_fen = ? WHERE account_id = ?');
      expect(() => set.run(-1, cardAccount)).toThrow(/CHECK constraint failed/);
      expect(() => set.run(-1, merchant)).not.toThrow();
    });
  });

  it('allows one system account per kind and ties codes to kinds', () => {
    withDb(':memory:', (db) => {
      seed(db);
      const insert = db.prepare('INSERT INTO accounts (card_id, kind, code, opened_at) VALUES (?, ?, ?, ?)');
      expect(() => insert.run(null, 'merchant', null, 't')).toThrow(/UNIQUE constraint failed/);
      expect(() => insert.run('A00000001', 'reserve', null, 't')).toThrow(/UNIQUE constraint failed/);
      expect(() => insert.run('A00000001', 'medical_current', '95001', 't')).toThrow(/CHECK/);
      expect(() => insert.run(null, 'reserve', null, 't')).toThrow(/CHECK/); // card kinds need a card
      expect(() => insert.run('A00000001', 'merchant', null, 't')).toThrow(/CHECK/); // system kinds have none
      expect(() => insert.run('A00000001', 'medical_current', '95000', 't')).not.toThrow();
    });
  });

  it('enforces foreign keys', () => {
    withDb(':memory:', (db) => {
      expect(() =>
        db
          .prepare(
            `INSERT INTO accounts (card_id, kind, code, opened_at) VALUES ('NOSUCHCRD', 'reserve', NULL, 't')`,
          )
          .run(),
      ).toThrow(/FOREIGN KEY constraint failed/);
    });
  });

  it('refuses UPDATE and DELETE on the journal', () => {
    withDb(':memory:', (db) => {
      const { cardAccount, merchant } = seed(db);
      const line = db.prepare(
        `INSERT INTO journal (txn_id, line, at, account_id, amount_fen, kind) VALUES ('t1', ?, 't', ?, ?, 'opening')`,
      );
      line.run(1, merchant, -100);
      line.run(2, cardAccount, 100);
      const message = 'journal is append-only: corrections are new entries';
      expect(() => db.prepare('UPDATE journal SET amount_fen = 999 WHERE line = 2').run()).toThrow(message);
      expect(() => db.prepare('DELETE FROM journal WHERE line = 2').run()).toThrow(message);
      expect(() => db.prepare('DELETE FROM journal').run()).toThrow(message);
      expect(db.prepare('SELECT amount_fen FROM journal ORDER BY line').pluck().all()).toEqual([-100, 100]);
    });
  });
});
