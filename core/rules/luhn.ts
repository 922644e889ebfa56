/** Luhn (mod 10) check digit of bank card numbers (R3.1, card-reference.md §7). */
export function luhnCheckDigit(body: string): string {
  if (!/^[0-9]+$/.test(body)) throw new Error(`Luhn body must be digits: '${body}'`);
  let sum = 0;
  let double = true;
  for (let i = body.length - 1; i >= 0; i--) {
    let d = body.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return String((10 - (sum % 10)) % 10);
}

/** Returns null when the PAN is a valid 16–19 digit Luhn number, or the reason. */
export function checkPan(pan: string): string | null {
  if (!/^[0-9]{16,19}$/.test(pan)) return 'card number must be 16 to 19 digits';
  const expected = luhnCheckDigit(pan.slice(0, -1));
  return pan.endsWith(expected) ? null : `Luhn check digit should be ${expected}, not ${pan.at(-1)}`;
}
