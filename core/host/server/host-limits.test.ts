import { request } from 'node:http';
import { enrolTill, RawTill } from '../../../test/harness/host/enrol.ts';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MAX_AMOUNT_FEN } from '../../../state-machines/types.ts';
import { hostFixture, offline, payment } from '../../../test/harness/host/test-support.ts';
import { freshDatabase, releaseTestServer } from '../../../test/harness/host/pg-test-support.ts';
import { MAX_PAYMENT_FEN } from '../request-checks.ts';
import { startHostServer, type HostServer } from './http-server.ts';
import { ROUTES } from './protocol.ts';

/**
 * Issue 16, item 4: the central host takes only what a till sends — amounts up to the till's
 * limit, real ISO instants, ids in the till's formats — answers 400 for a bad body and 413 for
 * an oversized one with nothing applied, and its status sums never leave the safe range.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => releaseTestServer());

async function centralHost(): Promise<HostServer> {
  const db = await freshDatabase('limits');
  const server = await startHostServer({ connectionString: db.url, poolSize: 4 });
  cleanups.push(async () => {
    await server.close();
    await db.drop();
  });
  return server;
}

const tills = new WeakMap<HostServer, RawTill>();

/** A POST signed by the enrolled till T0001: the status code and the parsed answer. */
async function post(
  server: HostServer,
  path: string,
  body: Buffer | string | object,
): Promise<{ status: number; json: { error?: { code: string; message: string }; result?: unknown } }> {
  let till = tills.get(server);
  if (!till) {
    till = new RawTill(server.url, await enrolTill(server, 'T0001'));
    tills.set(server, till);
  }
  const r = await till.post(path, body);
  return { status: r.status, json: r.json ?? {} };
}

const REG = {
  cardId: 'A00000001',
  generation: 3 as const,
  status: 'active' as const,
  passwordHash: null,
  opening: { reserve: 10_000, medicalCurrent: 5_000, medicalPrior: null },
  terminalId: 'T0001',
};

async function nothingApplied(server: HostServer): Promise<void> {
  const r = await server.host.pool.query('SELECT count(*)::int AS n FROM host_records');
  expect(r.rows[0].n).toBe(0);
  const s = await server.host.status();
  expect(s.chain).toMatchObject({ payments: 0, netFen: 0, booksBalanced: true });
}

describe('the central host enforces the till limits and formats (issue 16, item 4)', () => {
  it("the host's payment limit is the till's", () => {
    expect(MAX_PAYMENT_FEN).toBe(MAX_AMOUNT_FEN);
  });

  it('amounts over the till limit are refused with 400 naming the field, nothing applied', async () => {
    const server = await centralHost();
    expect((await post(server, ROUTES.registerCard, REG)).status).toBe(200);
    const cases: [string, object][] = [
      [ROUTES.pay, payment('A00000001', Number.MAX_SAFE_INTEGER)],
      [ROUTES.pay, payment('A00000001', MAX_AMOUNT_FEN + 1)],
      [ROUTES.forward, offline('A00000001', { selfPayFen: Number.MAX_SAFE_INTEGER })],
      [ROUTES.forward, offline('A00000001', { medicalCurrentFen: 1, selfPayFen: MAX_AMOUNT_FEN })],
      [ROUTES.forwardBatch, { requests: [offline('A00000001', { selfPayFen: 2 ** 53 - 1 })] }],
      [
        ROUTES.refund,
        { refundId: 'R1', paymentId: 'P1', amountFen: MAX_AMOUNT_FEN + 1, at: '2025-03-10T02:00:00Z' },
      ],
    ];
    for (const [path, body] of cases) {
      const r = await post(server, path, body);
      expect(r.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(r.json.error?.code).toBe('INVALID_REQUEST');
      expect(r.json.error?.message).toMatch(/amountFen|selfPayFen|medicalCurrentFen/);
    }
    await nothingApplied(server);
    // The limit itself is taken.
    const atLimit = await post(server, ROUTES.forward, offline('A00000001', { selfPayFen: MAX_AMOUNT_FEN }));
    expect(atLimit.status).toBe(200);
  });

  it('instants that are not ISO date-times of years 1970–2999 are refused', async () => {
    const server = await centralHost();
    await post(server, ROUTES.registerCard, REG);
    for (const createdAt of [
      '1',
      '2025',
      '275760-09-13T00:00:00.000Z',
      '+275760-09-13T00:00:00.000Z',
      '2025-02-30T00:00:00.000Z',
      '2025-13-01T00:00:00.000Z',
      '2025-03-10T25:00:00.000Z',
      '2025-03-10 02:00:00',
      'Mon Mar 10 2025',
      '1969-12-31T23:59:59.000Z',
    ]) {
      const r = await post(server, ROUTES.forward, offline('A00000001', { selfPayFen: 100 }, { createdAt }));
      expect(r.status, createdAt).toBe(400);
      expect(r.json.error?.message).toMatch(/createdAt/);
      expect(r.json.error?.message).not.toContain(createdAt.length > 4 ? createdAt : '\u0000');
    }
    const rev = await post(server, ROUTES.reverse, { reversalId: 'X-R', paymentId: 'X', at: '1' });
    expect(rev.status).toBe(400);
    const rec = await post(server, ROUTES.records, { terminalId: 'T0001', date: '2025-02-30' });
    expect(rec.status).toBe(400);
    await nothingApplied(server);
    const ok = await post(
      server,
      ROUTES.forward,
      offline('A00000001', { selfPayFen: 100 }, { createdAt: '2025-03-10T10:00:00+08:00' }),
    );
    expect(ok.status).toBe(200);
  });

  it('ids not in the till formats are refused', async () => {
    const server = await centralHost();
    await post(server, ROUTES.registerCard, REG);
    const bad: [string, object, RegExp][] = [
      [ROUTES.forward, offline('a0000000', { selfPayFen: 1 }), /cardId/],
      [ROUTES.forward, offline('A00000001', { selfPayFen: 1 }, { terminalId: 'T 1' }), /terminalId/],
      [ROUTES.forward, offline('A00000001', { selfPayFen: 1 }, { terminalId: 'T'.repeat(33) }), /terminalId/],
      [ROUTES.forward, offline('A00000001', { selfPayFen: 1 }, { paymentId: 'P'.repeat(65) }), /paymentId/],
      [ROUTES.forward, offline('A00000001', { selfPayFen: 1 }, { paymentId: "x'; DROP" }), /paymentId/],
      [ROUTES.forward, offline('A00000001', { selfPayFen: 1 }, { merchantId: 'M\u0000' }), /merchantId/],
      [ROUTES.balances, { cardId: 'A0000000\u0000' }, /cardId/],
      [ROUTES.registerCard, { ...REG, cardId: '../etc' }, /cardId/],
    ];
    for (const [path, body, field] of bad) {
      const r = await post(server, path, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error?.message).toMatch(field);
    }
    await nothingApplied(server);
  });

  it('a body that is not JSON or not UTF-8 is 400; an oversized one 413; the host still serves', async () => {
    const server = await centralHost();
    const notJson = await post(server, ROUTES.balances, '{"cardId":');
    expect(notJson).toMatchObject({ status: 400, json: { error: { code: 'INVALID_REQUEST' } } });
    const notUtf8 = await post(server, ROUTES.balances, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
    expect(notUtf8.status).toBe(400);
    expect(notUtf8.json.error?.message).toMatch(/UTF-8/);
    const big = Buffer.alloc(3 * 1024 * 1024, 0x20);
    const oversized = await post(server, ROUTES.forwardBatch, big);
    expect(oversized.status).toBe(413);
    expect(oversized.json.error?.message).toMatch(/over the limit/);
    expect((await post(server, ROUTES.registerCard, REG)).status).toBe(200);
    await nothingApplied(server);
  });

  it('status sums stay exact beyond the safe integer range instead of failing', async () => {
    const server = await centralHost();
    await post(server, ROUTES.registerCard, REG);
    // Records as an older host accepted them (no limit then): 4 × 2^53−1 fen for one terminal.
    for (let i = 0; i < 4; i++) {
      await server.host.pool.query(
        `INSERT INTO host_records (payment_id, kind, mode, terminal_id, merchant_id, card_id, card_status, method,
           amount_fen, medical_current_fen, medical_prior_fen, reserve_fen, self_pay_fen, advanced_fen,
           created_at, business_date, applied_at)
         VALUES ($1, 'payment', 'offline', 'T_OLD', 'M1', 'A00000001', 'active', 'medical', $2, 0, 0, 0, $2, 0,
           '2025-03-10T02:00:00.000Z', '2025-03-10', '2025-03-10T02:00:00.000Z')`,
        [`OLD-${i}`, String(Number.MAX_SAFE_INTEGER)],
      );
    }
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      request(`${server.url}${ROUTES.status}`, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      })
        .on('error', reject)
        .end();
    });
    expect(r.status).toBe(200);
    const status = JSON.parse(r.body).result;
    const old = status.terminals.find((t: { terminalId: string }) => t.terminalId === 'T_OLD');
    const exact = (4n * BigInt(Number.MAX_SAFE_INTEGER)).toString();
    expect(old).toMatchObject({
      payments: 4,
      netFen: null,
      netYuan: `${exact.slice(0, -2)}.${exact.slice(-2)}`,
    });
    expect(status.chain).toMatchObject({ payments: 4, netFen: null, netYuan: old.netYuan });
  });

  it('the in-process host refuses the same amounts and instants', async () => {
    const f = hostFixture();
    f.card('A00000001', { current: 5_000 });
    await expect(f.host.pay(payment('A00000001', MAX_AMOUNT_FEN + 1))).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/amountFen/),
    });
    await expect(
      f.host.forward(offline('A00000001', { selfPayFen: 100 }, { createdAt: '275760-09-13T00:00:00.000Z' })),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/createdAt/) });
    await expect(f.host.reverse('X-R', 'X', '1')).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    f.db.close();
  });
});
