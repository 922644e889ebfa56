/**
 * Money in scenario files: yuan written as text ("12.50") and converted to integer fen
 * exactly, digit by digit, never through a floating-point number.
 */
export const YUAN_PATTERN = /^(\d{1,13})(?:\.(\d{1,2}))?$/;

/** "12.50" → 1250, "3" → 300, "0.5" → 50. Throws for anything else. */
export function yuanToFen(text: string): number {
  const m = YUAN_PATTERN.exec(text);
  if (!m) throw new RangeError(`not an amount in yuan: '${text}' (write it like "12.50")`);
  const fen = BigInt(m[1]!) * 100n + BigInt((m[2] ?? '').padEnd(2, '0'));
  if (fen > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`amount too large: '${text}'`);
  return Number(fen);
}

/** 1250 → "12.50"; −50 → "-0.50". */
export function fenToYuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** An amount as a scenario may give it: a number of fen, or yuan as text. */
export function toFen(v: number | string): number {
  return typeof v === 'number' ? v : yuanToFen(v);
}

/** "1250 fen (¥12.50)" — both units, for expected/actual texts. */
export function fenText(fen: number | null): string {
  return fen === null ? 'none (no such account)' : `${fen} fen (¥${fenToYuan(fen)})`;
}
