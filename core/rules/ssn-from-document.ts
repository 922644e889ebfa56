/**
 * R3.3, R3.4, R12: the social security number (社会保障号码) the provincial card system (省卡系统)
 * fills in once the clerk has chosen the country/region and the document type and typed the
 * document number (handbook: 非居民社会保障号码生成规则).
 *
 * - Mainland residents, citizen ID (CHN + id): the SSN is the 18-character ID itself, which
 *   must pass the GB 11643 / ISO 7064 MOD 11-2 check (R3.3).
 * - Hong Kong / Macau residents, 港澳居民来往内地通行证 (HKG/MAC + hk-macau-permit): country code
 *   + '0' + the permit's digits, H12345678 → HKG012345678, M12345678 → MAC012345678 (R3.4).
 *   The permit's letter is the region (H Hong Kong, M Macau) and must agree with the country.
 * - Hong Kong / Macau / Taiwan residents, 港澳台居民居住证 (HKG/MAC/TWN + residence-permit): the
 *   SSN equals the permit number (R3.4). These numbers use the citizen ID format and check
 *   character with area code 810000 (HK), 820000 (Macau) or 830000 (Taiwan)
 *   (card-reference.md §7); the area code must agree with the country.
 * - Foreigners, passport (any other 3-letter code + passport): country code + '0' + the
 *   passport number's digits, the rule the handbook states for every non-mainland resident.
 *
 * Passport numbers often contain letters (E12345678, C01X00T47). The handbook's own example
 * drops the permit's letter (the country code says the same thing), and the SSN must be
 * letters + '0' + digits, so letters are dropped here too. Unlike the permit's letter, a
 * passport's letters can tell two passports apart (E12345678 and G12345678 give the same
 * SSN), so the result then carries a note asking the clerk to compare with what 省卡系统
 * generated. The SSN field on the card is 18 characters, so at most 14 digits fit after the
 * code and '0'; fewer than 5 digits is refused as too weak to identify anyone (the same bounds
 * as checkNonMainlandSsn).
 *
 * What is typed is trimmed and upper-cased first: a trailing 'x' in an ID and a lower-case
 * permit letter are the same number to the clerk.
 */
import { idCheckChar, isValidDate, mainlandIdParts, nonMainlandSsn, checkNonMainlandSsn } from './ssn.ts';
import { ruleReason, type RuleId, type RuleReason } from './reason.ts';

export type DocType = 'id' | 'hk-macau-permit' | 'residence-permit' | 'passport';

export interface IdentityDocument {
  /** ISO 3166 alpha-3 country or region code as chosen in 省卡系统 (CHN, HKG, MAC, TWN, USA…). */
  country: string;
  docType: DocType;
  /** The document number as typed. */
  doc: string;
}

export interface Note {
  zh: string;
  en: string;
}

export type SsnFromDocumentResult =
  { ok: true; ssn: string; note?: Note } | { ok: false; reason: RuleReason };

/** Area codes that residence permits use instead of a mainland area code. */
export const RESIDENCE_PERMIT_AREA: Readonly<Record<'HKG' | 'MAC' | 'TWN', string>> = {
  HKG: '810000',
  MAC: '820000',
  TWN: '830000',
};

/** The letter that starts a 港澳居民来往内地通行证 number for each region. */
const PERMIT_LETTER: Readonly<Record<'HKG' | 'MAC', string>> = { HKG: 'H', MAC: 'M' };

const MIN_DIGITS = 5;
const MAX_DIGITS = 14; // 18-character SSN field − 3-letter code − '0'

const no = (rule: RuleId, zh: string, en: string): SsnFromDocumentResult => ({
  ok: false,
  reason: ruleReason(rule, zh, en),
});

const isOneOf = <K extends string>(table: Readonly<Record<K, string>>, key: string): key is K =>
  Object.hasOwn(table, key);

/**
 * Why an 18-character number in the citizen ID format (a mainland ID or a residence permit)
 * is not valid, or null. Built from ssn.ts's pieces rather than checkMainlandId, whose reason is
 * English only; the checks are the same: shape, birth date, MOD 11-2 check character.
 */
function citizenIdFormatProblem(
  rule: RuleId,
  number: string,
  zhName: string,
  enName: string,
): RuleReason | null {
  if (!/^[0-9]{17}[0-9X]$/.test(number)) {
    return ruleReason(
      rule,
      `${zhName}应为 18 位：17 位数字加 1 位数字或 X`,
      `The ${enName} must be 18 characters: 17 digits and a final digit or X`,
    );
  }
  const { birthDate } = mainlandIdParts(number);
  if (!isValidDate(birthDate)) {
    return ruleReason(
      rule,
      `${zhName}中的出生日期 ${birthDate} 不是有效日期`,
      `The birth date ${birthDate} inside the ${enName} is not a date`,
    );
  }
  const expected = idCheckChar(number.slice(0, 17));
  if (number[17] !== expected) {
    return ruleReason(
      rule,
      `${zhName}校验位错误：最后一位应为 ${expected}，而不是 ${number[17]}`,
      `Wrong check character in the ${enName}: the last character should be ${expected}, not ${number[17]}`,
    );
  }
  return null;
}

function fromCitizenId(country: string, id: string): SsnFromDocumentResult {
  if (country !== 'CHN') {
    return no(
      'R3.4',
      `居民身份证仅适用于国家/地区为 CHN 的内地居民；${country} 的申请人请选择港澳居民来往内地通行证、居住证或护照`,
      `A citizen ID card is for mainland residents (CHN); for ${country} choose the Hong Kong/Macau permit, residence permit or passport`,
    );
  }
  const problem = citizenIdFormatProblem('R3.3', id, '居民身份证号码', 'citizen ID number');
  if (problem) return { ok: false, reason: problem };
  // 81/82/83 are not mainland provinces: such a number is a residence permit typed as an ID.
  const permitRegion = Object.entries(RESIDENCE_PERMIT_AREA).find(([, area]) => id.startsWith(area));
  if (permitRegion) {
    return no(
      'R3.3',
      `${id.slice(0, 6)} 开头的是港澳台居民居住证号码，请选择证件类型“居住证”、国家/地区 ${permitRegion[0]}`,
      `A number starting ${id.slice(0, 6)} is a residence permit: choose document type residence permit and country ${permitRegion[0]}`,
    );
  }
  return { ok: true, ssn: id };
}

function fromHkMacauPermit(country: string, permit: string): SsnFromDocumentResult {
  if (!isOneOf(PERMIT_LETTER, country)) {
    return no(
      'R3.4',
      `港澳居民来往内地通行证仅适用于国家/地区 HKG 或 MAC，不适用于 ${country}`,
      `The Hong Kong/Macau permit is for country HKG or MAC, not ${country}`,
    );
  }
  const letter = PERMIT_LETTER[country];
  if (!/^[A-Z][0-9]{8}$/.test(permit)) {
    return no(
      'R3.4',
      `港澳居民来往内地通行证号码应为 1 个字母加 8 位数字（如 ${letter}12345678），“${permit}”不符合`,
      `A Hong Kong/Macau permit number is a letter and 8 digits (e.g. ${letter}12345678), not '${permit}'`,
    );
  }
  if (permit[0] !== letter) {
    return no(
      'R3.4',
      `国家/地区 ${country} 的通行证号码应以 ${letter} 开头，“${permit}”不符合，请核对国家/地区`,
      `A ${country} permit number starts with ${letter}, not '${permit[0]}': check the country`,
    );
  }
  return { ok: true, ssn: nonMainlandSsn(country, permit) };
}

function fromResidencePermit(country: string, permit: string): SsnFromDocumentResult {
  if (!isOneOf(RESIDENCE_PERMIT_AREA, country)) {
    return no(
      'R3.4',
      `港澳台居民居住证仅适用于国家/地区 HKG、MAC 或 TWN，不适用于 ${country}`,
      `The residence permit is for country HKG, MAC or TWN, not ${country}`,
    );
  }
  const problem = citizenIdFormatProblem('R3.4', permit, '居住证号码', 'residence permit number');
  if (problem) return { ok: false, reason: problem };
  const area = RESIDENCE_PERMIT_AREA[country];
  if (!permit.startsWith(area)) {
    return no(
      'R3.4',
      `国家/地区 ${country} 的居住证号码应以 ${area} 开头，“${permit.slice(0, 6)}”不符合，请核对国家/地区`,
      `A ${country} residence permit number starts with ${area}, not '${permit.slice(0, 6)}': check the country`,
    );
  }
  return { ok: true, ssn: permit };
}

function fromPassport(country: string, passport: string): SsnFromDocumentResult {
  if (country === 'CHN') {
    return no(
      'R3.3',
      '内地居民请使用居民身份证申领，社会保障号码即身份证号码',
      'Mainland residents apply with their citizen ID card; their SSN is the ID number',
    );
  }
  if (isOneOf(RESIDENCE_PERMIT_AREA, country)) {
    return no(
      'R3.4',
      `${country} 居民请使用港澳居民来往内地通行证或居住证申领，而非护照`,
      `${country} residents apply with their Hong Kong/Macau permit or residence permit, not a passport`,
    );
  }
  if (!/^[A-Z0-9]+$/.test(passport)) {
    return no(
      'R3.4',
      `护照号码只能包含字母和数字，“${passport}”不符合`,
      `A passport number has letters and digits only, not '${passport}'`,
    );
  }
  const digits = passport.replace(/[A-Z]/g, '');
  if (digits.length < MIN_DIGITS || digits.length > MAX_DIGITS) {
    return no(
      'R3.4',
      `护照号码中应有 ${MIN_DIGITS} 至 ${MAX_DIGITS} 位数字才能生成社会保障号码，“${passport}”中有 ${digits.length} 位`,
      `A passport number needs ${MIN_DIGITS} to ${MAX_DIGITS} digits to make an SSN; '${passport}' has ${digits.length}`,
    );
  }
  const ssn = nonMainlandSsn(country, passport);
  // Belt and braces: whatever was built must be a well-formed non-mainland SSN.
  const malformed = checkNonMainlandSsn(ssn);
  if (malformed !== null) throw new Error(`built malformed SSN '${ssn}': ${malformed}`);
  if (digits.length === passport.length) return { ok: true, ssn };
  return {
    ok: true,
    ssn,
    note: {
      zh: `护照号码“${passport}”中的字母未计入社会保障号码 ${ssn}，请与省卡系统生成的号码核对`,
      en: `The letters of passport '${passport}' are not part of SSN ${ssn}; compare it with the number 省卡系统 generated`,
    },
  };
}

/** The SSN for a document, or the reason the combination of country, type and number is refused. */
export function ssnFromDocument(document: IdentityDocument): SsnFromDocumentResult {
  const { country, docType } = document;
  if (!/^[A-Z]{3}$/.test(country)) {
    return no(
      'R3.4',
      `国家/地区代码应为 3 位大写字母（ISO 3166，如 CHN、HKG、USA），“${country}”不符合`,
      `The country/region code must be 3 capital letters (ISO 3166, e.g. CHN, HKG, USA), not '${country}'`,
    );
  }
  const doc = document.doc.trim().toUpperCase();
  switch (docType) {
    case 'id':
      return fromCitizenId(country, doc);
    case 'hk-macau-permit':
      return fromHkMacauPermit(country, doc);
    case 'residence-permit':
      return fromResidencePermit(country, doc);
    case 'passport':
      return fromPassport(country, doc);
    default:
      // Unreachable for typed callers; a form or JSON file may still send anything.
      return no('R3.4', `未知的证件类型“${String(docType)}”`, `Unknown document type '${String(docType)}'`);
  }
}
