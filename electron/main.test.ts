import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { APP_SCHEME_PRIVILEGES, APP_URL, CHANNELS, secureWebPreferences } from './window-options.ts';

/*
 * electron/main.ts against a fake `electron` (the binary cannot run here): checks that the
 * main process really applies window-options.ts and ipc.ts, in the right order.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const fake = vi.hoisted(() => {
  const order: string[] = [];
  const appListeners = new Map<string, ((...a: unknown[]) => void)[]>();
  const handlers = new Map<string, (...a: unknown[]) => unknown>();
  const windows: { options: Record<string, unknown>; webContents: InstanceType<typeof FakeContents> }[] = [];
  let ready!: () => void;
  const whenReady = new Promise<void>((r) => (ready = r));
  let nextId = 100;

  class FakeContents {
    id = nextId++;
    url = '';
    destroyed = false;
    sent: unknown[][] = [];
    listeners = new Map<string, (...a: unknown[]) => void>();
    openHandler: ((d: { url: string }) => unknown) | null = null;
    mainFrame = { url: '', parent: null };
    isDestroyed = () => this.destroyed;
    getURL = () => this.url;
    send = (...a: unknown[]) => this.sent.push(a);
    on = (e: string, l: (...a: unknown[]) => void) => this.listeners.set(e, l);
    once = (e: string, l: (...a: unknown[]) => void) => this.listeners.set(e, l);
    setWindowOpenHandler = (h: (d: { url: string }) => unknown) => (this.openHandler = h);
  }
  class FakeWindow {
    webContents = new FakeContents();
    shown = false;
    constructor(readonly options: Record<string, unknown>) {
      order.push('new BrowserWindow');
      windows.push(this);
      for (const l of appListeners.get('web-contents-created') ?? []) l({}, this.webContents);
    }
    once = (e: string, l: () => void) => (e === 'ready-to-show' ? queueMicrotask(l) : undefined);
    show = () => (this.shown = true);
    loadURL = async (url: string) => {
      this.webContents.url = url;
      this.webContents.mainFrame.url = url;
    };
    static getAllWindows = () => windows;
  }
  const session = {
    permissionRequest: null as null | ((...a: unknown[]) => void),
    setPermissionRequestHandler: (h: never) => (session.permissionRequest = h),
    setPermissionCheckHandler: () => {},
    setDevicePermissionHandler: () => {},
    setSpellCheckerEnabled: () => {},
    webRequest: { onBeforeRequest: () => {}, onHeadersReceived: () => {} },
  };
  const electron = {
    app: {
      isPackaged: false,
      paths: new Map<string, string>(),
      enableSandbox: () => order.push('enableSandbox'),
      getPath: (name: string) => electron.app.paths.get(name) ?? `/fake/${name}`,
      setPath: (name: string, value: string) => electron.app.paths.set(name, value),
      getAppPath: () => '/fake/app',
      on: (e: string, l: (...a: unknown[]) => void) => {
        appListeners.set(e, [...(appListeners.get(e) ?? []), l]);
      },
      whenReady: () => whenReady,
      requestSingleInstanceLock: () => true,
      quit: vi.fn(),
      exit: vi.fn(),
    },
    BrowserWindow: FakeWindow,
    dialog: { showErrorBox: vi.fn() },
    ipcMain: {
      handle: (c: string, h: (...a: unknown[]) => unknown) => handlers.set(c, h),
      removeHandler: (c: string) => handlers.delete(c),
    },
    protocol: {
      privileged: null as unknown,
      registerSchemesAsPrivileged: (s: unknown) => {
        order.push('registerSchemesAsPrivileged');
        electron.protocol.privileged = s;
      },
      handlers: new Map<string, (r: Request) => Promise<Response>>(),
      handle: (scheme: string, h: (r: Request) => Promise<Response>) => {
        order.push('protocol.handle');
        electron.protocol.handlers.set(scheme, h);
      },
    },
    session: { defaultSession: session },
  };
  return { electron, order, appListeners, handlers, windows, ready, session, FakeContents };
});
vi.mock('electron', () => fake.electron);

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sscard-main-'));
  vi.stubEnv('SSCARD_DB', join(dir, 'sub', 'ledger.db'));
  await import('./main.ts');
  fake.order.push('ready');
  fake.ready();
  await vi.waitFor(() => expect(fake.windows).toHaveLength(1), { timeout: 10_000 });
});
afterAll(async () => {
  for (const l of fake.appListeners.get('will-quit') ?? []) l({ preventDefault: () => {} });
  await vi.waitFor(() => expect(fake.electron.app.quit).toHaveBeenCalled());
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

describe('electron/main.ts (with a fake electron)', () => {
  it('registers app:// as privileged and turns the sandbox on before ready', () => {
    expect(fake.electron.protocol.privileged).toEqual([APP_SCHEME_PRIVILEGES]);
    const at = (step: string) => fake.order.indexOf(step);
    expect(at('registerSchemesAsPrivileged')).toBeGreaterThanOrEqual(0);
    expect(at('registerSchemesAsPrivileged')).toBeLessThan(at('ready'));
    expect(at('enableSandbox')).toBeLessThan(at('ready'));
    expect(at('protocol.handle')).toBeGreaterThan(at('ready'));
    expect(fake.electron.app.paths.get('userData')).toBe(join('/fake/appData', 'sscard-lab'));
  });

  it('opens one window with the secure preferences and the bundled preload, on app://sscard', () => {
    const [win] = fake.windows;
    expect(win!.options.webPreferences).toEqual(
      secureWebPreferences({ preload: join(ROOT, 'dist', 'electron', 'preload.cjs'), devTools: true }),
    );
    expect(win!.webContents.url).toBe(APP_URL);
  });

  it('guards every web contents: navigation and window.open refused', () => {
    const contents = fake.windows[0]!.webContents;
    const e = { preventDefault: vi.fn() };
    contents.listeners.get('will-navigate')!(e);
    expect(e.preventDefault).toHaveBeenCalled();
    expect(contents.openHandler!({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
  });

  it('denies permission requests in the default session', () => {
    const callback = vi.fn();
    fake.session.permissionRequest!({}, 'media', callback, {});
    expect(callback).toHaveBeenCalledWith(false);
  });

  it('serves the renderer on app:// from dist/renderer, with the CSP', async () => {
    const handler = fake.electron.protocol.handlers.get('app')!;
    const r = await handler(new Request('app://sscard/../../package.json'));
    expect(r.status).toBe(404);
    expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('answers the app window on sscard:call, with the ledger at $SSCARD_DB, and refuses others', async () => {
    const call = fake.handlers.get(CHANNELS.call)!;
    expect([...fake.handlers.keys()]).toEqual([CHANNELS.call]);
    const win = fake.windows[0]!.webContents;
    const from = (sender: { id: number }, url = APP_URL) => ({ sender, senderFrame: { url, parent: null } });
    expect(await call(from(win), 'workspace', {})).toMatchObject({ ok: true, result: { mode: 'live' } });
    expect(await call(from(new fake.FakeContents()), 'workspace', {})).toMatchObject({
      ok: false,
      error: { code: 'UNAUTHORIZED' },
    });
    expect(await call(from(win, 'https://evil.example/'), 'workspace', {})).toMatchObject({ ok: false });
    expect(await call(from(win), 'workspace', { x: 1 })).toMatchObject({
      ok: false,
      error: { code: 'BAD_ARGUMENTS' },
    });
  });
});
