import pg from 'pg';
import { HostError } from '../../types.ts';

/**
 * The central host's connection to PostgreSQL: a pool that parses BIGINT fen as safe integers,
 * which failures mean the database could not be reached, and the one READ COMMITTED
 * transaction every operation runs in, re-run on deadlock, serialization failure or id race.
 */

export type Client = pg.PoolClient;

const RETRYABLE = new Set(['40001', '40P01', '23505']);

/** BIGINT comes back as a string from node-postgres: fen are safe integers, checked. */
const INT8_OID = 20;
const NUMERIC_OID = 1700;
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`host: ${text} is not a safe integer`);
  return n;
}
export const PG_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if ((oid === INT8_OID || oid === NUMERIC_OID) && format !== 'binary') return parseInt8;
    return (pg.types.getTypeParser as (o: number, f?: string) => (v: string) => unknown)(oid, format);
  },
} as unknown as pg.CustomTypesConfig;

/** A pool on the host's database with BIGINT parsed as safe integers. */
export function hostPool(connectionString: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, types: PG_TYPES, application_name: 'sscard-host' });
  // An idle client whose server went away must not crash the host: the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Connection-level failures: 'refused' when PostgreSQL could not be reached at all (nothing
 * was sent), 'lost' when the connection broke (a statement may have run), null otherwise.
 */
export function connectionFailure(e: unknown): 'refused' | 'lost' | null {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (/^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|EAI_AGAIN|57P03|3D000|28P01|28000)$/.test(code))
      return 'refused';
    if (/^(ECONNRESET|ETIMEDOUT|EPIPE|57P0[12]|08\w{3})$/.test(code)) return 'lost';
  }
  const message = e instanceof Error ? e.message : '';
  if (/timeout exceeded when trying to connect/i.test(message)) return 'refused';
  if (/Connection terminated|Client has encountered a connection error|Client was closed/i.test(message))
    return 'lost';
  return null;
}

/** One READ COMMITTED transaction, re-run on deadlock, serialization failure or id race. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: Client) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let c: Client;
    try {
      c = await pool.connect();
    } catch (e) {
      if (connectionFailure(e) === null) throw e;
      throw new HostError(
        'HOST_DOWN',
        `the central host cannot reach its database (${(e as Error).message}); nothing was applied`,
      );
    }
    let broken = false;
    try {
      await c.query('BEGIN');
      const r = await fn(c);
      await c.query('COMMIT');
      return r;
    } catch (e) {
      try {
        await c.query('ROLLBACK');
      } catch {
        broken = true;
      }
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && RETRYABLE.has(code) && attempt < 8) continue;
      throw e;
    } finally {
      c.release(broken);
    }
  }
}
