import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { resolveCard } from '../../card/wallet.ts';
import { openPosSystem } from '../../pos/pos-system.ts';
import { PendingReversals } from '../../pos/pending-reversals.ts';
import { runPayment } from '../../pos/run-payment.ts';
import type { VirtualReader } from '../../../device/virtual-reader.ts';
import { HttpHost } from '../http-host.ts';
import { offline } from '../../../test/harness/host/test-support.ts';
import { startHostServer, type HostServer } from './http-server.ts';
import { freshDatabase, releaseTestServer } from '../../../test/harness/host/pg-test-support.ts';
import { enrolTill, RawTill } from '../../../test/harness/host/enrol.ts';

/**
 * The terminal's HTTP client of the central host: failures mapped to the Host contract's codes,
 * the token, body validation, idempotent resends, and a till choosing the central host by URL
 * (online, offline then forwarded, password at the bank, interrupted payment reversed).
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => releaseTestServer());

/** Credentials of the tills enrolled at each test's host (T0001 by default). */
const credentials = new Map<string, string>();

async function centralHost(
  options: { token?: string; log?: (l: string) => void; port?: number } = {},
): Promise<HostServer> {
  const db = await freshDatabase('httphost');
  const server = await startHostServer({ connectionString: db.url, poolSize: 4, ...options });
  credentials.set(server.url, await enrolTill(server, 'T0001'));
  cleanups.push(async () => {
    await server.close();
    await db.drop();
  });
  return server;
}

/** A client with the credential of T0001 at the host at `url` (or the one given). */
function client(url: string, o: Partial<ConstructorParameters<typeof HttpHost>[0]> = {}): HttpHost {
  const credential = o.token === undefined ? credentials.get(url) : undefined;
  const c = new HttpHost({ url, timeoutMs: 5_000, ...(credential ? { credential } : {}), ...o });
  cleanups.push(() => c.close());
  return c;
}

function rawServer(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  return new Promise((ok) =>
    server.listen(0, '127.0.0.1', () => {
      cleanups.push(
        () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      );
      ok({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server });
    }),
  );
}

const REG = {
  cardId: 'A00000001',
  generation: 3 as const,
  status: 'active' as const,
  passwordHash: null,
  opening: { reserve: null, medicalCurrent: 5_000, medicalPrior: null },
  terminalId: 'T0001',
};

describe('HttpHost: failures as the Host contract names them', () => {
  it('a port nobody listens on is HOST_DOWN (nothing sent); a local link down too', async () => {
    const { url, server } = await rawServer(() => {});
    await new Promise<void>((ok) => server.close(() => ok()));
    const c = client(url);
    await expect(c.balances('A00000001')).rejects.toMatchObject({ code: 'HOST_DOWN' });
    const live = await centralHost();
    const d = client(live.url, { link: 'down' });
    await expect(d.balances('A00000001')).rejects.toMatchObject({ code: 'HOST_DOWN' });
    d.setLink('up');
    await expect(d.balances('A00000001')).rejects.toMatchObject({ code: 'UNKNOWN_CARD' });
  });

  it('no answer within the timeout is HOST_TIMEOUT', async () => {
    const { url } = await rawServer(() => {
      // Accepts and never answers.
    });
    const c = client(url, { timeoutMs: 150 });
    const t0 = Date.now();
    await expect(c.forward(offline('A00000001', { medicalCurrentFen: 100 }))).rejects.toMatchObject({
      code: 'HOST_TIMEOUT',
      message: expect.stringMatching(/within 150 ms; the request may or may not have been applied/),
    });
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('a connection reset is resent for idempotent calls, never for a password check', async () => {
    const live = await centralHost();
    await client(live.url).registerCard(REG);
    let seen = 0;
    const { url } = await rawServer((req, res) => {
      if (req.url !== '/v1/sign-on') seen += 1; // sign-on is not one of the calls counted
      if (seen === 1 && req.url !== '/v1/sign-on') {
        req.socket.destroy(); // the first request of each kind is cut
        return;
      }
      // Then a proxy to the real host.
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        fetch(live.url + req.url, {
          method: req.method,
          body: Buffer.concat(chunks),
          headers: Object.fromEntries(
            Object.entries(req.headers).filter(
              (e): e is [string, string] =>
                typeof e[1] === 'string' && (e[0] === 'content-type' || e[0].startsWith('x-sscard-')),
            ),
          ),
        })
          .then(async (r) => {
            res.writeHead(r.status, { 'content-type': 'application/json' });
            res.end(await r.text());
          })
          .catch(() => res.destroy());
      });
    });
    const c = client(url, { credential: credentials.get(live.url)! });
    const req = offline('A00000001', { medicalCurrentFen: 700 });
    expect(await c.forward(req)).toMatchObject({ paymentId: req.paymentId, amountFen: 700 });
    expect(seen).toBe(2);
    seen = 0;
    await expect(c.verifyPassword('A00000001', '246810')).rejects.toMatchObject({ code: 'HOST_TIMEOUT' });
    expect(seen).toBe(1);
  });

  it('the operator token guards /v1/status, a till needs its own credential; /health is open', async () => {
    const live = await centralHost({ token: 's3cret-token' });
    await expect(client(live.url, { token: 'wrong' }).status()).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/refused this terminal: missing or wrong operator token/),
    });
    // The operator's token is not a till's credential.
    await expect(client(live.url, { token: 's3cret-token' }).balances('A00000001')).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/NOT_ENROLLED/),
    });
    const ok = client(live.url);
    expect((await ok.registerCard(REG)).created).toBe(true);
    expect(await ok.balances('A00000001')).toEqual({
      reserve: null,
      medicalCurrent: 5_000,
      medicalPrior: null,
    });
    expect((await client(live.url, { token: 's3cret-token' }).status()).chain.cards).toBe(1);
    expect(await client(live.url, { token: '' }).health()).toEqual({ ok: true, database: 'up' });
  });

  it('bodies are validated field by field, and a password is never echoed back or logged', async () => {
    const lines: string[] = [];
    const live = await centralHost({ log: (l) => lines.push(l) });
    const till = new RawTill(live.url, credentials.get(live.url)!);
    const r = await till.post('/v1/forward', {
      ...offline('A00000001', { medicalCurrentFen: 100 }),
      amountFen: -5,
    });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({
      error: { code: 'INVALID_REQUEST', message: expect.stringMatching(/amountFen/) },
    });
    const p = await till.post('/v1/verify-password', {
      cardId: 'A00000001',
      password: 'X'.repeat(65) + '987654',
    });
    const text = JSON.stringify(p.json);
    expect(p.status).toBe(400);
    expect(text).toMatch(/password/);
    expect(text).not.toMatch(/987654/);
    expect((await till.post('/v1/nope', {})).status).toBe(404);
    expect((await till.post('/v1/forward', '{not json')).status).toBe(400);
    expect(lines.join('\n')).not.toMatch(/987654/);
  });

  it('registration is idempotent: a second terminal registering the card does not reset its balances', async () => {
    const live = await centralHost();
    const c = client(live.url);
    expect(await c.registerCard(REG)).toEqual({
      created: true,
      balances: { reserve: null, medicalCurrent: 5_000, medicalPrior: null },
    });
    await c.forward(offline('A00000001', { medicalCurrentFen: 1_200 }));
    const second = client(live.url, { credential: await enrolTill(live, 'T0002') });
    expect(
      await second.registerCard({
        ...REG,
        terminalId: 'T0002',
        opening: { reserve: 9, medicalCurrent: 99_999, medicalPrior: 9 },
      }),
    ).toEqual({
      created: false,
      balances: { reserve: null, medicalCurrent: 3_800, medicalPrior: null },
    });
  });
});

describe('a till choosing the central host by URL', () => {
  async function till(url: string, terminalId = 'T0001') {
    const dir = mkdtempSync(join(tmpdir(), 'sscard-till-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const pos = openPosSystem({
      dbPath: join(dir, 'till.db'),
      terminalId,
      hostUrl: url,
      hostToken: credentials.get(url)!,
      hostTimeoutMs: 5_000,
    });
    pos.terminal.start();
    cleanups.push(() => pos.close());
    const pay = async (
      cardId: string,
      amountFen: number,
      pin: string,
      method: 'medical' | 'reserve' = 'medical',
    ) => {
      const reader = pos.reader as VirtualReader;
      reader.insert(pos.register(resolveCard(cardId).profile));
      const r = await runPayment(pos.terminal, { amountFen, method, pin });
      reader.remove();
      await pos.terminal.settled();
      return r;
    };
    return { pos, pay };
  }

  it('R1.3/R4: pays online at the central host; offline while it is down, forwarded once when it is back', async () => {
    const live = await centralHost();
    const { pos, pay } = await till(live.url);
    const online = await pay('gen3-active', 1_250, '258014');
    expect(online).toMatchObject({ approved: true, outcome: { mode: 'online' } });
    await pos.enrolled();
    const card = resolveCard('gen3-active').profile.card.number;
    expect(await live.host.balances(card)).toMatchObject({
      medicalCurrent: 86_000 - 1_250,
      medicalPrior: 12_050,
    });

    // The host goes away: the same port refuses, gen 3 medical payments are taken offline.
    const port = live.port;
    await new Promise<void>((ok) => {
      live.server.close(() => ok());
      live.server.closeAllConnections();
    });
    const off = await pay('gen3-active', 2_000, '258014');
    expect(off).toMatchObject({ approved: true, outcome: { mode: 'offline' } });
    expect((await pos.sync({ now: new Date('9999-01-01T00:00:00Z') })).stoppedOnHostDown).toBe(true);

    // Back on the same port, same database.
    const again = await startHostServer({ pgHost: live.host, port });
    cleanups.push(() => again.close());
    const s = await pos.sync({ now: new Date('9999-01-01T00:00:00Z') });
    expect(s).toMatchObject({ sent: 1, pending: 0 });
    expect(await live.host.balances(card)).toMatchObject({ medicalCurrent: 86_000 - 3_250 });
    const rec = await pos.reconcile();
    expect(rec).toMatchObject({ agree: true, terminalTotalFen: 3_250, hostTotalFen: 3_250 });
    expect((await live.host.status()).terminals).toEqual([
      expect.objectContaining({ terminalId: 'T0001', reconciliation: 'agree', queueDepth: 0, payments: 2 }),
    ]);
  });

  it('R1.2: a gen 2 reserve payment checks the transaction password at the central host against the registered hash', async () => {
    const live = await centralHost();
    const { pay } = await till(live.url);
    const wrong = await pay('gen2', 1_000, '111111', 'reserve');
    expect(wrong.approved).toBe(false);
    expect(wrong.message.code).toMatch(/WRONG_PASSWORD|PASSWORD/);
    const right = await pay('gen2', 1_000, '246810', 'reserve');
    expect(right).toMatchObject({
      approved: true,
      outcome: { mode: 'online', split: { reserveFen: 1_000 } },
    });
    // The host holds the salted hash only.
    const row = (await live.host.pool.query('SELECT password_hash::text AS h FROM host_cards')).rows[0] as {
      h: string;
    };
    expect(row.h).toMatch(/"alg": "scrypt"/);
    expect(row.h).not.toMatch(/246810/);
  });

  it('a debit the host applied but the till never booked is reversed through the pending-reversals path', async () => {
    const live = await centralHost();
    const { pos, pay } = await till(live.url);
    await pay('gen3-active', 500, '258014');
    const card = resolveCard('gen3-active').profile.card.number;
    // The host applies a payment whose answer the till never got (it timed out, the card was pulled).
    const lost = await pos.host.pay({
      paymentId: 'T0001-LOST-1',
      terminalId: 'T0001',
      merchantId: pos.ledger.merchantId,
      cardId: card,
      method: 'medical',
      amountFen: 900,
      split: { medicalCurrentFen: 0, medicalPriorFen: 0, reserveFen: 0, selfPayFen: 0 },
      createdAt: new Date().toISOString(),
      mode: 'online',
    });
    expect(lost.amountFen).toBe(900);
    expect((await pos.reconcile()).agree).toBe(false);
    new PendingReversals(pos.store.db).add('T0001-LOST-1-R', 'T0001-LOST-1', card, new Date());
    expect((await pos.sync({ now: new Date('9999-01-01T00:00:00Z') })).reversalsSettled).toBe(1);
    expect(await live.host.balances(card)).toMatchObject({ medicalCurrent: 86_000 - 500 });
    const rec = await pos.reconcile();
    expect(rec).toMatchObject({ agree: true, timedOutReversed: ['T0001-LOST-1'] });
  });
});
