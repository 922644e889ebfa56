/** BER-TLV and SIMPLE-TLV helpers for FCI templates and records. */

function encodeLength(len: number): number[] {
  if (len < 0x80) return [len];
  if (len < 0x100) return [0x81, len];
  return [0x82, len >> 8, len & 0xff];
}

function encodeTag(tag: number): number[] {
  if (tag > 0xffff) return [tag >> 16, (tag >> 8) & 0xff, tag & 0xff];
  if (tag > 0xff) return [tag >> 8, tag & 0xff];
  return [tag];
}

/** BER-TLV: tag (1–3 bytes as written), definite length, value. */
export function tlv(tag: number, ...values: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const v of values) len += v.length;
  const head = [...encodeTag(tag), ...encodeLength(len)];
  const out = new Uint8Array(head.length + len);
  out.set(head, 0);
  let off = head.length;
  for (const v of values) {
    out.set(v, off);
    off += v.length;
  }
  return out;
}

export interface TlvNode {
  tag: number;
  value: Uint8Array;
}

/** Parses a flat sequence of BER-TLV objects; returns null on malformed input. */
export function parseBerTlv(bytes: Uint8Array): TlvNode[] | null {
  const out: TlvNode[] = [];
  let i = 0;
  while (i < bytes.length) {
    const b0 = bytes[i];
    if (b0 === undefined) return null;
    if (b0 === 0x00 || b0 === 0xff) {
      i++; // padding between objects
      continue;
    }
    let tag = b0;
    i++;
    if ((b0 & 0x1f) === 0x1f) {
      let b: number | undefined;
      do {
        b = bytes[i++];
        if (b === undefined) return null;
        tag = (tag << 8) | b;
      } while (b & 0x80);
    }
    let len = bytes[i++];
    if (len === undefined) return null;
    if (len === 0x81) {
      len = bytes[i++];
      if (len === undefined) return null;
    } else if (len === 0x82) {
      const hi = bytes[i++];
      const lo = bytes[i++];
      if (hi === undefined || lo === undefined) return null;
      len = (hi << 8) | lo;
    } else if (len > 0x80) return null;
    if (i + len > bytes.length) return null;
    out.push({ tag, value: bytes.subarray(i, i + len) });
    i += len;
  }
  return out;
}

/** Depth-first search for a tag inside constructed BER-TLV objects. */
export function findTag(bytes: Uint8Array, tag: number): Uint8Array | null {
  const nodes = parseBerTlv(bytes);
  if (!nodes) return null;
  for (const n of nodes) {
    if (n.tag === tag) return n.value;
    const first = n.tag > 0xffff ? n.tag >> 16 : n.tag > 0xff ? n.tag >> 8 : n.tag;
    if (first & 0x20) {
      const inner = findTag(n.value, tag);
      if (inner) return inner;
    }
  }
  return null;
}

/** SIMPLE-TLV record as stored in EF05/EF06: tag(1) len(1) value. */
export function simpleTlv(tag: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + value.length);
  out[0] = tag;
  out[1] = value.length;
  out.set(value, 2);
  return out;
}
