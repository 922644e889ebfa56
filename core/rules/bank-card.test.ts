import { describe, expect, it } from 'vitest';
import { checkPan } from './luhn.ts';
import {
  CENTRAL_REGION_SCHEME,
  checkBankCardNumber,
  checkCardType,
  makeBankCardNumber,
} from './bank-card.ts';

/** The problem a refused number is refused for. */
function problemOf(pan: string): string | undefined {
  const r = checkBankCardNumber(pan);
  return r.ok ? undefined : r.reason.problem;
}

describe('R3.1 card type and bank card numbers', () => {
  it('R3.1: card type codes are 89 followed by two digits', () => {
    expect(checkCardType('8919')).toEqual({ ok: true, cardType: '8919' });
    expect(checkCardType('8900').ok).toBe(true);
    for (const bad of ['9819', '891', '89190', '89A1', '', ' 8919']) {
      const r = checkCardType(bad);
      expect(r).toMatchObject({ ok: false, reason: { rule: 'R3.1' } });
      if (!r.ok) expect(r.reason.zh).toContain('89XX');
    }
  });

  it('R3.1: makes 18-digit 622262371 numbers with a Luhn check digit', () => {
    const r = makeBankCardNumber(4);
    expect(r).toEqual({ ok: true, pan: '622262371000000041', serial: '00000004' });
    if (r.ok) {
      expect(r.pan).toHaveLength(18);
      expect(checkPan(r.pan)).toBeNull(); // the shared Luhn check agrees
    }
    expect(makeBankCardNumber('12345678')).toMatchObject({ ok: true, serial: '12345678' });
    expect(makeBankCardNumber(99_999_999).ok).toBe(true);
  });

  it('R3.1: every fixture card number passes the check', () => {
    // fixtures/cards/*.json financial.pan
    const fixtures = [
      '622262371000000025',
      '622262371000000033',
      '622262371000000041',
      '622262371000000058',
      '622262371000000066',
      '622262371000000074',
      '622262371000000082',
      '622262371000000090',
      '622262371000000108',
    ];
    for (const pan of fixtures) expect(checkBankCardNumber(pan)).toMatchObject({ ok: true, pan });
    expect(checkBankCardNumber('622262371000000108')).toMatchObject({ serial: '00000010' });
  });

  it('R3.1: refuses a serial that does not fit, without padding typed strings', () => {
    for (const bad of [100_000_000, -1, 1.5, Number.NaN]) {
      expect(makeBankCardNumber(bad)).toMatchObject({ ok: false, reason: { problem: 'serial' } });
    }
    for (const bad of ['4', '1234567', '123456789', '1234567A']) {
      expect(makeBankCardNumber(bad)).toMatchObject({ ok: false, reason: { problem: 'serial' } });
    }
  });

  it('R3.1: refuses a number of another range by its prefix', () => {
    expect(problemOf('622823100000000001')).toBe('prefix');
    expect(problemOf('6222623720000000411')).toBe('prefix');
    const r = checkBankCardNumber('622823100000000001');
    if (!r.ok) expect(r.reason.en).toContain('622262371');
  });

  it('R3.1: refuses a number of the wrong length', () => {
    expect(problemOf('62226237100000004')).toBe('length'); // 17
    expect(problemOf('6222623710000000041')).toBe('length'); // 19
    expect(problemOf('62226')).toBe('length'); // agrees with the prefix so far: too short
    const r = checkBankCardNumber('62226237100000004');
    if (!r.ok) expect(r.reason.zh).toBe('银行卡号应为 18 位，当前为 17 位');
  });

  it('R3.1: refuses a wrong Luhn check digit, saying the right one', () => {
    const r = checkBankCardNumber('622262371000000042');
    expect(r).toMatchObject({ ok: false, reason: { rule: 'R3.1', problem: 'luhn' } });
    if (!r.ok) expect(r.reason.en).toMatch(/should be 1, not 2/);
    // A swap of two adjacent digits is the typo Luhn exists to catch.
    expect(problemOf('622262371000000401')).toBe('luhn');
  });

  it('R3.1: refuses anything but digits', () => {
    expect(problemOf('6222 6237 1000 0000 41')).toBe('digits');
    expect(problemOf('')).toBe('digits');
  });

  it('R3.1: another region can use its own prefix and length', () => {
    const scheme = { prefix: '622823', length: 19 };
    const made = makeBankCardNumber(7, scheme);
    expect(made).toMatchObject({ ok: true, serial: '000000000007' });
    if (made.ok) {
      expect(made.pan).toHaveLength(19);
      expect(checkBankCardNumber(made.pan, scheme).ok).toBe(true);
      expect(checkBankCardNumber(made.pan, CENTRAL_REGION_SCHEME).ok).toBe(false);
    }
    expect(() => makeBankCardNumber(1, { prefix: '62', length: 12 })).toThrow(/invalid bank card scheme/);
  });
});
