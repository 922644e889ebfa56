import { afterEach, describe, expect, it } from 'vitest';
import { openLab, type Lab } from '../../test/harness/reader-interface/session.ts';
import { RC } from './codes.ts';
import { createReaderInterface } from './interface.ts';
import type { CardReader } from '../../device/reader.ts';
import { toHex, fromHex } from '../card/hex.ts';

/** The reader, with SSSE's FCI announcing SSF33 (9F0C id 02) instead of the card's own algorithm. */
function ssf33(reader: CardReader): CardReader {
  return {
    name: reader.name,
    kind: reader.kind,
    cardPresent: () => reader.cardPresent(),
    connect: () => reader.connect(),
    reset: () => reader.reset(),
    disconnect: () => reader.disconnect(),
    on() {
      return this;
    },
    off() {
      return this;
    },
    async transmit(command: Uint8Array) {
      const r = toHex(await reader.transmit(command));
      return fromHex(r.replace(/9F0C03860103/, '9F0C03860102'));
    },
  };
}

/** iReadCardBas, iReadCard, their HSM steps, iGetCardType and iGetReaderInfo on gen 1/2/3 virtual cards. */
let lab: Lab | null = null;
afterEach(() => {
  lab?.pos.close();
  lab = null;
});
const open = (...a: Parameters<typeof openLab>) => (lab = openLab(...a));
const split = (s: string) => {
  expect(s.endsWith('|')).toBe(true);
  return s.slice(0, -1).split('|');
};

describe('iReadCardBas', () => {
  it.each([
    ['gen1', '1.00', '440106196804121231', 'A44010019', '张伟'],
    ['gen2', '2.00', '440104197909230022', 'B44010024', '李娜'],
  ])('reads every field of a %s card, each followed by |', async (id, version, ssn, number, name) => {
    const { ri } = open(id);
    const r = await ri.call({ function: 'iReadCardBas', iType: 1 });
    expect(r.code).toBe(0);
    const f = split(r.pOutInfo);
    expect(f).toHaveLength(11);
    expect(f[0]).toBe('440100');
    expect(f[1]).toBe(ssn);
    expect(f[2]).toBe(number);
    expect(f[3]).toMatch(/^440100D156000005[0-9A-F]{16}$/);
    expect(f[4]).toBe(name);
    expect(f[5]).toMatch(/^805553534/);
    expect(f[6]).toBe(version);
    expect(f.slice(9)).toEqual(['440100000001', 'SSCLAB-0001']);
  });

  it('leaves SSN, card number and name empty on a gen 3 card without the card-management keys', async () => {
    const { ri } = open('gen3-active');
    const r = await ri.call({ function: 'iReadCardBas', iType: 3 });
    expect(r.code).toBe(0);
    expect(r.pOutInfo).toMatch(
      /^440100\|\|\|440100D156000005[0-9A-F]{16}\|\|[0-9A-F]+\|3\.00\|20230520\|20330520\|/,
    );
  });

  it('answers -2203 instead when set to return the PSAM code, and -2201 without a PSAM', async () => {
    expect(
      (
        await open('gen3-active', { settings: { gen3PlainRead: 'psam-code' } }).ri.call({
          function: 'iReadCardBas',
          iType: 1,
        })
      ).code,
    ).toBe(RC.PSAM_NO_RKSSSE);
    lab!.pos.close();
    expect(
      (
        await open('gen3-active', { settings: { psamPresent: false } }).ri.call({
          function: 'iReadCardBas',
          iType: 1,
        })
      ).code,
    ).toBe(RC.NO_PSAM);
  });

  it('reads a gen 3 card in full when the PSAM holds RKSSSE, and then needs no HSM (-2204)', async () => {
    const { ri } = open('gen3-active', { settings: { psamHoldsRksse: true, basTerminalFields: false } });
    const r = await ri.call({ function: 'iReadCardBas', iType: 1 });
    expect(split(r.pOutInfo)).toHaveLength(9);
    expect(split(r.pOutInfo).slice(1, 3)).toEqual(['440111198511301511', 'C44010048']);
    expect((await ri.call({ function: 'iReadCardBas_HSM_Step1', iType: 1 })).code).toBe(RC.HSM_NOT_NEEDED);
  });

  it('answers -2 with no card in the reader', async () => {
    const { ri, reader } = open('gen2');
    reader.remove();
    expect(await ri.call({ function: 'iReadCardBas', iType: 1 })).toMatchObject({
      code: RC.NO_CARD,
      pOutInfo: '',
    });
  });
});

describe('the HSM path with the card-management centre', () => {
  it('reads a gen 3 card in full: Step 1 → centre → Step 2', async () => {
    const { ri } = open('gen3-active');
    const s1 = await ri.call({ function: 'iReadCardBas_HSM_Step1', iType: 1 });
    expect(s1.code).toBe(0);
    const f = split(s1.pOutInfo);
    expect(f).toHaveLength(9);
    expect(f[2]).toBe('03'); // SM4 card: its 9F0C algorithm id
    expect(f[8]).toBe('440100000001');
    const answer = ri.cardManagement.authenticate(s1.pOutInfo);
    expect(answer.code).toBe(0);
    const pKey = (answer as { pKey: string }).pKey;
    expect(pKey).toMatch(/^[0-9A-F]{32}$/);
    const s2 = await ri.call({ function: 'iReadCardBas_HSM_Step2', pKey });
    expect(s2.code).toBe(0);
    expect(split(s2.pOutInfo).slice(0, 5)).toEqual([
      '440100',
      '440111198511301511',
      'C44010048',
      f[0],
      '陈明',
    ]);
  });

  it("answers a wrong pKey with the card's 63Cx, and a Step 2 without Step 1 with -12", async () => {
    const { ri } = open('gen3-active');
    await ri.call({ function: 'iReadCardBas_HSM_Step1', iType: 1 });
    const bad = await ri.call({ function: 'iReadCardBas_HSM_Step2', pKey: '00'.repeat(16) });
    expect(bad.code).toBe(-0x63c2);
    expect((await ri.call({ function: 'iReadCardBas_HSM_Step2', pKey: '00'.repeat(16) })).code).toBe(
      RC.NOT_CONNECTED,
    );
  });

  it('refuses a forged card identification code (-21) and a malformed Step 1 (-14)', () => {
    const { ri } = open('gen3-active');
    const forged =
      '440100D156000005A9196E0400000000|FD6B52CCA9196E04|03|572C8357F7A2F89B|01|3.00|440100||440100000001|';
    expect(ri.cardManagement.authenticate(forged).code).toBe(RC.INTERNAL_AUTH_FAILED);
    expect(ri.cardManagement.authenticate('garbage').code).toBe(RC.BAD_PARAMETER);
  });

  it('works for a 3DES gen 3 card too (algorithm 01)', async () => {
    const { ri, cardInfo } = open('gen3-initial-pin');
    const s1 = await ri.call({ function: 'iReadCardBas_HSM_Step1', iType: 1 });
    expect(split(s1.pOutInfo)[2]).toBe('01');
    expect(split(await cardInfo())[4]).not.toBe('');
  });
});

describe('the algorithm (-2202)', () => {
  it('a card announcing SSF33 is refused by the PSAM and by the centre', async () => {
    const { reader } = open('gen3-active');
    const plain = createReaderInterface({ reader: ssf33(reader), settings: { psamHoldsRksse: true } });
    expect((await plain.call({ function: 'iReadCardBas', iType: 1 })).code).toBe(RC.PSAM_ALGORITHM);
    const hsm = createReaderInterface({ reader: ssf33(reader) });
    expect((await hsm.call({ function: 'iReadCardBas_HSM_Step1', iType: 1 })).code).toBe(RC.PSAM_ALGORITHM);
    const s1 = await createReaderInterface({ reader }).call({ function: 'iReadCardBas_HSM_Step1', iType: 1 });
    const f = s1.pOutInfo.split('|');
    f[2] = '02';
    expect(hsm.cardManagement.authenticate(f.join('|')).code).toBe(RC.PSAM_ALGORITHM);
  });
});

describe('iReadCard: named items of EF05/EF06 (pFileAddr)', () => {
  it('reads the items asked for, in order, on gen 1 and 2 without authentication', async () => {
    const { ri, cardInfo } = open('gen2');
    const r = await ri.call({
      function: 'iReadCard',
      iType: 1,
      iAuthType: 0,
      pCardInfo: await cardInfo(),
      pFileAddr: 'SSSE|EF06|09|08|EF05|07|',
    });
    expect(r).toMatchObject({ code: 0, pOutInfo: '李娜|440104197909230022|B44010024|' });
  });

  it("on gen 3: EF06 unauthenticated is the card's 6982; the PSAM code with iAuthType 1; the HSM path reads it", async () => {
    const { ri, cardInfo } = open('gen3-active');
    const pCardInfo = await cardInfo();
    const pFileAddr = 'EF05|07|EF06|08|0D|';
    expect(
      (await ri.call({ function: 'iReadCard', iType: 1, iAuthType: 0, pCardInfo, pFileAddr })).code,
    ).toBe(-0x6982);
    expect(
      (await ri.call({ function: 'iReadCard', iType: 1, iAuthType: 1, pCardInfo, pFileAddr })).code,
    ).toBe(RC.PSAM_NO_RKSSSE);
    const s1 = await ri.call({ function: 'iReadCard_HSM_Step1', iType: 1, pCardInfo, pFileAddr });
    const a = ri.cardManagement.authenticate(s1.pOutInfo) as { pKey: string };
    const s2 = await ri.call({ function: 'iReadCard_HSM_Step2', pKey: a.pKey });
    expect(s2).toMatchObject({ code: 0, pOutInfo: 'C44010048|440111198511301511|19851130|' });
  });

  it('on gen 3 with a PSAM holding RKSSSE, iAuthType 1 opens EF06 itself', async () => {
    const { ri, cardInfo } = open('gen3-hong-kong', { settings: { psamHoldsRksse: true } });
    const pCardInfo = await cardInfo();
    const r = await ri.call({
      function: 'iReadCard',
      iType: 1,
      iAuthType: 1,
      pCardInfo,
      pFileAddr: 'EF06|08|',
    });
    expect(r).toMatchObject({ code: 0, pOutInfo: 'HKG012345678|' });
  });

  it("answers -14 for a malformed pFileAddr, -22 for another card's pCardInfo, the card's 6A83 for an unknown item", async () => {
    const { ri, cardInfo } = open('gen1');
    const pCardInfo = await cardInfo();
    const call = (pFileAddr: string, info = pCardInfo) =>
      ri.call({ function: 'iReadCard', iType: 1, iAuthType: 0, pCardInfo: info, pFileAddr });
    expect((await call('EF05|7|')).code).toBe(RC.BAD_PARAMETER);
    expect((await call('01|EF05|')).code).toBe(RC.BAD_PARAMETER);
    expect((await call('EF05|08|')).code).toBe(RC.BAD_PARAMETER);
    expect((await call('EF06|4E|')).code).toBe(-0x6a83); // gen 1 has no name extension
    const other = pCardInfo.replace(/\|440100D156000005[0-9A-F]{16}\|/, '|440100D15600000500000000000000FF|');
    expect((await call('EF05|07|', other)).code).toBe(RC.CARD_MISMATCH);
    expect((await call('EF05|07|', 'x|y|z|not-an-id|')).code).toBe(RC.CARD_ID_FORMAT);
  });
});

describe('iGetCardType and iGetReaderInfo', () => {
  it.each([
    ['gen1', '1'],
    ['gen2', '2'],
    ['gen3-active', '3'],
  ])('gives the generation of a %s card', async (id, gen) => {
    const r = await open(id).ri.call({ function: 'iGetCardType' });
    expect(r.code).toBe(0);
    expect(r.outputs).toEqual({ pCardType: gen });
    expect(split(r.pOutInfo)[0]).toBe(`${gen}.00`);
  });

  it('gives the reader serial and the PSAM terminal number, card or no card', async () => {
    const { ri, reader } = open('gen1', {
      settings: { readerSerial: 'R-42', psamTerminalNumber: '123456789012' },
    });
    reader.remove();
    expect(await ri.call({ function: 'iGetReaderInfo' })).toEqual({
      functionName: 'iGetReaderInfo',
      code: 0,
      pOutInfo: 'R-42|123456789012|',
      outputs: { pReaderSN: 'R-42', pPsamTermNo: '123456789012' },
    });
    expect((await ri.call({ function: 'iGetCardType' })).code).toBe(RC.NO_CARD);
  });
});
