import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { lockVpcdSlots } from './vpcd-lock.ts';
import { VpcdBridge, vpcdReaderName } from '../device/vpcd-bridge.ts';
import { PcscReader } from '../device/pcsc-reader.ts';
import { waitForCard } from '../device/pcsc.ts';
import { resolveCard } from '../core/card/wallet.ts';
import { fixedClock } from '../core/time.ts';
import { openPosSystem, type PosSystem } from '../core/pos/pos-system.ts';
import { createReaderInterface } from '../core/reader-interface/interface.ts';
import { VirtualPinPad } from '../core/reader-interface/pin-pad.ts';
import { RC } from '../core/reader-interface/codes.ts';

/**
 * The reader interface on a card served into pcscd through vpcd and read back through PC/SC
 * (PcscReader): the same functions, outputs and codes as on the in-process reader.
 */
const SLOT0 = vpcdReaderName(0);

let releaseSlots: (() => void) | null = null;
beforeAll(async () => {
  const status = inject('pcscd');
  if (!status.ok) throw new Error(`PC/SC tests need pcscd with vpcd: ${status.reason}`);
  releaseSlots = await lockVpcdSlots();
}, 660_000);
afterAll(() => releaseSlots?.());

const opened: { bridge: VpcdBridge; reader: PcscReader; pos: PosSystem }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.reader.close();
    await o.bridge.stop();
    o.pos.close();
  }
  await waitForCard(SLOT0, false, 5000);
});

/** A till on a PC/SC reader, the card registered with it and served into vpcd slot 0. */
async function serveCard(id: string) {
  const reader = new PcscReader(SLOT0);
  const pos = openPosSystem({ dbPath: ':memory:', clock: fixedClock('2026-11-26T02:00:00Z'), reader });
  const card = pos.register(resolveCard(id).profile);
  const bridge = new VpcdBridge({ card, slot: 0 });
  opened.push({ bridge, reader, pos });
  bridge.start();
  await bridge.waitConnected();
  await waitForCard(SLOT0);
  const pad = new VirtualPinPad({ timeoutMs: 5000 });
  return { ri: createReaderInterface({ reader, pinPad: pad, till: { pos } }), pad, pos };
}

describe('the reader interface through pcscd + vpcd', () => {
  it('gen 3: plain read with empty personal fields, the HSM path in full, PIN, debit and its record', async () => {
    const { ri, pad, pos } = await serveCard('gen3-active');
    const plain = await ri.call({ function: 'iReadCardBas', iType: 1 });
    expect(plain.code).toBe(0);
    expect(plain.pOutInfo).toMatch(/^440100\|\|\|440100D156000005[0-9A-F]{16}\|\|/);

    const s1 = await ri.call({ function: 'iReadCardBas_HSM_Step1', iType: 1 });
    const answer = ri.cardManagement.authenticate(s1.pOutInfo) as { pKey: string };
    const full = await ri.call({ function: 'iReadCardBas_HSM_Step2', pKey: answer.pKey });
    expect(full.code).toBe(0);
    expect(full.pOutInfo.split('|').slice(1, 5)).toEqual([
      '440111198511301511',
      'C44010048',
      s1.pOutInfo.split('|')[0],
      '陈明',
    ]);

    pad.enter('111111');
    expect(await ri.call({ function: 'iVerifyPIN', iType: 1 })).toMatchObject({
      code: RC.WRONG_PIN,
      pOutInfo: '2|',
    });
    pad.enter('258014');
    expect((await ri.call({ function: 'iVerifyPIN', iType: 1 })).code).toBe(0);

    pad.enter('258014');
    const debit = await ri.call({
      function: 'iDoDebit',
      iType: 1,
      pCardInfo: full.pOutInfo,
      pPayInfo: '12.50|1|',
    });
    expect(debit.code).toBe(0);
    const paymentId = debit.pOutInfo.split('|')[0]!;
    expect(pos.ledger.payment(paymentId)?.amountFen).toBe(1250);
    const rec = await ri.call({ function: 'iReadDebitRecord', iType: 1 });
    expect(rec.pOutInfo.split('|').slice(0, 3)).toEqual([paymentId, '01', '12.50']);
  });

  it('gen 2: a full plain read, and -2 once the card leaves the reader', async () => {
    const { ri } = await serveCard('gen2');
    const r = await ri.call({ function: 'iReadCardBas', iType: 1 });
    expect(r.pOutInfo.split('|').slice(1, 5)).toEqual([
      '440104197909230022',
      'B44010024',
      expect.stringMatching(/^440100D156000005/),
      '李娜',
    ]);
    await opened[0]!.bridge.stop();
    await waitForCard(SLOT0, false, 5000);
    expect((await ri.call({ function: 'iReadCardBas', iType: 1 })).code).toBe(RC.NO_CARD);
  });
});
