import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultyReader } from './faulty-reader.ts';
import { VirtualReader } from './virtual-reader.ts';
import { isReaderError, ReaderError } from './errors.ts';
import { ApduTrace } from './trace.ts';
import type { CardReader, VirtualCard } from './reader.ts';
import { faultyTill, type FaultyTill } from '../test/harness/faults/test-support.ts';

/** A card that answers 9000 to everything and remembers what it was sent. */
function recordingCard(): VirtualCard & { commands: Uint8Array[] } {
  const commands: Uint8Array[] = [];
  return {
    commands,
    atr: Uint8Array.of(0x3b, 0x00),
    powerOn: () => Uint8Array.of(0x3b, 0x00),
    powerOff: () => {},
    reset: () => Uint8Array.of(0x3b, 0x00),
    transmit: (c) => {
      commands.push(c);
      return Uint8Array.of(0x90, 0x00);
    },
  };
}

const APDU = Uint8Array.of(0x00, 0x84, 0x00, 0x00, 0x08);

async function errorOf(p: Promise<unknown>): Promise<ReaderError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ReaderError) return e;
    throw e;
  }
  throw new Error('expected a ReaderError');
}

function events(reader: CardReader): string[] {
  const seen: string[] = [];
  reader.on('card-inserted', () => seen.push('inserted'));
  reader.on('card-removed', () => seen.push('removed'));
  return seen;
}

describe('FaultyReader on its own', () => {
  it('forwards everything while no fault is armed, and counts the APDUs', async () => {
    const inner = new VirtualReader({ name: 'R0' });
    const reader = new FaultyReader(inner);
    const seen = events(reader);
    expect(reader.name).toBe('R0');
    expect(reader.kind).toBe('virtual');
    expect(reader.inner).toBe(inner);
    const card = recordingCard();
    inner.insert(card);
    expect(reader.cardPresent()).toBe(true);
    await reader.connect();
    expect(await reader.transmit(APDU)).toEqual(Uint8Array.of(0x90, 0x00));
    await reader.transmit(APDU);
    expect(reader.apdusSent).toBe(2);
    inner.remove();
    expect(seen).toEqual(['inserted', 'removed']);
    expect(card.commands).toHaveLength(2);
  });

  it('pulls the card as the n-th APDU after arming is sent: the command is lost, CARD_REMOVED, card-removed', async () => {
    const trace = new ApduTrace();
    const inner = new VirtualReader({ trace });
    const reader = new FaultyReader(inner);
    const card = recordingCard();
    inner.insert(card);
    await reader.connect();
    await reader.transmit(APDU); // before arming: not counted
    reader.arm({ removeCardAtApdu: 2 });
    expect(reader.apdusSent).toBe(0);
    const seen = events(reader);
    await reader.transmit(APDU);
    const e = await errorOf(reader.transmit(APDU));
    expect(e.code).toBe('CARD_REMOVED');
    expect(card.commands).toHaveLength(2); // the third command never reached the card
    expect(inner.cardPresent()).toBe(false); // really out of the virtual reader
    expect(reader.cardPresent()).toBe(false);
    expect(seen).toEqual(['removed']);
    expect(trace.list().at(-1)?.error).toBe('card removed');
    // Fired once: a new card works normally.
    inner.insert(card);
    await reader.connect();
    await reader.transmit(APDU);
    expect(reader.armed).toEqual({});
  });

  it('detaches the reader at the n-th APDU: that and every later call is READER_GONE until reattach()', async () => {
    const inner = new VirtualReader();
    const reader = new FaultyReader(inner, { detachReaderAtApdu: 1 });
    const card = recordingCard();
    inner.insert(card);
    await reader.connect();
    const seen = events(reader);
    expect((await errorOf(reader.transmit(APDU))).code).toBe('READER_GONE');
    expect(card.commands).toHaveLength(0);
    expect(reader.cardPresent()).toBe(false);
    expect(reader.isDetached).toBe(true);
    expect((await errorOf(reader.transmit(APDU))).code).toBe('READER_GONE');
    expect((await errorOf(reader.connect())).code).toBe('READER_GONE');
    expect((await errorOf(reader.reset())).code).toBe('READER_GONE');
    expect((await errorOf(reader.disconnect())).code).toBe('READER_GONE');
    // A card pulled meanwhile is still reported; one put in is not (the reader is gone).
    inner.remove();
    inner.insert(card);
    expect(seen).toEqual(['removed']);
    reader.reattach();
    expect(seen).toEqual(['removed', 'inserted']);
    expect(reader.cardPresent()).toBe(true);
    await reader.connect();
    expect(await reader.transmit(APDU)).toEqual(Uint8Array.of(0x90, 0x00));
    expect(reader.state()).toMatchObject({ detached: false, plan: {} });
  });

  it('counting restarts at arm(); disarm() drops the faults to come; bad plans are refused', async () => {
    const inner = new VirtualReader();
    const reader = new FaultyReader(inner);
    inner.insert(recordingCard());
    await reader.connect();
    reader.arm({ removeCardAtApdu: 3 });
    await reader.transmit(APDU);
    await reader.transmit(APDU);
    reader.arm({ removeCardAtApdu: 3 });
    await reader.transmit(APDU);
    await reader.transmit(APDU);
    expect(inner.cardPresent()).toBe(true);
    reader.disarm();
    await reader.transmit(APDU);
    expect(inner.cardPresent()).toBe(true);
    expect(() => reader.arm({ removeCardAtApdu: 0 })).toThrow(RangeError);
    expect(() => reader.arm({ detachReaderAtApdu: 1.5 })).toThrow(RangeError);
  });

  it('around a reader that is not virtual: the card counts as pulled until the reader reports a new one', async () => {
    const card = recordingCard();
    const fake = Object.assign(new EventEmitter(), {
      name: 'PCSC 0',
      kind: 'pcsc' as const,
      cardPresent: () => true,
      connect: async () => card.powerOn(),
      reset: async () => card.reset(),
      disconnect: async () => {},
      transmit: async (c: Uint8Array) => card.transmit(c),
    }) as unknown as CardReader & EventEmitter;
    const reader = new FaultyReader(fake, { removeCardAtApdu: 1 });
    const seen = events(reader);
    expect(reader.kind).toBe('pcsc');
    expect((await errorOf(reader.transmit(APDU))).code).toBe('CARD_REMOVED');
    expect(seen).toEqual(['removed']);
    expect(reader.cardPresent()).toBe(false);
    expect((await errorOf(reader.connect())).code).toBe('NO_CARD');
    // The physical removal that follows is not reported twice; the next insertion is.
    fake.emit('card-removed');
    fake.emit('card-inserted');
    expect(seen).toEqual(['removed', 'inserted']);
    expect(reader.cardPresent()).toBe(true);
    expect(card.commands).toHaveLength(0);
  });
});

describe('reader faults at the till (gen 3, 258014)', () => {
  let till: FaultyTill;
  afterEach(() => till?.close());

  /** The payment's APDUs after the read: SELECT SSSE, GET CHALLENGE, EXTERNAL AUTHENTICATE, VERIFY. */
  async function payWithFaultAt(plan: { removeCardAtApdu?: number; detachReaderAtApdu?: number }) {
    await till.insert('gen3-active');
    expect(till.pos.terminal.stateName()).toBe('session.gen3/holder');
    till.faults.setReaderFaults(plan);
    return till.pay(1250, 'gen3-active');
  }

  it('card pulled at the VERIFY APDU: CARD_PULLED, nothing charged, no PIN try spent', async () => {
    till = faultyTill();
    const before = till.money('gen3-active');
    const triesBefore = till.pos.store.security('C44010048').pinTriesLeft;
    const r = await payWithFaultAt({ removeCardAtApdu: 4 });
    expect(r.approved).toBe(false);
    expect(r.result).toBe('pulled');
    expect(r.message.code).toBe('CARD_PULLED');
    expect(till.pos.terminal.stateName()).toBe('idle');
    expect(till.money('gen3-active')).toEqual(before);
    expect(till.pos.store.security('C44010048').pinTriesLeft).toBe(triesBefore);
  });

  it('card pulled during the PSAM authentication: CARD_PULLED, nothing charged', async () => {
    till = faultyTill();
    const before = till.money('gen3-active');
    const r = await payWithFaultAt({ removeCardAtApdu: 2 });
    expect(r.result).toBe('pulled');
    expect(r.message.code).toBe('CARD_PULLED');
    expect(till.money('gen3-active')).toEqual(before);
  });

  it('card pulled while the till reads it: back to 请插入社保卡, no session, nothing charged', async () => {
    till = faultyTill();
    const before = till.money('gen3-active');
    till.faults.setReaderFaults({ removeCardAtApdu: 5 });
    await till.insert('gen3-active');
    expect(till.pos.terminal.stateName()).toBe('idle');
    expect(till.screen().code).toBe('INSERT_CARD');
    expect(till.money('gen3-active')).toEqual(before);
    // The next insertion reads normally and pays.
    await till.insert('gen3-active');
    expect((await till.pay(100, 'gen3-active')).approved).toBe(true);
  });

  it('reader detached while the till reads the card: READ_FAILED, no crash; after reattach and a new insertion it pays', async () => {
    till = faultyTill();
    const before = till.money('gen3-active');
    till.faults.setReaderFaults({ detachReaderAtApdu: 3 });
    await till.insert('gen3-active');
    expect(till.pos.terminal.stateName()).toBe('refused');
    expect(till.screen().code).toBe('READ_FAILED');
    expect(till.screen().en).toContain('detached');
    expect(till.pos.reader.cardPresent()).toBe(false);
    expect(till.money('gen3-active')).toEqual(before);
    till.faults.reattachReader();
    await till.remove();
    await till.insert('gen3-active');
    expect((await till.pay(100, 'gen3-active')).approved).toBe(true);
  });

  it('reader detached during the payment: declined (card authentication failed), nothing charged', async () => {
    till = faultyTill();
    const before = till.money('gen3-active');
    const r = await payWithFaultAt({ detachReaderAtApdu: 1 });
    expect(r.result).toBe('declined');
    expect(r.message.code).toBe('AUTH_FAILED');
    expect(till.money('gen3-active')).toEqual(before);
    // Detached at the VERIFY: a card error, declined.
    till.faults.clear();
    await till.remove();
    const r2 = await payWithFaultAt({ detachReaderAtApdu: 4 });
    expect(r2.result).toBe('declined');
    expect(r2.message.code).toBe('CARD_ERROR');
    expect(till.money('gen3-active')).toEqual(before);
  });

  it('isReaderError sees the injected errors as the real ones', async () => {
    till = faultyTill();
    till.faults.setReaderFaults({ detachReaderAtApdu: 1 });
    const e = await errorOf(till.pos.reader.transmit(APDU));
    expect(isReaderError(e, 'READER_GONE')).toBe(true);
  });
});
