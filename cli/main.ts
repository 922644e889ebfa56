import { processIo, EXIT, InputError, UsageError, untilStopped, type CliIo } from './io.ts';
import { dbPathOf, parse, requireString } from './args.ts';
import { cmdPay, cmdSettle, cmdReconcile, cmdSync } from './pos-commands.ts';
import { cmdCounter } from './counter-commands.ts';
import { cmdConformance } from './conformance-command.ts';
import { cmdRecord } from './record-command.ts';
import { cmdRun } from './run-command.ts';
import { cmdHost } from './host-command.ts';
import { cmdDriver } from './driver-command.ts';
import { fromHex, toHex, HexError } from '../core/card/hex.ts';
import { loadWallet, resolveCard, BUNDLED_CARDS_DIR } from '../core/card/wallet.ts';
import { ProfileError, type CardProfile } from '../core/card/profile.ts';
import { VirtualReader } from '../device/virtual-reader.ts';
import { ReaderError } from '../device/errors.ts';
import { readCard, CardReadError, type CardReading } from '../core/terminal/read-card.ts';
import { SELECT_SSSE } from '../core/terminal/card-commands.ts';
import { openCardStore, type CardStore } from '../core/ledger/card-store.ts';
import { openPosSystem } from '../core/pos/pos-system.ts';
import { runPayment } from '../core/pos/run-payment.ts';
import { renderMessage } from '../state-machines/messages.ts';
import { PcscReader } from '../device/pcsc-reader.ts';
import { listPcscReaders, matchReader, watchPcsc } from '../device/pcsc.ts';
import { VpcdBridge, VPCD_BASE_PORT } from '../device/vpcd-bridge.ts';
import { ApduTrace } from '../device/trace.ts';
import { HostError } from '../core/host/types.ts';
import { TerminalLedgerError } from '../core/pos/terminal-ledger.ts';
import { LedgerError } from '../core/ledger/ledger.ts';

const HELP = `sscard — SSCard Lab (社保卡终端实验室) command line

Usage:
  sscard cards [--json]                          list the bundled card wallet
  sscard apdu --card <card> [--db <file>] <APDU hex>…
                                                 power up the virtual card, send each APDU in
                                                 order in one session, print each response
                                                 (data then SW) as uppercase hex, one per line
  sscard read --card <card> [--db <file>] [--json]
                                                 read the card as a POS does (in-process reader)
  sscard read [--reader <name>] [--json]         read the 社保卡 in a PC/SC reader (virtual or real)
  sscard apdu --reader <name> <APDU hex>…        send raw APDUs to the card in a PC/SC reader
  sscard readers [--json] [--watch]              list PC/SC readers and whether a card is in them;
                                                 --watch prints reader/card events until Ctrl-C
  sscard serve --card <card> [--slot 0|1] [--db <file>] [--vpcd <host:port>] [--trace]
                                                 insert the virtual card into a vpcd slot of
                                                 pcscd until Ctrl-C
  sscard conformance [--reader <name> | --card <card>] [--pin <digits> --pin-checks]
                     [--pull-checks] [--json]    run the conformance pack (docs/conformance.md);
                                                 exit 0 all run checks pass, 2 a check failed
  sscard record [--reader <name>] > card.json    read a card's freely readable data into a card
                                                 profile (PINs are placeholders) for sscard serve
  sscard demo [--db <file>]                      read every bundled card through the in-process
                                                 reader, then pay at the till (what npm start runs)
  sscard pay --card <card|reader> --amount <yuan> --pin <digits> [--method medical|reserve]
             [--host up|down|slow] [--db <file>] [--json]
                                                 one payment at the till; exit 0 approved, 2 declined
  sscard settle [--db <file>] [--date YYYY-MM-DD] [--json]   daily settlement (日结)
  sscard reconcile [--db <file>] [--date YYYY-MM-DD] [--json]
                                                 terminal vs host (对账); exit 0 only when they agree
  sscard sync [--db <file>] [--json]             forward queued offline payments; safe to repeat
  sscard counter <action> …                      the bank counter: apply, issue, activate, change-pin,
                                                 unblock, report-loss, replace, close, merge, ssn,
                                                 check-photo, numbers… (see 'sscard counter help')
  sscard run <files or folders>… [--junit <file>] [--trace <dir>] [--jobs N] [--reader <name>]
                                                 run scenario files (YAML, docs/scenarios.md) in
                                                 parallel; exit 0 all passed, 1 invalid file,
                                                 2 a scenario failed
  sscard host serve --pg <postgresql url> [--listen <address:port>] [--token <secret>]
                    [--tls-cert <pem> --tls-key <pem> | --tls-dir <folder>]
                                                 run the central host for many terminals
                                                 (docs/central-host.md); TLS beyond loopback
  sscard host enrol|revoke --pg <url> --terminal-id <id>
                                                 give a till its own credential (printed once)
                                                 or revoke it; 'sscard host terminals' lists them
  sscard host status [--url <host url>] [--json] terminals seen, queue depths, last sync,
                                                 reconciliation per terminal, chain totals
  sscard driver serve [--card <card> | --reader <name>] [--db <file>] [--listen 127.0.0.1:12342]
                      [--pin-timeout <s>]        the standard reader interface (iReadCardBas …) for
                                                 HIS/POS software: WebSocket + HTTP on 127.0.0.1,
                                                 libSSCardDriver.so (docs/reader-interface.md)
  sscard help | --help

<card> is a card profile JSON file or the id of a bundled card (see 'sscard cards').
<name> is a PC/SC reader name or a unique part of it ("PCD 00 01").
--db keeps PIN counters and accounts in a SQLite ledger: a wrong PIN stays counted.
Exit codes: 0 ok, 1 bad input (file, APDU, value), 2 declined/refused, 64 usage error.`;

/** Opens the ledger only when --db is given (or for commands whose default is the embedded file). */
async function withStore<T>(
  dbPath: string | undefined,
  fn: (store: CardStore | null) => Promise<T>,
): Promise<T> {
  if (!dbPath) return fn(null);
  const store = openCardStore(dbPath);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

function cmdCards(args: string[], io: CliIo): number {
  const { values } = parse(args, { json: { type: 'boolean' }, help: { type: 'boolean' } });
  if (values.help) return help(io, 'sscard cards [--json]   list the bundled card wallet (fixtures/cards)');
  const wallet = loadWallet();
  if (values.json) {
    io.out(
      JSON.stringify(
        wallet.map(({ file, profile: p }) => ({
          id: p.id,
          file,
          label: p.label,
          labelEn: p.labelEn ?? null,
          generation: p.generation,
          status: p.status,
          cardNumber: p.card.number,
          holder: p.holder.name,
          expiryDate: p.card.expiryDate,
        })),
        null,
        2,
      ),
    );
    return EXIT.OK;
  }
  io.out(`Bundled cards (${BUNDLED_CARDS_DIR}):`);
  for (const { profile: p } of wallet) {
    const pin =
      p.pinTriesLeft === 0 ? 'PIN blocked' : (p.pinInitial ?? p.pin === '123456') ? 'initial PIN' : '';
    io.out(
      `  ${p.id.padEnd(22)} gen ${p.generation}  ${p.card.number}  ${p.status.padEnd(13)} ${pin.padEnd(11)} ${p.label}`,
    );
  }
  return EXIT.OK;
}

function cmdApdu(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, {
    card: { type: 'string' },
    reader: { type: 'string' },
    db: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    return Promise.resolve(
      help(
        io,
        'sscard apdu --card <card> [--db <file>] <APDU hex>…\nsscard apdu --reader <name> <APDU hex>…',
      ),
    );
  }
  if (values.card && values.reader) throw new UsageError('give either --card or --reader, not both');
  if (!values.card && !values.reader) throw new UsageError('--card or --reader is required');
  if (positionals.length === 0)
    throw new UsageError(`give at least one APDU in hex, e.g. ${toHex(SELECT_SSSE)}`);
  // Parse every APDU before the card is powered: a typo in the fifth must not leave four sent.
  const apdus = positionals.map((text, i) => {
    try {
      return fromHex(text);
    } catch (e) {
      if (!(e instanceof HexError)) throw e;
      // A mistyped VERIFY or CHANGE PIN must not put the PIN into logs: show its header only.
      const shown = /^[0-9a-f]{2}[\s:-]*(20|24|2c|5e)/i.test(text)
        ? `${text.replace(/[\s:-]/g, '').slice(0, 8)}…`
        : text;
      throw new HexError(`APDU ${i + 1} ('${shown}'): ${e.message}`, e.position);
    }
  });
  if (typeof values.reader === 'string') {
    if (values.db) throw new UsageError('--db applies to virtual cards (--card), not to a PC/SC reader');
    return sendToPcsc(values.reader, apdus, io);
  }
  const { profile } = resolveCard(values.card as string);
  return withStore((values.db as string | undefined) ?? ':memory:', async (store) => {
    const reader = new VirtualReader();
    reader.insert(store!.open(profile));
    await reader.connect();
    for (const apdu of apdus) io.out(toHex(await reader.transmit(apdu)));
    await reader.disconnect();
    return EXIT.OK;
  });
}

function printReading(io: CliIo, r: CardReading): void {
  const rows: [string, string][] = [
    ['代别 Generation', `${r.generation} (spec ${r.specVersion})`],
    ['卡号 Card number', `${r.cardNumber}${r.cardNumberValid ? '' : '  (check character INVALID)'}`],
    ...((r.holderProtected
      ? [['持卡人信息 Holder', '受保护，需 PSAM 外部认证 (protected: gen 3 personal data needs a PSAM)']]
      : [
          ['社会保障号码 SSN', r.ssn ?? ''],
          ['姓名 Name', r.name ?? ''],
          ['性别 Sex', r.sex === 'male' ? '男 male' : r.sex === 'female' ? '女 female' : 'unknown'],
          ['出生日期 Birth date', r.birthDate ?? ''],
          ['民族 Nation', r.nation ?? ''],
          ['出生地 Birthplace', r.birthplace ?? ''],
        ]) as [string, string][]),
    ['发卡日期 Issued', r.issueDate],
    ['有效期 Valid until', r.expiryDate],
    ['银行卡号 Bank card', r.pan ?? '— (no financial application)'],
    ['ATR', r.atr],
  ];
  for (const [k, v] of rows) io.out(`  ${padDisplay(k, 24)} ${v}`);
}

async function readOne(profile: CardProfile, store: CardStore): Promise<CardReading> {
  const reader = new VirtualReader();
  reader.insert(store.open(profile));
  try {
    return await readCard(reader);
  } finally {
    await reader.disconnect();
  }
}

function cmdRead(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    card: { type: 'string' },
    reader: { type: 'string' },
    db: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    return Promise.resolve(
      help(io, 'sscard read --card <card> [--db <file>] [--json]\nsscard read [--reader <name>] [--json]'),
    );
  }
  if (values.card && values.reader) throw new UsageError('give either --card or --reader, not both');
  if (!values.card) {
    if (values.db) throw new UsageError('--db applies to virtual cards (--card), not to a PC/SC reader');
    return readFromPcsc(values.reader as string | undefined, values.json === true, io);
  }
  const { profile } = resolveCard(values.card as string);
  const dbPath = (values.db as string | undefined) ?? ':memory:';
  return withStore(dbPath, async (store) => {
    const r = await readOne(profile, store!);
    if (values.json) io.out(JSON.stringify(r, null, 2));
    else printReading(io, r);
    return EXIT.OK;
  });
}

async function cmdDemo(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { db: { type: 'string' }, help: { type: 'boolean' } });
  if (values.help) {
    return help(
      io,
      'sscard demo [--db <file>]   reads every bundled card, then plays a few payments at the till\n' +
        '                            (the embedded ledger file unless --db)',
    );
  }
  const dbPath = dbPathOf(values.db);
  const pos = openPosSystem({ dbPath, hostTimeoutMs: 1500 });
  try {
    const store = pos.store;
    io.out(`SSCard Lab 社保卡终端实验室 — in-process virtual reader, ledger ${dbPath}`);
    const fen = (v: number | null) => (v === null ? '—' : (v / 100).toFixed(2));
    for (const { profile } of loadWallet()) {
      const r = await readOne(profile, store);
      const sec = store.security(profile.card.number);
      const bal = store.balances(profile.card.number);
      io.out(`\n[${profile.id}] ${profile.label}`);
      printReading(io, r);
      io.out(
        `  ${padDisplay('PIN', 24)} ${sec.pinTriesLeft === 0 ? 'blocked 已锁定' : `${sec.pinTriesLeft}/${sec.pinRetryLimit} tries`}${sec.pinInitial ? ', initial PIN 初始密码' : ''}`,
      );
      if (profile.generation > 1) {
        io.out(
          `  ${padDisplay('余额 Balances (yuan)', 24)} 备用金 ${fen(bal.reserve)}  95000 ${fen(bal.medicalCurrent)}  95001 ${fen(bal.medicalPrior)}`,
        );
      }
    }

    // The till: one payment of 12.50 per card generation, as R1.1–R1.4 describe them.
    io.out('\n收银台 The till — 12.50 yuan from the medical account (try: sscard pay --help)');
    const t = pos.terminal.start();
    const reader = pos.reader as VirtualReader;
    const plays: [string, string, string][] = [
      ['gen1', '802317', 'R1.1'],
      ['gen2', '246810', 'R1.2'],
      ['gen3-initial-pin', '123456', 'R1.4'],
      ['gen3-active', '258014', 'R1.3'],
    ];
    for (const [id, pin, rule] of plays) {
      reader.insert(pos.register(resolveCard(id).profile));
      const r = await runPayment(t, { amountFen: 1250, method: 'medical', pin });
      reader.remove();
      await t.settled();
      io.out(`  ${rule} ${id.padEnd(18)} ${r.approved ? '✔' : '✘'} ${renderMessage(r.message)}`);
    }
    return EXIT.OK;
  } finally {
    pos.close();
  }
}

/** Pads to a terminal width, counting CJK characters as two columns. */
function padDisplay(text: string, width: number): string {
  let w = 0;
  for (const ch of text)
    w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(
      ch,
    )
      ? 2
      : 1;
  return text + ' '.repeat(Math.max(0, width - w));
}

async function sendToPcsc(wanted: string, apdus: Uint8Array[], io: CliIo): Promise<number> {
  const name = matchReader(
    listPcscReaders().map((r) => r.name),
    wanted,
  );
  const reader = new PcscReader(name);
  try {
    await reader.connect();
    for (const apdu of apdus) io.out(toHex(await reader.transmit(apdu)));
    return EXIT.OK;
  } finally {
    await reader.close();
  }
}

async function readFromPcsc(wanted: string | undefined, json: boolean, io: CliIo): Promise<number> {
  const readers = listPcscReaders();
  let name: string;
  if (wanted)
    name = matchReader(
      readers.map((r) => r.name),
      wanted,
    );
  else {
    const withCard = readers.find((r) => r.cardPresent);
    if (!withCard) {
      throw new ReaderError(
        'NO_CARD',
        readers.length
          ? `no card in any PC/SC reader (${readers.map((r) => r.name).join(', ')})`
          : 'no PC/SC readers: is pcscd running?',
      );
    }
    name = withCard.name;
  }
  const reader = new PcscReader(name);
  try {
    const r = await readCard(reader);
    if (json) io.out(JSON.stringify({ reader: name, ...r }, null, 2));
    else {
      io.out(`Reader: ${name}`);
      printReading(io, r);
    }
    return EXIT.OK;
  } finally {
    await reader.close();
  }
}

async function cmdReaders(args: string[], io: CliIo, signal: AbortSignal | undefined): Promise<number> {
  const { values } = parse(args, {
    json: { type: 'boolean' },
    watch: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    return help(
      io,
      'sscard readers [--json] [--watch]   list PC/SC readers and whether a card is present;\n' +
        '                                    --watch then prints reader and card events until Ctrl-C',
    );
  }
  const readers = listPcscReaders();
  if (values.watch) {
    for (const r of readers) io.out(`${r.name}\t${r.cardPresent ? 'card present' : 'no card'}`);
    const stop = watchPcsc((e) => {
      const at = new Date().toISOString();
      io.out(
        values.json
          ? JSON.stringify({ at, ...e })
          : `${at}  ${e.type.padEnd(16)} ${e.reader}${e.atr ? `  ATR ${e.atr}` : ''}`,
      );
    });
    await untilStopped(signal);
    stop();
    return EXIT.OK;
  }
  if (values.json) {
    io.out(JSON.stringify(readers, null, 2));
    return EXIT.OK;
  }
  if (!readers.length) {
    io.out('No PC/SC readers. Is pcscd running? (see README: "PC/SC")');
    return EXIT.OK;
  }
  for (const r of readers)
    io.out(`${r.name}\t${r.cardPresent ? `card present  ATR ${r.atr ?? '?'}` : 'no card'}`);
  return EXIT.OK;
}

function parseVpcd(text: string): { host: string; port: number } {
  const m = /^([^:]+):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535)
    throw new UsageError(`--vpcd must be host:port, e.g. 127.0.0.1:35963 (got '${text}')`);
  return { host: m[1]!, port: Number(m[2]) };
}

async function cmdServe(args: string[], io: CliIo, signal: AbortSignal | undefined): Promise<number> {
  const { values } = parse(args, {
    card: { type: 'string' },
    slot: { type: 'string' },
    db: { type: 'string' },
    vpcd: { type: 'string' },
    trace: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    return help(io, 'sscard serve --card <card> [--slot 0|1] [--db <file>] [--vpcd <host:port>] [--trace]');
  }
  const slotText = (values.slot as string | undefined) ?? '0';
  if (slotText !== '0' && slotText !== '1') throw new UsageError(`--slot must be 0 or 1 (got '${slotText}')`);
  const slot = Number(slotText);
  const target = values.vpcd
    ? parseVpcd(values.vpcd as string)
    : { host: '127.0.0.1', port: VPCD_BASE_PORT + slot };
  const { profile } = resolveCard(requireString(values, 'card'));
  return withStore((values.db as string | undefined) ?? ':memory:', async (store) => {
    const trace = values.trace ? new ApduTrace() : undefined;
    trace?.subscribe((e) => io.out(`${e.command}  →  ${e.response}   ${e.meaning}`));
    const bridge = new VpcdBridge({
      card: store!.open(profile),
      slot,
      ...target,
      ...(trace ? { trace } : {}),
    });
    io.out(
      `Serving ${profile.id} (gen ${profile.generation}, card ${profile.card.number}) as PC/SC reader "${bridge.readerName}" via vpcd ${target.host}:${target.port}${values.db ? `, ledger ${values.db as string}` : ''}.`,
    );
    if (!bridge.quickAck)
      io.err('sscard: TCP_QUICKACK unavailable (module sockopt missing): each APDU will take ~40 ms');
    bridge.on('inserted', () => io.out('Card inserted: pcscd sees it. Press Ctrl-C to remove it.'));
    bridge.on('disconnected', (why) => {
      if (why !== 'removed') io.out(`Card out of the reader: ${why}; reconnecting…`);
    });
    const slow = setTimeout(() => {
      if (!bridge.connected) {
        io.err(
          `sscard: still waiting for vpcd on ${target.host}:${target.port}: is pcscd running with vsmartcard-vpcd? (see README, "PC/SC")`,
        );
      }
    }, 3000);
    bridge.start();
    await untilStopped(signal);
    clearTimeout(slow);
    await bridge.stop();
    io.out('Card removed.');
    return EXIT.OK;
  });
}

function help(io: CliIo, text: string): number {
  io.out(text);
  return EXIT.OK;
}

/** Runs the CLI; returns the exit code. Errors become one clear line on stderr. */
export async function run(argv: string[], io: CliIo = processIo, signal?: AbortSignal): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(HELP);
        return command === undefined ? EXIT.USAGE : EXIT.OK;
      case 'cards':
        return cmdCards(rest, io);
      case 'apdu':
        return await cmdApdu(rest, io);
      case 'read':
        return await cmdRead(rest, io);
      case 'demo':
        return await cmdDemo(rest, io);
      case 'pay':
        return await cmdPay(rest, io);
      case 'settle':
        return await cmdSettle(rest, io);
      case 'reconcile':
        return await cmdReconcile(rest, io);
      case 'sync':
        return await cmdSync(rest, io);
      case 'counter':
        return await cmdCounter(rest, io);
      case 'run':
        return await cmdRun(rest, io);
      case 'readers':
        return await cmdReaders(rest, io, signal);
      case 'serve':
        return await cmdServe(rest, io, signal);
      case 'conformance':
        return await cmdConformance(rest, io);
      case 'record':
        return await cmdRecord(rest, io);
      case 'host':
        return await cmdHost(rest, io, signal);
      case 'driver':
        return await cmdDriver(rest, io, signal);
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`sscard: ${e.message}\nRun 'sscard help' for usage.`);
      return EXIT.USAGE;
    }
    if (
      e instanceof ProfileError ||
      e instanceof InputError ||
      e instanceof HexError ||
      e instanceof CardReadError ||
      e instanceof ReaderError ||
      e instanceof HostError ||
      e instanceof TerminalLedgerError ||
      e instanceof LedgerError
    ) {
      io.err(e instanceof ProfileError ? e.message : `sscard: ${e.message}`);
      return EXIT.BAD_INPUT;
    }
    io.err(`sscard: unexpected error: ${(e as Error).stack ?? String(e)}`);
    return EXIT.BAD_INPUT;
  }
}
