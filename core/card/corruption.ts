import type { VirtualCard } from './virtual-card.ts';
import { parseApdu } from './apdu.ts';
import { SSSE_AID } from './layout.ts';
import { seededRandom } from '../random.ts';

/**
 * A damaged chip or a bad contact: the DATA of some records of EF05 (card information) or
 * EF06 (holder) comes back corrupted while the status word still says 9000.
 *
 * - `flip` (default): every bit of the record inverted;
 * - `truncate`: the transfer breaks off after the first byte (only the tag comes back);
 * - `garbage`: noise of the record's length (never starting with the record's own tag).
 *
 * `record` is the record number in the file (1-based), whichever way the reader addresses it:
 * by SFI and number (P2 = 2C for EF05, 34 for EF06), as the current EF after a SELECT (P2 = 04),
 * or by tag (P2 = 28 / 30, P1 = the record's tag, as the POS reads).
 */
export interface RecordCorruption {
  file: 'EF05' | 'EF06';
  record: number;
  mode?: 'flip' | 'truncate' | 'garbage';
}

type FileName = RecordCorruption['file'];

const FILES: Record<FileName, { fid: number; sfi: number }> = {
  EF05: { fid: 0xef05, sfi: 5 },
  EF06: { fid: 0xef06, sfi: 6 },
};

/** Checks a list of corruptions (RangeError on a bad one) and fills in the default mode. */
export function checkCorruptions(list: readonly RecordCorruption[]): RecordCorruption[] {
  return list.map((c) => {
    if (c.file !== 'EF05' && c.file !== 'EF06')
      throw new RangeError(`file must be EF05 or EF06, not ${String(c.file)}`);
    if (!Number.isSafeInteger(c.record) || c.record < 1 || c.record > 254)
      throw new RangeError(`record must be 1 to 254, not ${String(c.record)}`);
    const mode = c.mode ?? 'flip';
    if (mode !== 'flip' && mode !== 'truncate' && mode !== 'garbage')
      throw new RangeError(`mode must be flip, truncate or garbage, not ${String(mode)}`);
    return { file: c.file, record: c.record, mode };
  });
}

/** The corrupted form of a record's data (deterministic, so tests and traces repeat). */
export function corruptRecordData(data: Uint8Array, mode: RecordCorruption['mode'] = 'flip'): Uint8Array {
  if (data.length === 0) return data;
  switch (mode) {
    case 'truncate':
      return data.slice(0, 1);
    case 'garbage': {
      // Noise that is the same every time: the project's one seeded PRNG, seeded by the length.
      const next = seededRandom(0x9e3779b9 ^ data.length);
      const out = Uint8Array.from({ length: data.length }, () => Math.floor(next() * 256));
      if (out[0] === data[0]) out[0] = data[0]! ^ 0xff;
      return out;
    }
    default:
      return data.map((b) => b ^ 0xff);
  }
}

function swOf(resp: Uint8Array): number {
  return resp.length < 2 ? 0x6f00 : (resp[resp.length - 2]! << 8) | resp[resp.length - 1]!;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * A virtual card whose chip returns corrupted data for some EF05/EF06 records. Every other
 * command, and the status words, are the inner card's. Never throws (as a VirtualCard must).
 *
 * It follows the card's file selection (SELECT of the SSSE and of EF05/EF06, READ RECORD by
 * SFI) to know which file a READ RECORD of the current EF reads. For a read by tag it learns
 * which tag a corrupted record carries by reading that record by number from the inner card
 * first (free: the real command that follows would select the same file anyway).
 */
export class CorruptingCard implements VirtualCard {
  readonly inner: VirtualCard;
  readonly corruptions: readonly RecordCorruption[];
  private inSsse = false;
  private currentEf: FileName | 'other' | null = null;
  /** Tag of a corrupted record, learnt from the card: `${file}:${record}` → tag. */
  private readonly tags = new Map<string, number>();
  /** A READ RECORD answered 61xx: its data comes with the GET RESPONSE that follows. */
  private pendingCorruption: RecordCorruption | null = null;

  constructor(inner: VirtualCard, corruptions: RecordCorruption[]) {
    this.inner = inner;
    this.corruptions = checkCorruptions(corruptions);
  }

  get atr(): Uint8Array {
    return this.inner.atr;
  }

  powerOn(): Uint8Array {
    this.forget();
    return this.inner.powerOn();
  }

  powerOff(): void {
    this.forget();
    this.inner.powerOff();
  }

  reset(): Uint8Array {
    this.forget();
    return this.inner.reset();
  }

  private forget(): void {
    this.inSsse = false;
    this.currentEf = null;
    this.pendingCorruption = null;
  }

  transmit(command: Uint8Array): Uint8Array {
    const parsed = parseApdu(command);
    if (!parsed.ok || parsed.apdu.cla !== 0x00) {
      this.pendingCorruption = null;
      return this.inner.transmit(command);
    }
    const a = parsed.apdu;
    if (a.ins === 0xc0) return this.getResponse(command);
    this.pendingCorruption = null;
    if (a.ins === 0xa4) {
      const resp = this.inner.transmit(command);
      const sw = swOf(resp);
      if (sw === 0x9000 || sw >> 8 === 0x61) this.selected(a.p1, a.data);
      return resp;
    }
    if (a.ins !== 0xb2) return this.inner.transmit(command);

    // READ RECORD
    const sfi = a.p2 >> 3;
    const mode = a.p2 & 0x07;
    const file: FileName | 'other' | null = sfi === 0 ? this.currentEf : this.fileOfSfi(sfi);
    let hit: RecordCorruption | null = null;
    if (file === 'EF05' || file === 'EF06') {
      if (mode === 0x04) hit = this.corruptions.find((c) => c.file === file && c.record === a.p1) ?? null;
      else if (mode === 0x00) hit = this.byTag(file, a.p1);
    }
    const resp = this.inner.transmit(command);
    const sw = swOf(resp);
    // The card makes the file it read (or was refused) the current EF.
    if (
      sfi !== 0 &&
      (sw === 0x9000 || sw >> 8 === 0x61 || sw >> 8 === 0x6c || sw === 0x6a83 || sw === 0x6982)
    )
      this.currentEf = this.fileOfSfi(sfi);
    if (!hit) return resp;
    if (sw >> 8 === 0x61) {
      this.pendingCorruption = hit;
      return resp;
    }
    if (sw !== 0x9000 || resp.length <= 2) return resp;
    return this.corrupted(resp, hit);
  }

  private getResponse(command: Uint8Array): Uint8Array {
    const hit = this.pendingCorruption;
    const resp = this.inner.transmit(command);
    const sw = swOf(resp);
    if (sw >> 8 !== 0x61) this.pendingCorruption = null;
    if (!hit || resp.length <= 2 || (sw !== 0x9000 && sw >> 8 !== 0x61)) return resp;
    return this.corrupted(resp, hit);
  }

  private corrupted(resp: Uint8Array, c: RecordCorruption): Uint8Array {
    const data = corruptRecordData(resp.subarray(0, resp.length - 2), c.mode);
    const out = new Uint8Array(data.length + 2);
    out.set(data, 0);
    out.set(resp.subarray(resp.length - 2), data.length);
    return out;
  }

  private fileOfSfi(sfi: number): FileName | 'other' {
    if (!this.inSsse) return 'other';
    if (sfi === FILES.EF05.sfi) return 'EF05';
    if (sfi === FILES.EF06.sfi) return 'EF06';
    return 'other';
  }

  private selected(p1: number, data: Uint8Array): void {
    if (p1 === 0x04) {
      this.inSsse = bytesEqual(data, SSSE_AID);
      this.currentEf = null;
      return;
    }
    if (data.length === 0 || (data.length === 2 && data[0] === 0x3f && data[1] === 0x00 && p1 === 0x00)) {
      // The MF
      this.inSsse = false;
      this.currentEf = null;
      return;
    }
    if (data.length !== 2) return;
    const fid = (data[0]! << 8) | data[1]!;
    if (this.inSsse && fid === FILES.EF05.fid) this.currentEf = 'EF05';
    else if (this.inSsse && fid === FILES.EF06.fid) this.currentEf = 'EF06';
    else this.currentEf = 'other';
  }

  /** The corruption of the record carrying `tag` in the file, if one is planned. */
  private byTag(file: FileName, tag: number): RecordCorruption | null {
    for (const c of this.corruptions) {
      if (c.file !== file) continue;
      const key = `${c.file}:${c.record}`;
      let known = this.tags.get(key);
      if (known === undefined) {
        const probe = this.inner.transmit(
          Uint8Array.of(0x00, 0xb2, c.record, (FILES[file].sfi << 3) | 0x04, 0x00),
        );
        if (swOf(probe) === 0x9000 && probe.length > 2) {
          known = probe[0]!;
          this.tags.set(key, known);
        }
      }
      if (known === tag) return c;
    }
    return null;
  }
}
