import { describe, expect, it } from 'vitest';
import {
  BATCH_NUMBER_LENGTH,
  cardTypeInBankCardCode,
  formatBatchNumber,
  parseBatchNumber,
} from './batch-number.ts';

const EXAMPLE = 'CN44180024111322258919110000010'; // the handbook's own example

const EXAMPLE_PARTS = {
  institution: '441800',
  date: '2024-11-13',
  bankCardCode: '22258919',
  cardType: '8919',
  vendor: '11',
  sequence: 10,
};

/** The reason's part for a batch number that should be refused. */
function refusedPart(text: string): string | undefined {
  const r = parseBatchNumber(text);
  return r.ok ? undefined : r.reason.part;
}

describe('R3.2 card order batch numbers', () => {
  it('R3.2: parses CN44180024111322258919110000010 into its parts', () => {
    expect(EXAMPLE).toHaveLength(BATCH_NUMBER_LENGTH);
    expect(parseBatchNumber(EXAMPLE)).toEqual({ ok: true, parts: EXAMPLE_PARTS });
  });

  it('R3.2: the card type 89XX is the last four digits of the bank card code in the example', () => {
    expect(cardTypeInBankCardCode('22258919')).toBe('8919');
    // Not at the end: the first 89XX inside the code is taken ("contains", says the handbook).
    expect(cardTypeInBankCardCode('89201234')).toBe('8920');
    // Both: the end wins, where the example puts it.
    expect(cardTypeInBankCardCode('89008931')).toBe('8931');
    expect(cardTypeInBankCardCode('22251234')).toBeNull();
  });

  it('R3.2: formats the example back from its parts, zero-padding the sequence', () => {
    expect(formatBatchNumber(EXAMPLE_PARTS)).toEqual({ ok: true, batchNumber: EXAMPLE });
    const { cardType: _cardType, ...withoutCardType } = EXAMPLE_PARTS;
    expect(formatBatchNumber(withoutCardType)).toEqual({ ok: true, batchNumber: EXAMPLE });
    expect(formatBatchNumber({ ...EXAMPLE_PARTS, sequence: 1234567 })).toEqual({
      ok: true,
      batchNumber: 'CN44180024111322258919111234567',
    });
  });

  it('R3.2: format and parse round-trip', () => {
    const parts = { ...EXAMPLE_PARTS, institution: '440100', date: '2000-02-29', vendor: '03', sequence: 0 };
    const made = formatBatchNumber(parts);
    expect(made).toEqual({ ok: true, batchNumber: 'CN44010000022922258919030000000' });
    if (made.ok) expect(parseBatchNumber(made.batchNumber)).toEqual({ ok: true, parts });
  });

  it('R3.2: tolerates surrounding whitespace from a paste', () => {
    expect(parseBatchNumber(` ${EXAMPLE}\n`).ok).toBe(true);
  });

  it('R3.2: refuses a wrong prefix', () => {
    const r = parseBatchNumber('US44180024111322258919110000010');
    expect(r).toMatchObject({ ok: false, reason: { rule: 'R3.2', part: 'prefix' } });
    if (!r.ok) {
      expect(r.reason.zh).toContain('CN');
      expect(r.reason.en).toContain('CN');
    }
    expect(refusedPart('cn44180024111322258919110000010')).toBe('prefix');
    expect(refusedPart('44180024111322258919110000010')).toBe('prefix');
  });

  it('R3.2: refuses a wrong length, saying how long it should be', () => {
    const r = parseBatchNumber(EXAMPLE.slice(0, -1));
    expect(r).toMatchObject({ ok: false, reason: { part: 'length' } });
    if (!r.ok) expect(r.reason.en).toMatch(/31 characters.*not 30/);
    expect(refusedPart(`${EXAMPLE}0`)).toBe('length');
    expect(refusedPart('CN')).toBe('length');
  });

  it('R3.2: refuses an invalid date', () => {
    const r = parseBatchNumber('CN44180024133222258919110000010'); // 2024-13-32
    expect(r).toMatchObject({ ok: false, reason: { part: 'date' } });
    if (!r.ok) expect(r.reason.zh).toContain('241332');
    expect(refusedPart('CN44180025022922258919110000010')).toBe('date'); // 2025-02-29
    expect(refusedPart('CN44180024022922258919110000010')).toBeUndefined(); // 2024 is a leap year
  });

  it('R3.2: refuses non-digits, naming the part that holds them', () => {
    expect(refusedPart('CN4418A024111322258919110000010')).toBe('institution');
    expect(refusedPart('CN441800241I1322258919110000010')).toBe('date');
    expect(refusedPart('CN441800241113222589I9110000010')).toBe('bankCardCode');
    expect(refusedPart('CN4418002411132225891911O000010')).toBe('sequence');
    expect(refusedPart('CN44180024111322258919A10000010')).toBe('vendor');
    const r = parseBatchNumber('CN44180024111322258919110000 10');
    expect(r).toMatchObject({ ok: false, reason: { part: 'sequence' } });
    if (!r.ok) expect(r.reason.zh).toContain('顺序号');
  });

  it('R3.2: refuses a bank card code without a card type 89XX', () => {
    const r = parseBatchNumber('CN44180024111322251234110000010');
    expect(r).toMatchObject({ ok: false, reason: { part: 'cardType' } });
    if (!r.ok) expect(r.reason.en).toContain('89XX');
  });

  it('R3.2: formatting checks each part', () => {
    const partOf = (over: Partial<typeof EXAMPLE_PARTS>): string | undefined => {
      const r = formatBatchNumber({ ...EXAMPLE_PARTS, ...over });
      return r.ok ? undefined : r.reason.part;
    };
    expect(partOf({ institution: '44180' })).toBe('institution');
    expect(partOf({ date: '2024-02-30' })).toBe('date');
    expect(partOf({ date: '1999-12-31' })).toBe('date'); // YYMMDD cannot say 1999
    expect(partOf({ date: '20241113' })).toBe('date');
    expect(partOf({ bankCardCode: '2225891' })).toBe('bankCardCode');
    expect(partOf({ bankCardCode: '22251234' })).toBe('cardType');
    expect(partOf({ cardType: '8920' })).toBe('cardType'); // not the one in the code
    expect(partOf({ vendor: '1' })).toBe('vendor');
    expect(partOf({ sequence: 10_000_000 })).toBe('sequence');
    expect(partOf({ sequence: -1 })).toBe('sequence');
    expect(partOf({ sequence: 1.5 })).toBe('sequence');
  });
});
