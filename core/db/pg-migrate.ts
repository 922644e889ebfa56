import type pg from 'pg';
import { PG_MIGRATIONS } from './pg-migrations/index.ts';

/**
 * The central host's schema on PostgreSQL, applied in order and recorded in
 * `schema_migrations`. Several host processes may start against the same database at once:
 * the run holds a transaction-level advisory lock, so one applies and the others find the
 * versions done. Each migration runs in the same transaction as its row in schema_migrations.
 *
 * Money is BIGINT fen. Card accounts (reserve, 95000, 95001) keep their balance on the row
 * (CHECK ≥ 0: a card account is never overdrawn) and are only changed with the card's row
 * locked (SELECT … FOR UPDATE). The system accounts (bank_funding, medical_funding, merchant)
 * have no balance column: every payment touches the merchant account, and a row updated by
 * every payment would serialise the whole chain; their balances are the sum of their postings.
 */
export interface PgMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** An arbitrary constant naming this schema's migration lock (pg_advisory_xact_lock). */
const MIGRATION_LOCK = 0x5353_4341; // 'SSCA'

/** Applies the migrations not yet applied, in order; returns the versions applied now. */
export async function migrate(
  pool: pg.Pool,
  migrations: readonly PgMigration[] = PG_MIGRATIONS,
): Promise<number[]> {
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version <= migrations[i - 1]!.version) {
      throw new Error(
        `migrations out of order: ${migrations[i - 1]!.version} then ${migrations[i]!.version}`,
      );
    }
  }
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER PRIMARY KEY,
      name       TEXT NOT NULL,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
        (r) => r.version,
      ),
    );
    const known = new Set(migrations.map((m) => m.version));
    const unknown = [...done].filter((v) => !known.has(v));
    if (unknown.length > 0) {
      throw new Error(
        `the database has schema version(s) ${unknown.join(', ')} this host does not know: it was migrated by a newer sscard`,
      );
    }
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}
