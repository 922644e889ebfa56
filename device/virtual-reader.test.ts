import { describe, expect, it } from 'vitest';
import { VirtualReader } from './virtual-reader.ts';
import { ApduTrace, maskCommand } from './trace.ts';
import { exchange } from './exchange.ts';
import { isReaderError } from './errors.ts';
import { fromHex, toHex } from '../core/card/hex.ts';
import { card } from '../test/harness/card/cards.ts';
import { readCard } from '../core/terminal/read-card.ts';
import { resolveCard } from '../core/card/wallet.ts';

const SELECT_SSSE = fromHex('00A404000F7378312E73682EC9E7BBE1B1A3D5CF');

describe('in-process virtual reader', () => {
  it('insert, connect (ATR), transmit, reset, remove, with events', async () => {
    const reader = new VirtualReader();
    const events: string[] = [];
    reader.on('card-inserted', () => events.push('in')).on('card-removed', () => events.push('out'));
    expect(reader.cardPresent()).toBe(false);
    await expect(reader.connect()).rejects.toMatchObject({ code: 'NO_CARD' });
    const c = card('gen2');
    reader.insert(c);
    expect(reader.cardPresent()).toBe(true);
    expect(toHex(await reader.connect())).toBe(toHex(c.atr));
    expect(toHex(await reader.transmit(SELECT_SSSE))).toBe('6118');
    expect(toHex(await reader.reset())).toBe(toHex(c.atr));
    reader.remove();
    expect(events).toEqual(['in', 'out']);
  });

  it('a card pulled out mid-session gives a typed CARD_REMOVED error, not a crash', async () => {
    const reader = new VirtualReader();
    reader.insert(card('gen3-active'));
    await reader.connect();
    reader.remove();
    const err = await reader.transmit(SELECT_SSSE).catch((e: unknown) => e);
    expect(isReaderError(err, 'CARD_REMOVED')).toBe(true);
  });

  it('transmit before connect is NOT_CONNECTED', async () => {
    const reader = new VirtualReader();
    reader.insert(card('gen2'));
    await expect(reader.transmit(SELECT_SSSE)).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
  });

  it('exchange() follows 61xx with GET RESPONSE and re-issues 6Cxx with the right Le', async () => {
    const reader = new VirtualReader();
    reader.insert(card('gen2'));
    await reader.connect();
    const fci = await exchange(reader, SELECT_SSSE);
    expect(fci.sw).toBe(0x9000);
    expect(fci.data.length).toBe(0x18);
    const rec = await exchange(reader, fromHex('00B2072C02'));
    expect(rec.sw).toBe(0x9000);
    expect(rec.data.length).toBe(11);
  });
});

describe('APDU trace', () => {
  it('masks PIN bytes in VERIFY, CHANGE PIN and CHANGE REFERENCE DATA but keeps the header', () => {
    expect(maskCommand(fromHex('0020000003258014'))).toBe('0020000003******');
    expect(maskCommand(fromHex('805E010007258014FF864209'))).toBe('805E010007**************');
    expect(maskCommand(fromHex('0024000006258014864209'))).toBe('0024000006************');
    expect(maskCommand(fromHex('00B2072C0B'))).toBe('00B2072C0B');
    // Lc is not trusted: malformed PIN commands keep their digits hidden too.
    expect(maskCommand(fromHex('0020000000258014'))).toBe('0020000000******');
    expect(maskCommand(fromHex('0020000002258014'))).toBe('0020000002******');
    expect(maskCommand(fromHex('805E010000258014FF864209'))).toBe('805E010000**************');
  });

  it('records each exchange with decoded command and status word, and never the PIN', async () => {
    const trace = new ApduTrace(() => new Date('2026-11-26T09:00:00Z'));
    const reader = new VirtualReader({ trace });
    reader.insert(card('gen3-active'));
    await reader.connect();
    await reader.transmit(SELECT_SSSE);
    await reader.transmit(fromHex('00B2072C0B'));
    await reader.transmit(fromHex('0020000003111111'));
    await reader.transmit(fromHex('0020000003258014'));
    const text = trace.toText();
    expect(text).not.toContain('258014');
    expect(text).not.toContain('111111');
    const [sel, rec, wrong] = trace.list();
    expect(sel!.meaning).toBe('SELECT SSSE → OK');
    expect(rec!.meaning).toBe('READ RECORD EF05 rec 7 → OK');
    expect(wrong!.meaning).toBe('VERIFY PIN → verification failed, 2 tries left');
    expect(wrong!.at).toBe('2026-11-26T09:00:00.000Z');
  });
});

describe('POS card read through the virtual reader', () => {
  it('a real (non-simulator) gen 3 card is not sent the test keys: holder data reported protected', async () => {
    const inner = card('gen3-initial-pin');
    const foreignAtr = fromHex('3B6F00008031E06B0000000000000000000000'); // not "SSC" historical bytes
    const realLike = {
      atr: foreignAtr,
      powerOn: () => (inner.powerOn(), foreignAtr),
      powerOff: () => inner.powerOff(),
      reset: () => (inner.reset(), foreignAtr),
      transmit: (c: Uint8Array) => inner.transmit(c),
    };
    const trace = new ApduTrace();
    const reader = new VirtualReader({ trace });
    reader.insert(realLike);
    const r = await readCard(reader);
    expect(r).toMatchObject({ generation: 3, holderProtected: true, ssn: null, name: null });
    expect(r.cardNumber).toBe(resolveCard('gen3-initial-pin').profile.card.number);
    expect(trace.list().some((e) => e.meaning.startsWith('EXTERNAL AUTHENTICATE'))).toBe(false);
    expect(inner.state.keyTriesLeft).toBe(3);
  });

  for (const id of ['gen1', 'gen2', 'gen3-active', 'gen3-hong-kong', 'gen3-foreigner']) {
    it(`reads ${id} with the fixture's values`, async () => {
      const { profile: p } = resolveCard(id);
      const reader = new VirtualReader();
      reader.insert(card(id));
      const r = await readCard(reader);
      expect(r).toMatchObject({
        generation: p.generation,
        specVersion: `${p.generation}.00`,
        cardNumber: p.card.number,
        cardNumberValid: true,
        ssn: p.holder.ssn,
        name: p.holder.name,
        sex: p.holder.sex,
        birthDate: p.holder.birthDate,
        issueDate: p.card.issueDate,
        expiryDate: p.card.expiryDate,
        pan: p.financial?.pan ?? null,
      });
    });
  }
});
