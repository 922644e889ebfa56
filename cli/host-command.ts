import { EXIT, InputError, UsageError, untilStopped, type CliIo } from './io.ts';
import { parse } from './args.ts';
import { isLoopback, startHostServer } from '../core/host/server/http-server.ts';
import { loadTls, selfSignedTls, type TlsFiles } from '../core/host/server/tls-files.ts';
import { terminalsCommand, TERMINALS_HELP } from './host-terminals-command.ts';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { connectionFailure, type HostStatus } from '../core/host/server/pg-host.ts';
import { HttpHost } from '../core/host/http-host.ts';
import { HostError, type MedicalOrder, type ShortfallPolicy } from '../core/host/types.ts';
import { TOKEN_ENV } from '../core/host/server/protocol.ts';

/**
 * `sscard host serve` runs the central host (bank + medical insurance centre) on PostgreSQL for
 * many terminals; `sscard host status` asks it what it knows about them (docs/central-host.md).
 */

export const DEFAULT_HOST_PORT = 7400;
export const HOST_URL_ENV = 'SSCARD_HOST_URL';
export const PG_URL_ENV = 'SSCARD_PG_URL';

const HELP = `sscard host serve --pg <postgresql url> [--listen <address:port>] [--token <secret>]
                   [--tls-cert <pem> --tls-key <pem> | --tls-dir <folder> | --tls]
                   [--medical-order current-first|prior-first] [--shortfall self-pay|decline]
  Runs the central host on PostgreSQL: migrates the database (in order, once), prints the
  URL terminals use (--host-url), and serves until Ctrl-C or SIGTERM. Every till needs its
  own credential (sscard host enrol).
  --pg       PostgreSQL connection URL (default: $${PG_URL_ENV}), e.g.
             postgresql://sscard@127.0.0.1:5432/sscard
  --listen   address to bind (default 127.0.0.1:${DEFAULT_HOST_PORT}); beyond loopback (0.0.0.0:7400)
             the host serves only over TLS and with --token
  --token    the operator's secret for host status (default: $${TOKEN_ENV})
  --tls-cert, --tls-key  serve HTTPS with this certificate and key (PEM)
  --tls-dir  serve HTTPS with the self-signed pair in this folder, made on first start
             (default for a non-loopback --listen, or with --tls: ~/.local/share/sscard-lab/host-tls);
             its fingerprint is printed; tills trust cert.pem with SSCARD_HOST_CA

sscard host status [--url <host url>] [--token <secret>] [--json]
  Terminals seen, their queue depth, last sync and reconciliation state, and the chain's totals.
  --url     the host (default: $${HOST_URL_ENV}, else http://127.0.0.1:${DEFAULT_HOST_PORT}); an https://
            host with a self-signed certificate is trusted through SSCARD_HOST_CA=<its cert.pem>

${TERMINALS_HELP}

Exit codes: 0 ok, 1 bad input or host/database unreachable, 64 usage.`;

/** "127.0.0.1:7400", ":7400", "7400", "[::1]:7400" → address and port. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$|^(\d{1,5})$/.exec(text.trim());
  if (!m)
    throw new UsageError(
      `--listen must be <address>:<port>, e.g. 127.0.0.1:${DEFAULT_HOST_PORT} (got '${text}')`,
    );
  const port = Number(m[3] ?? m[4]);
  if (port > 65535) throw new UsageError(`--listen port must be 0–65535 (got ${port})`);
  const host = m[1] ?? (m[2] !== undefined && m[2] !== '' ? m[2] : '127.0.0.1');
  return { host, port };
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

async function cmdServe(args: string[], io: CliIo, signal?: AbortSignal): Promise<number> {
  const { values } = parse(args, {
    pg: { type: 'string' },
    listen: { type: 'string' },
    token: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-dir': { type: 'string' },
    tls: { type: 'boolean' },
    'medical-order': { type: 'string' },
    shortfall: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    io.out(HELP);
    return EXIT.OK;
  }
  const pgUrl = (values.pg as string | undefined) ?? process.env[PG_URL_ENV];
  if (!pgUrl) throw new UsageError(`--pg <postgresql url> is required (or set ${PG_URL_ENV})`);
  if (!/^postgres(ql)?:\/\//.test(pgUrl)) {
    throw new UsageError(`--pg must be a postgresql:// URL (got '${redactUrl(pgUrl)}')`);
  }
  const { host, port } = parseListen(
    (values.listen as string | undefined) ?? `127.0.0.1:${DEFAULT_HOST_PORT}`,
  );
  const medicalOrder = ((values['medical-order'] as string | undefined) ?? 'current-first') as MedicalOrder;
  if (medicalOrder !== 'current-first' && medicalOrder !== 'prior-first') {
    throw new UsageError(
      `--medical-order must be current-first or prior-first (got '${String(medicalOrder)}')`,
    );
  }
  const shortfall = ((values.shortfall as string | undefined) ?? 'self-pay') as ShortfallPolicy;
  if (shortfall !== 'self-pay' && shortfall !== 'decline') {
    throw new UsageError(`--shortfall must be self-pay or decline (got '${String(shortfall)}')`);
  }
  const token = (values.token as string | undefined) ?? process.env[TOKEN_ENV];
  if (!isLoopback(host) && !token) {
    throw new UsageError(
      `--listen ${host} serves beyond loopback: give the operator's --token (or ${TOKEN_ENV}) as well as TLS`,
    );
  }
  const tls = tlsFor(values, host);
  if (tls) {
    io.out(
      `TLS certificate ${tls.certPath}${tls.created ? ' (self-signed, made now)' : ''}, SHA-256 fingerprint ${tls.fingerprint}`,
    );
  }

  let server;
  try {
    server = await startHostServer({
      connectionString: pgUrl,
      host,
      port,
      medicalOrder,
      shortfall,
      ...(token ? { token } : {}),
      ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
      log: (line) => io.err(`sscard host: ${line}`),
    });
  } catch (e) {
    if (connectionFailure(e) !== null || (e instanceof HostError && e.code === 'HOST_DOWN')) {
      throw new InputError(
        `cannot reach PostgreSQL at ${redactUrl(pgUrl)}: ${(e as Error).message || String((e as { code?: unknown }).code)} ` +
          '(is the server running, and the database created? see docs/central-host.md)',
      );
    }
    const code = (e as { code?: unknown }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new InputError(`cannot listen on ${host}:${port}: ${String(code)}`);
    }
    throw e;
  }
  const status = await server.host.status();
  io.out(
    `Central host listening on ${server.url} (PostgreSQL ${redactUrl(pgUrl)}, schema version ${status.schemaVersion}` +
      `${token ? ', token required' : ''}). Terminals: --host-url ${server.url}`,
  );
  const why = await untilStopped(signal);
  await server.close();
  io.out(`Central host stopped (${why}).`);
  return EXIT.OK;
}

/** The TLS pair serve uses: the files given, or the self-signed pair (beyond loopback, or --tls). */
function tlsFor(values: Record<string, unknown>, host: string): TlsFiles | null {
  const cert = values['tls-cert'] as string | undefined;
  const key = values['tls-key'] as string | undefined;
  if ((cert === undefined) !== (key === undefined))
    throw new UsageError('--tls-cert and --tls-key go together');
  try {
    if (cert && key) return loadTls(cert, key);
    const dir = values['tls-dir'] as string | undefined;
    if (dir || values.tls || !isLoopback(host)) {
      const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
      return selfSignedTls(dir ?? join(base, 'sscard-lab', 'host-tls'), host);
    }
  } catch (e) {
    if (e instanceof TypeError) throw new InputError(e.message);
    throw e;
  }
  return null;
}

function when(iso: string | null): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—';
}

export function renderStatus(s: HostStatus, url: string): string[] {
  const lines = [`Central host ${url}  (schema version ${s.schemaVersion})`];
  const head = ['terminal', 'last seen', 'queue', 'last sync', 'reconciliation', 'payments', 'net'];
  const rows = s.terminals.map((t) => [
    t.terminalId,
    when(t.lastSeen),
    t.queueDepth === null ? '—' : String(t.queueDepth),
    when(t.lastSync),
    t.reconciliation === 'mismatch' ? `mismatch (${t.mismatches ?? '?'})` : t.reconciliation,
    String(t.payments),
    `¥${t.netYuan}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) =>
    '  ' +
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  lines.push(fmt(head));
  if (rows.length === 0) lines.push('  (no terminal seen yet)');
  for (const r of rows) lines.push(fmt(r));
  const c = s.chain;
  lines.push(
    `Chain: ${c.terminals} terminal(s), ${c.cards} card(s), ${c.payments} payment(s), net ¥${c.netYuan}, ` +
      `queued at terminals ${c.queueDepth}; ` +
      `${c.allReconciled ? 'every terminal reconciled' : 'not every terminal reconciled'}; ` +
      `host books ${c.booksBalanced ? 'balanced' : 'NOT balanced'}`,
  );
  return lines;
}

async function cmdStatus(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    url: { type: 'string' },
    token: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    io.out(HELP);
    return EXIT.OK;
  }
  const url =
    (values.url as string | undefined) ??
    process.env[HOST_URL_ENV] ??
    `http://127.0.0.1:${DEFAULT_HOST_PORT}`;
  let client: HttpHost;
  try {
    client = new HttpHost({
      url,
      timeoutMs: 10_000,
      ...(values.token ? { token: values.token as string } : {}),
    });
  } catch (e) {
    throw new UsageError(`--url: ${(e as Error).message}`);
  }
  try {
    const s = await client.status();
    if (values.json) io.out(JSON.stringify({ url: client.url, ...s }, null, 2));
    else for (const l of renderStatus(s, client.url)) io.out(l);
    return EXIT.OK;
  } catch (e) {
    if (e instanceof HostError) throw new InputError(`central host at ${client.url}: ${e.message}`);
    throw e;
  } finally {
    client.close();
  }
}

export async function cmdHost(args: string[], io: CliIo, signal?: AbortSignal): Promise<number> {
  const [action, ...rest] = args;
  switch (action) {
    case 'serve':
      return cmdServe(rest, io, signal);
    case 'status':
      return cmdStatus(rest, io);
    case 'enrol':
    case 'enroll':
    case 'revoke':
    case 'terminals':
      return terminalsCommand(action, rest, io)!;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.out(HELP);
      return action === undefined ? EXIT.USAGE : EXIT.OK;
    default:
      throw new UsageError(`unknown host action '${action}' (serve, status, enrol, revoke or terminals)`);
  }
}
