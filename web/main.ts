import { parseArgs } from 'node:util';
import { defaultDbPath } from '../core/paths.ts';
import { HostChoiceError, describeHostChoice, hostChoice, type HostChoice } from '../core/api/host-choice.ts';
import { startWebHost } from './server.ts';
import { nodePcsc } from './pcsc-access.ts';

/**
 * `npm run web [-- --port 5180] [-- --db file]`: the app in a browser, on the embedded
 * defaults (the SQLite ledger, the bundled cards, the in-process virtual reader).
 * `--host-url <url> --terminal-id <id>` (or SSCARD_HOST_URL, SSCARD_TERMINAL_ID): a till of a
 * chain, forwarding to the central host (docs/central-host.md).
 */
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.SSCARD_WEB_PORT ?? '5180' },
    db: { type: 'string' },
    'host-url': { type: 'string', default: process.env.SSCARD_HOST_URL },
    'host-token': { type: 'string', default: process.env.SSCARD_HOST_TOKEN },
    'terminal-id': { type: 'string', default: process.env.SSCARD_TERMINAL_ID },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(
    'usage: npm run web -- [--port <n, 0 = any free port>] [--db <ledger.db>]\n' +
      '                      [--host-url <central host URL> --terminal-id <id> [--host-token <secret>]]',
  );
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number (got '${values.port}')`);
  process.exit(64);
}
let choice: HostChoice;
try {
  choice = hostChoice({
    hostUrl: values['host-url'],
    hostToken: values['host-token'],
    terminalId: values['terminal-id'],
  });
} catch (e) {
  if (!(e instanceof HostChoiceError)) throw e;
  console.error(e.message);
  process.exit(64);
}
const dbPath = values.db ?? defaultDbPath();
const host = await startWebHost({ dbPath, port, pcsc: nodePcsc, ...choice });
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
