import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  APP_ORIGIN,
  APP_SCHEME_PRIVILEGES,
  APP_URL,
  CONTENT_SECURITY_POLICY,
  appFileName,
  appWindowOptions,
  createAppProtocolHandler,
  guardSession,
  guardWebContents,
  isAllowedRequestUrl,
  isAppUrl,
  secureWebPreferences,
} from './window-options.ts';

/** The CSP as a map: directive → sources. */
function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...sources]) => [name!, sources]),
  );
}

describe('electron/window-options.ts: the window', () => {
  it('has an isolated, sandboxed renderer without Node', () => {
    const prefs = secureWebPreferences({ preload: '/app/dist/electron/preload.cjs' });
    expect(prefs).toMatchObject({
      preload: '/app/dist/electron/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      spellcheck: false,
      devTools: false,
    });
    expect(prefs).not.toHaveProperty('enableBlinkFeatures');
    expect(prefs).not.toHaveProperty('additionalArguments');
    expect(secureWebPreferences({ preload: 'p', devTools: true }).devTools).toBe(true);
  });

  it('builds the BrowserWindow options on those preferences, hidden until painted', () => {
    const options = appWindowOptions({ preload: 'p.cjs' });
    expect(options.webPreferences).toEqual(secureWebPreferences({ preload: 'p.cjs' }));
    expect(options.show).toBe(false);
    expect(options.title).toContain('SSCard Lab');
  });

  it('registers app:// as a standard secure scheme that cannot bypass the CSP', () => {
    expect(APP_SCHEME_PRIVILEGES.scheme).toBe('app');
    expect(APP_SCHEME_PRIVILEGES.privileges).toMatchObject({ standard: true, secure: true });
    expect(APP_SCHEME_PRIVILEGES.privileges?.bypassCSP).not.toBe(true);
    expect(APP_SCHEME_PRIVILEGES.privileges?.allowServiceWorkers).not.toBe(true);
    expect(APP_URL).toBe('app://sscard/index.html');
    expect(APP_ORIGIN).toBe('app://sscard');
  });
});

describe('electron/window-options.ts: the Content-Security-Policy', () => {
  const csp = directives(CONTENT_SECURITY_POLICY);

  it('denies by default and allows only the app itself', () => {
    expect(csp.get('default-src')).toEqual(["'none'"]);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('style-src')).toEqual(["'self'"]);
    expect(csp.get('connect-src')).toEqual(["'none'"]);
    expect(csp.get('object-src')).toEqual(["'none'"]);
    expect(csp.get('base-uri')).toEqual(["'none'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(csp.get('form-action')).toEqual(["'none'"]);
  });

  it('has no unsafe-inline, unsafe-eval, wildcard or remote source', () => {
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-|wasm-unsafe|\*|https?:|ws:|wss:/);
  });
});

describe('electron/window-options.ts: addresses', () => {
  it.each([
    ['app://sscard/index.html', true],
    ['app://sscard/', true],
    ['app://sscard/app.js?x=1#y', true],
    ['app://sscard.evil/index.html', false],
    ['app://evil/index.html', false],
    ['app://user:pw@sscard/index.html', false],
    ['file:///index.html', false],
    ['https://sscard/index.html', false],
    ['devtools://devtools/bundled/inspector.html', false],
    ['not a url', false],
    ['', false],
  ])('isAppUrl(%s) is %s', (url, expected) => {
    expect(isAppUrl(url)).toBe(expected);
  });

  it.each([
    ['app://sscard/app.js', true],
    ['data:image/png;base64,AAAA', true],
    ['blob:app://sscard/1234', true],
    ['https://example.com/x.js', false],
    ['http://127.0.0.1:5180/', false],
    ['file:///etc/passwd', false],
    ['ws://127.0.0.1/api', false],
    ['app://other/x.js', false],
  ])('the session lets %s through: %s', (url, expected) => {
    expect(isAllowedRequestUrl(url)).toBe(expected);
  });
});

describe('electron/window-options.ts: navigation, new windows, webviews', () => {
  function fakeContents() {
    const listeners = new Map<string, (e: { preventDefault(): void }) => void>();
    let openHandler: ((d: { url: string }) => { action: string }) | null = null;
    return {
      listeners,
      openHandler: () => openHandler,
      on: (event: string, l: (e: { preventDefault(): void }) => void) => {
        listeners.set(event, l);
      },
      setWindowOpenHandler: (h: (d: { url: string }) => { action: string }) => {
        openHandler = h;
      },
    };
  }

  it('refuses every navigation, redirect and <webview>', () => {
    const contents = fakeContents();
    guardWebContents(contents as never);
    for (const event of ['will-navigate', 'will-frame-navigate', 'will-redirect', 'will-attach-webview']) {
      const e = { preventDefault: vi.fn(), url: APP_URL };
      const listener = contents.listeners.get(event);
      expect(listener, event).toBeDefined();
      listener!(e);
      expect(e.preventDefault, event).toHaveBeenCalled();
    }
  });

  it.each(['https://example.com/', APP_URL, 'about:blank', 'file:///etc/passwd'])(
    'denies window.open(%s)',
    (url) => {
      const contents = fakeContents();
      guardWebContents(contents as never);
      expect(contents.openHandler()!({ url })).toEqual({ action: 'deny' });
    },
  );
});

describe('electron/window-options.ts: the session', () => {
  function fakeSession() {
    const s = {
      request: null as null | ((...a: unknown[]) => void),
      check: null as null | ((...a: unknown[]) => boolean),
      device: null as null | ((...a: unknown[]) => boolean),
      spell: true,
      before: null as null | ((d: { url: string }, cb: (r: { cancel?: boolean }) => void) => void),
      headers: null as
        | null
        | ((
            d: { url: string; responseHeaders?: Record<string, string[]> },
            cb: (r: { responseHeaders?: Record<string, string | string[]> }) => void,
          ) => void),
      setPermissionRequestHandler: (h: never) => (s.request = h),
      setPermissionCheckHandler: (h: never) => (s.check = h),
      setDevicePermissionHandler: (h: never) => (s.device = h),
      setSpellCheckerEnabled: (on: boolean) => (s.spell = on),
      webRequest: {
        onBeforeRequest: (h: never) => (s.before = h),
        onHeadersReceived: (h: never) => (s.headers = h),
      },
    };
    guardSession(s as never);
    return s;
  }

  it.each(['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read', 'fileSystem'])(
    'refuses the %s permission',
    (permission) => {
      const s = fakeSession();
      const callback = vi.fn();
      s.request!({}, permission, callback, {});
      expect(callback).toHaveBeenCalledWith(false);
      expect(s.check!({}, permission, APP_ORIGIN, {})).toBe(false);
    },
  );

  it('refuses USB/HID/serial devices and turns the spell checker off', () => {
    const s = fakeSession();
    expect(s.device!({ deviceType: 'usb' })).toBe(false);
    expect(s.spell).toBe(false);
  });

  it('cancels requests that are not the app’s own', () => {
    const s = fakeSession();
    const answer = (url: string) => {
      let r: { cancel?: boolean } = {};
      s.before!({ url }, (x) => (r = x));
      return r.cancel;
    };
    expect(answer('app://sscard/app.js')).toBe(false);
    expect(answer('https://example.com/tracker.js')).toBe(true);
    expect(answer('http://127.0.0.1:8080/')).toBe(true);
  });

  it('puts the strict CSP on responses, replacing any looser one', () => {
    const s = fakeSession();
    let out: { responseHeaders?: Record<string, string | string[]> } = {};
    s.headers!(
      {
        url: 'app://sscard/index.html',
        responseHeaders: {
          'content-security-policy': ["default-src * 'unsafe-inline' 'unsafe-eval'"],
          'Content-Type': ['text/html'],
        },
      },
      (r) => (out = r),
    );
    expect(out.responseHeaders).toEqual({
      'Content-Type': ['text/html'],
      'Content-Security-Policy': [CONTENT_SECURITY_POLICY],
    });
  });
});

describe('electron/window-options.ts: the app:// protocol handler', () => {
  let dir: string;
  let handler: (r: Request) => Promise<Response>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sscard-protocol-'));
    mkdirSync(join(dir, 'renderer', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'renderer', 'index.html'), '<!doctype html><div id="root"></div>');
    writeFileSync(join(dir, 'renderer', 'app.js'), 'console.log(1)');
    writeFileSync(join(dir, 'renderer', 'app.css'), 'body{}');
    writeFileSync(join(dir, 'renderer', '.env'), 'SECRET=1');
    writeFileSync(join(dir, 'renderer', 'sub', 'x.js'), 'SECRET');
    writeFileSync(join(dir, 'secret.js'), 'SECRET');
    writeFileSync(join(dir, 'package.json'), '{"SECRET":1}');
    handler = createAppProtocolHandler((name) => readFile(join(dir, 'renderer', name)).catch(() => null));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const get = (url: string, method = 'GET') => handler(new Request(url, { method }));

  it('serves the page, its script and its styles with the CSP and nosniff', async () => {
    for (const [url, type, text] of [
      ['app://sscard/', 'text/html', 'id="root"'],
      ['app://sscard/index.html', 'text/html', 'id="root"'],
      ['app://sscard/app.js', 'text/javascript', 'console.log'],
      ['app://sscard/app.css', 'text/css', 'body'],
    ] as const) {
      const r = await get(url);
      expect(r.status, url).toBe(200);
      expect(r.headers.get('content-type')).toContain(type);
      expect(r.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await r.text()).toContain(text);
    }
  });

  it.each([
    'app://sscard/../secret.js',
    'app://sscard/%2e%2e/secret.js',
    'app://sscard/%2e%2e%2fsecret.js',
    'app://sscard/..%5csecret.js',
    'app://sscard/sub/x.js',
    'app://sscard/sub%2fx.js',
    'app://sscard/.env',
    'app://sscard/package.json',
    'app://sscard/%00app.js',
    'app://sscard/%E0%A4%A',
    'app://other/app.js',
  ])('never serves anything outside the renderer folder: %s', async (url) => {
    const r = await get(url);
    expect(r.status).toBe(404);
    expect(await r.text()).not.toContain('SECRET');
    expect(r.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
  });

  it('answers HEAD without a body and refuses other methods', async () => {
    const head = await get('app://sscard/app.js', 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await get('app://sscard/app.js', 'POST')).status).toBe(405);
  });

  it('names only plain files of known types', () => {
    expect(appFileName('app://sscard/')).toBe('index.html');
    expect(appFileName('app://sscard/app.js')).toBe('app.js');
    expect(appFileName('app://sscard/better_sqlite3.node')).toBeNull();
    expect(appFileName('app://sscard/ledger.db')).toBeNull();
    expect(appFileName('https://sscard/app.js')).toBeNull();
  });
});
