import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * scripts/build-electron.mjs output, run as Electron would run it but under Node with a fake
 * `electron` module: the bundled main process must start the core from the bundle alone
 * (TypeScript sources inside, import.meta.url shimmed, native modules outside), and the
 * sandboxed preload must be one file that requires nothing but electron.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const FAKE_ELECTRON = `
const listeners = {}, handlers = {}, protocols = {}, wins = [];
let nextId = 1;
class BrowserWindow {
  constructor(options) {
    this.options = options;
    const wc = { id: nextId++, url: '', sent: [], isDestroyed: () => false, getURL: () => wc.url,
      send: (...a) => wc.sent.push(a), once() {}, on() {}, setWindowOpenHandler() {} };
    this.webContents = wc;
    wins.push(this);
    for (const l of listeners['web-contents-created'] || []) l({}, wc);
  }
  once() {}
  show() {}
  async loadURL(url) { this.webContents.url = url; }
  static getAllWindows() { return wins; }
}
const session = { setPermissionRequestHandler() {}, setPermissionCheckHandler() {}, setDevicePermissionHandler() {},
  setSpellCheckerEnabled() {}, webRequest: { onBeforeRequest() {}, onHeadersReceived() {} } };
module.exports = {
  app: { isPackaged: true, enableSandbox() {}, getPath: (n) => process.env.FAKE_HOME + '/' + n, setPath() {},
    getAppPath: () => process.env.FAKE_APP_PATH, on: (e, l) => (listeners[e] = [...(listeners[e] || []), l]),
    whenReady: async () => {}, requestSingleInstanceLock: () => true, quit() { process.exitCode = process.exitCode ?? 0; },
    exit(code) { console.log(JSON.stringify({ exit: code })); process.exit(code); } },
  BrowserWindow,
  dialog: { showErrorBox: (_t, m) => console.error(m) },
  ipcMain: { handle: (c, h) => (handlers[c] = h), removeHandler() {} },
  protocol: { registerSchemesAsPrivileged() {}, handle: (s, h) => (protocols[s] = h) },
  session: { defaultSession: session },
  __state: { listeners, handlers, protocols, wins },
};
`;

const RUNNER = `
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === 'electron' ? process.env.FAKE_ELECTRON : resolve.call(this, request, ...rest);
};
require(process.argv[2]);
const st = require('electron').__state;
const until = async (ok) => { for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 25)); };
(async () => {
  await until(() => st.wins.length > 0 && st.handlers['sscard:call']);
  const win = st.wins[0];
  const ev = { sender: { id: win.webContents.id }, senderFrame: { url: win.webContents.url, parent: null } };
  const call = (m, a) => st.handlers['sscard:call'](ev, m, a);
  const cards = await call('listCards', {});
  const inserted = await call('insertCard', { cardId: 'gen3-active' });
  const traversal = await st.protocols.app(new Request('app://sscard/%2e%2e%2fpackage.json'));
  const out = {
    url: win.webContents.url,
    prefs: win.options.webPreferences,
    cards: cards.ok ? cards.result.length : cards,
    inserted,
    traversal: traversal.status,
    events: win.webContents.sent.length,
  };
  for (const l of st.listeners['will-quit']) l({ preventDefault() {} });
  console.log(JSON.stringify(out));
})();
`;

let out: string;
beforeAll(() => {
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  // Inside the checkout (dist/ is ignored), so main.cjs finds package.json as it does in dist/electron.
  out = mkdtempSync(join(ROOT, 'dist', 'bundle-test-'));
  execFileSync(
    process.execPath,
    [join(ROOT, 'scripts/build-electron.mjs'), '--outdir', out, '--no-renderer'],
    {
      cwd: ROOT,
      stdio: 'pipe',
    },
  );
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('scripts/build-electron.mjs', () => {
  it('bundles the preload into one CommonJS file whose only require is electron', () => {
    const preload = readFileSync(join(out, 'electron', 'preload.cjs'), 'utf8');
    const requires = [...preload.matchAll(/require\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    expect(requires).toEqual(['electron']);
    expect(preload).not.toMatch(/\bimport\s|import\(/);
    expect(preload).toContain('exposeInMainWorld("sscard"');
  });

  it('bundles the main process with the core inside and only electron and the natives outside', () => {
    const main = readFileSync(join(out, 'electron', 'main.cjs'), 'utf8');
    const requires = new Set(
      [...main.matchAll(/require\(\s*["']([^"'.][^"']*)["']\s*\)/g)].map((m) => m[1]!),
    );
    const packages = [...requires].filter((r) => !isBuiltin(r));
    expect(packages.sort()).toEqual(['better-sqlite3', 'electron']);
    expect(main).not.toContain('import.meta');
    expect(main).not.toMatch(/from ["']\.\.?\//);
  });

  it('starts the core from the bundle alone and answers the app window', () => {
    const dir = mkdtempSync(join(out, 'run-'));
    writeFileSync(join(dir, 'fake-electron.cjs'), FAKE_ELECTRON);
    writeFileSync(join(dir, 'runner.cjs'), RUNNER);
    const stdout = execFileSync(
      process.execPath,
      [join(dir, 'runner.cjs'), join(out, 'electron', 'main.cjs')],
      {
        cwd: dir,
        env: {
          ...process.env,
          FAKE_ELECTRON: join(dir, 'fake-electron.cjs'),
          FAKE_HOME: dir,
          FAKE_APP_PATH: join(dir, 'nowhere'),
          SSCARD_DB: join(dir, 'data', 'ledger.db'),
        },
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(result.url).toBe('app://sscard/index.html');
    expect(result.prefs).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false });
    expect(result.cards).toBeGreaterThanOrEqual(10);
    expect(result.inserted).toMatchObject({ ok: true, result: { cardPresent: true, cardId: 'gen3-active' } });
    expect(result.traversal).toBe(404);
    expect(result.events).toBeGreaterThan(0);
  });
});
