import { createServer, type IncomingMessage, type Server } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { createCore, toFailure, type Core, type CoreOptions } from '../core/api/create-core.ts';
import { buildRenderer, type RendererBundle } from '../renderer/build.ts';

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
    // DNS rebinding: a page served from another name that resolves to 127.0.0.1 is refused.
    if (!allowedHosts.has(req.headers.host ?? '')) {
      res.writeHead(421, { 'content-type': 'text/plain' }).end('misdirected request');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const path = new URL(req.url ?? '/', origin).pathname;
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
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    const url = new URL(req.url ?? '/', origin);
    const okHost = allowedHosts.has(req.headers.host ?? '');
    const okOrigin =
      req.headers.origin !== undefined && allowedHosts.has(req.headers.origin.replace(/^https?:\/\//, ''));
    if (url.pathname !== '/api' || !okHost || !okOrigin || !sameToken(url.searchParams.get('token'), token)) {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws));
  });

  const serve = (ws: WebSocket) => {
    const off = core.subscribe((event) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event }));
    });
    ws.on('close', off);
    ws.on('message', async (raw) => {
      let msg: { id?: unknown; method?: unknown; args?: unknown };
      try {
        msg = JSON.parse(String(raw)) as typeof msg;
      } catch {
        ws.send(
          JSON.stringify({
            id: null,
            error: { code: 'BAD_ARGUMENTS', zh: '消息不是 JSON', en: 'message is not JSON' },
          }),
        );
        return;
      }
      const id = typeof msg.id === 'number' || typeof msg.id === 'string' ? msg.id : null;
      try {
        const result = await core.call(msg.method, msg.args);
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id, result: result ?? null }));
      } catch (e) {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id, error: toFailure(e) }));
      }
    });
  };

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
