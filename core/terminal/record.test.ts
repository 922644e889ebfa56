import { describe, expect, it } from 'vitest';
import { VirtualReader } from '../../device/virtual-reader.ts';
import { ApduTrace } from '../../device/trace.ts';
import type { VirtualCard } from '../../device/reader.ts';
import { SocialSecurityCard } from '../card/social-security-card.ts';
import { loadWallet } from '../card/wallet.ts';
import { parseProfileJson, type CardProfile } from '../card/profile.ts';
import { PAN_PLACEHOLDER, PIN_PLACEHOLDER, recordCard, RecordError } from './record.ts';
import { fromHex, toHex } from '../card/hex.ts';
import { bundled } from '../test/cards.ts';

/** `sscard record` in-process: every bundled card recorded, re-served, and read back. */

async function record(card: VirtualCard, trace?: ApduTrace) {
  const reader = new VirtualReader(trace ? { trace } : {});
  reader.insert(card);
  return recordCard(reader, { readerName: reader.name, now: () => new Date('2026-11-26T09:30:00Z') });
}

/** EF05 records 1–7 and the ATR as a card answers them. */
function ef05Of(card: SocialSecurityCard): string[] {
  card.powerOn();
  card.transmit(fromHex('00A404000F7378312E73682EC9E7BBE1B1A3D5CF'));
  const out = [toHex(card.atr)];
  for (let n = 1; n <= 7; n++) out.push(toHex(card.transmit(Uint8Array.of(0, 0xb2, n, 0x2c, 0))));
  return out;
}

describe('sscard record, in-process', () => {
  for (const { profile } of loadWallet()) {
    it(`${profile.id}: a valid profile whose served card answers EF05 and the ATR byte for byte`, async () => {
      const trace = new ApduTrace();
      const { profile: rec, parsed } = await record(new SocialSecurityCard(profile), trace);
      // Through JSON, as the command writes it.
      const again = parseProfileJson(JSON.stringify(rec), 'card.json');
      expect(again).toEqual(parsed);
      expect(ef05Of(new SocialSecurityCard(again))).toEqual(ef05Of(new SocialSecurityCard(profile)));
      expect(again.generation).toBe(profile.generation);
      expect(again.protocol).toBe(profile.protocol);
      expect(again.algorithm).toBe(profile.algorithm);
      expect(again.card).toMatchObject({ ...profile.card, photo: true });
      expect(again.financial).toEqual(profile.financial);
      // Never a PIN or a key: only SELECT, READ RECORD and GET RESPONSE were sent.
      for (const e of trace.list()) expect(['00A4', '00B2', '00C0']).toContain(e.command.slice(0, 4));
      expect(again.pin).toBe(PIN_PLACEHOLDER);
      const r = again.recorded!;
      expect(r.tool).toBe('sscard record');
      expect(r.at).toBe('2026-11-26T09:30:00.000Z');
      expect(r.atr).toBe(toHex(new SocialSecurityCard(profile).atr));
      expect(r.ef05).toHaveLength(7);
      expect(r.placeholders).toEqual(expect.arrayContaining(['pin', 'status', 'card.photo']));
      expect(r.read).toEqual(expect.arrayContaining(['generation', 'card.number', 'card.chipSerial']));
      expect(r.notRead.map((n) => n.item)).toContain('PIN and PIN try counter');
      if (profile.generation === 3) {
        // EF06 stays closed without a PSAM: placeholders, flagged.
        expect(again.holder.name).toBe('未读取');
        expect(r.placeholders).toEqual(
          expect.arrayContaining(['holder.name', 'holder.ssn', 'holder.birthDate']),
        );
        expect(r.notRead.find((n) => n.item === 'EF06 holder information')?.reason).toMatch(/^6982 .*RKSSSE/);
      } else {
        expect(again.holder).toEqual(profile.holder);
        expect(r.read).toEqual(expect.arrayContaining(['holder.name', 'holder.ssn']));
      }
      if (profile.generation >= 2) {
        expect(again.transactionPassword).toBe(PIN_PLACEHOLDER);
        expect(r.read).toEqual(expect.arrayContaining(['financial.pan']));
      } else expect(again.financial).toBeUndefined();
    });
  }

  it('a card that is not a social security card is not recorded', async () => {
    const inner = new SocialSecurityCard(bundled('gen2'));
    const foreign: VirtualCard = {
      atr: inner.atr,
      powerOn: () => inner.powerOn(),
      powerOff: () => inner.powerOff(),
      reset: () => inner.reset(),
      transmit: () => Uint8Array.of(0x6a, 0x82),
    };
    const err = await record(foreign).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecordError);
    expect((err as Error).message).toBe(
      'SELECT SSSE answered 6A82 file or application not found: this does not look like a social security card',
    );
  });

  it('holder data that breaks a profile rule is replaced by flagged placeholders, not dropped silently', async () => {
    const inner = new SocialSecurityCard(bundled('gen1'));
    const odd: VirtualCard = {
      atr: inner.atr,
      powerOn: () => inner.powerOn(),
      powerOff: () => inner.powerOff(),
      reset: () => inner.reset(),
      transmit: (c) => {
        const r = inner.transmit(c);
        if (r[0] !== 0x08 || r[1] !== 0x12) return r;
        const out = new Uint8Array(r);
        out[19] = out[19] === 0x31 ? 0x32 : 0x31; // SSN check character
        return out;
      },
    };
    const { parsed } = await record(odd);
    expect(parsed.holder.name).toBe('未读取');
    expect(parsed.recorded!.placeholders).toContain('holder.ssn');
    expect(parsed.recorded!.notRead.find((n) => n.item === 'EF06 holder information')?.reason).toMatch(
      /^read, but not valid in a profile \(holder\.ssn: check character should be/,
    );
  });

  it('a gen 2 card whose debit application does not answer gets a flagged placeholder PAN', async () => {
    const inner = new SocialSecurityCard(bundled('gen2'));
    const noDebit: VirtualCard = {
      atr: inner.atr,
      powerOn: () => inner.powerOn(),
      powerOff: () => inner.powerOff(),
      reset: () => inner.reset(),
      transmit: (c) => (c[4] === 0x08 && c[5] === 0xa0 ? Uint8Array.of(0x6a, 0x82) : inner.transmit(c)),
    };
    const { parsed } = await record(noDebit);
    expect(parsed.financial).toEqual({ pan: PAN_PLACEHOLDER, expiry: parsed.card.expiryDate.slice(0, 7) });
    expect(parsed.recorded!.placeholders).toEqual(
      expect.arrayContaining(['financial.pan', 'financial.expiry']),
    );
  });

  it('the recorded block is optional: bundled profiles without it still parse', () => {
    const p: CardProfile = bundled('gen3-active');
    expect(p.recorded).toBeUndefined();
  });
});
