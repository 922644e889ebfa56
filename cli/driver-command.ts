import { readFileSync } from 'node:fs';
import { EXIT, InputError, UsageError, untilStopped, type CliIo } from './io.ts';
import { dbPathOf, parse } from './args.ts';
import { parseListen } from './host-command.ts';
import { resolveCard } from '../core/card/wallet.ts';
import { PcscReader } from '../device/pcsc-reader.ts';
import { listPcscReaders, matchReader } from '../device/pcsc.ts';
import { ApduTrace } from '../device/trace.ts';
import { parseSettings, SettingsError, describeCode } from '../core/reader-interface/index.ts';
import { DEFAULT_DRIVER_PORT, startDriverService } from '../core/reader-interface-service/server.ts';
import { openDriverSession } from '../core/reader-interface-service/session.ts';

/**
 * `sscard driver serve`: the standard reader interface (iReadCardBas, iVerifyPIN, iDoDebit …)
 * as the local service browser HIS pages and libSSCardDriver.so call (docs/reader-interface.md).
 */

export const DEFAULT_DRIVER_CARD = 'gen3-active';

const HELP = `sscard driver serve [--card <card> | --reader <name>] [--db <file>] [--listen 127.0.0.1:${DEFAULT_DRIVER_PORT}]
                    [--pin-timeout <s>] [--settings <file.json>] [--allow-origin <origin>]… [--trace]
  Serves the standard reader interface (LD/T 6001.5: iReadCardBas, iVerifyPIN, iDoDebit …) until
  Ctrl-C: WebSocket on /, POST /api/<function>, POST /pinpad, POST /cardmgmt/auth.
  libSSCardDriver.so (npm run build:driver) forwards to it: SSCARD_DRIVER_URL=<the printed URL>.
  --card          a card profile JSON file or a bundled card id, in the in-process reader
                  (default ${DEFAULT_DRIVER_CARD})
  --reader        a PC/SC reader name or a unique part of it, instead of --card
  --db            the ledger (default: the embedded one, $SSCARD_DB or ~/.local/share/sscard-lab/sscard.db)
  --listen        address:port to bind (default 127.0.0.1:${DEFAULT_DRIVER_PORT}; loopback only unless told)
  --pin-timeout   seconds a PIN-taking function waits for the holder (default 30)
  --settings      the interface's settings as JSON (docs/reader-interface.md, "Choices and settings")
  --allow-origin  a browser origin allowed to call it (repeat; default: any page, as vendors' services)
  --trace         print each call (function and return code; never a PIN) and each APDU (PINs masked)
Exit codes: 0 stopped by Ctrl-C, 1 bad input or the address is taken, 64 usage.`;

function readSettings(file: string | undefined) {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`--settings ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(`--settings ${file}: not JSON: ${(e as Error).message}`);
  }
  try {
    return parseSettings(json);
  } catch (e) {
    if (e instanceof SettingsError) throw new InputError(`--settings ${file}: ${e.message}`);
    throw e;
  }
}

async function cmdServe(args: string[], io: CliIo, signal?: AbortSignal): Promise<number> {
  const { values } = parse(args, {
    card: { type: 'string' },
    reader: { type: 'string' },
    db: { type: 'string' },
    listen: { type: 'string' },
    'pin-timeout': { type: 'string' },
    settings: { type: 'string' },
    'allow-origin': { type: 'string', multiple: true },
    trace: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    io.out(HELP);
    return EXIT.OK;
  }
  if (values.card && values.reader) throw new UsageError('give either --card or --reader, not both');
  const { host, port } = parseListen(
    (values.listen as string | undefined) ?? `127.0.0.1:${DEFAULT_DRIVER_PORT}`,
  );
  const timeoutText = (values['pin-timeout'] as string | undefined) ?? '30';
  const pinTimeout = Number(timeoutText);
  if (!/^\d+(\.\d+)?$/.test(timeoutText) || pinTimeout <= 0 || pinTimeout > 3600)
    throw new UsageError(`--pin-timeout must be seconds, above 0 and at most 3600 (got '${timeoutText}')`);
  const origins = (values['allow-origin'] as unknown as string[] | undefined) ?? undefined;
  for (const o of origins ?? []) {
    if (!/^https?:\/\/[^/\s]+$/.test(o))
      throw new UsageError(`--allow-origin must be an origin such as http://his.example:8080 (got '${o}')`);
  }
  const settings = readSettings(values.settings as string | undefined);

  const trace = values.trace ? new ApduTrace() : undefined;
  trace?.subscribe((e) => io.out(`  ${e.command}  →  ${e.response}   ${e.meaning}`));
  let what: string;
  let session;
  const dbPath = dbPathOf(values.db);
  if (typeof values.reader === 'string') {
    const name = matchReader(
      listPcscReaders().map((r) => r.name),
      values.reader,
    );
    session = openDriverSession({
      dbPath,
      reader: new PcscReader(name, trace ? { trace } : {}),
      pinTimeoutMs: pinTimeout * 1000,
      ...(settings ? { settings } : {}),
    });
    what = `the card in PC/SC reader "${name}"`;
  } else {
    const { profile } = resolveCard((values.card as string | undefined) ?? DEFAULT_DRIVER_CARD);
    session = openDriverSession({
      dbPath,
      card: profile,
      pinTimeoutMs: pinTimeout * 1000,
      ...(settings ? { settings } : {}),
      ...(trace ? { trace } : {}),
    });
    what = `${profile.id} (gen ${profile.generation}, card ${profile.card.number}) in the in-process reader`;
  }

  const backend = session.backend;
  const traced = trace
    ? {
        ...backend,
        async call(request: Parameters<typeof backend.call>[0]) {
          const r = await backend.call(request);
          const meaning = r.code === 0 ? '' : `  ${describeCode(r.code).zh} ${describeCode(r.code).en}`;
          io.out(
            `${r.functionName || '(none)'} → ${r.code}${meaning}${r.detail ? `  (${String(r.detail)})` : ''}`,
          );
          return r;
        },
      }
    : backend;
  if (trace) {
    session.pinPad.on('request', (req: { functionName: string; prompt: string }) =>
      io.out(`${req.functionName}: waiting for the holder on the PIN pad (${req.prompt})`),
    );
  }

  let service;
  try {
    service = await startDriverService({
      backend: traced,
      host,
      port,
      ...(origins ? { allowedOrigins: origins } : {}),
      log: (line) => io.err(`sscard driver: ${line}`),
    });
  } catch (e) {
    await session.close();
    const code = (e as { code?: unknown }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new InputError(
        `cannot listen on ${host}:${port}: ${String(code)}${code === 'EADDRINUSE' ? ' (another reader service is running? --listen 127.0.0.1:0 picks a free port)' : ''}`,
      );
    }
    throw e;
  }
  const loopback = host === '127.0.0.1' || host === '::1' || host === 'localhost';
  io.out(`SSCard Lab reader service (社保卡读卡服务) listening on ${service.url}`);
  io.out(
    `  WebSocket ${service.wsUrl} · HTTP POST ${service.url}/api/<function> · PIN pad POST ${service.url}/pinpad`,
  );
  io.out(`  Card: ${what} · ledger ${dbPath} · PIN timeout ${pinTimeout} s`);
  io.out(
    `  ${loopback ? 'Loopback only' : `Listening on ${host}: reachable from the network`}` +
      `${origins ? ` · browser origins ${origins.join(', ')}` : ''} · Ctrl-C stops`,
  );
  io.out(`  libSSCardDriver.so: export SSCARD_DRIVER_URL=${service.url}`);
  const why = await untilStopped(signal);
  await service.close();
  await session.close();
  io.out(`Reader service stopped (${why}).`);
  return EXIT.OK;
}

export async function cmdDriver(args: string[], io: CliIo, signal?: AbortSignal): Promise<number> {
  const [action, ...rest] = args;
  switch (action) {
    case 'serve':
      return cmdServe(rest, io, signal);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.out(HELP);
      return action === undefined ? EXIT.USAGE : EXIT.OK;
    default:
      throw new UsageError(`unknown driver action '${action}' (serve)`);
  }
}
