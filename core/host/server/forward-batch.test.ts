import { seededRandom } from '../../random.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../time.ts';
import { HttpHost } from '../http-host.ts';
import { HostError, type HostPaymentRequest, type PaymentSplit, type ShortfallPolicy } from '../types.ts';
import { startHostServer } from './http-server.ts';
import { PgHost, type CardRegistration, type ForwardBatchOutcome } from './pg-host.ts';
import { enrolTill } from '../../../test/harness/host/enrol.ts';
import { freshDatabase, releaseTestServer } from '../../../test/harness/host/pg-test-support.ts';

/**
 * POST /v1/forward-batch: a terminal's queued offline payments applied in one transaction and
 * written set-based (PgHost.forwardBatch). A batch must give exactly what forward() gives for
 * each payment in turn — splits, advances, replays, refusals, record order — never overdraw a
 * card when other batches and online payments on the same card run at once, and apply every
 * id once. The terminal's client registers cards the host does not know before resending.
 */

const START = '2025-03-10T02:00:00.000Z';
const AT = '2025-03-10T03:00:00.000Z';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await releaseTestServer();
});

interface CardSpec {
  readonly generation?: 2 | 3;
  readonly status?: CardRegistration['status'];
  readonly reserve?: number;
  readonly current?: number;
  readonly prior?: number;
}

function registration(cardId: string, s: CardSpec): CardRegistration {
  return {
    cardId,
    generation: s.generation ?? 3,
    status: s.status ?? 'active',
    passwordHash: null,
    opening: { reserve: s.reserve ?? null, medicalCurrent: s.current ?? null, medicalPrior: s.prior ?? null },
    terminalId: 'T0001',
  };
}

async function pgHost(cards: Record<string, CardSpec>, shortfall: ShortfallPolicy = 'self-pay') {
  const db = await freshDatabase('batch');
  const host = await PgHost.open({
    connectionString: db.url,
    clock: fixedClock(START),
    poolSize: 6,
    shortfall,
  });
  cleanups.push(async () => {
    await host.close();
    await db.drop();
  });
  for (const [id, s] of Object.entries(cards)) await host.registerCard(registration(id, s));
  return host;
}

function request(
  paymentId: string,
  cardId: string,
  split: Partial<PaymentSplit>,
  over: Partial<HostPaymentRequest> = {},
) {
  const s: PaymentSplit = {
    medicalCurrentFen: 0,
    medicalPriorFen: 0,
    reserveFen: 0,
    selfPayFen: 0,
    ...split,
  };
  const amountFen = s.medicalCurrentFen + s.medicalPriorFen + s.reserveFen + s.selfPayFen;
  return {
    paymentId,
    terminalId: 'T0001',
    merchantId: 'M0001',
    cardId,
    method: 'medical',
    amountFen,
    split: s,
    createdAt: AT,
    mode: 'offline',
    ...over,
  } satisfies HostPaymentRequest;
}

const CARDS: Record<string, CardSpec> = {
  B00000001: { current: 20_000, prior: 5_000, reserve: 8_000 },
  B00000002: { current: 1_500 },
  B00000003: { generation: 2, reserve: 3_000 },
  B00000004: { status: 'not-activated', current: 1_000 },
};

/** A seeded batch: stale splits (advances), self-pay, reserve, repeats, reused ids, unknown cards, bad requests. */
function batch(seed: number, count: number): { before: HostPaymentRequest[]; batch: HostPaymentRequest[] } {
  const r = seededRandom(seed);
  const ids = Object.keys(CARDS);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  // Some ids the host already applied before the batch (a batch resent after a lost answer).
  const before = Array.from({ length: 5 }, (_, i) =>
    request(`s${seed}-pre${i}`, pick(ids), { medicalCurrentFen: 100 + Math.floor(r() * 900) }),
  );
  const out: HostPaymentRequest[] = [...before.slice(0, 3)];
  for (let i = 0; out.length < count; i++) {
    const roll = r();
    const id = `s${seed}-${i}`;
    const amount = 1 + Math.floor(r() * 3_000);
    if (roll < 0.08 && out.length > 0) {
      out.push(pick(out)); // the same payment again
    } else if (roll < 0.12 && out.length > 0) {
      const earlier = pick(out);
      out.push({
        ...earlier,
        amountFen: earlier.amountFen + 1,
        split: { ...earlier.split, selfPayFen: earlier.split.selfPayFen + 1 },
      }); // id reused
    } else if (roll < 0.15) {
      out.push(request(id, 'B99999999', { medicalCurrentFen: amount })); // unknown card
    } else if (roll < 0.17) {
      out.push({ ...request(id, pick(ids), { medicalCurrentFen: amount }), amountFen: amount + 7 }); // split ≠ amount
    } else if (roll < 0.35) {
      out.push(request(id, pick(ids), { reserveFen: amount }, { method: 'reserve' }));
    } else {
      out.push(
        request(id, pick(ids), {
          medicalCurrentFen: amount,
          medicalPriorFen: r() < 0.3 ? Math.floor(r() * 2_000) : 0,
          selfPayFen: r() < 0.3 ? Math.floor(r() * 500) : 0,
        }),
      );
    }
  }
  return { before, batch: out };
}

async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await p };
  } catch (e) {
    if (e instanceof HostError) return { error: e.code };
    throw e;
  }
}

const asOutcome = (o: ForwardBatchOutcome) => (o.record ? { ok: o.record } : { error: o.error?.code });

describe('forwardBatch: one transaction, the results of forward() one by one', () => {
  const seed = Number(process.env.SSCARD_BATCH_SEED ?? 20250311);
  it(`a seeded batch of 150 gives forward()'s answers payment for payment (seed ${seed}; rerun with SSCARD_BATCH_SEED)`, async () => {
    const { before, batch: requests } = batch(seed, 150);
    const oneByOne = await pgHost(CARDS);
    const batched = await pgHost(CARDS);
    for (const h of [oneByOne, batched]) for (const b of before) await h.forward(b);

    const expected: unknown[] = [];
    for (const req of requests) expected.push(await outcome(oneByOne.forward(req)));
    const got = (await batched.forwardBatch(requests)).map(asOutcome);
    for (const [i, e] of expected.entries()) {
      expect(got[i], `payment ${i} (${requests[i]!.paymentId}, seed ${seed})`).toEqual(e);
    }
    expect(got).toHaveLength(requests.length);
    // The batch exercised what it is meant to: advances, replays and refusals.
    const tags = new Set(got.map((o) => (o as { error?: string }).error ?? 'ok'));
    expect([...tags].sort(), `seed ${seed}`).toEqual(['INVALID_REQUEST', 'UNKNOWN_CARD', 'ok']);
    expect(got.some((o) => ((o as { ok?: { advancedFen: number } }).ok?.advancedFen ?? 0) > 0)).toBe(true);

    for (const id of Object.keys(CARDS))
      expect(await batched.balances(id)).toEqual(await oneByOne.balances(id));
    // Same records in the same order (seq follows the batch), and balanced books.
    expect(await batched.records('T0001')).toEqual(await oneByOne.records('T0001'));
    const [a, b] = [await oneByOne.status(), await batched.status()];
    expect(b.chain).toEqual(a.chain);
    expect(b.chain.booksBalanced).toBe(true);

    // Sent again (an answer lost on the way): every record comes back unchanged, nothing moves.
    const again = (await batched.forwardBatch(requests)).map(asOutcome);
    expect(again).toEqual(got);
    expect(await batched.records('T0001')).toEqual(await oneByOne.records('T0001'));
  });

  it('R4: batches and online payments on one card at once never overdraw it; every fen drawn is accounted for', async () => {
    const card = 'A00000001';
    const host = await pgHost({ [card]: { current: 10_000, prior: 2_000 } }, 'decline');
    const batches = Array.from({ length: 4 }, (_, b) =>
      Array.from({ length: 10 }, (_, i) =>
        request(`b${b}-${i}`, card, { medicalCurrentFen: 400, medicalPriorFen: 100 }),
      ),
    );
    const online = Array.from({ length: 10 }, (_, i) =>
      request(`on-${i}`, card, {}, { amountFen: 1_000, mode: 'online' }),
    );
    const [batchResults, onlineResults] = await Promise.all([
      Promise.all(batches.map((b) => host.forwardBatch(b))),
      Promise.all(online.map((p) => outcome(host.pay(p)))),
    ]);
    // Offline payments were taken at the till: the host never refuses them, it advances what is missing.
    expect(batchResults.flat().every((o) => o.record !== undefined)).toBe(true);
    const paid = onlineResults.filter((o) => (o as { ok?: unknown }).ok !== undefined).length;
    expect(onlineResults.length - paid).toBe(
      onlineResults.filter((o) => (o as { error?: string }).error === 'INSUFFICIENT_FUNDS').length,
    );
    const records = await host.records('T0001');
    expect(records).toHaveLength(40 + paid);
    const drawn = records.reduce((sum, r) => sum + r.amountFen - r.split.selfPayFen - r.advancedFen, 0);
    const left = await host.balances(card);
    expect(left.medicalCurrent).toBeGreaterThanOrEqual(0);
    expect(left.medicalPrior).toBeGreaterThanOrEqual(0);
    expect(drawn + left.medicalCurrent! + left.medicalPrior!).toBe(12_000);
    // 20,000 fen of offline payments against 12,000 fen: the accounts are emptied, the rest advanced.
    expect(
      records.filter((r) => r.paymentId.startsWith('b')).reduce((s, r) => s + r.advancedFen, 0),
    ).toBeGreaterThan(0);
    expect((await host.status()).chain.booksBalanced).toBe(true);
  });

  it('the same batch sent five times at once is applied once', async () => {
    const card = 'A00000001';
    const host = await pgHost({ [card]: { current: 50_000 } });
    const requests = Array.from({ length: 30 }, (_, i) =>
      request(`x-${i}`, card, { medicalCurrentFen: 100 + i }),
    );
    const results = await Promise.all(Array.from({ length: 5 }, () => host.forwardBatch(requests)));
    for (const r of results) expect(r).toEqual(results[0]);
    expect(await host.records('T0001')).toHaveLength(30);
    const total = requests.reduce((s, r) => s + r.amountFen, 0);
    expect(await host.balances(card)).toMatchObject({ medicalCurrent: 50_000 - total });
    expect((await host.status()).chain).toMatchObject({ payments: 30, netFen: total, booksBalanced: true });
  });
});

describe('HttpHost.prefetchForwards', () => {
  it('registers a card the host does not know from the till’s store and resends its payments as one batch', async () => {
    const db = await freshDatabase('batchhttp');
    const server = await startHostServer({ connectionString: db.url, poolSize: 4 });
    const card = 'A00000002';
    let lookups = 0;
    const client = new HttpHost({
      url: server.url,
      timeoutMs: 10_000,
      credential: await enrolTill(server, 'T0001'),
      cardSource: (id) => {
        lookups += 1;
        return id === card ? registration(card, { current: 5_000 }) : null;
      },
    });
    cleanups.push(async () => {
      client.close();
      await server.close();
      await db.drop();
    });
    const requests = Array.from({ length: 40 }, (_, i) =>
      request(`h-${i}`, i % 10 === 9 ? 'A00000099' : card, { medicalCurrentFen: 200 }),
    );
    // 36 for the card the till knows; the 4 of a card nobody knows stay for the one-by-one way.
    expect(await client.prefetchForwards(requests)).toBe(36);
    expect(lookups).toBe(2);
    expect(await server.host.records('T0001')).toHaveLength(36);
    expect(await server.host.balances(card)).toMatchObject({ medicalCurrent: 0 });

    // The records wait in the client: forward() hands them out without asking the host again.
    await new Promise<void>((ok) => {
      server.server.close(() => ok());
      server.server.closeAllConnections();
    });
    const first = requests[0]!;
    expect(await client.forward(first)).toMatchObject({ paymentId: first.paymentId, advancedFen: 0 });
    const late = requests[30]!;
    expect(await client.forward(late)).toMatchObject({ paymentId: late.paymentId, advancedFen: 200 });
    await expect(client.forward(requests[9]!)).rejects.toMatchObject({ code: 'HOST_DOWN' });
  });
});
