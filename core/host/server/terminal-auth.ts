import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Algorithm } from '../../card/crypto.ts';
import {
  AUTH_HEADERS,
  keyCheckValue,
  newKey,
  requestMac,
  sameMac,
  signOnKey,
  unwrapKey,
  wrapKey,
  type TerminalCredential,
} from '../terminal-keys.ts';
import { instantProblem } from '../request-checks.ts';
import { TERMINAL_ID_RE } from './protocol.ts';

/**
 * The central host's side of per-terminal credentials (migration 4): enrolment and revocation
 * (sscard host enrol / revoke), sign-on (签到) handing out fresh working keys wrapped under the
 * terminal's master key, and the check of every request's session, sequence number and MAC.
 * Nothing here logs or stores a password; a PIN block is opened only in memory by the route
 * that verifies it (http-server.ts).
 */

/** Sessions a terminal keeps (several processes of one till may run at once). */
export const SESSIONS_KEPT = 8;

/** How far behind the newest sequence number a request may still arrive (out of order). */
export const SEQ_WINDOW = 4096;
const SEQ_PRUNE_EVERY = 1024;

export type AuthCode =
  | 'NOT_ENROLLED'
  | 'TERMINAL_REVOKED'
  | 'SIGN_ON_REQUIRED'
  | 'BAD_MAC'
  | 'REPLAYED'
  | 'FORBIDDEN'
  | 'UNAUTHORIZED';

/** A refusal before anything is read or applied: 401 (403 for FORBIDDEN). */
export class AuthError extends Error {
  constructor(
    readonly code: AuthCode,
    message: string,
  ) {
    super(message);
  }
  get status(): number {
    return this.code === 'FORBIDDEN' ? 403 : 401;
  }
}

export interface EnrolledTerminal {
  readonly terminalId: string;
  readonly alg: Algorithm;
  readonly keyCheck: string;
  readonly enrolledAt: string;
  readonly revokedAt: string | null;
  readonly sessions: number;
}

function checkTerminalId(terminalId: string): void {
  if (!TERMINAL_ID_RE.test(terminalId))
    throw new TypeError(`terminal id must be 1–32 letters, digits, '_' or '.' (got '${terminalId}')`);
}

/**
 * Enrols a till: a new master key, returned once in its credential. A terminal enrolled before
 * (revoked or not) is re-enrolled only with `replace`: its old key and sessions stop working.
 */
export async function enrolTerminal(
  pool: pg.Pool,
  terminalId: string,
  options: { alg?: Algorithm; replace?: boolean; now?: Date } = {},
): Promise<TerminalCredential> {
  checkTerminalId(terminalId);
  const alg = options.alg ?? '3des';
  if (alg !== '3des' && alg !== 'sm4') throw new TypeError(`alg must be 3des or sm4 (got '${String(alg)}')`);
  const masterKey = newKey();
  const now = (options.now ?? new Date()).toISOString();
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const known = await client.query<{ revoked_at: Date | null }>(
      'SELECT revoked_at FROM host_terminal_credentials WHERE terminal_id = $1 FOR UPDATE',
      [terminalId],
    );
    if (known.rowCount && !options.replace) {
      throw new TypeError(
        `terminal ${terminalId} is enrolled already${known.rows[0]!.revoked_at ? ' (revoked)' : ''}: ` +
          'enrol it with --replace to issue a new credential (the old one stops working)',
      );
    }
    await client.query('DELETE FROM host_terminal_sessions WHERE terminal_id = $1', [terminalId]);
    await client.query(
      `INSERT INTO host_terminal_credentials (terminal_id, alg, master_key, key_check, enrolled_at, revoked_at)
       VALUES ($1, $2, $3, $4, $5, NULL)
       ON CONFLICT (terminal_id) DO UPDATE SET alg = EXCLUDED.alg, master_key = EXCLUDED.master_key,
         key_check = EXCLUDED.key_check, enrolled_at = EXCLUDED.enrolled_at, revoked_at = NULL`,
      [terminalId, alg, Buffer.from(masterKey).toString('hex'), keyCheckValue(alg, masterKey), now],
    );
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
  return { terminalId, alg, masterKey };
}

/** Revokes a till: its sign-ons and requests are refused from now on. False when not enrolled. */
export async function revokeTerminal(pool: pg.Pool, terminalId: string, now = new Date()): Promise<boolean> {
  checkTerminalId(terminalId);
  const r = await pool.query(
    'UPDATE host_terminal_credentials SET revoked_at = COALESCE(revoked_at, $2) WHERE terminal_id = $1',
    [terminalId, now.toISOString()],
  );
  await pool.query('DELETE FROM host_terminal_sessions WHERE terminal_id = $1', [terminalId]);
  return (r.rowCount ?? 0) > 0;
}

export async function listTerminals(pool: pg.Pool): Promise<EnrolledTerminal[]> {
  const rows = (
    await pool.query<{
      terminal_id: string;
      alg: Algorithm;
      key_check: string;
      enrolled_at: Date;
      revoked_at: Date | null;
      sessions: number;
    }>(
      `SELECT c.terminal_id, c.alg, c.key_check, c.enrolled_at, c.revoked_at,
              (SELECT count(*)::int FROM host_terminal_sessions s WHERE s.terminal_id = c.terminal_id) AS sessions
       FROM host_terminal_credentials c ORDER BY c.terminal_id`,
    )
  ).rows;
  return rows.map((r) => ({
    terminalId: r.terminal_id,
    alg: r.alg,
    keyCheck: r.key_check,
    enrolledAt: r.enrolled_at.toISOString(),
    revokedAt: r.revoked_at ? r.revoked_at.toISOString() : null,
    sessions: r.sessions,
  }));
}

interface CredentialRow {
  alg: Algorithm;
  master_key: string;
  revoked_at: Date | null;
}

async function credentialOf(pool: pg.Pool, terminalId: string): Promise<TerminalCredential> {
  const row = (
    await pool.query<CredentialRow>(
      'SELECT alg, master_key, revoked_at FROM host_terminal_credentials WHERE terminal_id = $1',
      [terminalId],
    )
  ).rows[0];
  if (!row) throw notEnrolled(terminalId);
  if (row.revoked_at) throw revoked(terminalId);
  return { terminalId, alg: row.alg, masterKey: new Uint8Array(Buffer.from(row.master_key, 'hex')) };
}

function notEnrolled(terminalId: string): AuthError {
  return new AuthError(
    'NOT_ENROLLED',
    `terminal ${terminalId} is not enrolled at this host (sscard host enrol --terminal-id ${terminalId})`,
  );
}

function revoked(terminalId: string): AuthError {
  return new AuthError('TERMINAL_REVOKED', `terminal ${terminalId} has been revoked at this host`);
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  const v = headers[name];
  return typeof v === 'string' && v.length > 0 && v.length <= 200 ? v : null;
}

/** What a sign-on answers: the working keys wrapped under the master key, with check values. */
export interface SignOnAnswer {
  readonly sessionId: string;
  readonly alg: Algorithm;
  readonly pinKey: string;
  readonly pinKeyCheck: string;
  readonly macKey: string;
  readonly macKeyCheck: string;
}

/**
 * Sign-on: the body `{terminalId, nonce, at}` MACed with the key derived from the terminal's
 * master key (signOnKey). A nonce is taken once per terminal. New PIN and MAC keys; the
 * terminal's sessions beyond the newest SESSIONS_KEPT are dropped.
 */
export async function signOn(
  pool: pg.Pool,
  headers: Record<string, string | string[] | undefined>,
  raw: Buffer,
  body: { terminalId: string; nonce: string; at: string },
  now: Date,
): Promise<SignOnAnswer> {
  const terminalId = header(headers, AUTH_HEADERS.terminal);
  const mac = header(headers, AUTH_HEADERS.mac);
  if (!terminalId || !mac || terminalId !== body.terminalId) {
    throw new AuthError(
      'UNAUTHORIZED',
      'a sign-on names its terminal in the header and the body, with its MAC',
    );
  }
  if (instantProblem(body.at) !== null)
    throw new AuthError('UNAUTHORIZED', 'sign-on: at must be an ISO date-time');
  const credential = await credentialOf(pool, terminalId);
  const expected = requestMac(signOnKey(credential), {
    method: 'POST',
    path: '/v1/sign-on',
    terminalId,
    sessionId: '-',
    seq: 0,
    body: raw,
  });
  if (!sameMac(mac, expected)) throw new AuthError('BAD_MAC', `sign-on of terminal ${terminalId}: wrong MAC`);
  const fresh = await pool.query(
    `INSERT INTO host_sign_on_nonces (terminal_id, nonce, used_at) VALUES ($1, $2, $3)
     ON CONFLICT DO NOTHING`,
    [terminalId, body.nonce, now.toISOString()],
  );
  if (fresh.rowCount === 0)
    throw new AuthError('REPLAYED', `sign-on of terminal ${terminalId}: nonce used before`);
  const { alg, masterKey } = credential;
  const pinKey = newKey();
  const macKey = newKey();
  const answer: SignOnAnswer = {
    sessionId: randomBytes(16).toString('hex'),
    alg,
    pinKey: wrapKey(alg, masterKey, pinKey),
    pinKeyCheck: keyCheckValue(alg, pinKey),
    macKey: wrapKey(alg, masterKey, macKey),
    macKeyCheck: keyCheckValue(alg, macKey),
  };
  await pool.query(
    `INSERT INTO host_terminal_sessions (session_id, terminal_id, pin_key, mac_key, signed_on_at)
     SELECT $1, $2, $3, $4, $5 FROM host_terminal_credentials WHERE terminal_id = $2 AND revoked_at IS NULL`,
    [answer.sessionId, terminalId, answer.pinKey, answer.macKey, now.toISOString()],
  );
  await pool.query(
    `DELETE FROM host_terminal_sessions WHERE terminal_id = $1 AND session_id NOT IN
       (SELECT session_id FROM host_terminal_sessions WHERE terminal_id = $1
        ORDER BY signed_on_at DESC, session_id LIMIT ${SESSIONS_KEPT})`,
    [terminalId],
  );
  return answer;
}

/** The terminal a request is bound to, and its session's PIN key (for a PIN block). */
export interface Caller {
  readonly terminalId: string;
  readonly alg: Algorithm;
  readonly pinKey: Uint8Array;
}

/** Refuses at once a request that carries no terminal credential at all (before its body is read). */
export function requireTerminalHeaders(headers: Record<string, string | string[] | undefined>): void {
  if (header(headers, AUTH_HEADERS.terminal) === null) throw noCredential();
}

function noCredential(): AuthError {
  return new AuthError(
    'NOT_ENROLLED',
    'this till sent no terminal credential: enrol it at the host (sscard host enrol --terminal-id <id>) ' +
      'and give the credential with --host-token or SSCARD_HOST_TOKEN',
  );
}

/**
 * Checks a request's terminal, session, sequence number and MAC (over method, path and the raw
 * body). The sequence number is recorded: the same request sent again is refused.
 */
export async function authenticate(
  pool: pg.Pool,
  headers: Record<string, string | string[] | undefined>,
  method: string,
  path: string,
  raw: Buffer,
): Promise<Caller> {
  const terminalId = header(headers, AUTH_HEADERS.terminal);
  if (!terminalId) throw noCredential();
  const sessionId = header(headers, AUTH_HEADERS.session);
  const seqText = header(headers, AUTH_HEADERS.seq);
  const mac = header(headers, AUTH_HEADERS.mac);
  if (!sessionId || !seqText || !mac || !/^[1-9][0-9]{0,15}$/.test(seqText)) {
    throw new AuthError(
      'SIGN_ON_REQUIRED',
      `terminal ${terminalId}: sign on first (session, sequence and MAC)`,
    );
  }
  const row = (
    await pool.query<CredentialRow & { pin_key: string; mac_key: string; seq_floor: string }>(
      `SELECT c.alg, c.master_key, c.revoked_at, s.pin_key, s.mac_key, s.seq_floor::text AS seq_floor
       FROM host_terminal_credentials c LEFT JOIN host_terminal_sessions s
         ON s.terminal_id = c.terminal_id AND s.session_id = $2
       WHERE c.terminal_id = $1`,
      [terminalId, sessionId],
    )
  ).rows[0];
  if (!row) throw notEnrolled(terminalId);
  if (row.revoked_at) throw revoked(terminalId);
  if (!row.mac_key)
    throw new AuthError('SIGN_ON_REQUIRED', `terminal ${terminalId}: session unknown, sign on again`);
  const masterKey = new Uint8Array(Buffer.from(row.master_key, 'hex'));
  const macKey = unwrapKey(row.alg, masterKey, row.mac_key);
  const seq = Number(seqText);
  const expected = requestMac(macKey, { method, path, terminalId, sessionId, seq, body: raw });
  if (!sameMac(mac, expected)) {
    throw new AuthError(
      'BAD_MAC',
      `request of terminal ${terminalId}: the MAC does not match (altered or wrong key)`,
    );
  }
  const fresh =
    seq > Number(row.seq_floor)
      ? await pool.query(
          `INSERT INTO host_request_seq (session_id, seq)
           SELECT $1, $2 FROM host_terminal_sessions WHERE session_id = $1 AND seq_floor < $2
           ON CONFLICT DO NOTHING`,
          [sessionId, seq],
        )
      : { rowCount: 0 };
  if (fresh.rowCount === 0) {
    throw new AuthError(
      'REPLAYED',
      `request of terminal ${terminalId}: sequence ${seq} used before (replay)`,
    );
  }
  if (seq % SEQ_PRUNE_EVERY === 0 && seq > SEQ_WINDOW) {
    const floor = seq - SEQ_WINDOW;
    await pool.query(
      'UPDATE host_terminal_sessions SET seq_floor = GREATEST(seq_floor, $2) WHERE session_id = $1',
      [sessionId, floor],
    );
    await pool.query('DELETE FROM host_request_seq WHERE session_id = $1 AND seq <= $2', [sessionId, floor]);
  }
  return { terminalId, alg: row.alg, pinKey: unwrapKey(row.alg, masterKey, row.pin_key) };
}

/** A refund or reversal: the payment must have been taken at the caller's terminal. */
export async function requireOwnPayment(pool: pg.Pool, caller: Caller, paymentId: string): Promise<void> {
  const owner = (
    await pool.query<{ terminal_id: string }>(
      "SELECT terminal_id FROM host_records WHERE payment_id = $1 AND kind = 'payment'",
      [paymentId],
    )
  ).rows[0]?.terminal_id;
  if (owner !== undefined && owner !== caller.terminalId) {
    throw new AuthError(
      'FORBIDDEN',
      `payment ${paymentId} was taken at another terminal: terminal ${caller.terminalId} may refund or reverse only its own payments`,
    );
  }
}

/** A body's terminal id must be the caller's. */
export function requireOwnTerminal(caller: Caller, terminalId: string, what: string): void {
  if (terminalId !== caller.terminalId) {
    throw new AuthError(
      'FORBIDDEN',
      `${what} names terminal ${terminalId}, but the credential is terminal ${caller.terminalId}'s`,
    );
  }
}
