#!/usr/bin/env node
// `npm start`: the app on its embedded defaults, no hardware needed.
//   - With the Electron binary installed: builds dist/ and opens the desktop app (ledger in
//     Electron's user data folder or $SSCARD_DB, the bundled cards, the in-process reader).
//   - Without it (installs with ELECTRON_SKIP_BINARY_DOWNLOAD=1, offline machines): says so and
//     runs the same app in the browser host on 127.0.0.1, printing the address with its token.
// `npm start -- --web` always uses the browser host; `--port <n>` picks its port.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** electron/main.ts exits with this when better-sqlite3 or smartcard is built for Node. */
const EXIT_NATIVE_ABI = 78;

const { values } = parseArgs({
  options: {
    web: { type: 'boolean', default: false },
    port: { type: 'string', default: process.env.SSCARD_WEB_PORT ?? '5180' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('usage: npm start [-- --web] [-- --port <n, 0 = any free port>]');
  process.exit(0);
}

/** The Electron executable, or null when only the npm package is there (no binary). */
export function electronBinary() {
  try {
    const path = createRequire(import.meta.url)('electron');
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

async function startDesktop(binary) {
  const { buildElectron } = await import('./build-electron.mjs');
  const { main } = await buildElectron();
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE;
  const child = spawn(binary, [main], { stdio: 'inherit', env, cwd: ROOT });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (code === EXIT_NATIVE_ABI) {
      console.error(
        '\nThe native modules (better-sqlite3, smartcard) are built for Node, not Electron.\n' +
          '  npm run rebuild:electron          # build them for Electron, then npm start again\n' +
          '  npm rebuild better-sqlite3 smartcard   # back to Node for the CLI and the tests\n' +
          'Or run the same app in the browser: npm start -- --web',
      );
    }
    process.exit(code ?? (signal ? 1 : 0));
  });
}

async function startBrowserHost() {
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be a port number (got '${values.port}')`);
    process.exit(64);
  }
  const { register } = await import('tsx/esm/api');
  register();
  const { startWebHost } = await import(pathToFileURL(`${ROOT}web/server.ts`).href);
  const { nodePcsc } = await import(pathToFileURL(`${ROOT}web/pcsc-access.ts`).href);
  const { defaultDbPath } = await import(pathToFileURL(`${ROOT}core/paths.ts`).href);
  const { hostChoiceFromEnv, describeHostChoice } = await import(
    pathToFileURL(`${ROOT}core/api/host-choice.ts`).href
  );
  // A till of a chain, as the desktop app: SSCARD_HOST_URL / SSCARD_TERMINAL_ID (docs/central-host.md).
  let choice;
  try {
    choice = hostChoiceFromEnv(process.env);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(64);
  }
  const dbPath = defaultDbPath();
  let host;
  try {
    host = await startWebHost({ dbPath, port, pcsc: nodePcsc, ...choice });
  } catch (e) {
    if (e?.code !== 'EADDRINUSE' || port === 0) throw e;
    console.log(`port ${port} is in use; using a free one`);
    host = await startWebHost({ dbPath, port: 0, pcsc: nodePcsc, ...choice });
  }
  // Handlers first: a Ctrl-C sent as soon as the line below appears must stop the host cleanly,
  // not kill it with the signal's default action.
  const stop = async () => {
    await host.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(`社保卡终端实验室 SSCard Lab — open ${host.url}`);
  console.log(`ledger: ${dbPath} · ${describeHostChoice(choice)} · loopback only · Ctrl-C stops`);
}

/** How to fetch the binary: newer electron packages ship an install-electron command. */
function installHint() {
  const bin = `${ROOT}node_modules/.bin/install-electron`;
  const script = 'node node_modules/electron/install.js';
  const unset = process.env.ELECTRON_SKIP_BINARY_DOWNLOAD ? 'env -u ELECTRON_SKIP_BINARY_DOWNLOAD ' : '';
  return existsSync(bin) || existsSync(`${bin}.cmd`)
    ? `  ${unset}npx install-electron --no    (or: ${unset}${script})`
    : `  ${unset}${script}`;
}

const binary = values.web ? null : electronBinary();
if (binary) {
  await startDesktop(binary);
} else {
  if (!values.web) {
    console.log(
      'The Electron binary is not installed (the electron npm package is, without its download),\n' +
        'so the desktop window cannot open. To get it, with internet access:\n' +
        `${installHint()}\n` +
        'then `npm run rebuild:electron` and `npm start` again.\n' +
        'Starting the same app in your browser instead.\n',
    );
  }
  await startBrowserHost();
}
