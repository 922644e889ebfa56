/**
 * The 9-character on-card card number (EF05 tag 07): 8 characters 0-9/A-Z (letters worth
 * 10–35) and a check character. Weights 3,7,9,10,5,8,4,2; c = 11 − (Σ mod 11); 10 → 'X',
 * 11 → '0' (card-reference.md §7; sample D58009678).
 */
const WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2];

function charValue(ch: string): number {
  const code = ch.charCodeAt(0);
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 90) return code - 55;
  return -1;
}

export function cardNumberCheckChar(first8: string): string {
  if (!/^[0-9A-Z]{8}$/.test(first8))
    throw new Error(`card number body must be 8 characters 0-9/A-Z: '${first8}'`);
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += charValue(first8[i]!) * WEIGHTS[i]!;
  const c = 11 - (sum % 11);
  return c === 10 ? 'X' : c === 11 ? '0' : String(c);
}

/** Returns null when valid, or the reason it is not. */
export function checkCardNumber(cardNumber: string): string | null {
  if (!/^[0-9A-Z]{8}[0-9X]$/.test(cardNumber)) {
    return 'card number must be 8 characters 0-9/A-Z followed by a check character 0-9/X';
  }
  const expected = cardNumberCheckChar(cardNumber.slice(0, 8));
  return cardNumber[8] === expected
    ? null
    : `check character should be '${expected}', not '${cardNumber[8]}'`;
}
