import { describe, expect, it } from 'vitest';
import jpeg from 'jpeg-js';
import { ageInYears, validateApplication, type ApplicationContext } from './application.ts';
import type { Application } from './types.ts';
import { idCheckChar } from '../rules/ssn.ts';
import { isGbkEncodable } from '../card/codec.ts';
import { PHOTO_HEIGHT, PHOTO_WIDTH } from '../rules/photo.ts';
import type { ExistingCard } from '../rules/eligibility.ts';

/** An ID photo made here (white backdrop, face, dark top), as in core/rules/photo.test.ts. */
function makePhoto(width = PHOTO_WIDTH, height = PHOTO_HEIGHT): Uint8Array {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let c: [number, number, number] = [250, 250, 250];
      const fx = (x - width / 2) / (width * 0.22);
      const fy = (y - height * 0.38) / (height * 0.2);
      if (fx * fx + fy * fy < 1) c = [224, 172, 140];
      if (y > height * 0.62 && Math.abs(x - width / 2) < width * 0.38) c = [25, 35, 70];
      const i = (y * width + x) * 4;
      data[i] = c[0];
      data[i + 1] = c[1];
      data[i + 2] = c[2];
      data[i + 3] = 255;
    }
  }
  return new Uint8Array(jpeg.encode({ width, height, data }, 90).data);
}

/** A citizen ID number with the right check character; the 3-digit sequence's last digit gives the sex. */
const idNumber = (area: string, birth: string, seq: string): string => {
  const body = `${area}${birth.replaceAll('-', '')}${seq}`;
  return body + idCheckChar(body);
};

const PHOTO = makePhoto();
const TODAY = '2025-06-01';
const CTX: ApplicationContext = { today: TODAY, existingCards: [] };

const ADULT: Application = {
  name: '张三',
  sex: 'male',
  birthDate: '1990-03-07',
  nation: '01',
  nationality: 'CHN',
  docType: 'id',
  docNumber: idNumber('440106', '1990-03-07', '123'),
  phone: '13800138000',
  idImagesUploaded: true,
  photo: PHOTO,
  livesWorksOrInsuredInGuangdong: true,
  channel: 'bank-outlet',
  mode: 'normal',
};

const CHILD_BIRTH = '2015-01-10'; // 10 on TODAY
const CHILD: Application = {
  ...ADULT,
  name: '张小明',
  birthDate: CHILD_BIRTH,
  docNumber: idNumber('440106', CHILD_BIRTH, '135'),
};
const GUARDIAN = {
  name: '张三',
  docType: 'id' as const,
  docNumber: ADULT.docNumber,
  nationality: 'CHN',
  contact: '13800138000',
};

const HK: Application = {
  ...ADULT,
  name: '陈大文',
  nationality: 'HKG',
  docType: 'hk-macau-permit',
  docNumber: 'H12345678',
  phone: '+852 6123 4567',
  channel: '省卡系统',
};

const fields = (issues: { field: string; rule: string }[]) => issues.map((i) => `${i.field}:${i.rule}`);

describe('validateApplication', () => {
  it('R3.3: a valid mainland adult can apply: SSN = ID number, 普通一类账户', () => {
    const r = validateApplication(ADULT, CTX);
    expect(r).toMatchObject({
      ok: true,
      ssn: ADULT.docNumber,
      verdict: 'can',
      problems: [],
      warnings: [],
      accountType: '普通一类账户',
      ageYears: 35,
    });
  });

  it('R3.3: a given SSN must equal the one from the document (a lower-case x is the same)', () => {
    expect(validateApplication({ ...ADULT, ssn: ADULT.docNumber }, CTX).ok).toBe(true);
    const wrong = validateApplication({ ...ADULT, ssn: idNumber('440106', '1990-03-07', '113') }, CTX);
    expect(fields(wrong.problems)).toEqual(['ssn:R3.3']);
    // The first odd (male) sequence whose check character is X.
    const withX = Array.from({ length: 500 }, (_, k) =>
      idNumber('440106', '1990-03-07', String(2 * k + 1).padStart(3, '0')),
    ).find((n) => n.endsWith('X'))!;
    const lower = validateApplication(
      { ...ADULT, docNumber: withX.toLowerCase(), ssn: withX.toLowerCase() },
      CTX,
    );
    expect(lower).toMatchObject({ ok: true, ssn: withX });
  });

  it('R3.3: a wrong check character is refused on docNumber, naming the right one', () => {
    const good = ADULT.docNumber;
    const last = good.at(-1) === '0' ? '1' : '0';
    const r = validateApplication({ ...ADULT, docNumber: good.slice(0, 17) + last }, CTX);
    expect(r.ok).toBe(false);
    expect(r.ssn).toBeNull();
    expect(fields(r.problems)).toEqual(['docNumber:R3.3']);
    expect(r.problems[0]!.zh).toContain(`应为 ${good.at(-1)}`);
  });

  it('R3.3: birth date and sex must match the ID number', () => {
    const r = validateApplication({ ...ADULT, birthDate: '1990-03-08', sex: 'female' }, CTX);
    expect(fields(r.problems)).toEqual(['birthDate:R3.3', 'sex:R3.3']);
    expect(r.problems[0]!.zh).toContain('1990-03-07');
    expect(r.problems[1]!.en).toContain('17th digit says male');
  });

  it('R3.4: a residence permit carries birth date and sex too; SSN = permit number', () => {
    const permit = idNumber('830000', '1988-12-01', '012');
    const twn: Application = {
      ...ADULT,
      nationality: 'TWN',
      docType: 'residence-permit',
      docNumber: permit,
      birthDate: '1988-12-01',
      sex: 'female',
      channel: '省卡系统',
      photoReceiptNumber: 'GD2025000123',
      residentStatusFlag: true,
    };
    expect(validateApplication(twn, CTX)).toMatchObject({
      ok: true,
      ssn: permit,
      accountType: '特殊一类账户',
    });
    const r = validateApplication({ ...twn, birthDate: '1988-12-02' }, CTX);
    expect(fields(r.problems)).toEqual(['birthDate:R3.4']);
  });

  it('R9: the name is required, writable in GBK, and at most 50 GBK bytes', () => {
    expect(fields(validateApplication({ ...ADULT, name: ' ' }, CTX).problems)).toEqual(['name:R9']);
    expect(isGbkEncodable('𠮷')).toBe(false);
    const rare = validateApplication({ ...ADULT, name: '𠮷野家' }, CTX);
    expect(fields(rare.problems)).toEqual(['name:R9']);
    expect(rare.problems[0]!.zh).toContain('“𠮷”');
    expect(validateApplication({ ...ADULT, name: '阿'.repeat(25) }, CTX).ok).toBe(true);
    const long = validateApplication({ ...ADULT, name: '阿'.repeat(26) }, CTX);
    expect(long.problems[0]!.en).toContain('50 bytes');
    expect(fields(validateApplication({ ...ADULT, name: '张\n三' }, CTX).problems)).toEqual(['name:R9']);
    // NUL and the other control characters, anywhere in the name (issue 16).
    for (const bad of ['张\u0000三', '张三\u0000', '\u0007张三', '张\u009f三', '张\t三']) {
      const r = validateApplication({ ...ADULT, name: bad }, CTX);
      expect(fields(r.problems), JSON.stringify(bad)).toEqual(['name:R9']);
      expect(r.problems[0]!.en).toMatch(/control characters/);
    }
    // A minority name with the middle dot is fine.
    expect(validateApplication({ ...ADULT, name: '阿卜杜·热合曼' }, CTX).ok).toBe(true);
  });

  it('R9: the ID card images must be uploaded although the form does not mark them', () => {
    const r = validateApplication({ ...ADULT, idImagesUploaded: false }, CTX);
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      expect.objectContaining({
        field: 'idImagesUploaded',
        rule: 'R9',
        zh: expect.stringContaining('正反面影像'),
      }),
    ]);
  });

  it('R9: under 16 without a guardian, each of the five elements is named', () => {
    const r = validateApplication(CHILD, CTX);
    expect(r.ok).toBe(false);
    expect(r.ageYears).toBe(10);
    expect(fields(r.problems)).toEqual([
      'guardian.name:R9',
      'guardian.docType:R9',
      'guardian.docNumber:R9',
      'guardian.nationality:R9',
      'guardian.contact:R9',
    ]);
    expect(validateApplication({ ...CHILD, guardian: GUARDIAN }, CTX).ok).toBe(true);
  });

  it('R9: a guardian missing one element names just that one; a bad guardian ID is refused', () => {
    const nul = validateApplication({ ...CHILD, guardian: { ...GUARDIAN, name: '李\u0000四' } }, CTX);
    expect(fields(nul.problems)).toEqual(['guardian.name:R9']);
    expect(nul.problems[0]!.en).toMatch(/control characters/);
    const noContact = validateApplication({ ...CHILD, guardian: { ...GUARDIAN, contact: '' } }, CTX);
    expect(fields(noContact.problems)).toEqual(['guardian.contact:R9']);
    const badId = GUARDIAN.docNumber.slice(0, 17) + (GUARDIAN.docNumber.endsWith('0') ? '1' : '0');
    const r = validateApplication({ ...CHILD, guardian: { ...GUARDIAN, docNumber: badId } }, CTX);
    expect(fields(r.problems)).toEqual(['guardian.docNumber:R3.3']);
    expect(r.problems[0]!.zh).toMatch(/^监护人/);
    const self = validateApplication(
      { ...CHILD, guardian: { ...GUARDIAN, docNumber: CHILD.docNumber } },
      CTX,
    );
    expect(fields(self.problems)).toEqual(['guardian.docNumber:R9']);
  });

  it('R9: the guardian is needed until the 16th birthday, not on it', () => {
    const born = '2009-06-01';
    const teen: Application = { ...ADULT, birthDate: born, docNumber: idNumber('440106', born, '151') };
    expect(validateApplication(teen, { ...CTX, today: '2025-06-01' }).ok).toBe(true);
    expect(fields(validateApplication(teen, { ...CTX, today: '2025-05-31' }).problems)).toHaveLength(5);
    expect(ageInYears('2008-02-29', '2025-02-28')).toBe(16);
    expect(ageInYears('2008-02-29', '2024-02-28')).toBe(15);
    expect(ageInYears('2008-02-29', '2024-02-29')).toBe(16);
  });

  it('R12: a Hong Kong applicant without the photo receipt number is refused; with it, 特殊一类账户', () => {
    const without = validateApplication({ ...HK, residentStatusFlag: false }, CTX);
    expect(without.ok).toBe(false);
    expect(without.ssn).toBe('HKG012345678');
    expect(fields(without.problems)).toEqual(['photoReceiptNumber:R12']);
    expect(without.accountType).toBe('特殊一类账户');
    const noFlag = validateApplication({ ...HK, photoReceiptNumber: 'GD2025000123' }, CTX);
    expect(fields(noFlag.problems)).toEqual(['residentStatusFlag:R12']);
    const withIt = validateApplication(
      { ...HK, photoReceiptNumber: 'GD2025000123', residentStatusFlag: false },
      CTX,
    );
    expect(withIt).toMatchObject({
      ok: true,
      ssn: 'HKG012345678',
      accountType: '特殊一类账户',
      problems: [],
    });
  });

  it('R12: a non-mainland applicant applies through 省卡系统; the photo may come by receipt number', () => {
    const ready = { ...HK, photoReceiptNumber: 'GD2025000123', residentStatusFlag: true };
    expect(fields(validateApplication({ ...ready, channel: '粤省事' }, CTX).problems)).toEqual([
      'channel:R12',
    ]);
    const byReceipt = validateApplication({ ...ready, photo: null }, CTX);
    expect(byReceipt.ok).toBe(true);
    expect(byReceipt.notes).toEqual([expect.objectContaining({ field: 'photo', rule: 'R12' })]);
  });

  it('R5.1 / R3.4: a foreigner with a passport must be employed or insured in Guangdong', () => {
    const usa: Application = {
      ...ADULT,
      name: 'SMITH JOHN',
      nationality: 'USA',
      docType: 'passport',
      docNumber: 'E12345678',
      channel: '省卡系统',
      photoReceiptNumber: 'GD2025000999',
      residentStatusFlag: false,
    };
    const r = validateApplication(usa, CTX);
    expect(r.ssn).toBe('USA012345678');
    expect(fields(r.problems)).toEqual(['employedOrInsuredInGuangdong:R5.1']);
    expect(fields(r.warnings)).toEqual(['ssn:R3.4']); // the passport's letter is not in the SSN
    expect(validateApplication({ ...usa, employedOrInsuredInGuangdong: true }, CTX).ok).toBe(true);
  });

  it('R5.2: another bank’s card in the same city → cannot', () => {
    const cards: ExistingCard[] = [{ bank: 'other', region: 'same-city' }];
    const r = validateApplication(ADULT, { ...CTX, existingCards: cards });
    expect(r.ok).toBe(false);
    expect(r.verdict).toBe('cannot');
    expect(fields(r.problems)).toEqual(['existingCards:R5.2', 'existingCards:R7.4']);
  });

  it('R5.2: another bank’s card elsewhere in the province → cannot until the cleanup, which is named', () => {
    const r = validateApplication(ADULT, {
      ...CTX,
      existingCards: [{ bank: 'other', region: 'other-city-in-province' }],
    });
    expect(r).toMatchObject({ ok: false, verdict: 'cannot-until-cleanup' });
    expect(r.problems.map((p) => p.zh).join()).toContain('一人一卡清理');
  });

  it('R5.2: this bank’s card from another city → ok with a warning; another province’s card is fine', () => {
    const warn = validateApplication(ADULT, {
      ...CTX,
      existingCards: [{ bank: 'this', region: 'other-province' }],
    });
    expect(warn).toMatchObject({ ok: true, verdict: 'warn', problems: [] });
    expect(fields(warn.warnings)).toEqual(['existingCards:R5.2', 'existingCards:R7.4']);
    const fine = validateApplication(ADULT, {
      ...CTX,
      existingCards: [{ bank: 'other', region: 'other-province' }],
    });
    expect(fine).toMatchObject({ ok: true, verdict: 'can' });
  });

  it('R6: a branch without the card business takes no applications', () => {
    const r = validateApplication(ADULT, { ...CTX, branch: { city: '东莞' } });
    expect(r.verdict).toBe('cannot');
    expect(fields(r.problems)).toEqual(['branch:R6']);
    expect(validateApplication(ADULT, { ...CTX, branch: { city: '广州' } }).ok).toBe(true);
  });

  it('R6: the channel must be one of the handbook’s; batch and instant issuance are bank-side', () => {
    const unknown = validateApplication({ ...ADULT, channel: '抖音' as Application['channel'] }, CTX);
    expect(fields(unknown.problems)).toEqual(['channel:R6']);
    expect(validateApplication({ ...ADULT, channel: '粤省事' }, CTX).ok).toBe(true);
    const batchOnline = validateApplication({ ...ADULT, channel: '粤省事', mode: 'batch' }, CTX);
    expect(fields(batchOnline.problems)).toEqual(['channel:R9']);
    expect(validateApplication({ ...ADULT, channel: '省卡系统', mode: 'instant' }, CTX).ok).toBe(true);
  });

  it('R8: a child under 7 may have no photo (noted); from 7 a photo is required', () => {
    const born = '2020-02-02'; // 5
    const small: Application = {
      ...CHILD,
      birthDate: born,
      docNumber: idNumber('440106', born, '017'),
      photo: null,
      guardian: GUARDIAN,
    };
    const r = validateApplication(small, CTX);
    expect(r.ok).toBe(true);
    expect(r.notes).toEqual([expect.objectContaining({ field: 'photo', rule: 'R8' })]);
    expect(r.notes[0]!.zh).toContain('七周岁');
    const seven = validateApplication({ ...CHILD, photo: null, guardian: GUARDIAN }, CTX);
    expect(seven.problems).toEqual([
      expect.objectContaining({ field: 'photo', rule: 'R8', detail: 'R8.required' }),
    ]);
  });

  it('R8: photo problems keep the detail rule', () => {
    const r = validateApplication({ ...ADULT, photo: makePhoto(400, 500) }, CTX);
    expect(r.problems).toEqual([
      expect.objectContaining({
        field: 'photo',
        rule: 'R8',
        detail: 'R8.size',
        zh: expect.stringContaining('400×500'),
      }),
    ]);
  });

  it('R9: form fields from untyped input are checked, and a bad today is a programming error', () => {
    const r = validateApplication(
      { ...ADULT, nation: '1', phone: 'abc', birthDate: '2030-01-01', sex: 'x' as 'male' },
      CTX,
    );
    expect(fields(r.problems)).toEqual(['sex:R9', 'birthDate:R9', 'birthDate:R3.3', 'nation:R9', 'phone:R9']);
    expect(() => validateApplication(ADULT, { ...CTX, today: '2025/06/01' })).toThrow(RangeError);
  });
});
