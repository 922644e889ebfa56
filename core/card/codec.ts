import iconv from 'iconv-lite';

/** Encoding of the card's data elements: an (ASCII/GBK, zero-filled), cn (BCD, F-filled). */

export class EncodingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncodingError';
  }
}

export function gbkEncode(text: string): Uint8Array {
  const bytes = new Uint8Array(iconv.encode(text, 'gbk'));
  // iconv-lite substitutes '?' for characters GBK lacks: detect it by a round trip.
  if (iconv.decode(Buffer.from(bytes), 'gbk') !== text) {
    const bad = [...text].find((ch) => iconv.decode(iconv.encode(ch, 'gbk'), 'gbk') !== ch);
    throw new EncodingError(`'${bad ?? text}' cannot be encoded in GBK`);
  }
  return bytes;
}

export function gbkDecode(bytes: Uint8Array): string {
  return iconv.decode(Buffer.from(bytes), 'gbk');
}

/** True when every character of the text has a GBK encoding. */
export function isGbkEncodable(text: string): boolean {
  try {
    gbkEncode(text);
    return true;
  } catch {
    return false;
  }
}

/** an: left-justified, filled with 00 to the field length. */
export function anField(bytes: Uint8Array, length: number): Uint8Array {
  if (bytes.length > length)
    throw new EncodingError(`value of ${bytes.length} bytes exceeds field of ${length}`);
  const out = new Uint8Array(length);
  out.set(bytes, 0);
  return out;
}

/** Strips the zero (and space) fill of an an field. */
export function anTrim(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x00 || bytes[end - 1] === 0x20)) end--;
  return bytes.subarray(0, end);
}

/** cn: digits packed two per byte, right-filled with F. */
export function cnField(digits: string, length: number): Uint8Array {
  if (!/^[0-9]*$/.test(digits)) throw new EncodingError(`'${digits}' is not all digits`);
  if (digits.length > length * 2) throw new EncodingError(`'${digits}' does not fit ${length} BCD bytes`);
  const padded = digits.padEnd(length * 2, 'F');
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = parseInt(padded.substring(2 * i, 2 * i + 2), 16);
  return out;
}

/** Reads a cn field back into digits (stops at the first F). */
export function cnDigits(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    for (const nib of [b >> 4, b & 15]) {
      if (nib === 0x0f) return out;
      out += nib < 10 ? String(nib) : '?';
    }
  }
  return out;
}

/**
 * Decodes a PIN block: BCD digits, optionally F-padded. Returns null when a nibble is
 * not a digit or an F appears before the last digit.
 */
export function decodePinBcd(bytes: Uint8Array): string | null {
  let out = '';
  let ended = false;
  for (const b of bytes) {
    for (const nib of [b >> 4, b & 15]) {
      if (nib === 0x0f) {
        ended = true;
        continue;
      }
      if (ended || nib > 9) return null;
      out += String(nib);
    }
  }
  return out;
}

export function encodePinBcd(pin: string): Uint8Array {
  return cnField(pin, Math.ceil(pin.length / 2));
}
