import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import { openPinBlock } from '../terminal-keys.ts';
import { HostError, type HostErrorCode } from '../types.ts';
import { connectionFailure, PgHost, type PgHostOptions } from './pg-host.ts';
import { BODIES, ROUTES, type WireError } from './protocol.ts';
import {
  AuthError,
  authenticate,
  requireOwnPayment,
  requireOwnTerminal,
  requireTerminalHeaders,
  signOn,
  type Caller,
} from './terminal-auth.ts';

/**
 * The central host as a network service: node:http (node:https with a certificate), one POST
 * route per Host method plus card registration, terminal reports and sign-on, GET /v1/status
 * and GET /health (protocol.ts). Every body is validated with zod before the host sees it;
 * HostErrors go back typed.
 *
 * Every till route is bound to the till's own credential (terminal-auth.ts): the session, a
 * fresh sequence number and the MAC are checked before the body is parsed; the terminal id a
 * body names must be the credential's, and a refund or reversal must be of the till's own
 * payment. The password arrives only as a PIN block, opened in memory to check it against the
 * stored hash. The operator token (Authorization: Bearer …) admits /v1/status. Beyond loopback
 * the host serves only over TLS and with an operator token.
 */
export interface HostServerOptions extends PgHostOptions {
  /** Address to bind; default 127.0.0.1. */
  readonly host?: string;
  /** Port; 0 (default) picks a free one. */
  readonly port?: number;
  /** The operator's token /v1/status needs (Authorization: Bearer <token>); none by default. */
  readonly token?: string;
  /** Serve over TLS with this certificate and key (PEM). Required beyond loopback. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** Where operational messages go (never request bodies); default nowhere. */
  readonly log?: (line: string) => void;
}

export interface HostServer {
  readonly url: string;
  readonly port: number;
  readonly host: PgHost;
  readonly server: Server;
  close(): Promise<void>;
}

const MAX_BODY = 2 * 1024 * 1024;

const STATUS_OF: Partial<Record<HostErrorCode, number>> = {
  INVALID_REQUEST: 400,
  UNKNOWN_CARD: 404,
  UNKNOWN_PAYMENT: 404,
  PAYMENT_VOIDED: 409,
  CARD_NOT_USABLE: 422,
  WRONG_PASSWORD: 422,
  PASSWORD_LOCKED: 422,
  INSUFFICIENT_FUNDS: 422,
  HOST_DOWN: 503,
  HOST_TIMEOUT: 504,
};

class BadBody extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/**
 * Reads a body of at most MAX_BODY bytes. A declared or actual size over it is refused with 413
 * without reading further (the connection is closed after the answer).
 */
function readRaw(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (Number.isFinite(declared) && declared > MAX_BODY) {
      reject(new BadBody(`request body of ${declared} bytes is over the limit of ${MAX_BODY} bytes`, 413));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > MAX_BODY) {
        over = true;
        chunks.length = 0;
        reject(new BadBody(`request body over the limit of ${MAX_BODY} bytes`, 413));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

/** A body as JSON: 400 when it is not UTF-8 or not JSON. */
function parseBody(raw: Buffer): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new BadBody('request body is not UTF-8');
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new BadBody('request body is not JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
    'cache-control': 'no-store',
  });
  res.end(json);
}

function sendError(res: ServerResponse, status: number, error: WireError): void {
  send(res, status, { error });
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function problems(route: string, error: z.ZodError): string {
  // Field paths and rules only: a value (a password) is never echoed back.
  return `${route}: ${error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`;
}

type Handler = (body: unknown, caller: Caller) => Promise<unknown>;

/** A terminal id in a body must be the caller's. */
const own = (caller: Caller, terminalId: string, what: string) =>
  requireOwnTerminal(caller, terminalId, what);

/**
 * Builds the route table of a PgHost; each handler gets a body its schema already accepted and
 * the terminal its credential proved.
 */
function routes(host: PgHost): Map<string, { schema: z.ZodType; run: Handler }> {
  const r = new Map<string, { schema: z.ZodType; run: Handler }>();
  const add = <S extends z.ZodType>(
    path: string,
    schema: S,
    run: (b: z.infer<S>, caller: Caller) => Promise<unknown>,
  ) => r.set(path, { schema, run: run as Handler });
  add(ROUTES.verifyPassword, BODIES.verifyPassword, (b, caller) => {
    let password: string;
    try {
      password = openPinBlock(caller.alg, caller.pinKey, b.pinBlock, b.cardId);
    } catch (e) {
      throw new HostError('INVALID_REQUEST', `pinBlock: ${(e as Error).message}`);
    }
    return host.verifyPassword(b.cardId, password);
  });
  add(ROUTES.balances, BODIES.balances, (b) => host.balances(b.cardId));
  add(ROUTES.cardStatus, BODIES.cardStatus, (b) => host.cardStatus(b.cardId));
  add(ROUTES.pay, BODIES.pay, (b, caller) => {
    own(caller, b.terminalId, `payment ${b.paymentId}`);
    return host.pay(b);
  });
  add(ROUTES.forward, BODIES.forward, (b, caller) => {
    own(caller, b.terminalId, `payment ${b.paymentId}`);
    return host.forward(b);
  });
  add(ROUTES.forwardBatch, BODIES.forwardBatch, (b, caller) => {
    for (const p of b.requests) own(caller, p.terminalId, `payment ${p.paymentId}`);
    return host.forwardBatch(b.requests);
  });
  add(ROUTES.reverse, BODIES.reverse, async (b, caller) => {
    await requireOwnPayment(host.pool, caller, b.paymentId);
    return host.reverse(b.reversalId, b.paymentId, b.at);
  });
  add(ROUTES.refund, BODIES.refund, async (b, caller) => {
    await requireOwnPayment(host.pool, caller, b.paymentId);
    return host.refund(b.refundId, b.paymentId, b.amountFen, b.at);
  });
  add(ROUTES.records, BODIES.records, (b, caller) => {
    own(caller, b.terminalId, 'records');
    return host.records(b.terminalId, b.date);
  });
  add(ROUTES.registerCard, BODIES.registerCard, (b, caller) => {
    own(caller, b.terminalId, `registration of card ${b.cardId}`);
    return host.registerCard(b);
  });
  add(ROUTES.report, BODIES.report, async (b, caller) => {
    own(caller, b.terminalId, 'report');
    await host.reportTerminal(b);
    return { ok: true };
  });
  return r;
}

/** Loopback addresses: the only ones the host serves on without TLS and an operator token. */
export function isLoopback(address: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) || address === '::1' || address === 'localhost';
}

/** Serves a PgHost (or opens one from options) over HTTP until close(). */
export async function startHostServer(options: HostServerOptions & { pgHost?: PgHost }): Promise<HostServer> {
  const log = options.log ?? (() => undefined);
  const host = options.pgHost ?? (await PgHost.open(options));
  const table = routes(host);
  const token = options.token && options.token.length > 0 ? options.token : null;
  const bind = options.host ?? '127.0.0.1';
  if (!isLoopback(bind) && (!options.tls || !token)) {
    if (!options.pgHost) await host.close();
    throw new TypeError(
      `the central host listens beyond loopback (${bind}) only over TLS and with an operator token: ` +
        'give --tls-cert/--tls-key (or let it make a self-signed pair) and --token',
    );
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === ROUTES.health && req.method === 'GET') {
      // Unauthenticated: says only whether the host and its database answer.
      try {
        await host.pool.query('SELECT 1');
        return send(res, 200, { ok: true, database: 'up' });
      } catch {
        return send(res, 503, { ok: false, database: 'down' });
      }
    }
    if (path === ROUTES.status && req.method === 'GET') {
      if (token) {
        const auth = req.headers.authorization ?? '';
        const given = auth.startsWith('Bearer ') ? auth.slice(7) : '';
        if (!sameToken(given, token)) {
          return sendError(res, 401, { code: 'UNAUTHORIZED', message: 'missing or wrong operator token' });
        }
      }
      return send(res, 200, { result: await host.status() });
    }
    if (path === ROUTES.signOn) {
      if (req.method !== 'POST')
        return sendError(res, 405, { code: 'INVALID_REQUEST', message: `${path} takes POST` });
      const raw = await readRaw(req);
      const parsed = BODIES.signOn.safeParse(parseBody(raw));
      if (!parsed.success) {
        return sendError(res, 400, { code: 'INVALID_REQUEST', message: problems(path, parsed.error) });
      }
      const answer = await signOn(host.pool, req.headers, raw, parsed.data, new Date());
      log(`terminal ${parsed.data.terminalId} signed on`);
      return send(res, 200, { result: answer });
    }
    const route = table.get(path);
    if (!route) return sendError(res, 404, { code: 'NOT_FOUND', message: `no route ${req.method} ${path}` });
    if (req.method !== 'POST')
      return sendError(res, 405, { code: 'INVALID_REQUEST', message: `${path} takes POST` });
    // A request without a terminal credential is refused before its body is read.
    requireTerminalHeaders(req.headers);
    const raw = await readRaw(req);
    const caller = await authenticate(host.pool, req.headers, 'POST', path, raw);
    const parsed = route.schema.safeParse(parseBody(raw));
    if (!parsed.success) {
      return sendError(res, 400, { code: 'INVALID_REQUEST', message: problems(path, parsed.error) });
    }
    const result = await route.run(parsed.data, caller);
    send(res, 200, { result });
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof AuthError) {
        log(`refused ${req.url ?? '?'}: ${e.code}`);
        return sendError(res, e.status, { code: e.code, message: e.message });
      }
      if (e instanceof BadBody) {
        // An oversized body is not read to its end: the connection closes after the answer.
        if (e.status === 413) res.setHeader('connection', 'close');
        return sendError(res, e.status, { code: 'INVALID_REQUEST', message: e.message });
      }
      if (e instanceof HostError) {
        return sendError(res, STATUS_OF[e.code] ?? 400, {
          code: e.code,
          message: e.message,
          ...(e.triesLeft !== undefined ? { triesLeft: e.triesLeft } : {}),
        });
      }
      const lost = connectionFailure(e);
      if (lost !== null) {
        log(`database ${lost === 'refused' ? 'unreachable' : 'connection lost'}: ${(e as Error).message}`);
        return lost === 'refused'
          ? sendError(res, 503, {
              code: 'HOST_DOWN',
              message: 'the central host cannot reach its database; nothing was applied',
            })
          : sendError(res, 504, {
              code: 'HOST_TIMEOUT',
              message:
                'the central host lost its database connection; the request may or may not have been applied',
            });
      }
      log(`internal error on ${req.url ?? '?'}: ${e instanceof Error ? e.message : String(e)}`);
      sendError(res, 500, {
        code: 'HOST_FAILED',
        message: `host failed: ${e instanceof Error ? e.message : String(e)}; the request may or may not have been applied`,
      });
    });
  };
  const server: Server = options.tls
    ? createTlsServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, listener)
    : createServer(listener);
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 35_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, bind, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    if (!options.pgHost) await host.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const shown = bind.includes(':') ? `[${bind}]` : bind;
  return {
    url: `${options.tls ? 'https' : 'http'}://${shown === '0.0.0.0' ? '127.0.0.1' : shown}:${port}`,
    port,
    host,
    server,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (!options.pgHost) await host.close();
    },
  };
}
