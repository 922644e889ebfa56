import { parseArgs } from 'node:util';
import { resolveCard } from '../../core/card/wallet.ts';
import { cardNumberCheckChar } from '../../core/rules/card-number.ts';
import { openPosSystem } from '../../core/pos/pos-system.ts';
import { runPayment } from '../../core/pos/run-payment.ts';
import type { VirtualReader } from '../../device/virtual-reader.ts';

/**
 * One terminal as its own process, on its own SQLite file, talking to the central host over
 * HTTP (e2e/central-host.test.ts and bench/central-host.bench.ts start several at once).
 *
 *   terminal-process.ts <pay|sync|reconcile> --db <file> --host-url <url> --terminal <id> …
 *   pay       --card <bundled id> --pin <digits> --count N --amount <fen>: N payments at the till
 *   sync      forwards the queue until it is empty (retrying through a host that is down)
 *   reconcile 对账 with the host (and reports it to the host)
 * Prints one JSON line with what it did.
 */
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    db: { type: 'string' },
    'host-url': { type: 'string' },
    /** The till's credential at the host (sscard host enrol). */
    'host-token': { type: 'string' },
    terminal: { type: 'string' },
    card: { type: 'string', default: 'gen3-active' },
    /** pay: the bundled card re-numbered (8 characters; the check character is added): one card per terminal. */
    'card-number': { type: 'string' },
    pin: { type: 'string', default: '258014' },
    count: { type: 'string', default: '1' },
    amount: { type: 'string', default: '1000' },
    'timeout-ms': { type: 'string', default: '10000' },
    'deadline-ms': { type: 'string', default: '60000' },
    /** sync: wait until this epoch ms before forwarding (several terminals start together). */
    'start-at': { type: 'string' },
    /** sync: queued payments per request to the host (1: one by one). */
    batch: { type: 'string', default: '200' },
  },
});

const command = positionals[0];
if (!values.db || !values['host-url'] || !values.terminal || !command) {
  process.stderr.write(
    'usage: terminal-process.ts <pay|sync|reconcile> --db <file> --host-url <url> --terminal <id>\n',
  );
  process.exit(64);
}

const pos = openPosSystem({
  dbPath: values.db,
  terminalId: values.terminal,
  merchantId: 'M_CHAIN_01',
  hostUrl: values['host-url'],
  hostToken: values['host-token'],
  hostTimeoutMs: Number(values['timeout-ms']),
  hostBatchSize: Number(values.batch),
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pay(): Promise<unknown> {
  const profile = structuredClone(resolveCard(values.card!).profile);
  const body = values['card-number'];
  if (body) profile.card.number = body + cardNumberCheckChar(body);
  const reader = pos.reader as VirtualReader;
  const t = pos.terminal;
  t.start();
  const card = pos.register(profile);
  const counts = { approved: 0, declined: 0, online: 0, offline: 0 };
  const paymentIds: string[] = [];
  for (let i = 0; i < Number(values.count); i++) {
    reader.insert(card);
    const r = await runPayment(t, { amountFen: Number(values.amount), method: 'medical', pin: values.pin! });
    reader.remove();
    await t.settled(10_000);
    if (r.approved && r.outcome) {
      counts.approved += 1;
      counts[r.outcome.mode] += 1;
      paymentIds.push(r.outcome.paymentId);
    } else counts.declined += 1;
  }
  return { ...counts, paymentIds };
}

async function sync(): Promise<unknown> {
  if (values['start-at']) await sleep(Math.max(0, Number(values['start-at']) - Date.now()));
  const startedAt = Date.now();
  const deadline = startedAt + Number(values['deadline-ms']);
  let rounds = 0;
  let sent = 0;
  for (;;) {
    rounds += 1;
    // An operator's sync: everything queued is due now, whatever its retry schedule says.
    const r = await pos.sync({ now: new Date('9999-12-31T23:59:59Z') });
    sent += r.sent;
    if (r.pending === 0) return { rounds, sent, pending: 0, startedAt, endedAt: Date.now() };
    if (Date.now() > deadline) return { rounds, sent, pending: r.pending, errors: r.errors.slice(0, 3) };
    await sleep(r.stoppedOnHostDown ? 100 : 20);
  }
}

async function reconcile(): Promise<unknown> {
  const r = await pos.reconcile();
  const payments = pos.ledger.payments().map((p) => ({
    paymentId: p.paymentId,
    kind: p.kind,
    amountFen: p.amountFen,
    split: p.split,
  }));
  return { ...r, payments, pending: pos.ledger.pendingCount() };
}

try {
  const result = command === 'pay' ? await pay() : command === 'sync' ? await sync() : await reconcile();
  process.stdout.write(JSON.stringify(result) + '\n');
  pos.close();
  process.exit(0);
} catch (e) {
  process.stderr.write(`terminal ${values.terminal}: ${(e as Error).stack ?? String(e)}\n`);
  pos.close();
  process.exit(1);
}
