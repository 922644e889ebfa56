import { SW } from './status-words.ts';

/** A parsed ISO 7816-4 short command APDU. `le` is null when absent; Le=00 is 256. */
export interface CommandApdu {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data: Uint8Array;
  readonly le: number | null;
  /** ISO case: 1 no data/no Le, 2 Le only, 3 data only, 4 data and Le. */
  readonly case: 1 | 2 | 3 | 4;
}

export type ParsedApdu = { ok: true; apdu: CommandApdu } | { ok: false; sw: number };

const EMPTY = new Uint8Array(0);

/**
 * Parses a short APDU. Extended-length APDUs (Lc=00 followed by more bytes) and any
 * length that matches none of the four cases answer 6700, never an exception.
 */
export function parseApdu(bytes: Uint8Array): ParsedApdu {
  const n = bytes.length;
  if (n < 4) return { ok: false, sw: SW.WRONG_LENGTH };
  const cla = bytes[0]!;
  const ins = bytes[1]!;
  const p1 = bytes[2]!;
  const p2 = bytes[3]!;
  if (n === 4) return { ok: true, apdu: { cla, ins, p1, p2, data: EMPTY, le: null, case: 1 } };
  const b4 = bytes[4]!;
  if (n === 5) {
    return { ok: true, apdu: { cla, ins, p1, p2, data: EMPTY, le: b4 === 0 ? 256 : b4, case: 2 } };
  }
  if (b4 === 0) return { ok: false, sw: SW.WRONG_LENGTH }; // extended length: not supported
  const lc = b4;
  if (n === 5 + lc) {
    return { ok: true, apdu: { cla, ins, p1, p2, data: bytes.subarray(5, 5 + lc), le: null, case: 3 } };
  }
  if (n === 6 + lc) {
    const le = bytes[5 + lc]!;
    return {
      ok: true,
      apdu: { cla, ins, p1, p2, data: bytes.subarray(5, 5 + lc), le: le === 0 ? 256 : le, case: 4 },
    };
  }
  return { ok: false, sw: SW.WRONG_LENGTH };
}

/** Builds a response APDU: data followed by the two status bytes. */
export function response(sw: number, data?: Uint8Array): Uint8Array {
  const len = data ? data.length : 0;
  const out = new Uint8Array(len + 2);
  if (data) out.set(data, 0);
  out[len] = (sw >> 8) & 0xff;
  out[len + 1] = sw & 0xff;
  return out;
}
