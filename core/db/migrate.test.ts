import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { openLedgerDb } from './open.ts';
import { MIGRATIONS, MigrationError, migrate, type Migration } from './migrate.ts';
import { tempDir } from '../../test/harness/ledger/test-support.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()?.();
});

function fileDb(name = 'ledger.db'): { path: string; open: () => Database.Database } {
  const t = tempDir();
  const path = t.file(name);
  const opened: Database.Database[] = [];
  cleanups.push(() => {
    for (const db of opened) if (db.open) db.close();
    t.cleanup();
  });
  return {
    path,
    open: () => {
      const db = new Database(path);
      opened.push(db);
      return db;
    },
  };
}

/** Each migration appends its version to a log table, so the order of application is visible. */
const logged: Migration[] = [
  {
    version: 10,
    name: 'log table',
    sql: 'CREATE TABLE log (v INTEGER NOT NULL) STRICT; INSERT INTO log VALUES (10);',
  },
  { version: 20, name: 'second', sql: 'INSERT INTO log VALUES (20);' },
  { version: 30, name: 'third', sql: 'INSERT INTO log VALUES (30);' },
];

const version = (db: Database.Database) => db.pragma('user_version', { simple: true });
const log = (db: Database.Database) => db.prepare('SELECT v FROM log ORDER BY rowid').pluck().all();

describe('migrate', () => {
  it('applies migrations in order and records the version in user_version', () => {
    const db = new Database(':memory:');
    expect(migrate(db, logged)).toBe(30);
    expect(version(db)).toBe(30);
    expect(log(db)).toEqual([10, 20, 30]);
    db.close();
  });

  it('applies only the migrations newer than the database', () => {
    const f = fileDb();
    const db = f.open();
    migrate(db, logged.slice(0, 1));
    expect(version(db)).toBe(10);
    db.close();

    const again = f.open();
    expect(migrate(again, logged)).toBe(30);
    expect(log(again)).toEqual([10, 20, 30]);
  });

  it('is idempotent on reopen: nothing is applied twice', () => {
    const f = fileDb();
    migrate(f.open(), logged);
    const db = f.open();
    expect(migrate(db, logged)).toBe(30);
    expect(migrate(db, logged)).toBe(30);
    expect(log(db)).toEqual([10, 20, 30]);
  });

  it('openLedgerDb is idempotent on reopen and keeps the data', () => {
    const f = fileDb();
    const first = openLedgerDb(f.path);
    expect(version(first)).toBe(MIGRATIONS.at(-1)?.version);
    first
      .prepare(`INSERT INTO accounts (card_id, kind, code, opened_at) VALUES (NULL, 'merchant', NULL, 'now')`)
      .run();
    first.close();

    const second = openLedgerDb(f.path);
    expect(version(second)).toBe(MIGRATIONS.at(-1)?.version);
    expect(second.prepare('SELECT count(*) FROM accounts').pluck().get()).toBe(1);
    second.close();
  });

  it('rolls a failing migration back completely and leaves the version where it was', () => {
    const db = new Database(':memory:');
    const broken: Migration[] = [
      ...logged.slice(0, 1),
      {
        version: 20,
        name: 'half done',
        sql: 'CREATE TABLE half (x INTEGER) STRICT; INSERT INTO nowhere VALUES (1);',
      },
    ];
    expect(() => migrate(db, broken)).toThrow(/migration 20 "half done" failed: no such table: nowhere/);
    expect(version(db)).toBe(10);
    expect(db.prepare(`SELECT count(*) FROM sqlite_schema WHERE name = 'half'`).pluck().get()).toBe(0);
    db.close();
  });

  it('the shipped list is numbered in tens', () => {
    expect(MIGRATIONS.length).toBeGreaterThan(0);
    MIGRATIONS.forEach((m, i) => expect(m.version).toBe((i + 1) * 10));
  });
});

describe('migration guards', () => {
  it('refuses a list that is out of order', () => {
    const db = new Database(':memory:');
    const outOfOrder = [logged[1]!, logged[0]!];
    expect(() => migrate(db, outOfOrder)).toThrow(MigrationError);
    expect(() => migrate(db, outOfOrder)).toThrow(
      /out of order: "log table" \(version 10\) comes after version 20/,
    );
    expect(version(db)).toBe(0); // checked before anything is applied
    db.close();
  });

  it('refuses a list with a repeated version', () => {
    const db = new Database(':memory:');
    expect(() => migrate(db, [logged[0]!, { ...logged[1]!, version: 10 }])).toThrow(/out of order/);
    db.close();
  });

  it('refuses versions that are not positive integers', () => {
    const db = new Database(':memory:');
    expect(() => migrate(db, [{ ...logged[0]!, version: 0 }])).toThrow(/invalid version 0/);
    expect(() => migrate(db, [{ ...logged[0]!, version: 10.5 }])).toThrow(/invalid version 10.5/);
    db.close();
  });

  it('refuses a database written by a newer release', () => {
    const db = new Database(':memory:');
    db.pragma('user_version = 40');
    expect(() => migrate(db, logged)).toThrow('database was written by a newer SSCard Lab (version 40 > 30)');
    expect(version(db)).toBe(40);
    db.close();
  });

  it('openLedgerDb refuses a newer database file and leaves it untouched', () => {
    const f = fileDb();
    const raw = f.open();
    raw.pragma('user_version = 990');
    raw.close();
    const newest = MIGRATIONS.at(-1)?.version;
    expect(() => openLedgerDb(f.path)).toThrow(
      `database was written by a newer SSCard Lab (version 990 > ${newest})`,
    );
    const check = f.open();
    expect(version(check)).toBe(990);
    expect(check.prepare('SELECT count(*) FROM sqlite_schema').pluck().get()).toBe(0);
  });
});
