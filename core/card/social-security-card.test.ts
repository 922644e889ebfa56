import { describe, expect, it } from 'vitest';
import { SocialSecurityCard, type CardSecurityState } from './social-security-card.ts';
import {
  card,
  cardFrom,
  bundled,
  variant,
  tx,
  sw,
  SELECT_SSSE,
  SELECT_DEBIT,
} from '../../test/harness/card/cards.ts';
import { PsamSimulator, CounterPinKey } from './psam.ts';
import { fromHex, toHex } from './hex.ts';
import { encodePinBcd, gbkEncode } from './codec.ts';
import { seededRandom } from './crypto.ts';
import { chipSerialFromAtr, historicalBytes } from './atr.ts';
import { findTag } from './tlv.ts';

/** Runs GET CHALLENGE + EXTERNAL AUTHENTICATE as the terminal's PSAM would. */
function authenticate(c: SocialSecurityCard): string {
  const challenge = tx(c, '0084000008').slice(0, 16);
  const crypt = new PsamSimulator().externalAuthenticate(
    c.algorithm,
    chipSerialFromAtr(c.atr)!,
    fromHex(challenge),
  );
  return sw(c, '0082000A10' + toHex(crypt));
}

function verifyHex(pin: string): string {
  return '0020000003' + toHex(encodePinBcd(pin));
}

function changeHex(oldPin: string, newPin: string): string {
  return '805E010007' + toHex(encodePinBcd(oldPin)) + 'FF' + toHex(encodePinBcd(newPin));
}

describe('ISO 7816-4 command parsing', () => {
  const c = card('gen2');
  it('answers 6700 to fewer than four bytes', () => {
    expect(toHex(c.transmit(new Uint8Array(0)))).toBe('6700');
    expect(sw(c, '00')).toBe('6700');
    expect(sw(c, '00A404')).toBe('6700');
  });
  it('answers 6700 when Lc does not match the data', () => {
    expect(sw(c, '00A404000F7378')).toBe('6700'); // truncated data
    expect(sw(c, '00A4040002A0000003')).toBe('6700'); // Lc too short for the bytes sent
  });
  it('answers 6700 to extended-length APDUs', () => {
    expect(sw(c, '00A4040000000F7378312E73682EC9E7BBE1B1A3D5CF')).toBe('6700');
  });
  it('answers 6E00 to an unknown class and 6D00 to an unknown instruction', () => {
    expect(sw(c, 'A0A4000002')).toBe('6E00');
    expect(sw(c, 'FFA4000000')).toBe('6E00');
    expect(sw(c, '0099000000')).toBe('6D00');
    expect(sw(c, '80B2010C00')).toBe('6E00'); // READ RECORD exists, but not under CLA 80
    expect(sw(c, '805E000000')).not.toBe('6D00');
  });
  it('handles all four cases (1: no data no Le, 2: Le, 3: data, 4: data and Le)', () => {
    expect(sw(c, '00A40000')).toBe('9000'); // case 1: select MF
    expect(sw(c, SELECT_SSSE)).toBe('6118'); // case 3 on T=0: 61xx (gen 2: 24-byte FCI)
    expect(tx(c, '00B2032C06')).toBe('0304322E30309000'); // case 2
    expect(sw(c, SELECT_SSSE + '00')).toBe('6118'); // case 4 on T=0
  });
});

describe('file selection', () => {
  it('selects the SSSE DDF by name and answers its FCI via 61xx + GET RESPONSE (T=0)', () => {
    const c = card('gen3-initial-pin');
    expect(sw(c, SELECT_SSSE)).toBe('611E'); // 30 bytes of FCI, as S14 sees
    const fci = tx(c, '00C000001E');
    expect(fci.slice(-4)).toBe('9000');
    expect(fci.slice(0, 4)).toBe('6F1C');
    const alg = findTag(fromHex(fci.slice(0, -4)), 0x9f0c);
    expect(toHex(alg!)).toBe('860101'); // 3DES
  });
  it('answers the FCI directly on T=1, announcing SM4 (9F0C 86 01 03)', () => {
    const c = card('gen3-active');
    const r = tx(c, SELECT_SSSE);
    expect(r.slice(-4)).toBe('9000');
    expect(toHex(findTag(fromHex(r.slice(0, -4)), 0x9f0c)!)).toBe('860103');
  });
  it('answers 6Cxx to a wrong Le on T=1 and 6985 to GET RESPONSE with nothing pending', () => {
    const c = card('gen3-active');
    expect(sw(c, SELECT_SSSE + '05')).toBe('6C1E');
    expect(sw(c, '00C0000000')).toBe('6985');
  });
  it('GET RESPONSE with a short Le returns part and announces the rest', () => {
    const c = card('gen2');
    expect(sw(c, SELECT_SSSE)).toBe('6118');
    const first = tx(c, '00C0000010');
    expect(first.slice(-4)).toBe('6108');
    expect(tx(c, '00C0000008').slice(-4)).toBe('9000');
    expect(sw(c, '00C0000030')).toBe('6985');
  });
  it('selects EF05 and EF06 by FID with P1=02 and P1=00, with or without Le', () => {
    const c = card('gen2');
    sw(c, SELECT_SSSE);
    expect(sw(c, '00A4020002EF05')).toBe('9000');
    expect(sw(c, '00A4000002EF06')).toBe('9000');
    expect(sw(c, '00A4020002EF0500')).toBe('9000');
  });
  it('does not find EF05 before SSSE is selected (6A82) and selects MF by 3F00', () => {
    const c = card('gen2');
    expect(sw(c, '00A4020002EF05')).toBe('6A82');
    expect(sw(c, '00A40000023F00')).toBe('9000');
    expect(sw(c, '00A4040005A000000000')).toBe('6A82');
  });
  it('answers 6A86 to unsupported P1/P2 and 6700 to a bad FID length', () => {
    const c = card('gen2');
    expect(sw(c, '00A4080002EF05')).toBe('6A86');
    expect(sw(c, '00A4020102EF05')).toBe('6A86');
    expect(sw(c, '00A4020003EF0500')).toBe('6700');
    expect(sw(c, '00A40400')).toBe('6700');
  });
  it('selects without FCI when P2=0C', () => {
    const c = card('gen2');
    expect(tx(c, '00A4040C0F7378312E73682EC9E7BBE1B1A3D5CF')).toBe('9000');
  });
});

describe('READ RECORD addressing', () => {
  const c = card('gen2');
  const p = bundled('gen2');
  sw(c, SELECT_SSSE);
  const cardNo = toHex(new TextEncoder().encode(p.card.number));
  it('reads by record number in the current EF (P2=04)', () => {
    expect(sw(c, '00A4020002EF05')).toBe('9000');
    expect(tx(c, '00B207040B')).toBe(`0709${cardNo}9000`);
  });
  it('reads by SFI without selecting the EF (P2=2C EF05, 34 EF06)', () => {
    expect(tx(c, '00B2072C0B')).toBe(`0709${cardNo}9000`);
    expect(tx(c, '00B2013414')).toBe(`0812${toHex(new TextEncoder().encode(p.holder.ssn))}9000`);
  });
  it('reads by tag, first occurrence (P2=00 in the current EF, or SFI form)', () => {
    sw(c, '00A4020002EF06');
    expect(tx(c, '00B2080014').slice(0, 4)).toBe('0812');
    expect(tx(c, '00B24E0016').slice(0, 4)).toBe('4E14');
    expect(tx(c, '00B2032800').slice(0, 4)).toBe('0304'); // tag 03 in SFI 5
  });
  it('answers Le=00 with the whole record and a wrong Le with 6C + the right length', () => {
    expect(tx(c, '00B2072C00')).toBe(`0709${cardNo}9000`);
    expect(sw(c, '00B2072C05')).toBe('6C0B');
    expect(sw(c, '00B2072C20')).toBe('6C0B');
  });
  it('answers 6A83 for a missing record and 6A82 for an unknown SFI', () => {
    expect(sw(c, '00B2082C00')).toBe('6A83');
    expect(sw(c, '00B2992C00')).toBe('6A83');
    expect(sw(c, '00B2015400')).toBe('6A82');
  });
  it('answers 6986 without a current EF, 6A86 for unsupported modes, 6700 with data', () => {
    const fresh = card('gen2');
    sw(fresh, SELECT_SSSE);
    expect(sw(fresh, '00B2010400')).toBe('6986');
    expect(sw(fresh, '00B2012D00')).toBe('6A86');
    expect(sw(fresh, '00B2002C00')).toBe('6A86');
    expect(sw(fresh, '00B2012C0101')).toBe('6700');
  });
  it('answers 6981 when READ RECORD targets a binary file', () => {
    const fresh = card('gen2');
    sw(fresh, SELECT_SSSE);
    expect(sw(fresh, '00B2013C00')).toBe('6981');
  });
});

describe('EF05 and EF06 contents per generation', () => {
  it('spec version is "1.00", "2.00", "3.00" by generation', () => {
    for (const [id, v] of [
      ['gen1', '312E3030'],
      ['gen2', '322E3030'],
      ['gen3-active', '332E3030'],
    ] as const) {
      const c = card(id);
      sw(c, SELECT_SSSE);
      expect(tx(c, '00B2032C06')).toBe(`0304${v}9000`);
    }
  });
  it('card identification code: area code, RID D156000005, chip serial bytes, MAC', () => {
    const c = card('gen3-initial-pin');
    const p = bundled('gen3-initial-pin');
    sw(c, SELECT_SSSE);
    const r = tx(c, '00B2012C12');
    expect(r.slice(0, 4)).toBe('0110');
    expect(r.slice(4, 10)).toBe(p.card.areaCode);
    expect(r.slice(10, 20)).toBe('D156000005');
    expect(r.slice(20, 28)).toBe(p.card.chipSerial.slice(8));
  });
  it('dates are BCD YYYYMMDD and the issuer is F-filled BCD', () => {
    const c = card('gen2');
    const p = bundled('gen2');
    sw(c, SELECT_SSSE);
    expect(tx(c, '00B2052C06')).toBe(`0504${p.card.issueDate.replaceAll('-', '')}9000`);
    expect(tx(c, '00B2062C06')).toBe(`0604${p.card.expiryDate.replaceAll('-', '')}9000`);
    expect(tx(c, '00B2042C0E')).toBe(`040C${p.card.issuer.padEnd(24, 'F')}9000`);
  });
  it('name in GBK, zero-filled to 30 bytes; 4E record only on gen 2 and 3', () => {
    const c1 = card('gen1');
    sw(c1, SELECT_SSSE);
    expect(tx(c1, '00B2023420')).toBe(`091E${toHex(gbkEncode('张伟')).padEnd(60, '0')}9000`);
    expect(sw(c1, '00B24E3000')).toBe('6A83');
    expect(tx(c1, '00B2033403')).toBe('0A01319000'); // gen 1: sex is record 3
    const c2 = card('gen2');
    sw(c2, SELECT_SSSE);
    expect(tx(c2, '00B2033416').slice(0, 4)).toBe('4E14'); // gen 2: record 3 is 4E
    expect(tx(c2, '00B2043403')).toBe('0A01329000'); // female
  });
  it('a long name continues in the 4E name-extension record, split on a character boundary', () => {
    const c = card('gen3-foreigner');
    const profile = bundled('gen3-foreigner');
    sw(c, SELECT_SSSE);
    expect(authenticate(c)).toBe('9000');
    const main = tx(c, '00B2093000').slice(4, -4);
    const ext = tx(c, '00B24E3000').slice(4, -4);
    const text = Buffer.from(main + ext, 'hex')
      .toString('latin1')
      .replaceAll('\0', '');
    expect(text).toBe(profile.holder.name);
  });
  it('nation, birthplace and birth date are BCD', () => {
    const c = card('gen2');
    const p = bundled('gen2');
    sw(c, SELECT_SSSE);
    expect(tx(c, '00B20B3000')).toBe(`0B01${p.holder.nation}9000`);
    expect(tx(c, '00B20C3000')).toBe(`0C03${p.holder.birthplace}9000`);
    expect(tx(c, '00B20D3000')).toBe(`0D04${p.holder.birthDate.replaceAll('-', '')}9000`);
  });
});

describe('financial (UnionPay debit) application', () => {
  it('gen 2 and gen 3 answer SELECT A000000333010101 and give a Luhn-valid PAN in tag 5A', () => {
    for (const id of ['gen2', 'gen3-active']) {
      const c = card(id);
      const r = tx(c, SELECT_DEBIT + '00');
      expect(['61', '90']).toContain(r.slice(-4, -2));
      const rec = tx(c, '00B2020C00');
      expect(rec.slice(-4)).toBe('9000');
      const pan = toHex(findTag(fromHex(rec.slice(0, -4)), 0x5a)!);
      expect(pan).toBe(bundled(id).financial!.pan);
    }
  });
  it('gen 1 has no financial application: SELECT answers 6A82 (R1.1)', () => {
    expect(sw(card('gen1'), SELECT_DEBIT)).toBe('6A82');
  });
  it('GET PROCESSING OPTIONS returns AIP and AFL in the debit application only', () => {
    const c = card('gen3-active');
    expect(sw(c, '80A8000002830000')).toBe('6985');
    tx(c, SELECT_DEBIT);
    expect(tx(c, '80A8000002830000')).toBe('800A7C00080102009000'.replace('800A', '8006'));
  });
  it('selecting the debit application leaves SSSE: EF05 is no longer reachable by SFI', () => {
    const c = card('gen2');
    sw(c, SELECT_SSSE);
    sw(c, SELECT_DEBIT);
    expect(sw(c, '00B2012C00')).toBe('6A82');
  });
});

describe('gen 3 personal data behind external authentication', () => {
  it('EF06 answers 6982 before authentication, EF05 stays readable', () => {
    const c = card('gen3-active');
    sw(c, SELECT_SSSE);
    expect(sw(c, '00B2013400')).toBe('6982');
    expect(sw(c, '00B2012C00')).toBe('9000');
  });
  it('GET CHALLENGE + EXTERNAL AUTHENTICATE with the PSAM cryptogram opens EF06 (3DES and SM4)', () => {
    for (const id of ['gen3-initial-pin', 'gen3-active']) {
      const c = card(id);
      sw(c, SELECT_SSSE);
      expect(authenticate(c)).toBe('9000');
      expect(sw(c, '00B2013400')).toBe('9000');
    }
  });
  it('authentication is lost on reset and on reselecting the application', () => {
    const c = card('gen3-active');
    sw(c, SELECT_SSSE);
    authenticate(c);
    c.reset();
    sw(c, SELECT_SSSE);
    expect(sw(c, '00B2013400')).toBe('6982');
    authenticate(c);
    sw(c, SELECT_SSSE);
    expect(sw(c, '00B2013400')).toBe('6982');
  });
  it('a wrong cryptogram counts down 63C2, 63C1, 63C0, then 6983; a good one resets the count', () => {
    const c = card('gen3-initial-pin');
    sw(c, SELECT_SSSE);
    tx(c, '0084000008');
    expect(sw(c, '0082000A10' + '00'.repeat(16))).toBe('63C2');
    expect(authenticate(c)).toBe('9000');
    expect(c.state.keyTriesLeft).toBe(3);
    for (const expected of ['63C2', '63C1', '63C0', '6983']) {
      tx(c, '0084000008');
      expect(sw(c, '0082000A10' + '11'.repeat(16))).toBe(expected);
    }
    expect(authenticate(c)).toBe('6983');
  });
  it('EXTERNAL AUTHENTICATE needs a fresh challenge (6985), the RKSSSE key id (6A88) and 16 bytes (6700)', () => {
    const c = card('gen3-initial-pin');
    sw(c, SELECT_SSSE);
    expect(sw(c, '0082000A10' + '00'.repeat(16))).toBe('6985');
    expect(sw(c, '0082000B10' + '00'.repeat(16))).toBe('6A88');
    expect(sw(c, '0082000A05' + '00'.repeat(5))).toBe('6700');
    expect(sw(c, '0084000005')).toBe('6700');
  });
  it('INTERNAL AUTHENTICATE proves the card holds its key', () => {
    const c = card('gen3-initial-pin');
    sw(c, SELECT_SSSE);
    const data = fromHex('00112233445566778899AABBCCDDEEFF');
    const r = tx(c, '0088000010' + toHex(data));
    const answer = r.endsWith('9000') ? fromHex(r.slice(0, -4)) : fromHex(tx(c, '00C0000010').slice(0, -4));
    expect(
      new PsamSimulator().checkInternalAuthenticate('3des', chipSerialFromAtr(c.atr)!, data, answer),
    ).toBe(true);
  });
  it('EF07 and EF08 are readable with READ BINARY only after authentication', () => {
    const c = card('gen2');
    sw(c, SELECT_SSSE);
    expect(sw(c, '00B0870000')).toBe('6982');
    authenticate(c);
    expect(tx(c, '00B0870010')).toBe('00'.repeat(16) + '9000');
    expect(sw(c, '00B0880FF8')).toBe('9000');
    expect(sw(c, '00B08810FF')).toBe('9000');
    expect(sw(c, '00B0858000')).toBe('6981');
  });
});

describe('PIN of the social security application', () => {
  it('VERIFY with the right PIN answers 9000 and with a wrong one 63Cx', () => {
    const c = card('gen3-active');
    sw(c, SELECT_SSSE);
    expect(sw(c, verifyHex('258014'))).toBe('9000');
    expect(sw(c, verifyHex('000000'))).toBe('63C2');
    expect(sw(c, verifyHex('258014'))).toBe('9000'); // success restores the counter
    expect(c.state.pinTriesLeft).toBe(3);
  });
  it('three wrong PINs block the PIN: 63C2, 63C1, 63C0, then 6983 even for the right PIN', () => {
    const c = card('gen3-active');
    sw(c, SELECT_SSSE);
    expect([1, 2, 3].map(() => sw(c, verifyHex('111111')))).toEqual(['63C2', '63C1', '63C0']);
    expect(sw(c, verifyHex('258014'))).toBe('6983');
    expect(sw(c, '0020000000'.slice(0, 8))).toBe('6983');
  });
  it('the retry limit is configurable', () => {
    const c = cardFrom(variant('gen3-active', (p) => void (p.pinRetryLimit = 5)));
    sw(c, SELECT_SSSE);
    expect(sw(c, verifyHex('111111'))).toBe('63C4');
  });
  it('VERIFY without data reports the tries left, and 9000 once verified', () => {
    const c = card('gen3-active');
    sw(c, SELECT_SSSE);
    expect(sw(c, '00200000')).toBe('63C3');
    sw(c, verifyHex('258014'));
    expect(sw(c, '00200000')).toBe('9000');
  });
  it('the verified state resets on reset and on reselecting the application', () => {
    const c = card('gen3-active');
    sw(c, SELECT_SSSE);
    sw(c, verifyHex('258014'));
    sw(c, SELECT_SSSE);
    expect(sw(c, '00200000')).toBe('63C3');
    sw(c, verifyHex('258014'));
    c.reset();
    sw(c, SELECT_SSSE);
    expect(sw(c, '00200000')).toBe('63C3');
  });
  it('a malformed PIN block answers 6A80 and costs no try; VERIFY needs the SSSE application (6A88)', () => {
    const c = card('gen3-active');
    expect(sw(c, verifyHex('258014'))).toBe('6A88');
    sw(c, SELECT_SSSE);
    expect(sw(c, '0020000003ABCDEF')).toBe('6A80');
    expect(sw(c, '00200000031F2345')).toBe('6A80');
    expect(sw(c, '00200001031234 56'.replace(' ', ''))).toBe('6A88');
    expect(c.state.pinTriesLeft).toBe(3);
  });
  it('R1.4: the unchanged initial PIN 123456 is refused (6985) without costing a try', () => {
    const c = card('gen3-initial-pin');
    sw(c, SELECT_SSSE);
    expect(c.state.pinInitial).toBe(true);
    expect(sw(c, verifyHex('123456'))).toBe('6985');
    expect(c.state.pinTriesLeft).toBe(3);
    expect(sw(c, verifyHex('654321'))).toBe('63C2');
  });
  it('R1.4: after CHANGE PIN the card no longer flags its PIN as initial and verifies the new one', () => {
    const c = card('gen3-initial-pin');
    sw(c, SELECT_SSSE);
    expect(sw(c, changeHex('123456', '864209'))).toBe('9000');
    expect(c.state.pinInitial).toBe(false);
    expect(sw(c, verifyHex('864209'))).toBe('9000');
  });
  it('CHANGE PIN with a wrong old PIN counts a try; 123456 or a non-6-digit new PIN is refused (6A80)', () => {
    const c = card('gen3-active');
    sw(c, SELECT_SSSE);
    expect(sw(c, changeHex('000000', '864209'))).toBe('63C2');
    expect(sw(c, changeHex('258014', '123456'))).toBe('6A80');
    expect(sw(c, '805E010006' + '258014FF8642')).toBe('6A80');
    expect(sw(c, '805E000007' + '258014FF864209')).toBe('6A86');
    expect(sw(c, '805E010003258014')).toBe('6700');
  });
  it('ISO CHANGE REFERENCE DATA (00 24) takes old ‖ new', () => {
    const c = card('gen3-active');
    sw(c, SELECT_SSSE);
    expect(sw(c, '0024000006258014864209')).toBe('9000');
    expect(sw(c, verifyHex('864209'))).toBe('9000');
    expect(sw(c, '0024000007864209FF258014')).toBe('9000');
  });
  it('a terminal cannot unblock: 84 24 needs the counter key (6985 without challenge, 6988 with a wrong MAC)', () => {
    const c = card('gen3-pin-blocked');
    sw(c, SELECT_SSSE);
    expect(sw(c, verifyHex('731904'))).toBe('6983');
    expect(sw(c, '842400000400000000')).toBe('6985');
    tx(c, '0084000004');
    expect(sw(c, '842400000401020304')).toBe('6988');
    expect(c.state.pinTriesLeft).toBe(0);
  });
  it('the bank counter key unblocks (counter reset, PIN unchanged) and reloads the PIN', () => {
    const c = card('gen3-pin-blocked');
    const key = new CounterPinKey();
    const serial = chipSerialFromAtr(c.atr)!;
    sw(c, SELECT_SSSE);
    const ch = fromHex(tx(c, '0084000004').slice(0, 8));
    expect(toHex(c.transmit(key.unblockCommand('3des', serial, ch)))).toBe('9000');
    expect(c.state.pinTriesLeft).toBe(3);
    expect(sw(c, verifyHex('731904'))).toBe('9000');
    const ch2 = fromHex(tx(c, '0084000008').slice(0, 16));
    expect(toHex(c.transmit(key.reloadCommand('3des', serial, ch2, '123456')))).toBe('9000');
    expect(c.state.pinInitial).toBe(true);
    sw(c, SELECT_SSSE);
    expect(sw(c, verifyHex('123456'))).toBe('6985');
  });
  it('persists every counter change before answering; a failed write answers 6581 and changes nothing', () => {
    const saved: CardSecurityState[] = [];
    const c = card('gen3-active', { persist: (s) => void saved.push(s) });
    sw(c, SELECT_SSSE);
    sw(c, verifyHex('000000'));
    expect(saved.at(-1)!.pinTriesLeft).toBe(2);
    const failing = card('gen3-active', {
      persist: () => {
        throw new Error('disk full');
      },
    });
    sw(failing, SELECT_SSSE);
    expect(sw(failing, verifyHex('000000'))).toBe('6581');
    expect(failing.state.pinTriesLeft).toBe(3);
  });
  it('never keeps the PIN in clear: the state holds a salted scrypt hash', () => {
    const c = card('gen3-active');
    const json = JSON.stringify(c.state);
    expect(json).not.toContain('258014');
    expect(c.state.pinHash.alg).toBe('scrypt');
  });
  it('restores persisted state: a blocked counter stays blocked in a new card object', () => {
    const a = card('gen3-active');
    sw(a, SELECT_SSSE);
    for (let i = 0; i < 3; i++) sw(a, verifyHex('999999'));
    const b = new SocialSecurityCard(bundled('gen3-active'), { state: a.state, random: seededRandom(1) });
    b.powerOn();
    sw(b, SELECT_SSSE);
    expect(sw(b, verifyHex('258014'))).toBe('6983');
  });
});

describe('ATR', () => {
  it('carries the chip serial as the last 8 historical bytes, T=0 and T=1 forms', () => {
    for (const id of ['gen2', 'gen3-active']) {
      const c = card(id);
      expect(toHex(chipSerialFromAtr(c.atr)!)).toBe(bundled(id).card.chipSerial);
      expect(historicalBytes(c.atr)!.length).toBe(15);
    }
    expect(toHex(card('gen2').atr).slice(0, 8)).toBe('3B6F0000');
    const t1 = card('gen3-active').atr;
    let x = 0;
    for (const b of t1.subarray(1)) x ^= b;
    expect(x).toBe(0); // TCK makes the XOR of T0..TCK zero
  });
});
