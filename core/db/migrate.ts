import type Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations/index.ts';

export { MIGRATIONS };

/**
 * The migration runner of the ledger database. The migrations themselves are one file per
 * schema version in ./migrations/, listed in order by ./migrations/index.ts. The version
 * applied last is kept in `PRAGMA user_version` (it lives in the database header, so it commits and rolls back with
 * the migration's own transaction). Versions go in tens so that a fix can later be slotted
 * in between two released migrations without renumbering.
 *
 * Never edit a released migration: databases already at its version would not see the
 * change. Append a new one instead.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/** Throws unless versions are positive, fit in user_version (32-bit) and strictly increase. */
export function assertMigrationOrder(migrations: readonly Migration[]): void {
  let previous = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version < 1 || m.version > 0x7fffffff) {
      throw new MigrationError(`migration "${m.name}" has an invalid version ${m.version}`);
    }
    if (m.version <= previous) {
      throw new MigrationError(
        `migrations are out of order: "${m.name}" (version ${m.version}) comes after version ${previous}; ` +
          'versions must strictly increase',
      );
    }
    previous = m.version;
  }
}

export function latestVersion(migrations: readonly Migration[] = MIGRATIONS): number {
  return migrations.at(-1)?.version ?? 0;
}

export function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database up to the newest migration, one transaction per migration, and
 * returns the version now applied. Refuses a database from a newer release rather than
 * guessing what its schema means.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  assertMigrationOrder(migrations);
  const latest = latestVersion(migrations);
  const current = userVersion(db);
  if (current > latest) {
    throw new MigrationError(`database was written by a newer SSCard Lab (version ${current} > ${latest})`);
  }

  for (const m of migrations) {
    if (m.version <= current) continue;
    // IMMEDIATE takes the write lock up front; re-reading the version under it makes two
    // processes opening the same fresh file apply each migration exactly once.
    try {
      db.transaction(() => {
        if (userVersion(db) >= m.version) return;
        db.exec(m.sql);
        db.pragma(`user_version = ${m.version}`);
      }).immediate();
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new MigrationError(`migration ${m.version} "${m.name}" failed: ${reason}`, { cause: e });
    }
  }
  return userVersion(db);
}
