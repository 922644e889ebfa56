import type Database from 'better-sqlite3';

/**
 * Prepared statements made on first use and kept per instance, instead of all at construction.
 *
 * A ledger, host or till object names a few dozen statements, and a short-lived one (a
 * scenario, a CLI command) uses a handful: preparing them all up front was most of what
 * opening cost. `lazyStatements(defs)` is called once per module with one factory per
 * statement; the function it returns makes, per database handle, an object whose properties
 * prepare their statement the first time they are read and then hold it (a plain data
 * property from then on). Same statements, same SQL, same types as preparing eagerly: only the
 * moment of `db.prepare` moves, and a statement never used is never prepared.
 */
export type StatementFactories = Record<string, (db: Database.Database) => unknown>;

export type LazyStatements<T extends StatementFactories> = {
  readonly [K in keyof T]: ReturnType<T[K]>;
};

const DB = Symbol('db');

export function lazyStatements<T extends StatementFactories>(
  defs: T,
): (db: Database.Database) => LazyStatements<T> {
  class Statements {
    readonly [DB]: Database.Database;
    constructor(db: Database.Database) {
      this[DB] = db;
    }
  }
  for (const key of Object.keys(defs)) {
    const make = defs[key]!;
    Object.defineProperty(Statements.prototype, key, {
      get(this: Statements) {
        const statement = make(this[DB]);
        // From now on a plain property of this instance, in front of the prototype's getter.
        Object.defineProperty(this, key, { value: statement, enumerable: true });
        return statement;
      },
      enumerable: true,
    });
  }
  return (db) => new Statements(db) as unknown as LazyStatements<T>;
}
