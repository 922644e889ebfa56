/** Hex helpers shared by the card, the CLI and the traces. Output is always uppercase. */

const HEX = '0123456789ABCDEF';

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    out += HEX[b >> 4]! + HEX[b & 15]!;
  }
  return out;
}

export class HexError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
    this.name = 'HexError';
  }
}

/**
 * Parses hex such as `00A4040000`, `00 A4 04 00` or `00:a4:04`. Spaces, colons and
 * dashes between bytes are ignored; anything else is an error that names the position.
 */
export function fromHex(text: string): Uint8Array {
  const clean: number[] = [];
  const positions: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === ' ' || ch === ':' || ch === '-' || ch === '\t') continue;
    const v = parseInt(ch, 16);
    if (Number.isNaN(v)) {
      throw new HexError(`not a hex digit '${ch}' at position ${i + 1}`, i + 1);
    }
    clean.push(v);
    positions.push(i + 1);
  }
  if (clean.length % 2 !== 0) {
    throw new HexError(
      `odd number of hex digits (${clean.length}); the last byte is incomplete`,
      text.length,
    );
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (clean[2 * i]! << 4) | clean[2 * i + 1]!;
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0x7f;
  return out;
}
