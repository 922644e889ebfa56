import type {
  BrowserWindowConstructorOptions,
  CustomScheme,
  Session,
  WebContents,
  WebPreferences,
} from 'electron';

/*
 * The Electron app's security settings, in one module with no runtime imports: electron/main.ts
 * applies them, the unit tests and e2e/app-security.test.ts check them with fakes (the Electron
 * binary is not needed), and the sandboxed preload may import the channel names from here.
 */

/**
 * The renderer is served from a custom scheme, `app://sscard/…`, registered as standard and
 * secure: it gets a real origin (so `'self'` in the CSP and localStorage work), no file://
 * privileges, and only the files of dist/renderer can be read through it.
 */
export const APP_SCHEME = 'app';
export const APP_HOST = 'sscard';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_URL = `${APP_ORIGIN}/index.html`;

/** The two IPC channels: renderer → main calls, main → renderer events. */
export const CHANNELS = Object.freeze({ call: 'sscard:call', event: 'sscard:event' } as const);

/**
 * Privileges of the app:// scheme (protocol.registerSchemesAsPrivileged, before `ready`).
 * Never `bypassCSP`, never service workers.
 */
export const APP_SCHEME_PRIVILEGES: CustomScheme = Object.freeze({
  scheme: APP_SCHEME,
  privileges: Object.freeze({
    standard: true,
    secure: true,
    supportFetchAPI: true,
    // Module scripts (<script type="module">) are fetched in CORS mode; same origin only.
    corsEnabled: true,
    bypassCSP: false,
    allowServiceWorkers: false,
    stream: false,
  }),
});

/**
 * The page's Content-Security-Policy: only the app's own scripts and styles, no inline code,
 * no eval, no network (the Api is IPC, not a connection), no frames, no plugins.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "frame-src 'none'",
  "worker-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers sent with every app:// response. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
});

/** The renderer's webPreferences: an isolated, sandboxed page with one preload and no Node. */
export function secureWebPreferences(options: { preload: string; devTools?: boolean }): WebPreferences {
  return {
    preload: options.preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    enableWebSQL: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    safeDialogs: true,
    devTools: options.devTools ?? false,
  };
}

/** The till window. `show: false` until the first paint (no white flash). */
export function appWindowOptions(options: {
  preload: string;
  devTools?: boolean;
}): BrowserWindowConstructorOptions {
  return {
    width: 1366,
    height: 900,
    minWidth: 1024,
    minHeight: 700,
    title: '社保卡终端实验室 SSCard Lab',
    show: false,
    backgroundColor: '#ffffff',
    autoHideMenuBar: true,
    webPreferences: secureWebPreferences(options),
  };
}

/** True for an address of the app itself: app://sscard/… (and nothing else). */
export function isAppUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  // Not `.origin`: WHATWG URL gives 'null' as the origin of a non-special scheme.
  return (
    parsed.protocol === `${APP_SCHEME}:` &&
    parsed.host === APP_HOST &&
    parsed.username === '' &&
    parsed.password === ''
  );
}

/** The parts of WebContents the guards use (a fake in the tests). */
export type GuardedContents = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

/**
 * Navigation and new windows are refused for every web contents: the app is one page, loaded
 * once by the main process (loadURL does not raise `will-navigate`). Links, `window.open`,
 * dropped files, redirects and <webview> all stop here.
 */
export function guardWebContents(contents: GuardedContents): void {
  const deny = (e: { preventDefault(): void }) => e.preventDefault();
  contents.on('will-navigate', deny);
  contents.on('will-frame-navigate', deny);
  contents.on('will-redirect', deny);
  contents.on('will-attach-webview', deny);
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/** The parts of Session the guards use (a fake in the tests). */
export type GuardedSession = Pick<
  Session,
  | 'setPermissionRequestHandler'
  | 'setPermissionCheckHandler'
  | 'setDevicePermissionHandler'
  | 'setSpellCheckerEnabled'
> & {
  webRequest: Pick<Session['webRequest'], 'onHeadersReceived' | 'onBeforeRequest'>;
};

/** Schemes the app's session may request: its own files and what the page itself makes. */
const ALLOWED_REQUEST_SCHEMES = new Set([`${APP_SCHEME}:`, 'data:', 'blob:', 'devtools:']);

export function isAllowedRequestUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    if (protocol === `${APP_SCHEME}:`) return isAppUrl(url);
    return ALLOWED_REQUEST_SCHEMES.has(protocol);
  } catch {
    return false;
  }
}

/**
 * Session-wide guards: every permission (camera, notifications, USB, HID, serial…) refused,
 * every request that is not the app's own refused, and the CSP added to any response that
 * reaches the page (app:// responses carry it already; this is the second lock).
 */
export function guardSession(session: GuardedSession): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
  session.setSpellCheckerEnabled(false);
  session.webRequest.onBeforeRequest((details, callback) =>
    callback({ cancel: !isAllowedRequestUrl(details.url) }),
  );
  session.webRequest.onHeadersReceived((details, callback) => {
    // DevTools (development only) has its own policy.
    if (details.url.startsWith('devtools:')) return callback({});
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(details.responseHeaders ?? {})) {
      if (name.toLowerCase() !== 'content-security-policy') headers[name] = value;
    }
    headers['Content-Security-Policy'] = [CONTENT_SECURITY_POLICY];
    callback({ responseHeaders: headers });
  });
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  woff2: 'font/woff2',
};

/**
 * The file an app:// address names, or null: one plain file name in dist/renderer ('/' is
 * index.html). No folders, no dot files, no encoded separators, so no way out of the folder.
 */
export function appFileName(url: string): string | null {
  if (!isAppUrl(url)) return null;
  let name: string;
  try {
    name = decodeURIComponent(new URL(url).pathname);
  } catch {
    return null;
  }
  if (name === '/' || name === '') return 'index.html';
  name = name.slice(1);
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name) || name.includes('..')) return null;
  const ext = name.split('.').pop() ?? '';
  return ext in CONTENT_TYPES ? name : null;
}

/**
 * The app:// handler (protocol.handle): serves dist/renderer files with the security headers.
 * `readFile` gets a checked plain file name and returns its bytes, or null when missing.
 */
export function createAppProtocolHandler(
  readFile: (name: string) => Promise<Uint8Array<ArrayBuffer> | null>,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const plain = (status: number, text: string) =>
      new Response(text, {
        status,
        headers: { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' },
      });
    if (request.method !== 'GET' && request.method !== 'HEAD') return plain(405, 'method not allowed');
    const name = appFileName(request.url);
    if (!name) return plain(404, 'not found');
    let body: Uint8Array<ArrayBuffer> | null;
    try {
      body = await readFile(name);
    } catch {
      body = null;
    }
    if (!body) return plain(404, 'not found');
    const type = CONTENT_TYPES[name.split('.').pop() ?? ''] ?? 'application/octet-stream';
    return new Response(request.method === 'HEAD' ? null : body, {
      status: 200,
      headers: { ...SECURITY_HEADERS, 'content-type': type },
    });
  };
}
