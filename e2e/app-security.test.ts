import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createCore, type Core } from '../core/api/create-core.ts';
import { AppWindows, createCallHandler, type IpcCallEvent } from '../electron/ipc.ts';
import {
  APP_SCHEME_PRIVILEGES,
  APP_URL,
  CONTENT_SECURITY_POLICY,
  appWindowOptions,
  createAppProtocolHandler,
  guardWebContents,
} from '../electron/window-options.ts';
import { startHostServer, type HostServer } from '../core/host/server/http-server.ts';
import { freshDatabase, releaseTestServer } from '../test/harness/host/pg-test-support.ts';
import { WEB_HOST_ADDRESS, contentSecurityPolicy, startWebHost, type WebHost } from '../web/server.ts';

/*
 * The app's security settings as a regression check: each test fails if one of them is
 * weakened — the Electron window (sandbox, isolation, no Node), the CSP of both front ends,
 * the IPC sender checks, the web host's token, Origin, Host and loopback-only rules, and the
 * central host's loopback default and token.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

function assertStrictCsp(csp: string) {
  const d = new Map(
    csp
      .split(';')
      .map((x) => x.trim().split(/\s+/))
      .filter((x) => x[0])
      .map(([k, ...v]) => [k!, v]),
  );
  expect(['none', 'self'].map((s) => `'${s}'`)).toContain(d.get('default-src')?.join(' '));
  expect(d.get('script-src') ?? d.get('default-src')).toEqual(["'self'"]);
  expect(d.get('object-src') ?? d.get('default-src')).not.toContain('*');
  expect(d.get('frame-ancestors')).toEqual(["'none'"]);
  expect(d.get('base-uri')).toEqual(["'none'"]);
  expect(csp).not.toMatch(
    /'unsafe-inline'|'unsafe-eval'|'unsafe-hashes'|'wasm-unsafe-eval'|'strict-dynamic'/,
  );
  expect(csp).not.toMatch(/(^|\s)(\*|https?:|wss?:)(\s|;|$)/);
  for (const [name, sources] of d) {
    if (name === 'script-src' || name === 'default-src') expect(sources).not.toContain('data:');
  }
}

describe('app security: the Electron window', () => {
  const options = appWindowOptions({ preload: '/app/preload.cjs' });
  const prefs = options.webPreferences!;

  it('keeps the renderer sandboxed and isolated, without Node', () => {
    expect(prefs.sandbox).toBe(true);
    expect(prefs.contextIsolation).toBe(true);
    expect(prefs.nodeIntegration).toBe(false);
    expect(prefs.nodeIntegrationInWorker).toBe(false);
    expect(prefs.nodeIntegrationInSubFrames).toBe(false);
    expect(prefs.webSecurity).toBe(true);
    expect(prefs.allowRunningInsecureContent).toBe(false);
    expect(prefs.webviewTag).toBe(false);
    expect(prefs.experimentalFeatures).toBe(false);
    expect(prefs.devTools).toBe(false);
  });

  it('serves the page from app:// with a strict CSP that the scheme cannot bypass', async () => {
    assertStrictCsp(CONTENT_SECURITY_POLICY);
    expect(APP_SCHEME_PRIVILEGES.privileges?.bypassCSP).not.toBe(true);
    const handler = createAppProtocolHandler(async () => new Uint8Array(Buffer.from('<html>')));
    const r = await handler(new Request(APP_URL));
    expect(r.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('blocks navigation and new windows', () => {
    const on = new Map<string, (e: { preventDefault(): void }) => void>();
    let open: ((d: { url: string }) => unknown) | undefined;
    guardWebContents({
      on: (e: string, l: never) => on.set(e, l),
      setWindowOpenHandler: (h: never) => (open = h),
    } as never);
    for (const event of ['will-navigate', 'will-frame-navigate', 'will-redirect', 'will-attach-webview']) {
      let prevented = false;
      on.get(event)?.({ preventDefault: () => (prevented = true) });
      expect(prevented, event).toBe(true);
    }
    expect(open?.({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
  });

  it('main.ts applies those settings and nothing in electron/ weakens them', () => {
    const main = readFileSync(join(ROOT, 'electron/main.ts'), 'utf8');
    expect(main).toContain('new BrowserWindow(appWindowOptions(');
    expect(main).toContain('registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES])');
    expect(main).toContain('app.enableSandbox()');
    expect(main).toMatch(/web-contents-created.*guardWebContents/);
    expect(main).toContain('guardSession(session.defaultSession)');
    expect(main).toContain('registerIpc(');
    const sources = readdirSync(join(ROOT, 'electron'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => [f, readFileSync(join(ROOT, 'electron', f), 'utf8')] as const);
    for (const [file, text] of sources) {
      expect(text, file).not.toMatch(
        /nodeIntegration\w*:\s*true|contextIsolation:\s*false|sandbox:\s*false|webSecurity:\s*false|allowRunningInsecureContent:\s*true|webviewTag:\s*true|bypassCSP:\s*true|unsafe-eval|unsafe-inline|action:\s*'allow'|callback\(true\)/,
      );
    }
    const preload = readFileSync(join(ROOT, 'electron/preload.ts'), 'utf8');
    expect(preload.match(/exposeInMainWorld\(/g)).toHaveLength(1);
    expect(preload).not.toMatch(/exposeInMainWorld\([^)]*ipcRenderer\s*\)/);
  });
});

describe('app security: the IPC sender checks', () => {
  let dir: string;
  let core: Core;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sscard-sec-ipc-'));
    core = await createCore({ dbPath: join(dir, 'ledger.db') });
  });
  afterAll(async () => {
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the app window and refuses every other sender', async () => {
    const windows = new AppWindows();
    const contents = (id: number, url = APP_URL) => ({
      id,
      isDestroyed: () => false,
      getURL: () => url,
      send: () => {},
      once: () => {},
    });
    windows.track(contents(1));
    const handler = createCallHandler({ core, windows });
    const ev = (id: number, url: string | null, parent: unknown = null): IpcCallEvent => ({
      sender: { id },
      senderFrame: url === null ? null : ({ url, parent } as never),
    });
    expect(await handler(ev(1, APP_URL), 'workspace', {})).toMatchObject({ ok: true });
    for (const [why, event] of [
      ['another web contents', ev(2, APP_URL)],
      ['another page in the app window', ev(1, 'https://evil.example/')],
      ['a file:// page', ev(1, `file://${ROOT}dist/renderer/index.html`)],
      ['a subframe', ev(1, APP_URL, { url: APP_URL })],
      ['a frame that is gone', ev(1, null)],
    ] as const) {
      expect(await handler(event, 'workspace', {}), why).toMatchObject({
        ok: false,
        error: { code: 'UNAUTHORIZED' },
      });
    }
    expect(await handler(ev(1, APP_URL), 'no.such.method', {})).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_METHOD' },
    });
    expect(await handler(ev(1, APP_URL), 'enterPin', { pin: 'abc' })).toMatchObject({
      ok: false,
      error: { code: 'BAD_ARGUMENTS' },
    });
  });
});

describe('app security: the web host (npm run web)', () => {
  let dir: string;
  let host: WebHost;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sscard-sec-web-'));
    const page = { contentType: 'text/html; charset=utf-8', body: Buffer.from('<div id="root"></div>') };
    host = await startWebHost({
      dbPath: join(dir, 'ledger.db'),
      port: 0,
      bundle: { files: new Map([['index.html', page]]) },
    });
  });
  afterAll(async () => {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** 'open' or the HTTP status the upgrade was refused with. */
  function tryConnect(path: string, options: WebSocket.ClientOptions): Promise<'open' | number | string> {
    return new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${host.port}${path}`, options);
      ws.once('open', () => {
        ws.close();
        resolve('open');
      });
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.once('error', (e) => resolve(e.message));
    });
  }

  it('accepts the page itself: its Origin, its Host and the token', async () => {
    expect(await tryConnect(`/api?token=${host.token}`, { origin: host.origin })).toBe('open');
    // The same request with its Host header written out: the forged-Host case below is real.
    const headers = { host: `127.0.0.1:${host.port}` };
    expect(await tryConnect(`/api?token=${host.token}`, { origin: host.origin, headers })).toBe('open');
  });

  it.each([
    ['no token', () => '/api', () => ({ origin: host.origin })],
    ['a wrong token', () => `/api?token=${host.token.slice(0, -2)}xx`, () => ({ origin: host.origin })],
    ['another Origin', () => `/api?token=${host.token}`, () => ({ origin: 'https://evil.example' })],
    [
      'a look-alike Origin',
      () => `/api?token=${host.token}`,
      () => ({ origin: `http://127.0.0.1.evil.example:${host.port}` }),
    ],
    ['no Origin', () => `/api?token=${host.token}`, () => ({})],
    [
      'another Host header (DNS rebinding)',
      () => `/api?token=${host.token}`,
      () => ({ origin: host.origin, headers: { host: `evil.example:${host.port}` } }),
    ],
    ['another path', () => `/other?token=${host.token}`, () => ({ origin: host.origin })],
  ])('refuses a WebSocket with %s', async (_why, path, options) => {
    expect(await tryConnect(path(), options())).toBe(403);
  });

  it('serves the page with a strict CSP and refuses another Host header', async () => {
    const r = await fetch(`${host.origin}/`);
    expect(r.status).toBe(200);
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toBe(contentSecurityPolicy(host.origin));
    assertStrictCsp(csp);
    expect(csp).toMatch(new RegExp(`connect-src ws://127\\.0\\.0\\.1:${host.port}(;|$)`));
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    const rebound = await new Promise<number>((resolve, reject) => {
      const headers = { host: 'evil.example' };
      httpGet({ host: '127.0.0.1', port: host.port, path: '/', headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(rebound).toBe(421);
  });

  it('listens on 127.0.0.1 only', async () => {
    expect(WEB_HOST_ADDRESS).toBe('127.0.0.1');
    expect(host.origin).toBe(`http://127.0.0.1:${host.port}`);
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.address !== '127.0.0.1')
      .map((a) => a!.address);
    for (const address of [...new Set([...others, '::1'])]) {
      const reached = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: address, port: host.port, timeout: 2000 });
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
        socket.once('timeout', () => {
          socket.destroy();
          resolve(false);
        });
      });
      expect(reached, `reachable on ${address}`).toBe(false);
    }
  });
});

describe('app security: the central host (sscard host serve)', () => {
  let central: HostServer;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const db = await freshDatabase('app-security');
    drop = db.drop;
    central = await startHostServer({ connectionString: db.url, poolSize: 2, token: 'chain-secret' });
  }, 60_000);

  afterAll(async () => {
    await central?.close();
    await drop?.();
    await releaseTestServer();
  });

  const status = (path: string, headers: Record<string, string> = {}) =>
    new Promise<{ code: number; body: string }>((resolve, reject) => {
      httpGet(`${central.url}${path}`, { headers }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });

  it('listens on 127.0.0.1 unless told otherwise', () => {
    expect(new URL(central.url).hostname).toBe('127.0.0.1');
    const address = central.server.address();
    expect(typeof address === 'object' && address?.address).toBe('127.0.0.1');
  });

  it('refuses every request without the token, or with a wrong one, and never echoes it', async () => {
    expect((await status('/v1/status')).code).toBe(401);
    const wrong = await status('/v1/status', { authorization: 'Bearer chain-secreT' });
    expect(wrong.code).toBe(401);
    expect(wrong.body).not.toContain('chain-secre');
    expect((await status('/v1/status', { authorization: 'Bearer chain-secret' })).code).toBe(200);
    // /health says only whether the host and its database answer.
    const health = await status('/health');
    expect(health.code).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ ok: true, database: 'up' });
  });
});
