import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { card, tx, SELECT_SSSE } from '../test/cards.ts';

/** Random bytes and random well-formed-looking APDUs: never a throw, always a status word. */
const GENERATIONS = ['gen1', 'gen2', 'gen3-initial-pin', 'gen3-active'];
const SW1 = new Set([
  0x61, 0x62, 0x63, 0x64, 0x65, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x90, 0x93,
]);

function validResponse(resp: Uint8Array): boolean {
  return resp.length >= 2 && SW1.has(resp[resp.length - 2]!);
}

const structured = fc
  .record({
    cla: fc.constantFrom(0x00, 0x80, 0x84, 0x0c, 0xff, 0x10),
    ins: fc.constantFrom(0xa4, 0xb2, 0xb0, 0xc0, 0x84, 0x82, 0x88, 0x20, 0x24, 0x5e, 0xa8, 0x2c, 0xca, 0x00),
    p1: fc.integer({ min: 0, max: 255 }),
    p2: fc.integer({ min: 0, max: 255 }),
    data: fc.uint8Array({ maxLength: 40 }),
    le: fc.option(fc.integer({ min: 0, max: 255 })),
    lcLie: fc.integer({ min: -2, max: 2 }),
  })
  .map(({ cla, ins, p1, p2, data, le, lcLie }) => {
    const bytes = [cla, ins, p1, p2];
    if (data.length) bytes.push(Math.max(0, Math.min(255, data.length + lcLie)), ...data);
    if (le !== null) bytes.push(le);
    return Uint8Array.from(bytes);
  });

describe('property: any input gets a two-byte status word, never an exception', () => {
  for (const id of GENERATIONS) {
    it(`random byte strings against ${id}`, () => {
      const c = card(id);
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
          const r = c.transmit(bytes);
          expect(validResponse(r)).toBe(true);
        }),
        { numRuns: 3000 },
      );
    });

    it(`structured APDU sequences against ${id}, after which a reset card still reads`, () => {
      const c = card(id);
      fc.assert(
        fc.property(fc.array(structured, { maxLength: 12 }), (cmds) => {
          c.transmit(Uint8Array.from(Buffer.from(SELECT_SSSE, 'hex')));
          for (const cmd of cmds) expect(validResponse(c.transmit(cmd))).toBe(true);
        }),
        { numRuns: 500 },
      );
      c.reset();
      tx(c, SELECT_SSSE);
      expect(tx(c, '00B2032C06').slice(-4)).toBe('9000');
      expect(tx(c, '00B2072C0B').slice(-4)).toBe('9000');
    });
  }
});
