import { describe, expect, it } from 'vitest';
import { cardNumberCheckChar, checkCardNumber } from './card-number.ts';
import { idCheckChar, checkMainlandId, nonMainlandSsn, checkNonMainlandSsn, mainlandIdParts } from './ssn.ts';
import { luhnCheckDigit, checkPan } from './luhn.ts';

describe('R3 numbers', () => {
  it('on-card card number: the reference sample D58009678 (sum 256, check 8)', () => {
    expect(cardNumberCheckChar('D5800967')).toBe('8');
    expect(checkCardNumber('D58009678')).toBeNull();
    expect(checkCardNumber('D58009679')).toMatch(/should be '8'/);
  });
  it("on-card card number: remainder 1 gives 'X' and remainder 0 gives '0'", () => {
    expect(cardNumberCheckChar('00000006')).toBe('X'); // 6×2 = 12, 12 mod 11 = 1, 11 − 1 = 10 → 'X'
    expect(cardNumberCheckChar('00000000')).toBe('0'); // 11 - 0 = 11 → '0'
  });
  it('R3.3: the MOD 11-2 check character of a citizen ID (GB 11643 example 11010519491231002X)', () => {
    expect(idCheckChar('11010519491231002')).toBe('X');
    expect(checkMainlandId('11010519491231002X')).toBeNull();
    expect(checkMainlandId('110105194912310021')).toMatch(/should be 'X'/);
    expect(checkMainlandId('110105194902300021')).toMatch(/not a date/);
    expect(mainlandIdParts('11010519491231002X')).toMatchObject({ birthDate: '1949-12-31', sex: 'female' });
  });
  it('R3.4: Hong Kong and Macau permits give HKG012345678 and MAC012345678', () => {
    expect(nonMainlandSsn('HKG', 'H12345678')).toBe('HKG012345678');
    expect(nonMainlandSsn('MAC', 'M12345678')).toBe('MAC012345678');
    expect(checkNonMainlandSsn('HKG012345678')).toBeNull();
    expect(checkNonMainlandSsn('HK012345678')).not.toBeNull();
  });
  it('R3.1: bank card numbers 622262371… carry a Luhn check digit', () => {
    expect(luhnCheckDigit('7992739871')).toBe('3');
    const body = '62226237100000001';
    expect(checkPan(body + luhnCheckDigit(body))).toBeNull();
    expect(checkPan('6222623710000000')).not.toBeNull();
  });
});
