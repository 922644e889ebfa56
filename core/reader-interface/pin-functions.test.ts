import { afterEach, describe, expect, it } from 'vitest';
import { openLab, type Lab } from '../../test/harness/reader-interface/session.ts';
import { ApduTrace } from '../../device/trace.ts';
import { CounterPinKey } from '../card/psam.ts';
import { RC } from './codes.ts';
import { PinPadError } from './pin-pad.ts';

/** The PIN functions and the virtual PIN pad on gen 1/2/3 virtual cards (R1.3, R1.4). */
let lab: Lab | null = null;
afterEach(() => {
  lab?.pos.close();
  lab = null;
});
const open = (...a: Parameters<typeof openLab>) => (lab = openLab(...a));
const verify = (l: Lab) => l.ri.call({ function: 'iVerifyPIN', iType: 1 });

describe('iVerifyPIN', () => {
  it.each([
    ['gen1', '802317'],
    ['gen2', '135790'],
    ['gen3-active', '258014'],
  ])('accepts the right PIN of a %s card typed on the PIN pad', async (id, pin) => {
    const l = open(id);
    l.pad.enter(pin);
    expect(await verify(l)).toEqual({ functionName: 'iVerifyPIN', code: 0, pOutInfo: '' });
    expect(l.pad.pending).toBe(0);
  });

  it('R1.3: a wrong PIN answers -51 with the tries left, the last one -52, then blocked -52', async () => {
    const l = open('gen3-active');
    l.pad.enter('111111', '111111');
    expect(await verify(l)).toMatchObject({ code: RC.WRONG_PIN, pOutInfo: '2|' });
    expect(await verify(l)).toMatchObject({ code: RC.WRONG_PIN, pOutInfo: '1|' });
    l.pad.enter('111111');
    expect(await verify(l)).toMatchObject({ code: RC.PIN_BLOCKED, pOutInfo: '0|' });
    l.pad.enter('258014');
    expect(await verify(l)).toMatchObject({ code: RC.PIN_BLOCKED });
  });

  it('R1.3: a card whose PIN is blocked answers -52', async () => {
    const l = open('gen3-pin-blocked');
    l.pad.enter('731904');
    expect((await verify(l)).code).toBe(RC.PIN_BLOCKED);
  });

  it('R1.4: the unchanged initial PIN of a gen 3 card answers -35 and costs no try', async () => {
    const l = open('gen3-initial-pin');
    l.pad.enter('123456', '654321');
    expect((await verify(l)).code).toBe(RC.INITIAL_PIN);
    expect(await verify(l)).toMatchObject({ code: RC.WRONG_PIN, pOutInfo: '2|' });
  });
});

describe('the virtual PIN pad', () => {
  it('CANCEL → -31; no entry within the timeout → -32; not 6 digits → -33', async () => {
    const l = open('gen2', { pinTimeoutMs: 40 });
    l.pad.enter('CANCEL');
    expect((await verify(l)).code).toBe(RC.PIN_CANCELLED);
    expect((await verify(l)).code).toBe(RC.PIN_TIMEOUT);
    l.pad.enter('1357');
    expect((await verify(l)).code).toBe(RC.PIN_LENGTH);
    l.pad.enter('135790');
    expect((await verify(l)).code).toBe(0);
  });

  it("asks whoever answers its request event (the app's PIN pad) when nothing is queued", async () => {
    const l = open('gen3-active');
    const asked: string[] = [];
    l.pad.on('request', (req: { functionName: string; prompt: string }) => {
      asked.push(`${req.functionName}:${req.prompt}`);
      setTimeout(() => l.pad.enter('258014'), 5);
    });
    const done: unknown[] = [];
    l.pad.on('done', (req: { prompt: string }, how: string) => done.push(`${req.prompt}:${how}`));
    expect((await verify(l)).code).toBe(0);
    expect(asked).toEqual(['iVerifyPIN:pin']);
    expect(done).toEqual(['pin:entered']);
  });

  it('refuses to queue an entry that is not digits or CANCEL, naming its position and queuing nothing', () => {
    const l = open('gen1');
    expect(() => l.pad.enter('123456', '12a4')).toThrow(PinPadError);
    expect(() => l.pad.enter('123456', '12a4')).toThrow(/entry 2 of 2/);
    expect(l.pad.pending).toBe(0);
  });

  it('never lets the PIN out: not in any result, and masked in the APDU trace', async () => {
    const trace = new ApduTrace();
    const l = open('gen3-active', { trace });
    l.pad.enter('258014', '258014', '975312', '975312', '111111');
    const results = [await verify(l), await l.ri.call({ function: 'iChangePIN', iType: 1 }), await verify(l)];
    for (const r of results) expect(JSON.stringify(r)).not.toMatch(/258014|975312|111111/);
    const text = trace.toText() + JSON.stringify(trace.list());
    expect(text).not.toMatch(/258014|975312|111111/);
    expect(trace.list().some((e) => e.command.startsWith('805E0100') && e.command.includes('*'))).toBe(true);
  });
});

describe('iChangePIN', () => {
  it('R1.4: changes the initial PIN (old, new, new again), after which the new one verifies', async () => {
    const l = open('gen3-initial-pin');
    l.pad.enter('123456', '246135', '246135');
    expect((await l.ri.call({ function: 'iChangePIN', iType: 1 })).code).toBe(0);
    l.pad.enter('246135');
    expect((await verify(l)).code).toBe(0);
  });

  it('R1.4: refuses 123456 as the new PIN (-36) and a repetition that differs (-34), sending nothing', async () => {
    const trace = new ApduTrace();
    const l = open('gen3-active', { trace });
    l.pad.enter('258014', '123456', '123456');
    expect((await l.ri.call({ function: 'iChangePIN', iType: 1 })).code).toBe(RC.NEW_PIN_INITIAL);
    l.pad.enter('258014', '975312', '975313');
    expect((await l.ri.call({ function: 'iChangePIN', iType: 1 })).code).toBe(RC.PIN_MISMATCH);
    expect(trace.list().some((e) => e.command.startsWith('805E'))).toBe(false);
  });

  it('R1.3: a wrong old PIN answers -51 with the tries left', async () => {
    const l = open('gen2');
    l.pad.enter('000000', '975312', '975312');
    expect(await l.ri.call({ function: 'iChangePIN', iType: 1 })).toMatchObject({
      code: RC.WRONG_PIN,
      pOutInfo: '2|',
    });
  });
});

describe('every PIN function on every generation', () => {
  it.each([
    ['gen1', '802317'],
    ['gen2', '135790'],
    ['gen3-active', '258014'],
  ])('%s: change, block, unblock and reload through the HSM, verify', async (id, pin) => {
    const l = open(id);
    const call = (fn: string, extra: Record<string, unknown> = {}) =>
      l.ri.call({ function: fn, iType: 1, ...extra });
    const centre = (step1: string) => (l.ri.cardManagement.authenticate(step1) as { pKey: string }).pKey;
    l.pad.enter(pin, '975312', '975312');
    expect((await call('iChangePIN')).code).toBe(0);
    l.pad.enter('000000', '000000', '000000');
    expect((await call('iVerifyPIN')).code).toBe(RC.WRONG_PIN);
    expect((await call('iVerifyPIN')).code).toBe(RC.WRONG_PIN);
    expect((await call('iVerifyPIN')).code).toBe(RC.PIN_BLOCKED);
    const pCardInfo = await l.cardInfo();
    const u1 = await call('iUnblockPIN_HSM_Step1', { pCardInfo });
    expect((await call('iUnblockPIN_HSM_Step2', { pKey: centre(u1.pOutInfo) })).code).toBe(0);
    l.pad.enter('975312');
    expect((await call('iVerifyPIN')).code).toBe(0);
    l.pad.enter('864209', '864209');
    const r1 = await call('iReloadPIN_HSM_Step1', { pCardInfo });
    expect((await call('iReloadPIN_HSM_Step2', { pKey: centre(r1.pOutInfo) })).code).toBe(0);
    l.pad.enter('975312', '864209');
    expect(await call('iVerifyPIN')).toMatchObject({ code: RC.WRONG_PIN, pOutInfo: '2|' });
    expect((await call('iVerifyPIN')).code).toBe(0);
  });
});

describe('iUnblockPIN and iReloadPIN', () => {
  it("without the bank's PIN key they answer -24 (the caller takes the HSM path)", async () => {
    const l = open('gen3-pin-blocked');
    const pCardInfo = await l.cardInfo();
    expect((await l.ri.call({ function: 'iUnblockPIN', iType: 1, pCardInfo })).code).toBe(RC.PSAM_KEY_LEVEL);
    expect((await l.ri.call({ function: 'iReloadPIN', iType: 1, pCardInfo })).code).toBe(RC.PSAM_KEY_LEVEL);
  });

  it('a counter terminal holding the key unblocks a blocked PIN (the PIN unchanged) and reloads a new one', async () => {
    const l = open('gen3-pin-blocked', { counterKey: new CounterPinKey() });
    const pCardInfo = await l.cardInfo();
    expect((await l.ri.call({ function: 'iUnblockPIN', iType: 1, pCardInfo })).code).toBe(0);
    l.pad.enter('731904');
    expect((await verify(l)).code).toBe(0);
    l.pad.enter('864209', '864209');
    expect((await l.ri.call({ function: 'iReloadPIN', iType: 1, pCardInfo })).code).toBe(0);
    l.pad.enter('864209');
    expect((await verify(l)).code).toBe(0);
  });

  it('unblocks through the HSM: Step 1 → centre → Step 2', async () => {
    const l = open('gen3-pin-blocked');
    const pCardInfo = await l.cardInfo();
    const s1 = await l.ri.call({ function: 'iUnblockPIN_HSM_Step1', iType: 1, pCardInfo });
    expect(s1.code).toBe(0);
    expect(s1.pOutInfo.split('|')[4]).toBe('03');
    const a = l.ri.cardManagement.authenticate(s1.pOutInfo) as { code: number; pKey: string };
    expect(a.pKey).toMatch(/^[0-9A-F]{8}$/);
    expect((await l.ri.call({ function: 'iUnblockPIN_HSM_Step2', pKey: a.pKey })).code).toBe(0);
    l.pad.enter('731904');
    expect((await verify(l)).code).toBe(0);
  });

  it("reloads through the HSM with the new PIN only as the PIN pad's encrypted block; a wrong MAC is the card's 6988", async () => {
    const l = open('gen2');
    const pCardInfo = await l.cardInfo();
    l.pad.enter('975312', '975312');
    const s1 = await l.ri.call({ function: 'iReloadPIN_HSM_Step1', iType: 1, pCardInfo });
    expect(s1.code).toBe(0);
    expect(s1.pOutInfo).not.toContain('975312');
    expect(s1.pOutInfo.split('|')[7]).toMatch(/^[0-9A-F]{16}$/);
    const bad = await l.ri.call({ function: 'iReloadPIN_HSM_Step2', pKey: '00000000' });
    expect(bad.code).toBe(-0x6988);
    l.pad.enter('975312', '975312');
    const again = await l.ri.call({ function: 'iReloadPIN_HSM_Step1', iType: 1, pCardInfo });
    const a = l.ri.cardManagement.authenticate(again.pOutInfo) as { pKey: string };
    expect((await l.ri.call({ function: 'iReloadPIN_HSM_Step2', pKey: a.pKey })).code).toBe(0);
    l.pad.enter('975312');
    expect((await verify(l)).code).toBe(0);
  });

  it('checks pCardInfo against the card (-22) before anything else', async () => {
    const l = open('gen1', { counterKey: new CounterPinKey() });
    const other = open('gen2');
    const pCardInfo = await other.cardInfo();
    other.pos.close();
    lab = l;
    expect((await l.ri.call({ function: 'iUnblockPIN', iType: 1, pCardInfo })).code).toBe(RC.CARD_MISMATCH);
  });
});
