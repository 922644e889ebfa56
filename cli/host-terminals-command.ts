import { existsSync, writeFileSync } from 'node:fs';
import { EXIT, InputError, UsageError, type CliIo } from './io.ts';
import { parse } from './args.ts';
import { migrate } from '../core/db/pg-migrate.ts';
import { connectionFailure, hostPool } from '../core/host/server/pg-host.ts';
import { enrolTerminal, listTerminals, revokeTerminal } from '../core/host/server/terminal-auth.ts';
import { formatCredential, keyCheckValue } from '../core/host/terminal-keys.ts';
import type { Algorithm } from '../core/card/crypto.ts';

/**
 * `sscard host enrol | revoke | terminals`: the operator's side of per-terminal credentials,
 * run where the host's database is reachable (docs/security.md, "Enrolling and revoking a till").
 */

export const PG_URL_ENV = 'SSCARD_PG_URL';
const TERMINAL_ID_RE = /^[A-Za-z0-9_.]{1,32}$/;

export const TERMINALS_HELP = `sscard host enrol --pg <postgresql url> --terminal-id <id> [--alg 3des|sm4] [--replace] [--out <file>]
  Enrols a till: makes its master key and prints its credential once (or writes it to --out,
  mode 0600). The till keeps it as --host-token or SSCARD_HOST_TOKEN. --replace re-enrols a
  till enrolled before (its old credential stops working).

sscard host revoke --pg <postgresql url> --terminal-id <id>
  Revokes a till: every sign-on and request of it is refused from now on.

sscard host terminals --pg <postgresql url> [--json]
  The enrolled tills: algorithm, key check value, enrolled, revoked, live sessions.`;

function pgUrlOf(values: Record<string, unknown>): string {
  const url = (values.pg as string | undefined) ?? process.env[PG_URL_ENV];
  if (!url) throw new UsageError(`--pg <postgresql url> is required (or set ${PG_URL_ENV})`);
  if (!/^postgres(ql)?:\/\//.test(url)) throw new UsageError('--pg must be a postgresql:// URL');
  return url;
}

function terminalIdOf(values: Record<string, unknown>): string {
  const id = values['terminal-id'] as string | undefined;
  if (!id) throw new UsageError('--terminal-id <id> is required');
  if (!TERMINAL_ID_RE.test(id))
    throw new UsageError(`--terminal-id must be 1–32 letters, digits, '_' or '.' (got '${id}')`);
  return id;
}

async function withPool<T>(url: string, fn: (pool: ReturnType<typeof hostPool>) => Promise<T>): Promise<T> {
  const pool = hostPool(url, 2);
  try {
    await migrate(pool);
    return await fn(pool);
  } catch (e) {
    if (connectionFailure(e) !== null) {
      const safe = url.replace(/:\/\/([^:@/]+):[^@/]*@/, '://$1:***@');
      throw new InputError(`cannot reach PostgreSQL at ${safe}: ${(e as Error).message}`);
    }
    throw e;
  } finally {
    await pool.end();
  }
}

async function cmdEnrol(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    pg: { type: 'string' },
    'terminal-id': { type: 'string' },
    alg: { type: 'string' },
    replace: { type: 'boolean' },
    out: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    io.out(TERMINALS_HELP);
    return EXIT.OK;
  }
  const url = pgUrlOf(values);
  const terminalId = terminalIdOf(values);
  const alg = ((values.alg as string | undefined) ?? '3des') as Algorithm;
  if (alg !== '3des' && alg !== 'sm4')
    throw new UsageError(`--alg must be 3des or sm4 (got '${String(alg)}')`);
  const out = values.out as string | undefined;
  if (out && existsSync(out))
    throw new InputError(`--out ${out} exists already: a credential is never overwritten`);
  const credential = await withPool(url, async (pool) => {
    try {
      return await enrolTerminal(pool, terminalId, { alg, replace: values.replace === true });
    } catch (e) {
      if (e instanceof TypeError) throw new InputError(e.message);
      throw e;
    }
  });
  const text = formatCredential(credential);
  const check = keyCheckValue(alg, credential.masterKey).toUpperCase();
  if (out) {
    writeFileSync(out, `${text}\n`, { mode: 0o600, flag: 'wx' });
    io.out(
      `Terminal ${terminalId} enrolled (${alg.toUpperCase()}, key check ${check}); its credential is in ${out} (mode 0600).`,
    );
    io.out(`At the till: export SSCARD_HOST_TOKEN="$(cat ${out})" (or --host-token), then remove the file.`);
  } else {
    io.out(
      `Terminal ${terminalId} enrolled (${alg.toUpperCase()}, key check ${check}). Its credential, shown once:`,
    );
    io.out(text);
    io.out('Keep it at the till as SSCARD_HOST_TOKEN (or --host-token); the host cannot show it again.');
  }
  return EXIT.OK;
}

async function cmdRevoke(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    pg: { type: 'string' },
    'terminal-id': { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    io.out(TERMINALS_HELP);
    return EXIT.OK;
  }
  const url = pgUrlOf(values);
  const terminalId = terminalIdOf(values);
  const done = await withPool(url, (pool) => revokeTerminal(pool, terminalId));
  if (!done) throw new InputError(`terminal ${terminalId} is not enrolled at this host`);
  io.out(`Terminal ${terminalId} revoked: its sign-ons and requests are refused from now on.`);
  return EXIT.OK;
}

async function cmdTerminals(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    pg: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    io.out(TERMINALS_HELP);
    return EXIT.OK;
  }
  const rows = await withPool(pgUrlOf(values), (pool) => listTerminals(pool));
  if (values.json) {
    io.out(JSON.stringify(rows, null, 2));
    return EXIT.OK;
  }
  if (rows.length === 0) io.out('No terminal enrolled (sscard host enrol --terminal-id <id>).');
  for (const r of rows) {
    io.out(
      `${r.terminalId.padEnd(12)} ${r.alg.padEnd(4)} KCV ${r.keyCheck.toUpperCase()}  enrolled ${r.enrolledAt}  ` +
        `${r.revokedAt ? `REVOKED ${r.revokedAt}` : `${r.sessions} session(s)`}`,
    );
  }
  return EXIT.OK;
}

/** Dispatches enrol / revoke / terminals; null for another action. */
export function terminalsCommand(action: string, args: string[], io: CliIo): Promise<number> | null {
  if (action === 'enrol' || action === 'enroll') return cmdEnrol(args, io);
  if (action === 'revoke') return cmdRevoke(args, io);
  if (action === 'terminals') return cmdTerminals(args, io);
  return null;
}
