import { seededRandom } from '../../random.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../card/pin.ts';
import { fixedClock } from '../../time.ts';
import { HttpHost } from '../http-host.ts';
import {
  hostFixture,
  offline,
  payment,
  PASSWORD,
  type CardSetup,
} from '../../../test/harness/host/test-support.ts';
import {
  HostError,
  type Host,
  type HostPaymentRequest,
  type HostRecord,
  type MedicalOrder,
  type ShortfallPolicy,
} from '../types.ts';
import { startHostServer } from './http-server.ts';
import { PgHost } from './pg-host.ts';
import { freshDatabase, releaseTestServer } from '../../../test/harness/host/pg-test-support.ts';
import { enrolTill } from '../../../test/harness/host/enrol.ts';

/**
 * One contract, three hosts: the in-process reference (SQLite), the central host on
 * PostgreSQL called directly, and the same over HTTP through HttpHost. The same calls give
 * the same results (R1.2 password tries, R4 split and carry-over, idempotent forwarding,
 * refunds and reversals), checked case by case and by a seeded random sequence of operations
 * compared call for call.
 */

const START = '2025-03-10T02:00:00.000Z';
const AT = '2025-03-10T03:00:00.000Z';
const FAST_SCRYPT = { n: 1024, r: 8, p: 1 };

interface Fixture {
  readonly host: Host;
  readonly clock: ReturnType<typeof fixedClock>;
  card(cardId: string, setup?: CardSetup): Promise<string>;
  carryOver(): Promise<unknown>;
  /**
   * Forwards payments as one batch where the host has one (PostgreSQL: forwardBatch; HTTP:
   * POST /v1/forward-batch through the client's prefetch), one by one in-process: a record or
   * the refusal's code per payment.
   */
  batch(requests: HostPaymentRequest[]): Promise<(HostRecord | { error: string })[]>;
  close(): Promise<void>;
}

interface Options {
  medicalOrder?: MedicalOrder;
  shortfall?: ShortfallPolicy;
  start?: string;
}

type Kind = 'in-process' | 'postgres' | 'http';

const cleanups: (() => Promise<void>)[] = [];
// One database per fixture (dozens per run): closing and dropping them one after another can
// take longer than the default hook timeout on a loaded machine, so they go in parallel.
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
  await releaseTestServer();
}, 120_000);

async function fixture(kind: Kind, o: Options = {}): Promise<Fixture> {
  const start = o.start ?? START;
  if (kind === 'in-process') {
    const f = hostFixture(
      {
        ...(o.medicalOrder ? { medicalOrder: o.medicalOrder } : {}),
        ...(o.shortfall ? { shortfall: o.shortfall } : {}),
      },
      start,
    );
    return {
      host: f.host,
      clock: f.clock,
      card: async (id, setup) => f.card(id, setup),
      carryOver: async () => f.host.runCarryOver(),
      batch: async (requests) => {
        const out: (HostRecord | { error: string })[] = [];
        for (const r of requests) {
          const o = await outcome(f.host.forward(r));
          out.push('ok' in o ? o.ok : { error: o.error });
        }
        return out;
      },
      close: async () => void f.db.close(),
    };
  }
  const clock = fixedClock(start);
  const db = await freshDatabase('contract');
  const settings = {
    connectionString: db.url,
    clock,
    poolSize: 4,
    ...(o.medicalOrder ? { medicalOrder: o.medicalOrder } : {}),
    ...(o.shortfall ? { shortfall: o.shortfall } : {}),
  };
  const pgHost = await PgHost.open(settings);
  let host: Host = pgHost;
  let stop = async () => {};
  let batch: Fixture['batch'] = async (requests) =>
    (await pgHost.forwardBatch(requests)).map((o) => o.record ?? { error: o.error!.code });
  if (kind === 'http') {
    const server = await startHostServer({ pgHost });
    const client = new HttpHost({ url: server.url, timeoutMs: 10_000, credential: await enrolTill(pgHost) });
    host = client;
    batch = async (requests) => {
      // Every record must come from the one batch request, none from a call one by one.
      const ready = await client.prefetchForwards(requests, requests.length);
      const out: (HostRecord | { error: string })[] = [];
      for (const r of requests) {
        const o = await outcome(client.forward(r));
        out.push('ok' in o ? o.ok : { error: o.error });
      }
      expect(ready, 'records answered by the batch request').toBe(out.filter((o) => !('error' in o)).length);
      return out;
    };
    stop = async () => {
      client.close();
      await server.close();
    };
  }
  const close = async () => {
    await stop();
    await pgHost.close();
    await db.drop();
  };
  cleanups.push(close);
  return {
    host,
    clock,
    async card(cardId, setup = {}) {
      const generation = setup.generation ?? 3;
      const password = setup.password === undefined ? (generation === 1 ? null : PASSWORD) : setup.password;
      await pgHost.registerCard({
        cardId,
        generation,
        status: setup.status ?? 'active',
        passwordHash: password === null ? null : hashSecret(password, FAST_SCRYPT),
        opening: {
          reserve: setup.reserve ?? null,
          medicalCurrent: setup.current ?? null,
          medicalPrior: setup.prior ?? null,
        },
        terminalId: 'T0001',
      });
      return cardId;
    },
    carryOver: () => pgHost.runCarryOver(),
    batch,
    close: async () => {},
  };
}

async function outcome<T>(
  p: Promise<T>,
): Promise<{ ok: T; error?: undefined } | { error: string; triesLeft?: number }> {
  try {
    const v = await p;
    return { ok: v };
  } catch (e) {
    if (e instanceof HostError)
      return { error: e.code, ...(e.triesLeft !== undefined ? { triesLeft: e.triesLeft } : {}) };
    throw e;
  }
}

const KINDS: Kind[] = ['in-process', 'postgres', 'http'];

describe.each(KINDS)('the host contract on the %s host', (kind) => {
  it('R4: current year first by default, prior-first when configured; a shortfall is self-pay', async () => {
    const f = await fixture(kind);
    const card = await f.card('A00000001', { current: 3_000, prior: 1_000 });
    const paid = await f.host.pay(payment(card, 4_500));
    expect(paid.split).toEqual({
      medicalCurrentFen: 3_000,
      medicalPriorFen: 1_000,
      reserveFen: 0,
      selfPayFen: 500,
    });
    expect(await f.host.balances(card)).toEqual({ reserve: null, medicalCurrent: 0, medicalPrior: 0 });

    const g = await fixture(kind, { medicalOrder: 'prior-first' });
    const other = await g.card('A00000002', { current: 3_000, prior: 1_000 });
    expect((await g.host.pay(payment(other, 2_000))).split).toEqual({
      medicalCurrentFen: 1_000,
      medicalPriorFen: 1_000,
      reserveFen: 0,
      selfPayFen: 0,
    });
  });

  it('R4: a shortfall is declined when configured, and nothing changes', async () => {
    const f = await fixture(kind, { shortfall: 'decline' });
    const card = await f.card('A00000001', { current: 1_000 });
    await expect(f.host.pay(payment(card, 1_500))).rejects.toMatchObject({
      code: 'INSUFFICIENT_FUNDS',
      message: expect.stringMatching(/short by 5\.00 yuan of 15\.00 yuan/),
    });
    expect(await f.host.balances(card)).toEqual({ reserve: null, medicalCurrent: 1_000, medicalPrior: null });
    expect(await f.host.records('T0001')).toEqual([]);
  });

  it('refuses unknown, gen 1 and unusable cards, and reserve payments the reserve cannot cover', async () => {
    const f = await fixture(kind);
    const gen1 = await f.card('A00000001', { generation: 1 });
    const closed = await f.card('A00000002', { status: 'loss-reported', current: 100 });
    const gen2 = await f.card('A00000003', { generation: 2, reserve: 1_000 });
    await expect(f.host.pay(payment('NOSUCHCRD', 100))).rejects.toMatchObject({ code: 'UNKNOWN_CARD' });
    await expect(f.host.pay(payment(gen1, 100))).rejects.toMatchObject({ code: 'CARD_NOT_USABLE' });
    await expect(f.host.pay(payment(closed, 100))).rejects.toMatchObject({ code: 'CARD_NOT_USABLE' });
    await expect(f.host.pay(payment(gen2, 1_001, { method: 'reserve' }))).rejects.toMatchObject({
      code: 'INSUFFICIENT_FUNDS',
    });
    expect((await f.host.pay(payment(gen2, 1_000, { method: 'reserve' }))).split.reserveFen).toBe(1_000);
    expect(await f.host.cardStatus(closed)).toBe('loss-reported');
    await expect(f.host.cardStatus('NOSUCHCRD')).rejects.toMatchObject({ code: 'UNKNOWN_CARD' });
  });

  it('forwarding is idempotent by paymentId; stale balances are advanced by the centre', async () => {
    const f = await fixture(kind);
    const card = await f.card('A00000001', { current: 1_000, reserve: 0 });
    const req = offline(card, { medicalCurrentFen: 1_500, selfPayFen: 200 });
    const first = await f.host.forward(req);
    expect(first).toMatchObject({ advancedFen: 500, split: req.split, amountFen: 1_700 });
    expect(await f.host.forward(req)).toEqual(first);
    expect(await f.host.balances(card)).toEqual({ reserve: 0, medicalCurrent: 0, medicalPrior: null });
    await expect(
      f.host.forward({ ...req, amountFen: 1_800, split: { ...req.split, selfPayFen: 300 } }),
    ).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/already used for a different payment/),
    });
    await expect(
      f.host.forward(
        offline(card, { medicalCurrentFen: 100 }, { amountFen: 99 } as Partial<HostPaymentRequest>),
      ),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect((await f.host.records('T0001')).map((r) => r.paymentId)).toEqual([req.paymentId]);
  });

  it('refunds return last-drawn first; a reversal returns the rest; both idempotent by id', async () => {
    const f = await fixture(kind);
    const card = await f.card('A00000001', { current: 3_000, prior: 1_000 });
    const paid = await f.host.pay(payment(card, 4_500));
    const refund = await f.host.refund('ref-1', paid.paymentId, 700, AT);
    expect(refund.split).toEqual({
      medicalCurrentFen: 0,
      medicalPriorFen: 200,
      reserveFen: 0,
      selfPayFen: 500,
    });
    expect(await f.host.refund('ref-1', paid.paymentId, 700, AT)).toEqual(refund);
    await expect(f.host.refund('ref-2', paid.paymentId, 5_000, AT)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    const rev = await f.host.reverse('rev-1', paid.paymentId, AT);
    expect(rev).toMatchObject({ kind: 'reversal', amountFen: 3_800, refPaymentId: paid.paymentId });
    expect(await f.host.reverse('rev-1', paid.paymentId, AT)).toEqual(rev);
    await expect(f.host.reverse('rev-2', paid.paymentId, AT)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/already reversed by rev-1/),
    });
    await expect(f.host.reverse('rev-3', 'never', AT)).rejects.toMatchObject({ code: 'UNKNOWN_PAYMENT' });
    expect(await f.host.balances(card)).toEqual({
      reserve: null,
      medicalCurrent: 3_000,
      medicalPrior: 1_000,
    });
  });

  it('a reversal that arrives before its debit voids the id: the late pay is refused, nothing moves', async () => {
    const f = await fixture(kind);
    const card = await f.card('A00000001', { current: 3_000, reserve: 2_000 });
    const before = await f.host.balances(card);
    const late = payment(card, 1_200);
    const reserve = payment(card, 800, { method: 'reserve' });
    for (const p of [late, reserve]) {
      // The till gave up on the debit and reversed it; the debit is still on its way.
      await expect(f.host.reverse(`${p.paymentId}-R`, p.paymentId, AT)).rejects.toMatchObject({
        code: 'UNKNOWN_PAYMENT',
      });
      // Repeated: the same answer, the tombstone unchanged.
      await expect(f.host.reverse(`${p.paymentId}-R`, p.paymentId, AT)).rejects.toMatchObject({
        code: 'UNKNOWN_PAYMENT',
      });
      for (let i = 0; i < 2; i++) {
        await expect(f.host.pay(p)).rejects.toMatchObject({
          code: 'PAYMENT_VOIDED',
          message: expect.stringContaining(`voided by reversal ${p.paymentId}-R`),
        });
      }
    }
    // Another reversal of the same id changes nothing; the tombstone's reversal id cannot be
    // reused for another payment.
    await expect(f.host.reverse('another-R', late.paymentId, AT)).rejects.toMatchObject({
      code: 'UNKNOWN_PAYMENT',
    });
    await expect(f.host.reverse(`${late.paymentId}-R`, 'pay-other', AT)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/already used for the reversal of/),
    });
    await expect(f.host.pay(late)).rejects.toMatchObject({
      code: 'PAYMENT_VOIDED',
      message: expect.stringContaining(`voided by reversal ${late.paymentId}-R`),
    });
    expect(await f.host.balances(card)).toEqual(before);
    expect(await f.host.records('T0001')).toEqual([]);
    // Other payments are not affected.
    expect((await f.host.pay(payment(card, 500))).split.medicalCurrentFen).toBe(500);
  });

  it('a forwarded offline payment whose id was voided is applied and reversed at once by that reversal', async () => {
    const f = await fixture(kind);
    const card = await f.card('A00000001', { current: 1_000, reserve: 0 });
    const before = await f.host.balances(card);
    // Booked offline after a timeout, then the holder pulled the card: the till reversed it at
    // once (not forwarded yet: UNKNOWN_PAYMENT) and queued the reversal behind the payment.
    const req = offline(card, { medicalCurrentFen: 1_500, selfPayFen: 200 });
    const reversalId = `${req.paymentId}-R`;
    await expect(f.host.reverse(reversalId, req.paymentId, AT)).rejects.toMatchObject({
      code: 'UNKNOWN_PAYMENT',
    });
    // The online debit, delayed, still arrives: refused.
    await expect(f.host.pay({ ...req, mode: 'online' })).rejects.toMatchObject({ code: 'PAYMENT_VOIDED' });
    const first = await f.host.forward(req);
    expect(first).toMatchObject({ kind: 'payment', advancedFen: 500, split: req.split, amountFen: 1_700 });
    expect(await f.host.balances(card)).toEqual(before);
    const records = await f.host.records('T0001');
    expect(records.map((r) => [r.paymentId, r.kind, r.refPaymentId, r.amountFen])).toEqual([
      [req.paymentId, 'payment', null, 1_700],
      [reversalId, 'reversal', req.paymentId, 1_700],
    ]);
    expect(records[1]).toMatchObject({ split: req.split, advancedFen: 500, createdAt: AT });
    // The till's queue then sends both again: replays.
    expect(await f.host.forward(req)).toEqual(first);
    expect(await f.host.reverse(reversalId, req.paymentId, AT)).toEqual(records[1]);
    expect(await f.host.balances(card)).toEqual(before);
    expect(await f.host.records('T0001')).toEqual(records);
  });

  it('a batch holding a voided payment gives forward()’s answers; the payments after it draw as if it never came', async () => {
    const f = await fixture(kind);
    const card = await f.card('A00000001', { current: 3_000 });
    const a = offline(card, { medicalCurrentFen: 1_000 });
    const voided = offline(card, { medicalCurrentFen: 2_500, selfPayFen: 100 });
    const b = offline(card, { medicalCurrentFen: 2_000 });
    await expect(f.host.reverse(`${voided.paymentId}-R`, voided.paymentId, AT)).rejects.toMatchObject({
      code: 'UNKNOWN_PAYMENT',
    });
    const out = await f.batch([a, voided, b, voided]);
    expect(out.map((o) => ('error' in o ? o.error : [o.paymentId, o.advancedFen]))).toEqual([
      [a.paymentId, 0],
      [voided.paymentId, 500], // 2 000 left after a: 500 advanced, then all of it given back
      [b.paymentId, 0], // the 2 000 are there again for b
      [voided.paymentId, 500], // the same id again in the batch: its first record
    ]);
    expect(out[3]).toEqual(out[1]);
    expect(await f.host.balances(card)).toEqual({ reserve: null, medicalCurrent: 0, medicalPrior: null });
    const records = await f.host.records('T0001');
    expect(records.map((r) => [r.paymentId, r.kind])).toEqual([
      [a.paymentId, 'payment'],
      [voided.paymentId, 'payment'],
      [`${voided.paymentId}-R`, 'reversal'],
      [b.paymentId, 'payment'],
    ]);
    expect(await f.host.reverse(`${voided.paymentId}-R`, voided.paymentId, AT)).toEqual(records[2]);
  });

  it('R1.2: wrong passwords count down to a lock; the right one resets the count', async () => {
    const f = await fixture(kind);
    const card = await f.card('A00000001', { generation: 2, reserve: 100 });
    const gen1 = await f.card('A00000002', { generation: 1 });
    expect(await f.host.verifyPassword(card, PASSWORD)).toEqual({ ok: true });
    await expect(f.host.verifyPassword(card, '000000')).rejects.toMatchObject({
      code: 'WRONG_PASSWORD',
      triesLeft: 2,
    });
    expect(await f.host.verifyPassword(card, PASSWORD)).toEqual({ ok: true });
    await expect(f.host.verifyPassword(card, '000000')).rejects.toMatchObject({ triesLeft: 2 });
    await expect(f.host.verifyPassword(card, '000000')).rejects.toMatchObject({ triesLeft: 1 });
    await expect(f.host.verifyPassword(card, '000000')).rejects.toMatchObject({
      code: 'PASSWORD_LOCKED',
      triesLeft: 0,
    });
    await expect(f.host.verifyPassword(card, PASSWORD)).rejects.toMatchObject({ code: 'PASSWORD_LOCKED' });
    await expect(f.host.verifyPassword(gen1, PASSWORD)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('R4.2: on 21 June (Beijing) 95000 carries over into 95001 once, opening 95001', async () => {
    const f = await fixture(kind, { start: '2025-06-20T02:00:00.000Z' });
    const card = await f.card('A00000001', { current: 30_000 });
    const empty = await f.card('A00000002', { current: 0 });
    f.clock.set('2025-06-20T15:59:59.000Z');
    expect(await f.host.balances(card)).toMatchObject({ medicalCurrent: 30_000, medicalPrior: null });
    f.clock.set('2025-06-20T16:00:00.000Z');
    expect(await f.host.balances(card)).toMatchObject({ medicalCurrent: 0, medicalPrior: 30_000 });
    expect(await f.host.balances(empty)).toMatchObject({ medicalCurrent: 0, medicalPrior: 0 });
    expect(await f.carryOver()).toEqual([]);
    expect(await f.host.balances(card)).toMatchObject({ medicalCurrent: 0, medicalPrior: 30_000 });
  });
});

type Op = (host: Host) => Promise<unknown>;

/** A seeded sequence of calls with what the hosts answer depending on their earlier answers. */
function operations(seed: number, count: number): { cards: [string, CardSetup][]; ops: Op[] } {
  const r = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const cards: [string, CardSetup][] = [
    ['B00000001', { current: 20_000, prior: 5_000, reserve: 8_000 }],
    ['B00000002', { current: 1_500 }],
    ['B00000003', { generation: 2, reserve: 12_000 }],
    ['B00000004', { generation: 1 }],
    ['B00000005', { status: 'not-activated', current: 1_000 }],
  ];
  const ids = cards.map(([id]) => id);
  const payments: string[] = [];
  const forwarded: HostPaymentRequest[] = [];
  const ops: Op[] = [];
  for (let i = 0; i < count; i++) {
    const n = i;
    const roll = r();
    const cardId = pick(ids);
    const amount = 1 + Math.floor(r() * 6_000);
    if (roll < 0.25) {
      const method = r() < 0.7 ? 'medical' : 'reserve';
      const req = payment(cardId, amount, { paymentId: `p${seed}-${n}`, method, createdAt: AT });
      payments.push(req.paymentId);
      ops.push((h) => h.pay(req));
    } else if (roll < 0.45) {
      const medical = r() < 0.7;
      const split = medical
        ? {
            medicalCurrentFen: amount,
            medicalPriorFen: Math.floor(r() * 500),
            selfPayFen: Math.floor(r() * 300),
          }
        : { reserveFen: amount };
      const req = offline(cardId, split, {
        paymentId: `f${seed}-${n}`,
        method: medical ? 'medical' : 'reserve',
        createdAt: AT,
      });
      payments.push(req.paymentId);
      forwarded.push(req);
      ops.push((h) => h.forward(req));
    } else if (roll < 0.5 && forwarded.length > 0) {
      const again = pick(forwarded);
      ops.push((h) => h.forward(again));
    } else if (roll < 0.65 && payments.length > 0) {
      const target = pick(payments);
      const refundAmount = 1 + Math.floor(r() * 3_000);
      ops.push((h) => h.refund(`r${seed}-${n}`, target, refundAmount, AT));
    } else if (roll < 0.72 && payments.length > 0) {
      const target = pick(payments);
      ops.push((h) => h.reverse(`v${seed}-${n}`, target, AT));
    } else if (roll < 0.8) {
      const password = r() < 0.5 ? PASSWORD : '999999';
      ops.push((h) => h.verifyPassword(cardId, password));
    } else if (roll < 0.95) {
      ops.push((h) => h.balances(cardId));
    } else {
      ops.push((h) => h.records('T0001'));
    }
  }
  return { cards, ops };
}

describe('the central host gives the in-process host’s results, call for call', () => {
  const seed = Number(process.env.SSCARD_CONTRACT_SEED ?? 20250310);
  it(`a seeded random sequence of 150 calls (seed ${seed}; rerun with SSCARD_CONTRACT_SEED)`, async () => {
    const { cards, ops } = operations(seed, 150);
    const ref = await fixture('in-process');
    const pgf = await fixture('postgres');
    const httpf = await fixture('http');
    for (const f of [ref, pgf, httpf]) for (const [id, setup] of cards) await f.card(id, setup);
    const seen = new Map<string, number>();
    for (const [i, op] of ops.entries()) {
      const expected = await outcome(op(ref.host));
      const tag = (expected as { error?: string }).error ?? 'ok';
      seen.set(tag, (seen.get(tag) ?? 0) + 1);
      expect(await outcome(op(pgf.host)), `call ${i} (seed ${seed}) on postgres`).toEqual(expected);
      expect(await outcome(op(httpf.host)), `call ${i} (seed ${seed}) over http`).toEqual(expected);
    }
    // The sequence exercises successes and the hosts' refusals alike.
    expect(seen.get('ok') ?? 0, `outcomes ${JSON.stringify([...seen])}`).toBeGreaterThan(50);
    expect(seen.size, `outcomes ${JSON.stringify([...seen])}`).toBeGreaterThanOrEqual(5);
    for (const [id] of cards) {
      const b = await ref.host.balances(id);
      expect(await pgf.host.balances(id)).toEqual(b);
      expect(await httpf.host.balances(id)).toEqual(b);
    }
    expect(await pgf.host.records('T0001')).toEqual(await ref.host.records('T0001'));
  });
});

describe('the central host under concurrency (PostgreSQL row locks)', () => {
  it('R4: 30 online payments at once from one card never overdraw 95000/95001', async () => {
    const f = await fixture('postgres', { shortfall: 'decline' });
    const card = await f.card('A00000001', { current: 10_000, prior: 2_000 });
    const results = await Promise.all(
      Array.from({ length: 30 }, () => outcome(f.host.pay(payment(card, 1_000)))),
    );
    const ok = results.filter((x) => (x as { ok?: unknown }).ok !== undefined).length;
    expect(ok).toBe(12);
    expect(results.filter((x) => (x as { error?: string }).error === 'INSUFFICIENT_FUNDS')).toHaveLength(18);
    expect(await f.host.balances(card)).toEqual({ reserve: null, medicalCurrent: 0, medicalPrior: 0 });
  });

  it('a debit and its reversal racing: either the reversal reverses the debit or the debit is refused', async () => {
    const f = await fixture('postgres');
    const card = await f.card('A00000001', { current: 100_000 });
    const reqs = Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0 ? payment(card, 100 + i) : offline(card, { medicalCurrentFen: 100 + i }),
    );
    const pairs = await Promise.all(
      reqs.map(async (req, i) => {
        const debit = () => (req.mode === 'online' ? f.host.pay(req) : f.host.forward(req));
        const reverse = () => f.host.reverse(`${req.paymentId}-R`, req.paymentId, AT);
        // Half the pairs start the reversal first.
        let d, r;
        if (i % 4 < 2) [d, r] = await Promise.all([outcome(debit()), outcome(reverse())]);
        else [r, d] = await Promise.all([outcome(reverse()), outcome(debit())]);
        return { req, d: d.error ?? 'ok', r: r.error ?? 'ok' };
      }),
    );
    for (const { req, d, r } of pairs) {
      // Never a debit applied while its reversal was answered "never applied".
      const allowed =
        req.mode === 'online'
          ? [
              ['ok', 'ok'],
              ['PAYMENT_VOIDED', 'UNKNOWN_PAYMENT'],
            ]
          : [
              ['ok', 'ok'],
              ['ok', 'UNKNOWN_PAYMENT'],
            ]; // a voided forward is reversed at once
      expect(allowed, `${req.paymentId} (${req.mode}): debit ${d}, reversal ${r}`).toContainEqual([d, r]);
    }
    expect(await f.host.balances(card)).toEqual({
      reserve: null,
      medicalCurrent: 100_000,
      medicalPrior: null,
    });
    const records = await f.host.records('T0001');
    const payments = records.filter((x) => x.kind === 'payment').map((x) => x.paymentId);
    const reversed = records.filter((x) => x.kind === 'reversal').map((x) => x.refPaymentId);
    expect(reversed.sort()).toEqual(payments.sort());
    const status = await (f.host as PgHost).status();
    expect(status.chain).toMatchObject({ netFen: 0, booksBalanced: true });

    // A batch racing the reversals of its payments: each one applied and reversed, whichever came first.
    const batch = Array.from({ length: 30 }, (_, i) => offline(card, { medicalCurrentFen: 200 + i }));
    const [out, reversals] = await Promise.all([
      f.batch(batch),
      Promise.all(batch.map((req) => outcome(f.host.reverse(`${req.paymentId}-R`, req.paymentId, AT)))),
    ]);
    expect(out.filter((o) => 'error' in o)).toEqual([]);
    expect(new Set(reversals.map((r) => r.error ?? 'ok'))).not.toContain('INVALID_REQUEST');
    expect(await f.host.balances(card)).toEqual({
      reserve: null,
      medicalCurrent: 100_000,
      medicalPrior: null,
    });
    const after = await f.host.records('T0001');
    expect(after.filter((x) => x.kind === 'reversal')).toHaveLength(records.length / 2 + batch.length);
  });

  it('the same payment forwarded 20 times at once is applied once', async () => {
    const f = await fixture('postgres');
    const card = await f.card('A00000001', { current: 10_000 });
    const req = offline(card, { medicalCurrentFen: 2_500 });
    const results = await Promise.all(Array.from({ length: 20 }, () => f.host.forward(req)));
    expect(new Set(results.map((x) => JSON.stringify(x))).size).toBe(1);
    expect(await f.host.balances(card)).toMatchObject({ medicalCurrent: 7_500 });
    expect(await f.host.records('T0001')).toHaveLength(1);
    const status = await (f.host as PgHost).status();
    expect(status.chain).toMatchObject({ payments: 1, netFen: 2_500, booksBalanced: true });
  });
});
