import { ascii, concatBytes, fromHex } from './hex.ts';

/**
 * ATRs of the virtual cards. No public list of social security card ATRs exists
 * (card-reference.md §9), so each generation gets a well-formed ISO 7816-3 ATR whose 15
 * historical bytes are: category 80, a COMPACT-TLV issuer object 55 "SSC" + generation
 * digit + version 01, then the 8-byte chip serial (S12: "the chip serial used for key
 * diversification is the last 8 historical bytes of the ATR").
 *
 * T=0:  3B 6F 00 00 80 55 53 53 43 3g 01 <serial 8>          (TB1=00, TC1=00; no TCK)
 * T=1:  3B EF 00 00 81 31 FE 45 80 55 53 53 43 3g 01 <serial 8> TCK
 *       (TD1=81 T=1 follows, TD2=31: TA3 IFSC=FE, TB3 BWI/CWI=45)
 */
export function buildAtr(generation: 1 | 2 | 3, protocol: 'T=0' | 'T=1', chipSerialHex: string): Uint8Array {
  const serial = fromHex(chipSerialHex);
  const hist = concatBytes(
    new Uint8Array([0x80, 0x55]),
    ascii(`SSC${generation}`),
    new Uint8Array([0x01]),
    serial,
  );
  if (protocol === 'T=0') return concatBytes(new Uint8Array([0x3b, 0x6f, 0x00, 0x00]), hist);
  const body = concatBytes(new Uint8Array([0xef, 0x00, 0x00, 0x81, 0x31, 0xfe, 0x45]), hist);
  let tck = 0;
  for (const b of body) tck ^= b;
  return concatBytes(new Uint8Array([0x3b]), body, new Uint8Array([tck]));
}

/** Historical bytes of an ATR, or null when the ATR is malformed. */
export function historicalBytes(atr: Uint8Array): Uint8Array | null {
  if (atr.length < 2) return null;
  const t0 = atr[1]!;
  const k = t0 & 0x0f;
  let i = 2;
  let y = t0 >> 4;
  for (;;) {
    let td: number | undefined;
    if (y & 1) i++;
    if (y & 2) i++;
    if (y & 4) i++;
    if (y & 8) {
      td = atr[i++];
      if (td === undefined) return null;
    }
    if (td === undefined) break;
    y = td >> 4;
  }
  if (i + k > atr.length) return null;
  return atr.subarray(i, i + k);
}

/** The chip serial a PSAM uses to diversify keys: the last 8 historical bytes. */
export function chipSerialFromAtr(atr: Uint8Array): Uint8Array | null {
  const h = historicalBytes(atr);
  if (!h || h.length < 8) return null;
  return h.subarray(h.length - 8);
}
