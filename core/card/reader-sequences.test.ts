import { describe, expect, it } from 'vitest';
import { VirtualReader } from '../../device/virtual-reader.ts';
import { exchange } from '../../device/exchange.ts';
import { fromHex, toHex } from './hex.ts';
import { gbkEncode, encodePinBcd } from './codec.ts';
import { chipSerialFromAtr } from './atr.ts';
import { PsamSimulator } from './psam.ts';
import { card, bundled } from '../../test/harness/card/cards.ts';
import type { CardProfile } from './profile.ts';

/**
 * The exact command sequences public reader programs send (card-reference.md §1–§5),
 * replayed against every generation. Each program must read our cards unchanged.
 */
const GENERATIONS = ['gen1', 'gen2', 'gen3-initial-pin', 'gen3-active'] as const;

const asciiHex = (s: string) => toHex(new TextEncoder().encode(s));
const ymd = (d: string) => d.replaceAll('-', '');

/** The records a reader expects, as TLV hex, keyed by tag. */
function expectedRecords(p: CardProfile): Map<number, string> {
  const name = toHex(gbkEncode(p.holder.name));
  const main = name.slice(0, 60);
  const m = new Map<number, string>([
    [0x03, `0304${asciiHex(`${p.generation}.00`)}`],
    [0x05, `0504${ymd(p.card.issueDate)}`],
    [0x06, `0604${ymd(p.card.expiryDate)}`],
    [0x07, `0709${asciiHex(p.card.number)}`],
    [0x08, `0812${asciiHex(p.holder.ssn).padEnd(36, '0')}`],
    [0x09, `091E${main.padEnd(60, '0')}`],
    [0x0a, `0A01${p.holder.sex === 'male' ? '31' : '32'}`],
    [0x0b, `0B01${p.holder.nation}`],
    [0x0c, `0C03${p.holder.birthplace}`],
    [0x0d, `0D04${ymd(p.holder.birthDate)}`],
  ]);
  if (p.generation >= 2) m.set(0x4e, `4E14${name.slice(60).padEnd(40, '0')}`);
  return m;
}

async function setup(id: string) {
  const reader = new VirtualReader();
  const c = card(id);
  reader.insert(c);
  const atr = await reader.connect();
  const send = async (hex: string) => {
    const r = await exchange(reader, fromHex(hex));
    return toHex(r.data) + r.sw.toString(16).toUpperCase().padStart(4, '0');
  };
  const raw = async (hex: string) => toHex(await reader.transmit(fromHex(hex)));
  const auth = async () => {
    const ch = (await send('0084000008')).slice(0, 16);
    const crypt = new PsamSimulator().externalAuthenticate(c.algorithm, chipSerialFromAtr(atr)!, fromHex(ch));
    return send('0082000A10' + toHex(crypt));
  };
  return { reader, c, p: bundled(id), send, raw, auth };
}

for (const id of GENERATIONS) {
  describe(`reader sequences against ${id}`, () => {
    it('§1 SELECT SSSE by name answers 61xx (T=0) or the FCI (T=1); GET RESPONSE fetches it', async () => {
      const { raw, p } = await setup(id);
      const first = await raw('00A404000F7378312E73682EC9E7BBE1B1A3D5CF');
      if (p.protocol === 'T=0') {
        expect(first).toMatch(/^61[0-9A-F]{2}$/);
        const fci = await raw(`00C00000${first.slice(2)}`);
        expect(fci.slice(0, 2)).toBe('6F');
        expect(fci.slice(-4)).toBe('9000');
      } else {
        expect(first.slice(0, 2)).toBe('6F');
        expect(first.slice(-4)).toBe('9000');
      }
    });

    it('§2/§3 EF05 by record number after SELECT by FID P1=02 (S1, S2, S7, S8)', async () => {
      const { send, p } = await setup(id);
      const exp = expectedRecords(p);
      await send('00A404000F7378312E73682EC9E7BBE1B1A3D5CF');
      expect(await send('00A4020002EF05')).toBe('9000');
      expect((await send('00B2010412')).slice(0, 4)).toBe('0110');
      expect(await send('00B2030406')).toBe(exp.get(0x03) + '9000');
      expect(await send('00B2050406')).toBe(exp.get(0x05) + '9000');
      expect(await send('00B2060406')).toBe(exp.get(0x06) + '9000');
      expect(await send('00B207040B')).toBe(exp.get(0x07) + '9000');
    });

    it('§3 EF05/EF06 by SFI without selecting the EF (S2, S8, S10: 00B2072C0B, 00B2013414)', async () => {
      const { send, auth, p } = await setup(id);
      const exp = expectedRecords(p);
      await send('00A404000F7378312E73682EC9E7BBE1B1A3D5CF');
      expect(await send('00B2072C0B')).toBe(exp.get(0x07) + '9000');
      if (p.generation === 3) {
        expect(await send('00B2013414')).toBe('6982');
        expect(await auth()).toBe('9000');
      }
      expect(await send('00B2013414')).toBe(exp.get(0x08) + '9000');
      expect(await send('00B2023420')).toBe(exp.get(0x09) + '9000');
    });

    it('§3 EF06 by tag, first occurrence (S1, S2, S3, S7: 00B2080014, 00B24E0016)', async () => {
      const { send, auth, p } = await setup(id);
      const exp = expectedRecords(p);
      await send('00A404000F7378312E73682EC9E7BBE1B1A3D5CF');
      if (p.generation === 3) expect(await auth()).toBe('9000');
      expect(await send('00A4000002EF06')).toBe('9000'); // P1=00 form (S5, S6, S9)
      expect(await send('00B2080014')).toBe(exp.get(0x08) + '9000');
      expect(await send('00B2090020')).toBe(exp.get(0x09) + '9000');
      if (p.generation >= 2) expect(await send('00B24E0016')).toBe(exp.get(0x4e) + '9000');
      else expect(await send('00B24E0016')).toBe('6A83'); // S3 tolerates its absence
      expect(await send('00B20A0003')).toBe(exp.get(0x0a) + '9000');
      expect(await send('00B20B0003')).toBe(exp.get(0x0b) + '9000');
      expect(await send('00B20C0005')).toBe(exp.get(0x0c) + '9000');
      expect(await send('00B20D0006')).toBe(exp.get(0x0d) + '9000');
    });

    it('§2 EF06 record layout: sex is record 3 on 1.00 cards and record 4 on 2.00+ (S8, S6)', async () => {
      const { send, auth, p } = await setup(id);
      const exp = expectedRecords(p);
      await send('00A404000F7378312E73682EC9E7BBE1B1A3D5CF');
      if (p.generation === 3) await auth();
      await send('00A4020002EF06');
      const sexRec = p.generation === 1 ? 3 : 4;
      expect(await send(`00B20${sexRec}0403`)).toBe(exp.get(0x0a) + '9000');
      const birthRec = p.generation === 1 ? 6 : 7;
      expect(await send(`00B20${birthRec}0406`)).toBe(exp.get(0x0d) + '9000');
    });

    it('§4 generation from the first character of EF05 tag 03', async () => {
      const { send, p } = await setup(id);
      await send('00A404000F7378312E73682EC9E7BBE1B1A3D5CF');
      const v = await send('00B2032C06');
      expect(String.fromCharCode(parseInt(v.slice(4, 6), 16))).toBe(String(p.generation));
    });

    it('§5 VERIFY 0020000003 + BCD PIN: 9000 (6985 for the unchanged initial PIN on gen 3), 63Cx when wrong', async () => {
      const { send, p } = await setup(id);
      await send('00A404000F7378312E73682EC9E7BBE1B1A3D5CF');
      const good = await send('0020000003' + toHex(encodePinBcd(p.pin)));
      expect(good).toBe(p.pin === '123456' && p.generation === 3 ? '6985' : '9000');
      expect(await send('0020000003' + (p.pin === '999999' ? '888888' : '999999'))).toBe('63C2');
    });
  });
}
