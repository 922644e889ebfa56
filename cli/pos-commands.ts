import { EXIT, InputError, UsageError, type CliIo } from './io.ts';
import { ReaderError } from '../device/errors.ts';
import { dbPathOf, parse, requireString } from './args.ts';
import { resolveCard } from '../core/card/wallet.ts';
import { ProfileError, type CardProfile } from '../core/card/profile.ts';
import { openCardStore } from '../core/ledger/card-store.ts';
import { BankCounter } from '../core/bank/counter.ts';
import { openPosSystem, type HostChoiceOptions, type PosSystem } from '../core/pos/pos-system.ts';
import { runPayment } from '../core/pos/run-payment.ts';
import { yuan } from '../core/pos/receipt.ts';
import { HostChoiceError, hostChoice as coreHostChoice, type HostChoice } from '../core/api/host-choice.ts';
import { MAX_AMOUNT_FEN } from '../state-machines/types.ts';
import { renderMessage } from '../state-machines/messages.ts';
import type { Host, LinkState, PaymentMethod } from '../core/host/types.ts';
import { VirtualReader } from '../device/virtual-reader.ts';
import { PcscReader } from '../device/pcsc-reader.ts';
import { listPcscReaders, matchReader } from '../device/pcsc.ts';
import { businessDate, isValidBusinessDate, systemClock } from '../core/time.ts';

/** "12.50" yuan → 1250 fen; anything else is a clear error. */
export function parseYuan(text: string): number {
  const m = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!m) throw new UsageError(`--amount must be yuan with at most two decimals, e.g. 12.50 (got '${text}')`);
  const fen = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  if (fen <= 0) throw new UsageError(`--amount must be more than 0 (got '${text}')`);
  // Refused here, before a card is read or a line written: the till's own limit.
  if (fen > MAX_AMOUNT_FEN)
    throw new UsageError(`--amount must be at most ${yuan(MAX_AMOUNT_FEN)} yuan (got '${text}')`);
  return fen;
}

/**
 * --host-url / --host-token (or SSCARD_HOST_URL / SSCARD_HOST_TOKEN; the token is the till's
 * credential from sscard host enrol): the central host; else
 * in-process. --terminal-id (or SSCARD_TERMINAL_ID): which till this is (default T0001); every
 * till forwarding to one central host needs its own.
 */
const HOST_OPTIONS = {
  'host-url': { type: 'string' },
  'host-token': { type: 'string' },
  'terminal-id': { type: 'string' },
} as const;

function hostChoice(values: Record<string, unknown>): HostChoiceOptionsFromCli {
  try {
    return {
      hostUrl: undefined,
      ...coreHostChoice({
        hostUrl: (values['host-url'] as string | undefined) ?? process.env.SSCARD_HOST_URL,
        hostToken: (values['host-token'] as string | undefined) ?? process.env.SSCARD_HOST_TOKEN,
        terminalId: (values['terminal-id'] as string | undefined) ?? process.env.SSCARD_TERMINAL_ID,
      }),
    };
  } catch (e) {
    if (e instanceof HostChoiceError) throw new UsageError(e.message);
    throw e;
  }
}

type HostChoiceOptionsFromCli = { hostUrl: string | undefined } & HostChoice;

/**
 * Opens the till, runs its start-up recovery (PosSystem.recover: reversals owed by a till that
 * died mid-debit), then the command. Quiet: one line on stderr only when a debit was reversed;
 * a host that cannot be reached leaves them owed for the next sync.
 */
async function withPos<T>(
  opts: HostChoiceOptions,
  io: CliIo,
  fn: (pos: PosSystem<Host>) => Promise<T>,
): Promise<T> {
  const pos = openPosSystem(opts);
  try {
    const r = await pos.recover().catch(() => null);
    if (r && r.reversed.length > 0)
      io.err(
        `已冲正 ${r.reversed.length} 笔未记账的扣款（终端曾中断） / reversed ${r.reversed.length} debit(s) the host applied that a stopped till never booked: ${r.reversed.join(', ')}`,
      );
    return await fn(pos);
  } finally {
    pos.close();
  }
}

const PAY_HELP = `sscard pay --card <card|reader> --amount <yuan> --pin <digits> [--method medical|reserve]
           [--host up|down|slow] [--db <file>] [--host-url <url>] [--terminal-id <id>] [--json]
  Runs one payment end to end at the till: insert the card, enter the amount, the holder's
  PIN (gen 3) or transaction password (gen 2, and the reserve account on gen 3), pay, print the
  outcome and the receipt, remove the card.
  --card    a card profile or bundled card id, or the number of a card issued at the bank
            counter into --db (in-process reader); else a PC/SC reader name
  --pin     gen 3: the card PIN; gen 2 (and --method reserve): the transaction password
  --host    the host link for this payment (default up); gen 3 medical payments work when down
  --host-url the central host (sscard host serve; default $SSCARD_HOST_URL); without it the
            in-process host on --db answers (docs/central-host.md)
  --terminal-id which till this is (default $SSCARD_TERMINAL_ID, else T0001): each till
            forwarding to one central host needs its own
  Exit 0 approved, 2 declined or refused (the reason is printed), 1 bad input.`;

export async function cmdPay(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    card: { type: 'string' },
    amount: { type: 'string' },
    pin: { type: 'string' },
    method: { type: 'string' },
    host: { type: 'string' },
    db: { type: 'string' },
    ...HOST_OPTIONS,
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    io.out(PAY_HELP);
    return EXIT.OK;
  }
  const cardArg = requireString(values, 'card');
  const amountFen = parseYuan(requireString(values, 'amount'));
  const pin = requireString(values, 'pin');
  if (!/^[0-9]{4,12}$/.test(pin)) throw new UsageError('--pin must be 4 to 12 digits');
  const method = ((values.method as string | undefined) ?? 'medical') as PaymentMethod;
  if (method !== 'medical' && method !== 'reserve')
    throw new UsageError(`--method must be medical or reserve (got '${method}')`);
  const link = ((values.host as string | undefined) ?? 'up') as LinkState;
  if (!['up', 'down', 'slow'].includes(link))
    throw new UsageError(`--host must be up, down or slow (got '${link}')`);

  // A profile file or bundled id is inserted into the in-process reader; otherwise the
  // argument names a PC/SC reader holding a card (e.g. one served with sscard serve).
  let profile: CardProfile | null = null;
  try {
    profile = resolveCard(cardArg).profile;
  } catch (e) {
    if (!(e instanceof ProfileError) || e.problems[0]?.message.startsWith('no such card file') !== true)
      throw e;
    // A card issued at the bank counter lives only in the ledger: look it up by card number.
    profile = cardFromLedger(dbPathOf(values.db), cardArg);
  }
  const reader = profile ? new VirtualReader() : pcscReaderFor(cardArg);

  const opts = { dbPath: dbPathOf(values.db), link, reader, hostTimeoutMs: 1500, ...hostChoice(values) };
  return withPos(opts, io, async (pos) => {
    const t = pos.terminal;
    t.start();
    if (profile) (reader as VirtualReader).insert(pos.register(profile));
    const r = await runPayment(t, { amountFen, method, pin });
    const { approved, message, outcome } = r;
    if (values.json) {
      io.out(
        JSON.stringify(
          {
            approved,
            result: r.result,
            message: renderMessage(message, 'zh'),
            messageEn: renderMessage(message, 'en'),
            code: message.code,
            cardNumber: r.card?.cardNumber ?? null,
            generation: r.card?.generation ?? null,
            paymentId: outcome?.paymentId ?? null,
            amountFen,
            method,
            mode: outcome?.mode ?? null,
            split: outcome?.split ?? null,
            balancesAfter: outcome?.balancesAfter ?? null,
            receipt: outcome?.receiptText ?? null,
          },
          null,
          2,
        ),
      );
    } else {
      io.out(`${approved ? '✔' : '✘'} ${renderMessage(message, 'zh')}`);
      io.out(`  ${renderMessage(message, 'en')}`);
      if (outcome) io.out('\n' + outcome.receiptText);
    }
    if (profile) (reader as VirtualReader).remove();
    await t.settled(5000).catch(() => undefined);
    return approved ? EXIT.OK : EXIT.DECLINED;
  });
}

/** The PC/SC reader a --card argument names, or a clear error saying what was looked for. */
function pcscReaderFor(cardArg: string): PcscReader {
  if (/\.json$/i.test(cardArg) || cardArg.includes('/')) throw new InputError(`${cardArg}: file not found`);
  try {
    return new PcscReader(
      matchReader(
        listPcscReaders().map((r) => r.name),
        cardArg,
      ),
    );
  } catch (e) {
    if (!(e instanceof ReaderError)) throw e;
    throw new InputError(
      `no bundled card, profile file, card in the ledger or PC/SC reader named '${cardArg}' (see 'sscard cards'; ${e.message})`,
    );
  }
}

function cardFromLedger(dbPath: string, cardId: string): CardProfile | null {
  if (!/^[0-9A-Z]{8}[0-9X]$/.test(cardId)) return null;
  const store = openCardStore(dbPath);
  try {
    return new BankCounter({
      store,
      clock: systemClock,
      branch: { id: 'POS', city: '', bank: 'this' },
    }).profileOf(cardId);
  } finally {
    store.close();
  }
}

export async function cmdSettle(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    db: { type: 'string' },
    ...HOST_OPTIONS,
    date: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    io.out(
      'sscard settle --db <file> [--date YYYY-MM-DD] [--host-url <url>] [--terminal-id <id>] [--json]\n  Daily settlement (日结): closes the business day and prints its totals per account and method.\n  Payments still waiting for the host stay queued and are forwarded later.',
    );
    return EXIT.OK;
  }
  return withPos({ dbPath: dbPathOf(values.db), ...hostChoice(values) }, io, async (pos) => {
    const date = (values.date as string | undefined) ?? businessDate(pos.clock());
    if (!isValidBusinessDate(date)) throw new UsageError(`--date must be a date YYYY-MM-DD (got '${date}')`);
    // The day's totals as closed, with what is still waiting for the host now (a sync after
    // closing empties it).
    const s = { ...pos.ledger.closeDay(date), pendingForward: pos.ledger.settlement(date).pendingForward };
    if (values.json) {
      io.out(JSON.stringify(s, null, 2));
      return EXIT.OK;
    }
    io.out(
      `日结 Settlement ${s.date}  terminal ${s.terminalId}  (version ${s.version}, closed ${s.closedAt})`,
    );
    io.out(`  笔数 payments ${s.payments}   退费 refunds ${s.refunds}   冲正 reversals ${s.reversals}`);
    io.out(
      `  净额 net total ¥${yuan(s.totalFen)}   (gross ¥${yuan(s.grossFen)}, refunded ¥${yuan(s.refundedFen)}, reversed ¥${yuan(s.reversedFen)})`,
    );
    io.out('  按账户 by account:');
    for (const [k, v] of Object.entries(s.byAccount)) io.out(`    ${k.padEnd(28)} ¥${yuan(v)}`);
    io.out('  按支付方式 by method:');
    for (const [k, v] of Object.entries(s.byMethod)) io.out(`    ${k.padEnd(28)} ¥${yuan(v)}`);
    if (s.pendingForward) io.out(`  待上送 waiting for the host: ${s.pendingForward} (run sscard sync)`);
    return EXIT.OK;
  });
}

export async function cmdReconcile(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    db: { type: 'string' },
    ...HOST_OPTIONS,
    date: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    io.out(
      "sscard reconcile --db <file> [--date YYYY-MM-DD] [--host-url <url>] [--terminal-id <id>] [--json]\n  对账: compares the terminal's books with the host's records and lists every mismatch.\n  Exit 0 only when they agree, 2 otherwise.",
    );
    return EXIT.OK;
  }
  const date = values.date as string | undefined;
  if (date !== undefined && !isValidBusinessDate(date))
    throw new UsageError(`--date must be a date YYYY-MM-DD (got '${date}')`);
  return withPos({ dbPath: dbPathOf(values.db), ...hostChoice(values) }, io, async (pos) => {
    const r = await pos.reconcile(date);
    if (values.json) io.out(JSON.stringify(r, null, 2));
    else {
      io.out(
        `对账 Reconciliation${r.date ? ` ${r.date}` : ''}: ${r.agree ? '一致 terminal and host agree' : `不一致 ${r.mismatches.length} mismatch(es)`}`,
      );
      io.out(`  terminal ¥${yuan(r.terminalTotalFen)}   host ¥${yuan(r.hostTotalFen)}`);
      for (const m of r.mismatches) io.out(`  ✘ ${m.paymentId}  ${m.kind}  ${m.detail}`);
      for (const n of r.notes) io.out(`  ℹ ${n.paymentId}  ${n.detail}`);
      for (const id of r.timedOutReversed) {
        io.out(
          `  ℹ ${id}  超时后已冲正，未记账 / timed out, reversed at the host, never booked (nets to zero)`,
        );
      }
    }
    return r.agree ? EXIT.OK : EXIT.DECLINED;
  });
}

export async function cmdSync(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    db: { type: 'string' },
    ...HOST_OPTIONS,
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    io.out(
      'sscard sync --db <file> [--host-url <url>] [--terminal-id <id>] [--json]\n  Forwards queued offline payments, refunds and reversals to the host. Safe to repeat:\n  the host applies each payment id once.',
    );
    return EXIT.OK;
  }
  return withPos({ dbPath: dbPathOf(values.db), ...hostChoice(values) }, io, async (pos) => {
    // An operator's sync tries every queued entry now, whatever its retry schedule says.
    const r = await pos.sync({ now: new Date('9999-12-31T23:59:59Z') });
    if (values.json) io.out(JSON.stringify(r, null, 2));
    else {
      io.out(`上送 Forwarded ${r.sent}, failed ${r.failed}, still pending ${r.pending}.`);
      for (const e of r.errors) io.out(`  ✘ ${e.paymentId}: ${e.code} ${e.message}`);
    }
    return r.pending === 0 ? EXIT.OK : EXIT.DECLINED;
  });
}
