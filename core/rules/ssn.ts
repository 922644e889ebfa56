/**
 * Social security numbers (R3.3, R3.4): the 18-character citizen ID with its ISO 7064
 * MOD 11-2 check character for mainland residents; country/region code + '0' + the
 * document's digits for Hong Kong, Macau and foreign applicants (HKG012345678).
 */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

export function idCheckChar(first17: string): string {
  if (!/^[0-9]{17}$/.test(first17)) throw new Error(`ID number body must be 17 digits: '${first17}'`);
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * WEIGHTS[i]!;
  return CHECK[sum % 11]!;
}

export interface MainlandIdParts {
  area: string;
  birthDate: string; // YYYY-MM-DD
  sequence: string;
  sex: 'male' | 'female';
}

/** Returns null when the 18-character ID is valid, or the reason. */
export function checkMainlandId(id: string): string | null {
  if (!/^[0-9]{17}[0-9X]$/.test(id)) return 'citizen ID number must be 17 digits followed by a digit or X';
  const parts = mainlandIdParts(id);
  if (!isValidDate(parts.birthDate))
    return `birth date ${parts.birthDate} inside the ID number is not a date`;
  const expected = idCheckChar(id.slice(0, 17));
  return id[17] === expected ? null : `check character should be '${expected}', not '${id[17]}'`;
}

export function mainlandIdParts(id: string): MainlandIdParts {
  return {
    area: id.slice(0, 6),
    birthDate: `${id.slice(6, 10)}-${id.slice(10, 12)}-${id.slice(12, 14)}`,
    sequence: id.slice(14, 17),
    sex: (id.charCodeAt(16) - 48) % 2 === 1 ? 'male' : 'female',
  };
}

export function isValidDate(iso: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === iso;
}

/** Non-mainland SSN: 3 capital letters (ISO 3166 alpha-3, HKG, MAC, TWN…) + '0' + digits. */
export function checkNonMainlandSsn(ssn: string): string | null {
  if (!/^[A-Z]{3}0[0-9]{5,14}$/.test(ssn)) {
    return "non-mainland social security number must be a 3-letter country/region code, '0', then the document's digits";
  }
  return null;
}

/** Builds the non-mainland SSN from a document number (R3.4): H12345678 → HKG012345678. */
export function nonMainlandSsn(country: string, documentNumber: string): string {
  const digits = documentNumber.replace(/[^0-9]/g, '');
  if (!/^[A-Z]{3}$/.test(country)) throw new Error(`country must be 3 capital letters: '${country}'`);
  if (digits.length < 5) throw new Error(`document number '${documentNumber}' has too few digits`);
  return `${country}0${digits}`;
}

/** Validates either form; returns null when valid. */
export function checkSsn(ssn: string): string | null {
  if (/^[0-9]/.test(ssn)) return checkMainlandId(ssn);
  return checkNonMainlandSsn(ssn);
}
