import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveCard } from '../../core/card/wallet.ts';
import {
  DriverClient,
  post,
  startService,
  type ClientKind,
  type ServiceProcess,
} from '../../test/harness/reader-interface/driver-support.ts';

/**
 * A HIS's calls through libSSCardDriver.so — from a C program linked against it and from
 * Python ctypes — to `sscard driver serve` on each generation of the bundled cards: the
 * reads, the gen 3 HSM path with the card-management centre, the PIN functions with the PIN
 * pad fed through POST /pinpad, a debit and its record. Each client kind gets services of its
 * own (fresh ledgers), so the PIN counters start from the fixtures.
 */
const dir = mkdtempSync(join(tmpdir(), 'sscard-driver-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The 11 fields of iReadCardBas (each followed by '|'). */
function basFields(out: string): string[] {
  expect(out.endsWith('|')).toBe(true);
  return out.slice(0, -1).split('|');
}

describe.each<ClientKind>(['c', 'python'])('a HIS through libSSCardDriver.so (%s)', (kind) => {
  const services: Record<string, ServiceProcess> = {};
  const clients: Record<string, DriverClient> = {};
  const cards = ['gen1', 'gen2', 'gen3-active', 'gen3-initial-pin'];

  beforeAll(async () => {
    const started = await Promise.all(
      cards.map((id) =>
        startService(['--card', id, '--db', join(dir, `${kind}-${id}.db`), '--pin-timeout', '5']),
      ),
    );
    cards.forEach((id, i) => {
      services[id] = started[i]!;
      clients[id] = new DriverClient(kind, { SSCARD_DRIVER_URL: started[i]!.url });
    });
  }, 90_000);
  afterAll(async () => {
    for (const c of Object.values(clients)) await c.close();
    for (const s of Object.values(services)) expect(await s.stop()).toBe(0);
  });

  const pin = (id: string, ...entries: string[]) => post(`${services[id]!.url}/pinpad`, { entries });

  it.each(['gen1', 'gen2'])('reads a %s card in full with iReadCardBas (GBK)', async (id) => {
    const p = resolveCard(id).profile;
    const a = await clients[id]!.call('iReadCardBas', 1);
    expect(a.code).toBe(0);
    const f = basFields(a.out);
    expect(f).toHaveLength(11);
    expect(f[1]).toBe(p.holder.ssn);
    expect(f[2]).toBe(p.card.number);
    expect(f[4]).toBe(p.holder.name);
    expect(f[0]).toBe(f[3]!.slice(0, 6));
    expect(f[3]).toMatch(/^[0-9]{6}D156000005[0-9A-F]{16}$/);
    expect(f[6]).toMatch(p.generation === 1 ? /^1\.00$/ : /^2\.[01]0$/);
    // The name arrives in GBK, as a HIS's char buffer holds it.
    expect(a.raw.includes(Buffer.from(p.holder.name, 'utf8'))).toBe(false);
  });

  it('reads a gen 3 card: plain read leaves SSN, card number and name empty; the HSM path fills them', async () => {
    const p = resolveCard('gen3-active').profile;
    const c = clients['gen3-active']!;
    const plain = await c.call('iReadCardBas', 1);
    expect(plain.code).toBe(0);
    const f = basFields(plain.out);
    expect([f[1], f[2], f[4]]).toEqual(['', '', '']);
    expect(f[6]).toBe('3.00');

    const s1 = await c.call('iReadCardBas_HSM_Step1', 1);
    expect(s1.code).toBe(0);
    const auth = await post(`${services['gen3-active']!.url}/cardmgmt/auth`, { step1: s1.out });
    expect(auth.status).toBe(200);
    const s2 = await c.call('iReadCardBas_HSM_Step2', String(auth.json.pKey));
    expect(s2.code).toBe(0);
    const full = basFields(s2.out);
    expect([full[1], full[2], full[4]]).toEqual([p.holder.ssn, p.card.number, p.holder.name]);
    expect(full[3]).toBe(f[3]);
  });

  it('verifies the PIN typed on the PIN pad; a wrong one answers -51 with the tries left', async () => {
    const c = clients['gen3-active']!;
    const p = resolveCard('gen3-active').profile;
    await pin('gen3-active', p.pin);
    expect(await c.call('iVerifyPIN', 1)).toMatchObject({ code: 0 });
    await pin('gen3-active', '000000');
    expect(await c.call('iVerifyPIN', 1)).toMatchObject({ code: -51, out: '2|' });
    await pin('gen3-active', 'CANCEL');
    expect((await c.call('iVerifyPIN', 1)).code).toBe(-31);
    // Nobody types: the PIN pad times out (--pin-timeout 5).
    expect((await c.call('iVerifyPIN', 1)).code).toBe(-32);
  });

  it('waits for the holder: GET /pinpad shows who asks, and the PIN typed meanwhile is used', async () => {
    const url = services['gen3-active']!.url;
    expect(await (await fetch(`${url}/pinpad`)).json()).toEqual({
      waiting: false,
      functionName: null,
      prompt: null,
      queued: 0,
    });
    const verify = clients['gen3-active']!.call('iVerifyPIN', 1);
    let state: Record<string, unknown> = {};
    for (let i = 0; i < 100 && state.waiting !== true; i++) {
      await new Promise((r) => setTimeout(r, 30));
      state = (await (await fetch(`${url}/pinpad`)).json()) as Record<string, unknown>;
    }
    expect(state).toEqual({ waiting: true, functionName: 'iVerifyPIN', prompt: 'pin', queued: 0 });
    await pin('gen3-active', resolveCard('gen3-active').profile.pin);
    expect((await verify).code).toBe(0);
  });

  it('refuses changing the PIN to the initial 123456 (-36)', async () => {
    const p = resolveCard('gen3-active').profile;
    await pin('gen3-active', p.pin, '123456', '123456');
    expect((await clients['gen3-active']!.call('iChangePIN', 1)).code).toBe(-36);
  });

  it('debits 12.50 from the medical account and reads the debit record', async () => {
    const c = clients['gen3-active']!;
    const p = resolveCard('gen3-active').profile;
    const s1 = await c.call('iReadCardBas_HSM_Step1', 1);
    const auth = await post(`${services['gen3-active']!.url}/cardmgmt/auth`, { step1: s1.out });
    const cardInfo = (await c.call('iReadCardBas_HSM_Step2', String(auth.json.pKey))).out;
    await pin('gen3-active', p.pin);
    const debit = await c.call('iDoDebit', 1, cardInfo, '12.50|1|HIS-0001|');
    expect(debit.code).toBe(0);
    const d = debit.out.slice(0, -1).split('|');
    expect(d).toHaveLength(10);
    expect(d[1]).toBe('12.50');
    expect(d[9]).toBe('HIS-0001');
    const record = await c.call('iReadDebitRecord', 1);
    expect(record.code).toBe(0);
    const r = record.out.slice(0, -1).split('|');
    expect(r[0]).toBe(d[0]);
    expect(r[2]).toBe('12.50');
    // Someone else's card information is refused before any PIN is asked.
    const other = cardInfo.replace(p.card.number, 'C99999999');
    expect((await c.call('iDoDebit', 1, other, '12.50|1|')).code).toBe(-22);
  });

  it('blocks the PIN after the last wrong try (-52) and stays blocked', async () => {
    const c = clients['gen3-active']!;
    // The debit's right PIN reset the counter to 3.
    await pin('gen3-active', '000000');
    expect(await c.call('iVerifyPIN', 1)).toMatchObject({ code: -51, out: '2|' });
    await pin('gen3-active', '000000');
    expect(await c.call('iVerifyPIN', 1)).toMatchObject({ code: -51, out: '1|' });
    await pin('gen3-active', '000000');
    expect(await c.call('iVerifyPIN', 1)).toMatchObject({ code: -52, out: '0|' });
    await pin('gen3-active', resolveCard('gen3-active').profile.pin);
    expect((await c.call('iVerifyPIN', 1)).code).toBe(-52);
  });

  it('refuses the initial PIN 123456 of a gen 3 card (-35)', async () => {
    await pin('gen3-initial-pin', '123456');
    expect((await clients['gen3-initial-pin']!.call('iVerifyPIN', 1)).code).toBe(-35);
  });

  it('answers the reader information and the card type', async () => {
    const info = await clients['gen2']!.call('iGetReaderInfo');
    expect(info.code).toBe(0);
    expect(info.out).not.toBe('');
    expect(info.out2).toMatch(/^[0-9]{12}$/);
    const type = await clients['gen2']!.call('iGetCardType');
    expect(type).toMatchObject({ code: 0, out: '2' });
  });

  it('answers the functions the interface does not offer with -13 (不支持该命令)', async () => {
    expect((await clients['gen2']!.call('iWriteCard', 1, '', 'EF05|', '')).code).toBe(-13);
  });
});
