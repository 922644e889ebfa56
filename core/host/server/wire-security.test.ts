import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { VirtualReader } from '../../../device/virtual-reader.ts';
import { enrolTill, rawPost, RawTill } from '../../../test/harness/host/enrol.ts';
import { offline } from '../../../test/harness/host/test-support.ts';
import { freshDatabase, releaseTestServer } from '../../../test/harness/host/pg-test-support.ts';
import { resolveCard } from '../../card/wallet.ts';
import { openPosSystem } from '../../pos/pos-system.ts';
import { runPayment } from '../../pos/run-payment.ts';
import { HttpHost } from '../http-host.ts';
import { decryptEcb, newKey, openPinBlock, pinAccountDigits, pinBlock } from '../terminal-keys.ts';
import { startHostServer, type HostServer } from './http-server.ts';
import { ROUTES } from './protocol.ts';
import { selfSignedTls } from './tls-files.ts';

/**
 * Issue 16, item 6: no secret in clear between till and host. A capture of the traffic of real
 * payments (gen 2 transaction password right and wrong, gen 3 PIN) holds no password, PIN or
 * PIN-derived digits in any form, nor do the host's tables and log; a replayed or altered
 * request is refused by its MAC with nothing applied; beyond loopback the host serves only TLS.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => releaseTestServer());

async function centralHost(options: Parameters<typeof startHostServer>[0] = {}): Promise<HostServer> {
  const db = await freshDatabase('wire');
  const server = await startHostServer({ connectionString: db.url, poolSize: 4, ...options });
  cleanups.push(async () => {
    await server.close();
    await db.drop();
  });
  return server;
}

/** A TCP proxy in front of `port` that keeps every byte both ways. */
async function capturingProxy(port: number): Promise<{ port: number; bytes: () => Buffer }> {
  const chunks: Buffer[] = [];
  const server: Server = createServer((inbound) => {
    const outbound = createConnection({ host: '127.0.0.1', port });
    inbound.on('data', (d: Buffer) => {
      chunks.push(d);
      outbound.write(d);
    });
    outbound.on('data', (d: Buffer) => {
      chunks.push(d);
      inbound.write(d);
    });
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  cleanups.push(
    () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
      }),
  );
  return { port: (server.address() as AddressInfo).port, bytes: () => Buffer.concat(chunks) };
}

/** Every form a secret of digits may take in bytes: ASCII, BCD, hex of ASCII, UTF-16. */
function forms(secret: string): Buffer[] {
  const out = [
    Buffer.from(secret),
    Buffer.from(Buffer.from(secret).toString('hex')),
    Buffer.from(secret, 'utf16le'),
    Buffer.from(secret, 'utf16le').swap16(),
  ];
  if (secret.length % 2 === 0) out.push(Buffer.from(secret, 'hex'));
  return out;
}

/** The PIN-derived blocks of format 0 for a PIN and card: the PIN field and the clear block, hex and bytes. */
function derived(pin: string, cardId: string): Buffer[] {
  const pinField = ('0' + pin.length.toString(16) + pin).padEnd(16, 'f');
  const pan = pinAccountDigits(cardId).padStart(16, '0');
  const clear = Buffer.from(pinField, 'hex').map((b, i) => b ^ Buffer.from(pan, 'hex')[i]!);
  const clearHex = Buffer.from(clear).toString('hex');
  return [pinField, pinField.toUpperCase(), clearHex, clearHex.toUpperCase()].flatMap((h) => [
    Buffer.from(h),
    Buffer.from(h, 'hex'),
  ]);
}

/** Long runs of hex (keys, MACs, salts, session ids, PIN blocks) blanked: random, not a secret. */
function withoutRandomHex(b: Buffer): Buffer {
  return Buffer.from(
    b.toString('latin1').replace(/[0-9a-fA-F]{16,}/g, (m) => 'x'.repeat(m.length)),
    'latin1',
  );
}

describe('no secret in clear on the wire (issue 16, item 6)', () => {
  it('a capture of till↔host traffic, the host tables and its log hold no password, PIN or PIN-derived digits', async () => {
    const log: string[] = [];
    const server = await centralHost({ log: (l) => log.push(l) });
    const proxy = await capturingProxy(server.port);
    const dir = mkdtempSync(join(tmpdir(), 'sscard-wire-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const pos = openPosSystem({
      dbPath: join(dir, 'till.db'),
      terminalId: 'T0001',
      hostUrl: `http://127.0.0.1:${proxy.port}`,
      hostToken: await enrolTill(server, 'T0001'),
      hostTimeoutMs: 5_000,
    });
    pos.terminal.start();
    cleanups.push(() => pos.close());
    const pay = async (card: string, amountFen: number, pin: string, method: 'medical' | 'reserve') => {
      const reader = pos.reader as VirtualReader;
      reader.insert(pos.register(resolveCard(card).profile));
      const r = await runPayment(pos.terminal, { amountFen, method, pin });
      reader.remove();
      await pos.terminal.settled();
      return r;
    };
    expect((await pay('gen2', 1_000, '111111', 'reserve')).approved).toBe(false);
    expect(await pay('gen2', 1_000, '246810', 'reserve')).toMatchObject({ approved: true });
    expect(await pay('gen3-active', 1_250, '258014', 'medical')).toMatchObject({ approved: true });
    await pos.sync({ now: new Date('9999-01-01T00:00:00Z') });
    await pos.reconcile();

    const wire = proxy.bytes();
    const text = wire.toString('latin1');
    // The password checks went over this wire, as PIN blocks, signed.
    expect(text).toMatch(/POST \/v1\/verify-password/);
    expect(text).toMatch(/"pinBlock":"[0-9a-f]{16}"/);
    expect(text).not.toMatch(/"password"/);
    expect(text).toMatch(/x-sscard-mac: [0-9a-f]{64}/i);

    const tables = (
      await server.host.pool.query<{ tablename: string }>(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
      )
    ).rows.map((r) => r.tablename);
    expect(tables).toContain('host_terminal_sessions');
    let dump = '';
    for (const t of tables)
      dump += JSON.stringify((await server.host.pool.query(`SELECT * FROM "${t}"`)).rows);
    const places: [string, Buffer][] = [
      ['the wire', wire],
      ['the host tables', Buffer.from(dump)],
      ['the host log', Buffer.from(log.join('\n'))],
    ];
    const gen2 = resolveCard('gen2').profile.card.number;
    const gen3 = resolveCard('gen3-active').profile.card.number;
    for (const [where, bytes] of places) {
      const blanked = withoutRandomHex(bytes);
      for (const secret of ['246810', '111111', '258014']) {
        for (const f of forms(secret))
          expect(blanked.includes(f), `${secret} (${f.toString('hex')}) in ${where}`).toBe(false);
      }
      for (const [pin, card] of [
        ['246810', gen2],
        ['111111', gen2],
        ['258014', gen3],
      ] as const) {
        for (const f of derived(pin, card))
          expect(bytes.includes(f), `${pin}-derived block in ${where}`).toBe(false);
      }
    }
  });

  it('a replayed or altered request is refused by its MAC, and nothing is applied', async () => {
    const server = await centralHost();
    const till = new RawTill(server.url, await enrolTill(server, 'T0001'));
    expect(
      (
        await till.post(ROUTES.registerCard, {
          cardId: 'A00000001',
          generation: 3,
          status: 'active',
          passwordHash: null,
          opening: { reserve: null, medicalCurrent: 50_000, medicalPrior: null },
          terminalId: 'T0001',
        })
      ).status,
    ).toBe(200);
    const count = async () =>
      (
        await server.host.pool.query(
          'SELECT count(*)::int AS n, COALESCE(sum(amount_fen), 0)::int AS fen FROM host_records',
        )
      ).rows[0];
    const payload = JSON.stringify(
      offline('A00000001', { medicalCurrentFen: 700 }, { paymentId: 'T0001-P1' }),
    );
    const headers = till.headers(ROUTES.forward, payload);
    expect((await rawPost(server.url, ROUTES.forward, payload, headers)).status).toBe(200);
    expect(await count()).toEqual({ n: 1, fen: 700 });

    // The same bytes again: the sequence number was used.
    const replay = await rawPost(server.url, ROUTES.forward, payload, headers);
    expect(replay).toMatchObject({ status: 401, json: { error: { code: 'REPLAYED' } } });
    // The body altered under the captured MAC (another payment id, a larger amount).
    const altered = payload.replace('T0001-P1', 'T0001-P2').replaceAll('700', '900');
    const fresh = till.headers(ROUTES.forward, payload);
    expect(await rawPost(server.url, ROUTES.forward, altered, fresh)).toMatchObject({
      status: 401,
      json: { error: { code: 'BAD_MAC' } },
    });
    // The captured MAC with a new sequence number; the request sent to another route.
    expect(
      await rawPost(server.url, ROUTES.forward, payload, {
        ...headers,
        'x-sscard-seq': String(till.session!.seq + 5),
      }),
    ).toMatchObject({ status: 401, json: { error: { code: 'BAD_MAC' } } });
    const refundBody = JSON.stringify({
      refundId: 'T0001-F1',
      paymentId: 'T0001-P1',
      amountFen: 700,
      at: '2025-03-10T03:00:00Z',
    });
    const refundHeaders = till.headers(ROUTES.refund, refundBody);
    expect(await rawPost(server.url, ROUTES.pay, refundBody, refundHeaders)).toMatchObject({
      status: 401,
      json: { error: { code: 'BAD_MAC' } },
    });
    expect(await count()).toEqual({ n: 1, fen: 700 });
    // The refund itself, once; its replay refused.
    expect((await rawPost(server.url, ROUTES.refund, refundBody, refundHeaders)).status).toBe(200);
    expect((await rawPost(server.url, ROUTES.refund, refundBody, refundHeaders)).json?.error?.code).toBe(
      'REPLAYED',
    );
    expect(await count()).toEqual({ n: 2, fen: 1_400 });
  });

  it('sequence numbers: out of order within the window is taken once; below the pruned floor is a replay', async () => {
    const server = await centralHost();
    const till = new RawTill(server.url, await enrolTill(server, 'T0001'));
    await till.signOn();
    const body = JSON.stringify({ cardId: 'A00000001' });
    const send = (seq: number) =>
      rawPost(server.url, ROUTES.cardStatus, body, till.headers(ROUTES.cardStatus, body, seq));
    // UNKNOWN_CARD (404) means the request got past its MAC and sequence checks.
    expect((await send(3)).status).toBe(404);
    expect((await send(2)).status).toBe(404);
    expect((await send(3)).json?.error?.code).toBe('REPLAYED');
    expect((await send(5_120)).status).toBe(404); // every 1024th moves the floor to 5120 − 4096
    expect((await send(1_000)).json?.error?.code).toBe('REPLAYED');
    expect((await send(1_025)).status).toBe(404);
    const rows = await server.host.pool.query('SELECT seq::int FROM host_request_seq ORDER BY seq');
    expect(rows.rows.map((r) => r.seq)).toEqual([1_025, 5_120]);
  });

  it('a replayed sign-on is refused; working keys change at every sign-on', async () => {
    const server = await centralHost();
    const credential = await enrolTill(server, 'T0001');
    const till = new RawTill(server.url, credential);
    const first = await till.signOn();
    expect(first.status).toBe(200);
    const keys1 = first.json!.result as { pinKey: string; macKey: string; sessionId: string };
    const second = await till.signOn();
    const keys2 = second.json!.result as { pinKey: string; macKey: string; sessionId: string };
    expect(keys2.pinKey).not.toBe(keys1.pinKey);
    expect(keys2.macKey).not.toBe(keys1.macKey);
    expect(keys2.sessionId).not.toBe(keys1.sessionId);
    // Replaying the exact bytes of a sign-on.
    const body = JSON.stringify({ terminalId: 'T0001', nonce: 'a'.repeat(32), at: '2025-03-10T02:00:00Z' });
    const { requestMac, signOnKey, parseCredential } = await import('../terminal-keys.ts');
    const mac = requestMac(signOnKey(parseCredential(credential)), {
      method: 'POST',
      path: ROUTES.signOn,
      terminalId: 'T0001',
      sessionId: '-',
      seq: 0,
      body,
    });
    const h = { 'x-sscard-terminal': 'T0001', 'x-sscard-mac': mac };
    expect((await rawPost(server.url, ROUTES.signOn, body, h)).status).toBe(200);
    expect((await rawPost(server.url, ROUTES.signOn, body, h)).json?.error?.code).toBe('REPLAYED');
  });

  it('PIN blocks: ISO 9564 format 0 under 3DES, widened for SM4; a wrong key does not open one', () => {
    const key = newKey();
    const block = pinBlock('3des', key, '246810', 'C44010048');
    expect(block).toMatch(/^[0-9a-f]{16}$/);
    // PIN field 06 246810 FFFFFFFF xor account field 0000 000024401004 (C = 12 → 2).
    expect(Buffer.from(decryptEcb('3des', key, Buffer.from(block, 'hex'))).toString('hex')).toBe(
      '06246810dbbfeffb',
    );
    expect(openPinBlock('3des', key, block, 'C44010048')).toBe('246810');
    expect(() => openPinBlock('3des', newKey(), block, 'C44010048')).toThrow(/does not open/);
    expect(() => openPinBlock('3des', key, block, 'A00000001')).toThrow(/does not open/);
    const sm4 = pinBlock('sm4', key, '1234', 'A00000001');
    expect(sm4).toMatch(/^[0-9a-f]{32}$/);
    expect(openPinBlock('sm4', key, sm4, 'A00000001')).toBe('1234');
    expect(() => pinBlock('3des', key, '12a4', 'A00000001')).toThrow(/4 to 12 digits/);
  });

  it('beyond loopback the host serves only TLS with an operator token; over TLS the capture shows no request at all', async () => {
    const db = await freshDatabase('wire-tls');
    cleanups.push(() => db.drop());
    await expect(startHostServer({ connectionString: db.url, host: '0.0.0.0' })).rejects.toThrow(
      /beyond loopback.*TLS.*operator token/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'sscard-wire-tls-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const tls = selfSignedTls(dir, '127.0.0.1');
    expect(tls.created).toBe(true);
    await expect(
      startHostServer({ connectionString: db.url, host: '0.0.0.0', tls: { cert: tls.cert, key: tls.key } }),
    ).rejects.toThrow(/operator token/);
    const server = await startHostServer({
      connectionString: db.url,
      poolSize: 2,
      tls: { cert: tls.cert, key: tls.key },
      token: 'op',
    });
    cleanups.push(() => server.close());
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    const proxy = await capturingProxy(server.port);
    const till = new HttpHost({
      url: `https://127.0.0.1:${proxy.port}`,
      credential: await enrolTill(server, 'T0001'),
      ca: readFileSync(join(dir, 'cert.pem')),
      timeoutMs: 5_000,
    });
    cleanups.push(() => till.close());
    await till.registerCard({
      cardId: 'A00000001',
      generation: 3,
      status: 'active',
      passwordHash: null,
      opening: { reserve: null, medicalCurrent: 5_000, medicalPrior: null },
      terminalId: 'T0001',
    });
    await till.forward(offline('A00000001', { medicalCurrentFen: 300 }));
    const text = proxy.bytes().toString('latin1');
    expect(text.length).toBeGreaterThan(500);
    for (const clear of ['POST', '/v1/', 'A00000001', 'paymentId', 'x-sscard', 'sign-on'])
      expect(text).not.toContain(clear);
    expect((await server.host.records('T0001')).length).toBe(1);
  });
});
