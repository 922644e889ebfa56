import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CorruptingCard, corruptRecordData, type RecordCorruption } from './corruption.ts';
import { SocialSecurityCard } from './social-security-card.ts';
import { resolveCard } from './wallet.ts';
import { fromHex, toHex } from './hex.ts';
import { SSSE_AID } from './layout.ts';
import { faultyTill, type FaultyTill } from '../../test/harness/faults/test-support.ts';

const SELECT_SSSE = Uint8Array.of(0x00, 0xa4, 0x04, 0x00, SSSE_AID.length, ...SSSE_AID);
const SELECT_DEBIT = fromHex('00A4040008A000000333010101');
const read = (p1: number, p2: number) => Uint8Array.of(0x00, 0xb2, p1, p2, 0x00);
const sw = (r: Uint8Array) => toHex(r.subarray(r.length - 2));
const data = (r: Uint8Array) => r.subarray(0, r.length - 2);

let gen2: SocialSecurityCard;
let twin: SocialSecurityCard;
beforeAll(() => {
  const p = resolveCard('gen2').profile;
  gen2 = new SocialSecurityCard(p);
  twin = new SocialSecurityCard(p, { state: gen2.state });
});

/** The corrupted card and a healthy twin, both powered and in the SSSE. */
function pair(corruptions: RecordCorruption[]) {
  const card = new CorruptingCard(gen2, corruptions);
  card.powerOn();
  twin.powerOn();
  const both = (cmd: Uint8Array) => ({ bad: card.transmit(cmd), good: twin.transmit(cmd) });
  both(SELECT_SSSE);
  return { card, both };
}

describe('CorruptingCard', () => {
  it('corrupts the record read by SFI and number (P2=2C), keeps its status word, leaves the others alone', () => {
    const { both, card } = pair([{ file: 'EF05', record: 7 }]);
    expect(card.atr).toEqual(gen2.atr);
    const r7 = both(read(7, 0x2c));
    expect(sw(r7.bad)).toBe('9000');
    expect(data(r7.bad)).toEqual(corruptRecordData(data(r7.good), 'flip'));
    expect(data(r7.bad)).not.toEqual(data(r7.good));
    for (const n of [1, 2, 3, 4, 5, 6]) {
      const r = both(read(n, 0x2c));
      expect(r.bad).toEqual(r.good);
    }
    const ef06 = both(read(2, 0x34));
    expect(ef06.bad).toEqual(ef06.good);
  });

  it('corrupts the same record read by tag (P2=28, as the POS reads) and as the current EF after SELECT', () => {
    const { both } = pair([{ file: 'EF05', record: 7 }]);
    const byTag = both(read(0x07, 0x28));
    expect(sw(byTag.bad)).toBe('9000');
    expect(byTag.bad[0]).not.toBe(0x07);
    expect(both(read(0x06, 0x28)).bad).toEqual(both(read(0x06, 0x28)).good);

    expect(sw(both(fromHex('00A4020002EF05')).bad)).toBe('9000');
    const current = both(read(7, 0x04));
    expect(sw(current.bad)).toBe('9000');
    expect(data(current.bad)).toEqual(corruptRecordData(data(current.good)));
    // Once EF06 is the current EF, its record 7 is healthy.
    both(read(1, 0x34));
    const other = both(read(7, 0x04));
    expect(other.bad).toEqual(other.good);
  });

  it('EF06 by tag (gen 2: the name, record 2, tag 09); each mode of damage', () => {
    for (const mode of ['flip', 'truncate', 'garbage'] as const) {
      const { both } = pair([{ file: 'EF06', record: 2, mode }]);
      const r = both(read(0x09, 0x30));
      expect(sw(r.bad)).toBe('9000');
      if (mode === 'truncate') {
        expect(toHex(data(r.bad))).toBe('09'); // the tag, then nothing
      } else {
        expect(r.bad[0]).not.toBe(0x09);
        expect(data(r.bad)).toHaveLength(data(r.good).length);
      }
      // Record 1 (tag 08, the SSN) is healthy.
      const ssn = both(read(0x08, 0x30));
      expect(ssn.bad).toEqual(ssn.good);
    }
  });

  it('only the social security files: the debit application and errors pass untouched', () => {
    const { both } = pair([
      { file: 'EF05', record: 1 },
      { file: 'EF06', record: 1 },
    ]);
    both(SELECT_DEBIT);
    const rec = both(read(1, 0x0c));
    expect(rec.bad).toEqual(rec.good);
    const sfi5 = both(read(1, 0x2c)); // no SFI 5 in the debit application
    expect(sfi5.bad).toEqual(sfi5.good);
    expect(sw(sfi5.bad)).not.toBe('9000');
    // After a power cycle the card is back in the MF: nothing selected, nothing corrupted by mistake.
    const { both: again } = pair([{ file: 'EF05', record: 9 }]);
    const missing = again(read(9, 0x2c));
    expect(missing.bad).toEqual(missing.good);
  });

  it('refuses corruptions it cannot apply', () => {
    expect(() => new CorruptingCard(gen2, [{ file: 'EF07' as 'EF05', record: 1 }])).toThrow(RangeError);
    expect(() => new CorruptingCard(gen2, [{ file: 'EF05', record: 0 }])).toThrow(RangeError);
    expect(() => new CorruptingCard(gen2, [{ file: 'EF05', record: 1, mode: 'x' as 'flip' }])).toThrow(
      RangeError,
    );
  });
});

describe('corrupted records at the till', () => {
  let till: FaultyTill;
  afterEach(() => till?.close());

  it.each(['flip', 'truncate', 'garbage'] as const)(
    'EF05 record 7 (%s): READ_FAILED, the card is refused, never paid, no crash',
    async (mode) => {
      till = faultyTill();
      const before = till.money('gen3-active');
      till.faults.corruptCard('gen3-active', [{ file: 'EF05', record: 7, mode }]);
      await till.insert('gen3-active');
      expect(till.pos.terminal.stateName()).toBe('refused');
      expect(till.screen().code).toBe('READ_FAILED');
      expect(till.screen().en).toContain('READ EF05 tag 7');
      // The till refuses to go on: no amount is taken.
      till.pos.terminal.send({ type: 'AMOUNT_ENTERED', amountFen: 100, method: 'medical' });
      await till.pos.terminal.settled();
      expect(till.pos.terminal.stateName()).toBe('refused');
      expect(till.money('gen3-active')).toEqual(before);
      // Healed, the next insertion pays.
      till.faults.corruptCard('gen3-active', []);
      await till.remove();
      await till.insert('gen3-active');
      expect((await till.pay(100, 'gen3-active')).approved).toBe(true);
    },
  );

  it('a gen 3 holder record (EF06 record 3, tag 4E, read after PSAM authentication): READ_FAILED, not paid', async () => {
    till = faultyTill();
    const before = till.money('gen3-active');
    till.faults.corruptCard('gen3-active', [{ file: 'EF06', record: 3 }]);
    await till.insert('gen3-active');
    expect(till.screen().code).toBe('READ_FAILED');
    expect(till.screen().en).toContain('READ EF06 tag 4e');
    expect(till.money('gen3-active')).toEqual(before);
  });
});
