import { afterAll, describe, expect, it } from 'vitest';
import { openPosSystem, type PosSystem } from './pos-system.ts';
import { resolveCard } from '../card/wallet.ts';
import type { CardProfile } from '../card/profile.ts';
import { fixedClock } from '../time.ts';
import type { VirtualReader } from '../../device/virtual-reader.ts';
import { HostError, type Host, type HostPaymentRequest, type HostRecord } from '../host/types.ts';
import { startHostServer, type HostServer } from '../host/server/http-server.ts';
import { enrolTill } from '../../test/harness/host/enrol.ts';
import { freshDatabase, releaseTestServer } from '../../test/harness/host/pg-test-support.ts';

/**
 * A debit delayed on the network that reaches the host after the till's reversal of it.
 *
 * The till gives up on an online debit (no answer in time) and reverses it; the reversal gets
 * there first, finds nothing (UNKNOWN_PAYMENT, the till settles it as never applied), and then
 * the debit itself arrives. Without a tombstone the host would apply it: the card charged for a
 * sale the till considers void, and nobody left to reverse it. The host keeps the reversed id
 * as voided and refuses the late debit (PAYMENT_VOIDED). Played on the in-process host and on
 * the central host (PostgreSQL over HTTP), with a host wrapper standing for the network.
 */

const NOW = '2026-11-26T02:00:00Z'; // 10:00 in Beijing
const GEN2 = resolveCard('gen2').profile; // online only: a timeout is reversed
const GEN3 = resolveCard('gen3-active').profile; // medical: taken offline when the host times out

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await releaseTestServer();
});

/**
 * The network between the till and its host: the till's debit is held (the till hears
 * HOST_TIMEOUT at once, as after its timeout) and delivered to the host only once the till's
 * reversal of that debit has been answered. `late` is what the host answered the debit.
 */
class DelayingNetwork {
  private held: { request: HostPaymentRequest; deliver: () => void } | null = null;
  late: Promise<{ record: HostRecord } | { error: string }> | null = null;

  /** The payment id of the debit held last. */
  get heldId(): string {
    if (!this.held) throw new Error('no debit was held');
    return this.held.request.paymentId;
  }
  /** Called when the debit is held (e.g. the holder pulls the card meanwhile). */
  onHeld: () => void = () => undefined;

  wrap(host: Host): Host {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const net = this;
    return Object.assign(Object.create(host) as Host, {
      pay(request: HostPaymentRequest): Promise<HostRecord> {
        let deliver!: () => void;
        const released = new Promise<void>((resolve) => (deliver = resolve));
        net.held = { request, deliver };
        // Delivered without the till's callback: nobody at the till is waiting for it any more.
        net.late = released.then(() =>
          host.pay(request).then(
            (record) => ({ record }),
            (e: unknown) => {
              if (e instanceof HostError) return { error: e.code };
              throw e;
            },
          ),
        );
        net.onHeld();
        return Promise.reject(
          new HostError('HOST_TIMEOUT', 'no answer within the timeout: the debit is still on the network'),
        );
      },
      async reverse(reversalId: string, paymentId: string, at: string): Promise<HostRecord> {
        try {
          return await host.reverse(reversalId, paymentId, at);
        } finally {
          if (net.held?.request.paymentId === paymentId) net.held.deliver();
        }
      },
    });
  }
}

interface Till {
  readonly pos: PosSystem<Host>;
  readonly net: DelayingNetwork;
  /** The host's books: balanced (double entry) and the card's balances as the host holds them. */
  booksBalanced(): Promise<boolean>;
}

type Kind = 'in-process' | 'central';

let server: HostServer | null = null;
async function centralHost(): Promise<HostServer> {
  if (server) return server;
  const db = await freshDatabase('latedebit');
  const live = await startHostServer({ connectionString: db.url, poolSize: 2 });
  cleanups.push(async () => {
    await live.close();
    await db.drop();
  });
  return (server = live);
}

let terminals = 0;
async function till(kind: Kind, card: CardProfile): Promise<Till> {
  const net = new DelayingNetwork();
  const clock = fixedClock(NOW);
  if (kind === 'in-process') {
    const pos = openPosSystem({
      dbPath: ':memory:',
      clock,
      hostTimeoutMs: 100,
      wrapHost: (h) => net.wrap(h),
    }) as unknown as PosSystem<Host>;
    cleanups.push(() => pos.close());
    pos.register(card);
    pos.terminal.start();
    // Σ of every account, card and system: zero under double entry.
    const total = () =>
      pos.store.db.prepare<[], number>('SELECT COALESCE(SUM(balance_fen), 0) FROM accounts').pluck().get();
    return { pos, net, booksBalanced: async () => total() === 0 };
  }
  const live = await centralHost();
  // Each test its own terminal, so that reconciliation sees this test's records only.
  const terminalId = `LATE${++terminals}`;
  const pos = openPosSystem({
    dbPath: ':memory:',
    clock,
    hostUrl: live.url,
    hostToken: await enrolTill(live, terminalId),
    hostTimeoutMs: 5_000,
    terminalId,
    wrapHost: (h) => net.wrap(h),
  });
  cleanups.push(() => pos.close());
  pos.register(card);
  await pos.enrolled();
  pos.terminal.start();
  return { pos, net, booksBalanced: async () => (await live.host.status()).chain.booksBalanced };
}

/** Inserts the card and asks for a payment with the PIN (gen 3) or transaction password (gen 2). */
async function sale(pos: PosSystem<Host>, p: CardProfile, amountFen: number, secret: string) {
  const t = pos.terminal;
  const reader = pos.reader as VirtualReader;
  reader.insert(pos.register(p));
  await t.settled();
  t.send({ type: 'AMOUNT_ENTERED', amountFen, method: 'medical' });
  await t.settled();
  expect(t.stateName()).toMatch(/awaiting(Pin|Password)/);
  t.send({ type: 'PIN_ENTERED', pin: secret });
  await t.settled();
  const last = t.snapshot.context.last;
  const message = t.message();
  if (reader.cardPresent()) reader.remove();
  await t.settled();
  return { result: last?.result ?? null, message: message.code };
}

describe.each<Kind>(['in-process', 'central'])(
  'a debit that reaches the %s host after its reversal',
  (kind) => {
    it('gen 2: the till times out and reverses; the late debit is refused, the card is not charged, reconciliation agrees', async () => {
      const { pos, net, booksBalanced } = await till(kind, GEN2);
      const card = GEN2.card.number;
      const before = await pos.host.balances(card);

      const r = await sale(pos, GEN2, 1_250, '246810');
      expect(r.result).toBe('reversed');
      const paymentId = net.heldId;
      // The till settled its reversal as never applied: nothing owed, nothing booked.
      const owed = pos.store.db
        .prepare<[string], { outcome: string | null; done_at: string | null }>(
          'SELECT outcome, done_at FROM pending_host_reversals WHERE payment_id = ?',
        )
        .get(paymentId);
      expect(owed).toMatchObject({ outcome: 'never-applied' });
      expect(owed?.done_at).not.toBeNull();
      expect(pos.ledger.payment(paymentId)).toBeNull();

      // Now the debit arrives: refused, nothing moves.
      expect(await net.late).toEqual({ error: 'PAYMENT_VOIDED' });
      expect(await pos.host.balances(card)).toEqual(before);
      const records = await pos.host.records(pos.ledger.terminalId);
      expect(records.filter((x) => x.paymentId === paymentId || x.refPaymentId === paymentId)).toEqual([]);
      expect(await booksBalanced()).toBe(true);
      const synced = await pos.sync();
      expect(synced).toMatchObject({ pending: 0, reversalsSettled: 0 });
      const rec = await pos.reconcile();
      expect(rec.agree, JSON.stringify(rec.mismatches)).toBe(true);
      expect(rec.timedOutReversed).toEqual([]);
    }, 60_000);

    it('gen 3 taken offline, the card pulled and the sale reversed: the late debit is refused, the queue still drains, nothing charged', async () => {
      const { pos, net, booksBalanced } = await till(kind, GEN3);
      const card = GEN3.card.number;
      const before = await pos.host.balances(card);
      // The holder pulls the card while the till waits for the host.
      net.onHeld = () => (pos.reader as VirtualReader).remove();

      const r = await sale(pos, GEN3, 800, '258014');
      expect(r.result).toBe('reversed');
      const paymentId = net.heldId;
      // Booked offline under the debit's id, and its reversal queued behind it.
      expect(pos.ledger.payment(paymentId)).toMatchObject({ mode: 'offline', amountFen: 800 });
      expect(pos.ledger.payment(`${paymentId}-R`)).toMatchObject({ kind: 'reversal' });

      expect(await net.late).toEqual({ error: 'PAYMENT_VOIDED' });
      expect(await pos.host.balances(card)).toEqual(before);

      // The queue: the payment is applied and at once reversed by the reversal that voided it;
      // the queued reversal is answered with that record.
      const synced = await pos.sync();
      expect(synced).toMatchObject({ sent: 2, failed: 0, pending: 0 });
      expect(await pos.host.balances(card)).toEqual(before);
      const records = await pos.host.records(pos.ledger.terminalId);
      expect(records.map((x) => [x.paymentId, x.kind])).toEqual([
        [paymentId, 'payment'],
        [`${paymentId}-R`, 'reversal'],
      ]);
      expect(await booksBalanced()).toBe(true);
      const rec = await pos.reconcile();
      expect(rec.agree, JSON.stringify(rec.mismatches)).toBe(true);
      expect(rec.terminalTotalFen).toBe(0);
      expect(rec.hostTotalFen).toBe(0);
    }, 60_000);
  },
);
