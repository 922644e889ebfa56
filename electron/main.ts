import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, protocol, session } from 'electron';
import { createCore, type Core } from '../core/api/create-core.ts';
import { hostChoiceFromEnv } from '../core/api/host-choice.ts';
import { nodePcsc } from '../web/pcsc-access.ts';
import { AppWindows, registerIpc } from './ipc.ts';
import {
  APP_SCHEME,
  APP_SCHEME_PRIVILEGES,
  APP_URL,
  appWindowOptions,
  createAppProtocolHandler,
  guardSession,
  guardWebContents,
} from './window-options.ts';

/*
 * The Electron main process, kept thin: the security settings live in window-options.ts and
 * the IPC entry in ipc.ts (both tested without Electron). Bundled by scripts/build-electron.mjs
 * into dist/electron/main.cjs with the core's TypeScript sources; better-sqlite3 and smartcard
 * stay native modules next to it (rebuilt for Electron: npm run rebuild:electron).
 */

/** Exit status when a native module was built for Node, not Electron (scripts/start.mjs explains). */
export const EXIT_NATIVE_ABI = 78;

/** The folder holding package.json: the checkout, or app.asar once packaged. */
function appRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return app.getAppPath();
}

const ROOT = appRoot();
const RENDERER_DIR = join(ROOT, 'dist', 'renderer');
const PRELOAD = join(ROOT, 'dist', 'electron', 'preload.cjs');
const WALLET_DIR = join(ROOT, 'fixtures', 'cards');

// Before `ready`: the app:// scheme's privileges, the sandbox for every renderer, and one
// ASCII data folder whatever the product name (~/.config/sscard-lab, %APPDATA%\sscard-lab).
protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
app.enableSandbox();
app.setPath('userData', join(app.getPath('appData'), 'sscard-lab'));
app.on('web-contents-created', (_event, contents) => guardWebContents(contents));

const windows = new AppWindows();
let core: Core | null = null;

function openWindow(): BrowserWindow {
  const win = new BrowserWindow(appWindowOptions({ preload: PRELOAD, devTools: !app.isPackaged }));
  windows.track(win.webContents);
  win.once('ready-to-show', () => win.show());
  void win.loadURL(APP_URL);
  return win;
}

async function start(): Promise<void> {
  await app.whenReady();
  guardSession(session.defaultSession);
  protocol.handle(
    APP_SCHEME,
    createAppProtocolHandler((name) => readFile(join(RENDERER_DIR, name)).catch(() => null)),
  );
  // The embedded defaults: the ledger in the user data folder (or $SSCARD_DB), the bundled
  // cards, the in-process virtual reader; PC/SC readers when pcscd is there.
  const dbPath = process.env.SSCARD_DB || join(app.getPath('userData'), 'sscard.db');
  mkdirSync(dirname(dbPath), { recursive: true });
  // A till of a chain: SSCARD_HOST_URL / SSCARD_TERMINAL_ID (docs/central-host.md).
  core = await createCore({
    dbPath,
    walletDir: WALLET_DIR,
    pcsc: nodePcsc,
    ...hostChoiceFromEnv(process.env),
  });
  registerIpc({ ipcMain, core, windows });
  openWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) openWindow();
  });
  app.on('second-instance', () => {
    const [win] = BrowserWindow.getAllWindows();
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });
}

app.on('window-all-closed', () => app.quit());
app.on('will-quit', (event) => {
  const open = core;
  if (!open) return;
  // Close the ledger cleanly (SQLite WAL checkpoint) before leaving.
  event.preventDefault();
  core = null;
  void open.close().finally(() => app.quit());
});

// One till per ledger: a second launch focuses the first window.
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  start().catch((e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    const abi = /NODE_MODULE_VERSION|compiled against a different Node\.js version/.test(message);
    const hint = abi
      ? '\n\nThe native modules are built for Node, not Electron: run `npm run rebuild:electron`.'
      : '';
    console.error(`SSCard Lab could not start: ${message}${hint}`);
    dialog.showErrorBox('社保卡终端实验室 SSCard Lab', `无法启动 / could not start:\n${message}${hint}`);
    app.exit(abi ? EXIT_NATIVE_ABI : 1);
  });
}
