import { createServer, type IncomingMessage, type Server } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { createCore, type Core, type CoreOptions } from '../core/api/create-core.ts';
import { buildRenderer, type RendererBundle } from '../renderer/build.ts';
import { API_MESSAGE_MAX_BYTES } from '../renderer/upload-limits.ts';
import { serveApi } from './api-session.ts';

export interface WebHostOptions extends CoreOptions {
  /** 0 picks a free port. */
  port?: number;
  /** A fixed token (tests); by default a new random one per run. */
  token?: string;
  /** A pre-built renderer (tests share one build). */
  bundle?: RendererBundle;
}

export interface WebHost {
  /** The address to open, with the token in the fragment (never sent to the server or logged). */
  url: string;
  origin: string;
  port: number;
  token: string;
  core: Core;
  close(): Promise<void>;
}

/** The host only listens on loopback: it is a local till, not a network service. */
export const WEB_HOST_ADDRESS = '127.0.0.1';

/** Connections open at once (page loads and WebSockets together); more are closed on arrival. */
export const WEB_HOST_MAX_CONNECTIONS = 256;

export function contentSecurityPolicy(origin: string): string {
  const ws = origin.replace(/^http/, 'ws');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src ${ws}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * The path of a request target, or null when it is not one this host serves: only the
 * origin form (`/path?query`, RFC 9112 §3.2.1) that browsers send to a server; an absolute
 * URL (`GET http://[ HTTP/1.1`), `*`, `//other-host/…` or anything unparsable is a 400.
 */
export function requestTarget(raw: string | undefined): URL | null {
  if (!raw || !raw.startsWith('/') || raw.startsWith('//')) return null;
  try {
    const url = new URL(raw, 'http://127.0.0.1');
    return url.host === '127.0.0.1' ? url : null;
  } catch {
    return null;
  }
}

/** Answers a socket that will not become a WebSocket, then closes it; never throws. */
function refuseUpgrade(socket: Duplex, status: '400 Bad Request' | '403 Forbidden'): void {
  if (socket.destroyed) return;
  socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () =>
    socket.destroy(),
  );
}

function sameToken(given: string | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * `npm run web`: the renderer and the Api on 127.0.0.1. Static files need no token (they are
 * the app's code); the WebSocket needs the per-run token and the page's own origin, so
 * another web page in the same browser cannot drive the till.
 */
export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const [bundle, core] = await Promise.all([options.bundle ?? buildRenderer(), createCore(options)]);
  let origin = '';
  let allowedHosts = new Set<string>();

  const server: Server = createServer((req, res) => {
    try {
      // DNS rebinding: a page served from another name that resolves to 127.0.0.1 is refused.
      if (!allowedHosts.has(req.headers.host ?? '')) {
        res.writeHead(421, { 'content-type': 'text/plain' }).end('misdirected request');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      const target = requestTarget(req.url);
      if (!target) {
        res.writeHead(400, { 'content-type': 'text/plain', connection: 'close' }).end('bad request target');
        return;
      }
      const path = target.pathname;
      const name = path === '/' ? 'index.html' : path.slice(1);
      const file = bundle.files.get(name);
      if (!file) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, {
        'content-type': file.contentType,
        'content-security-policy': contentSecurityPolicy(origin),
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-resource-policy': 'same-origin',
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : file.body);
    } catch {
      // Nothing above should throw; if it does, this request fails, not the host.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain', connection: 'close' });
      res.end('internal error');
    }
  });
  // A slow or silent client cannot hold a request open for long (Node's defaults are minutes).
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  // A local till has a tab or two open; a flood of connections is cut off at the door instead
  // of running the process out of file descriptors.
  server.maxConnections = WEB_HOST_MAX_CONNECTIONS;

  const wss = new WebSocketServer({ noServer: true, maxPayload: API_MESSAGE_MAX_BYTES });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // The socket is ours until ws takes it: a reset by the client must not become an
    // unhandled 'error' event.
    socket.on('error', () => socket.destroy());
    const target = requestTarget(req.url);
    if (!target || req.method !== 'GET') {
      refuseUpgrade(socket, '400 Bad Request');
      return;
    }
    const okHost = allowedHosts.has(req.headers.host ?? '');
    const okOrigin =
      req.headers.origin !== undefined && allowedHosts.has(req.headers.origin.replace(/^https?:\/\//, ''));
    if (
      target.pathname !== '/api' ||
      !okHost ||
      !okOrigin ||
      !sameToken(target.searchParams.get('token'), token)
    ) {
      refuseUpgrade(socket, '403 Forbidden');
      return;
    }
    // ws answers 400 itself for a handshake it cannot accept (key, version, headers).
    wss.handleUpgrade(req, socket, head, (ws) => serveApi(core, ws));
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, WEB_HOST_ADDRESS, () => resolve());
    });
  } catch (e) {
    // A busy port: nothing may stay open behind the failure.
    await core.close();
    throw e;
  }
  // Once listening, a failure to accept one connection (out of descriptors, say) is that
  // connection's: the host reports it and goes on.
  server.on('error', (e) => console.error(`web host: ${e.message}`));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  origin = `http://${WEB_HOST_ADDRESS}:${port}`;
  allowedHosts = new Set([`${WEB_HOST_ADDRESS}:${port}`, `localhost:${port}`]);

  return {
    url: `${origin}/#token=${token}`,
    origin,
    port,
    token,
    core,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await core.close();
    },
  };
}
