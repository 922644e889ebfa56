import { parseArgs } from 'node:util';
import { defaultDbPath } from '../core/paths.ts';
import { startWebHost } from './server.ts';
import { nodePcsc } from './pcsc-access.ts';

/**
 * `npm run web [-- --port 5180] [-- --db file]`: the app in a browser, on the embedded
 * defaults (the SQLite ledger, the bundled cards, the in-process virtual reader).
 */
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.SSCARD_WEB_PORT ?? '5180' },
    db: { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log('usage: npm run web -- [--port <n, 0 = any free port>] [--db <ledger.db>]');
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number (got '${values.port}')`);
  process.exit(64);
}
const dbPath = values.db ?? defaultDbPath();
const host = await startWebHost({ dbPath, port, pcsc: nodePcsc });
console.log(`社保卡终端实验室 SSCard Lab — open ${host.url}`);
console.log(`ledger: ${dbPath} · loopback only · Ctrl-C stops`);
const stop = async () => {
  await host.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
