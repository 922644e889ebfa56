import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { offline } from '../../../test/harness/host/test-support.ts';
import { freshDatabase, releaseTestServer } from '../../../test/harness/host/pg-test-support.ts';
import { enrolTill, RawTill } from '../../../test/harness/host/enrol.ts';
import { HttpHost } from '../http-host.ts';
import { formatCredential, parseCredential } from '../terminal-keys.ts';
import { startHostServer, type HostServer } from './http-server.ts';
import { ROUTES } from './protocol.ts';
import { revokeTerminal } from './terminal-auth.ts';

/**
 * Issue 16, item 3: each till has its own credential, enrolled at the host and revocable; every
 * request is bound to it, and a till refunds, reverses, forwards and reconciles only its own
 * payments. Every refusal leaves the host's books exactly as they were.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => releaseTestServer());

async function centralHost(): Promise<HostServer> {
  const db = await freshDatabase('credentials');
  const server = await startHostServer({ connectionString: db.url, poolSize: 4 });
  cleanups.push(async () => {
    await server.close();
    await db.drop();
  });
  return server;
}

function client(url: string, credential: string): HttpHost {
  const c = new HttpHost({ url, timeoutMs: 5_000, credential });
  cleanups.push(() => c.close());
  return c;
}

const REG = {
  cardId: 'A00000001',
  generation: 3 as const,
  status: 'active' as const,
  passwordHash: null,
  opening: { reserve: 10_000, medicalCurrent: 50_000, medicalPrior: null },
  terminalId: 'T0001',
};

/** Everything the host's books hold: records, postings, balances, tombstones. */
async function books(server: HostServer): Promise<string> {
  const q = async (sql: string) => JSON.stringify((await server.host.pool.query(sql)).rows);
  return [
    await q('SELECT * FROM host_records ORDER BY seq'),
    await q('SELECT account_id, amount_fen FROM host_postings ORDER BY 1, 2'),
    await q('SELECT account_id, balance_fen FROM host_accounts ORDER BY 1'),
    await q('SELECT payment_id FROM host_voided_payments ORDER BY 1'),
  ].join('\n');
}

describe('per-terminal credentials (issue 16, item 3)', () => {
  it('a till cannot refund, reverse, forward, register, report or reconcile as another till: refused, nothing moved', async () => {
    const server = await centralHost();
    const north = client(server.url, await enrolTill(server, 'T0001'));
    const south = client(server.url, await enrolTill(server, 'T0002'));
    await north.registerCard(REG);
    const theirs = offline('A00000001', { medicalCurrentFen: 4_000 }, { paymentId: 'T0001-PAY-1' });
    await north.forward(theirs);
    const before = await books(server);

    const refusals: [string, () => Promise<unknown>][] = [
      ['refund', () => south.refund('T0002-REF-1', 'T0001-PAY-1', 1_000, '2025-03-10T03:00:00.000Z')],
      ['reverse', () => south.reverse('T0001-PAY-1-R', 'T0001-PAY-1', '2025-03-10T03:00:00.000Z')],
      [
        'forward in T0001 name',
        () => south.forward(offline('A00000001', { medicalCurrentFen: 100 }, { terminalId: 'T0001' })),
      ],
      [
        'pay in T0001 name',
        () =>
          south.pay(
            offline('A00000001', { medicalCurrentFen: 100 }, { terminalId: 'T0001', mode: 'online' }),
          ),
      ],
      ['records of T0001', () => south.records('T0001')],
      ['report as T0001', () => south.report({ terminalId: 'T0001', queueDepth: 99 })],
      ['register as T0001', () => south.registerCard({ ...REG, cardId: 'A00000002' })],
    ];
    for (const [what, call] of refusals) {
      await expect(call(), what).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
        message: expect.stringMatching(/FORBIDDEN/),
      });
    }
    // A batch with one payment in another till's name is refused whole.
    const batch = await south.prefetchForwards(
      [
        offline('A00000001', { medicalCurrentFen: 100 }, { terminalId: 'T0002' }),
        offline('A00000001', { medicalCurrentFen: 100 }, { terminalId: 'T0001' }),
      ],
      2,
    );
    expect(batch).toBe(0);
    expect(await books(server)).toBe(before);

    // The owner may.
    expect(await north.refund('T0001-REF-1', 'T0001-PAY-1', 1_000, '2025-03-10T03:00:00.000Z')).toMatchObject(
      {
        kind: 'refund',
        amountFen: 1_000,
      },
    );
    expect((await north.records('T0001')).map((r) => r.paymentId)).toEqual(['T0001-PAY-1', 'T0001-REF-1']);
    expect(await south.records('T0002')).toEqual([]);
  });

  it('a revoked till is refused at once, its session too; re-enrolled it works with the new credential only', async () => {
    const server = await centralHost();
    const old = await enrolTill(server, 'T0002');
    const till = client(server.url, old);
    await till.registerCard({ ...REG, terminalId: 'T0002' });
    const before = await books(server);
    expect(await revokeTerminal(server.host.pool, 'T0002')).toBe(true);
    await expect(
      till.forward(offline('A00000001', { medicalCurrentFen: 100 }, { terminalId: 'T0002' })),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/TERMINAL_REVOKED/) });
    // A fresh sign-on with the revoked credential is refused too.
    const raw = new RawTill(server.url, old);
    expect((await raw.signOn()).json?.error?.code).toBe('TERMINAL_REVOKED');
    expect(await books(server)).toBe(before);

    const renewed = await enrolTill(server, 'T0002');
    const back = client(server.url, renewed);
    expect(await back.balances('A00000001')).toMatchObject({ medicalCurrent: 50_000 });
    // The old key no longer signs on.
    expect((await new RawTill(server.url, old).signOn()).json?.error?.code).toBe('BAD_MAC');
  });

  it('a till without a credential, or with a forged one, is refused before anything is read', async () => {
    const server = await centralHost();
    const enrolled = await enrolTill(server, 'T0001');
    const none = new HttpHost({ url: server.url, timeoutMs: 5_000, token: '' });
    cleanups.push(() => none.close());
    await expect(none.registerCard(REG)).rejects.toMatchObject({
      message: expect.stringMatching(/NOT_ENROLLED/),
    });
    const forged = formatCredential({ ...parseCredential(enrolled), masterKey: new Uint8Array(16).fill(7) });
    await expect(client(server.url, forged).registerCard(REG)).rejects.toMatchObject({
      message: expect.stringMatching(/BAD_MAC/),
    });
    const stranger = formatCredential({ ...parseCredential(enrolled), terminalId: 'T_NEVER' });
    await expect(client(server.url, stranger).registerCard(REG)).rejects.toMatchObject({
      message: expect.stringMatching(/NOT_ENROLLED/),
    });
    // A request with headers but no sign-on session.
    const raw = new RawTill(server.url, enrolled);
    raw.session = { id: 'f'.repeat(32), pinKey: new Uint8Array(16), macKey: new Uint8Array(16), seq: 0 };
    const r = await raw.post(ROUTES.registerCard, REG);
    expect(r).toMatchObject({ status: 401, json: { error: { code: 'SIGN_ON_REQUIRED' } } });
    expect((await server.host.pool.query('SELECT count(*)::int AS n FROM host_cards')).rows[0].n).toBe(0);
  });

  it('a till signs on again by itself when the host dropped its session', async () => {
    const server = await centralHost();
    const till = client(server.url, await enrolTill(server, 'T0001'));
    await till.registerCard(REG);
    await server.host.pool.query('DELETE FROM host_terminal_sessions');
    expect(await till.balances('A00000001')).toMatchObject({ reserve: 10_000 });
    expect(
      (await server.host.pool.query('SELECT count(*)::int AS n FROM host_terminal_sessions')).rows[0].n,
    ).toBe(1);
  });
});
