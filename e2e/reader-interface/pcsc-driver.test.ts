import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockVpcdSlots } from '../vpcd-lock.ts';
import { VpcdBridge, vpcdReaderName } from '../../device/vpcd-bridge.ts';
import { waitForCard } from '../../device/pcsc.ts';
import { resolveCard } from '../../core/card/wallet.ts';
import { openCardStore, type CardStore } from '../../core/ledger/card-store.ts';
import {
  DriverClient,
  post,
  startService,
  type ServiceProcess,
} from '../../test/harness/reader-interface/driver-support.ts';

/**
 * The service in front of a real pcscd: a gen 3 card served into vpcd slot 0, `sscard driver
 * serve --reader "PCD 00 00"`, and a C program calling libSSCardDriver.so — the whole chain a
 * HIS on a Linux desktop with a PC/SC reader uses. Takes the vpcd slots' lock.
 */
const SLOT0 = vpcdReaderName(0);
const dir = mkdtempSync(join(tmpdir(), 'sscard-driver-pcsc-'));
let release: (() => void) | null = null;
let store: CardStore;
let bridge: VpcdBridge | null = null;
let service: ServiceProcess | null = null;
let client: DriverClient | null = null;

beforeAll(async () => {
  const status = inject('pcscd');
  if (!status.ok) throw new Error(`PC/SC tests need pcscd with vpcd: ${status.reason}`);
  release = await lockVpcdSlots();
  store = openCardStore(':memory:');
  bridge = new VpcdBridge({ card: store.open(resolveCard('gen3-active').profile), slot: 0 });
  bridge.start();
  await bridge.waitConnected();
  await waitForCard(SLOT0);
  service = await startService([
    '--reader',
    'PCD 00 00',
    '--db',
    join(dir, 'ledger.db'),
    '--pin-timeout',
    '5',
  ]);
  client = new DriverClient('c', { SSCARD_DRIVER_URL: service.url });
}, 660_000);

afterAll(async () => {
  await client?.close();
  if (service && service.child.exitCode === null) expect(await service.stop()).toBe(0);
  await bridge?.stop();
  await waitForCard(SLOT0, false, 5000).catch(() => {});
  store?.close();
  release?.();
  rmSync(dir, { recursive: true, force: true });
});

describe('sscard driver serve --reader on a vpcd-served card (pcscd)', () => {
  it('reads the gen 3 card plainly, then in full through the HSM path', async () => {
    const p = resolveCard('gen3-active').profile;
    expect(service!.output()).toContain(`PC/SC reader "${SLOT0}"`);
    const plain = await client!.call('iReadCardBas', 1);
    expect(plain.code).toBe(0);
    expect(plain.out.split('|')[4]).toBe('');
    const s1 = await client!.call('iReadCardBas_HSM_Step1', 1);
    expect(s1.code).toBe(0);
    const auth = await post(`${service!.url}/cardmgmt/auth`, { step1: s1.out });
    const s2 = await client!.call('iReadCardBas_HSM_Step2', String(auth.json.pKey));
    expect(s2.code).toBe(0);
    const f = s2.out.split('|');
    expect([f[1], f[2], f[4]]).toEqual([p.holder.ssn, p.card.number, p.holder.name]);
  });

  it('verifies the PIN through the card in pcscd: right, then wrong with the tries left', async () => {
    const p = resolveCard('gen3-active').profile;
    await post(`${service!.url}/pinpad`, { entries: [p.pin] });
    expect((await client!.call('iVerifyPIN', 1)).code).toBe(0);
    await post(`${service!.url}/pinpad`, { entries: ['000000'] });
    expect(await client!.call('iVerifyPIN', 1)).toMatchObject({ code: -51, out: '2|' });
    await post(`${service!.url}/pinpad`, { entries: [p.pin] });
    expect((await client!.call('iVerifyPIN', 1)).code).toBe(0);
  });

  it('answers -2 (无卡) once the card is pulled out of the reader', async () => {
    await bridge!.stop();
    bridge = null;
    await waitForCard(SLOT0, false, 5000);
    expect((await client!.call('iReadCardBas', 1)).code).toBe(-2);
  });
});
