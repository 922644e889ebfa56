import { describe, expect, it } from 'vitest';
import { checkSsn } from './ssn.ts';
import { ssnFromDocument, type DocType } from './ssn-from-document.ts';

const HK_PERMIT_NUMBER = '810000199001011230'; // residence permit, Hong Kong, MOD 11-2 valid
const MACAU_PERMIT_NUMBER = '820000198512120022';
const TAIWAN_PERMIT_NUMBER = '83000020000229004X';

/** The rule a refused combination is refused under, or undefined when it was accepted. */
function refusedRule(country: string, docType: DocType, doc: string): string | undefined {
  const r = ssnFromDocument({ country, docType, doc });
  return r.ok ? undefined : r.reason.rule;
}

describe('R3.3 / R3.4 / R12 social security numbers from documents', () => {
  it('R3.4: the handbook examples H12345678 → HKG012345678 and M12345678 → MAC012345678', () => {
    expect(ssnFromDocument({ country: 'HKG', docType: 'hk-macau-permit', doc: 'H12345678' })).toEqual({
      ok: true,
      ssn: 'HKG012345678',
    });
    expect(ssnFromDocument({ country: 'MAC', docType: 'hk-macau-permit', doc: 'M12345678' })).toEqual({
      ok: true,
      ssn: 'MAC012345678',
    });
    expect(checkSsn('HKG012345678')).toBeNull();
  });

  it('R3.4: the permit letter must match the region', () => {
    const r = ssnFromDocument({ country: 'HKG', docType: 'hk-macau-permit', doc: 'M12345678' });
    expect(r).toMatchObject({ ok: false, reason: { rule: 'R3.4' } });
    if (!r.ok) {
      expect(r.reason.en).toMatch(/starts with H/);
      expect(r.reason.zh).toContain('H');
    }
    expect(refusedRule('MAC', 'hk-macau-permit', 'H12345678')).toBe('R3.4');
  });

  it('R3.4: refuses a malformed Hong Kong/Macau permit number', () => {
    for (const bad of ['H1234567', 'H123456789', '12345678', 'HH2345678', 'H1234567X']) {
      expect(refusedRule('HKG', 'hk-macau-permit', bad)).toBe('R3.4');
    }
    // A lower-case letter is the same permit.
    expect(ssnFromDocument({ country: 'HKG', docType: 'hk-macau-permit', doc: ' h12345678 ' })).toEqual({
      ok: true,
      ssn: 'HKG012345678',
    });
  });

  it('R3.3: a mainland citizen ID is the SSN, with an upper-case X', () => {
    expect(ssnFromDocument({ country: 'CHN', docType: 'id', doc: '440111198511301511' })).toEqual({
      ok: true,
      ssn: '440111198511301511',
    });
    expect(ssnFromDocument({ country: 'CHN', docType: 'id', doc: '11010519491231002x' })).toEqual({
      ok: true,
      ssn: '11010519491231002X',
    });
  });

  it('R3.3: refuses a citizen ID that fails MOD 11-2, has no valid birth date or the wrong shape', () => {
    const check = ssnFromDocument({ country: 'CHN', docType: 'id', doc: '110105194912310021' });
    expect(check).toMatchObject({ ok: false, reason: { rule: 'R3.3' } });
    if (!check.ok) {
      expect(check.reason.en).toMatch(/should be X, not 1/);
      expect(check.reason.zh).toContain('校验位');
    }
    const date = ssnFromDocument({ country: 'CHN', docType: 'id', doc: '110105194902300021' });
    if (!date.ok) expect(date.reason.en).toContain('1949-02-30');
    expect(date.ok).toBe(false);
    expect(refusedRule('CHN', 'id', '11010519491231002')).toBe('R3.3');
    expect(refusedRule('CHN', 'id', '1101051949123100X2')).toBe('R3.3');
  });

  it('R3.3: a residence permit number typed as a mainland ID is sent to the right document type', () => {
    const r = ssnFromDocument({ country: 'CHN', docType: 'id', doc: HK_PERMIT_NUMBER });
    expect(r).toMatchObject({ ok: false, reason: { rule: 'R3.3' } });
    if (!r.ok) expect(r.reason.en).toMatch(/residence permit.*HKG/);
  });

  it('R3.4: a residence permit number is the SSN, for HKG 810000, MAC 820000 and TWN 830000', () => {
    expect(ssnFromDocument({ country: 'HKG', docType: 'residence-permit', doc: HK_PERMIT_NUMBER })).toEqual({
      ok: true,
      ssn: HK_PERMIT_NUMBER,
    });
    expect(
      ssnFromDocument({ country: 'MAC', docType: 'residence-permit', doc: MACAU_PERMIT_NUMBER }),
    ).toEqual({
      ok: true,
      ssn: MACAU_PERMIT_NUMBER,
    });
    expect(
      ssnFromDocument({
        country: 'TWN',
        docType: 'residence-permit',
        doc: TAIWAN_PERMIT_NUMBER.toLowerCase(),
      }),
    ).toEqual({ ok: true, ssn: TAIWAN_PERMIT_NUMBER });
  });

  it('R3.4: refuses a residence permit of the wrong region, a bad check character or a mainland area', () => {
    const wrongRegion = ssnFromDocument({
      country: 'MAC',
      docType: 'residence-permit',
      doc: HK_PERMIT_NUMBER,
    });
    expect(wrongRegion).toMatchObject({ ok: false, reason: { rule: 'R3.4' } });
    if (!wrongRegion.ok) expect(wrongRegion.reason.en).toMatch(/starts with 820000/);
    expect(refusedRule('HKG', 'residence-permit', '810000199001011231')).toBe('R3.4');
    expect(refusedRule('HKG', 'residence-permit', '440111198511301511')).toBe('R3.4');
    expect(refusedRule('CHN', 'residence-permit', HK_PERMIT_NUMBER)).toBe('R3.4');
    expect(refusedRule('USA', 'residence-permit', HK_PERMIT_NUMBER)).toBe('R3.4');
  });

  it('R3.4: a foreigner passport gives country code + 0 + its digits', () => {
    expect(ssnFromDocument({ country: 'USA', docType: 'passport', doc: '54872193' })).toEqual({
      ok: true,
      ssn: 'USA054872193', // the gen3-foreigner fixture's SSN
    });
  });

  it('R3.4: letters in a passport number are dropped, with a note for the clerk', () => {
    const r = ssnFromDocument({ country: 'USA', docType: 'passport', doc: 'E12345678' });
    expect(r).toMatchObject({ ok: true, ssn: 'USA012345678' });
    if (r.ok) {
      expect(r.note?.en).toContain('E12345678');
      expect(r.note?.zh).toContain('省卡系统');
    }
    // Letters between digits too (German passports look like this).
    expect(ssnFromDocument({ country: 'DEU', docType: 'passport', doc: 'c01x00t47' })).toMatchObject({
      ok: true,
      ssn: 'DEU0010047',
    });
  });

  it('R3.4: refuses a passport number with too few or too many digits, or other characters', () => {
    expect(refusedRule('GBR', 'passport', 'AB1234')).toBe('R3.4');
    expect(refusedRule('GBR', 'passport', '123456789012345')).toBe('R3.4');
    expect(refusedRule('GBR', 'passport', '1234-5678')).toBe('R3.4');
    expect(refusedRule('GBR', 'passport', '123456789012345'.slice(1))).toBeUndefined(); // 14 digits fit
  });

  it('R3.3/R3.4: refuses mismatched country and document type', () => {
    expect(refusedRule('CHN', 'passport', 'E12345678')).toBe('R3.3');
    expect(refusedRule('HKG', 'passport', 'K12345678')).toBe('R3.4');
    expect(refusedRule('TWN', 'passport', '312345678')).toBe('R3.4');
    expect(refusedRule('HKG', 'id', '440111198511301511')).toBe('R3.4');
    expect(refusedRule('USA', 'id', '440111198511301511')).toBe('R3.4');
    expect(refusedRule('CHN', 'hk-macau-permit', 'H12345678')).toBe('R3.4');
    expect(refusedRule('TWN', 'hk-macau-permit', 'H12345678')).toBe('R3.4');
  });

  it('R3.4: refuses a country code that is not 3 capital letters', () => {
    for (const bad of ['hkg', 'HK', 'HKGG', 'H1G', '']) {
      const r = ssnFromDocument({ country: bad, docType: 'hk-macau-permit', doc: 'H12345678' });
      expect(r).toMatchObject({ ok: false, reason: { rule: 'R3.4' } });
      if (!r.ok) expect(r.reason.en).toContain('3 capital letters');
    }
  });

  it('R3.4: refuses an unknown document type from untyped input', () => {
    const r = ssnFromDocument({ country: 'USA', docType: 'visa' as DocType, doc: '12345678' });
    expect(r).toMatchObject({ ok: false, reason: { rule: 'R3.4' } });
  });
});
