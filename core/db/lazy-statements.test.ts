import { afterEach, describe, expect, it, vi } from 'vitest';
import type Database from 'better-sqlite3';
import { openLedgerDb } from './open.ts';
import { lazyStatements } from './lazy-statements.ts';
import { Ledger } from '../ledger/ledger.ts';

const dbs: Database.Database[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const db of dbs.splice(0)) if (db.open) db.close();
});

function open(): Database.Database {
  const db = openLedgerDb(':memory:');
  dbs.push(db);
  return db;
}

const statements = lazyStatements({
  cards: (db) => db.prepare<[], { n: number }>('SELECT count(*) AS n FROM cards'),
  meta: (db) => db.prepare<[], number>('SELECT 42').pluck(),
  broken: (db) => db.prepare('SELECT * FROM no_such_table'),
});

describe('lazyStatements', () => {
  it('prepares a statement the first time it is used, once per instance', () => {
    const db = open();
    const prepare = vi.spyOn(db, 'prepare');
    const s = statements(db);
    expect(prepare).not.toHaveBeenCalled();
    expect(s.meta.get()).toBe(42);
    expect(s.meta.get()).toBe(42);
    expect(s.meta).toBe(s.meta);
    expect(prepare.mock.calls.map(([sql]) => sql)).toEqual(['SELECT 42']);
    expect(s.cards.get()).toEqual({ n: 0 });
    expect(prepare).toHaveBeenCalledTimes(2);
    // A statement with an error fails where it is used, as preparing it would have; the others work.
    expect(() => s.broken).toThrow(/no such table/);
    expect(s.cards.get()).toEqual({ n: 0 });
  });

  it('keeps instances apart: each holds statements of its own database', () => {
    const [a, b] = [open(), open()];
    const [sa, sb] = [statements(a), statements(b)];
    a.exec(
      "INSERT INTO cards (card_id, profile_id, generation, ssn, holder_name, pan, status, profile_json, created_at, updated_at) VALUES ('C1', 'p', 3, 's', 'h', NULL, 'active', '{}', 'x', 'x')",
    );
    expect(sa.cards.get()).toEqual({ n: 1 });
    expect(sb.cards.get()).toEqual({ n: 0 });
    expect(sa.cards).not.toBe(sb.cards);
    expect(sa.cards.database).toBe(a);
    expect(sb.cards.database).toBe(b);
  });

  it('a Ledger prepares nothing it does not use', () => {
    const db = open();
    const prepare = vi.spyOn(db, 'prepare');
    const ledger = new Ledger({ db, clock: () => new Date('2025-03-10T02:00:00Z') });
    expect(prepare).not.toHaveBeenCalled();
    expect(ledger.getCard('C404')).toBeNull();
    expect(prepare).toHaveBeenCalledTimes(1);
  });
});
