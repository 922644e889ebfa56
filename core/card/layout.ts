import { ascii, concatBytes, fromHex } from './hex.ts';
import { anField, cnField, gbkEncode } from './codec.ts';
import { simpleTlv, tlv } from './tlv.ts';
import { mac4 } from './crypto.ts';
import { TEST_MASTER_KEYS } from './keys.ts';
import type { CardProfile } from './profile.ts';

/** The SSSE DDF name: "sx1.sh." + 社会保障 in GBK (card-reference.md §1). */
export const SSSE_AID = fromHex('7378312E73682EC9E7BBE1B1A3D5CF');
/** PBOC/UnionPay debit application (gen 2 and 3). */
export const DEBIT_AID = fromHex('A000000333010101');
export const RID_MOHRSS = fromHex('D156000005');

const ymd = (iso: string) => iso.replaceAll('-', '');

/**
 * 卡识别码 (EF05 tag 01, 16 bytes): area code (3 BCD) ‖ RID D156000005 ‖ 4 bytes of the
 * chip serial ‖ 4-byte MAC under the issuer key IRK (S12 generator, S6 sample).
 */
export function cardIdentificationCode(p: CardProfile): Uint8Array {
  const head = concatBytes(
    cnField(p.card.areaCode, 3),
    RID_MOHRSS,
    fromHex(p.card.chipSerial).subarray(4, 8),
  );
  return concatBytes(head, mac4('3des', TEST_MASTER_KEYS.irk, new Uint8Array(8), head));
}

/** Splits a GBK name into the 30-byte tag 09 part and the 20-byte 4E extension, on a character boundary. */
export function splitName(name: string): { main: Uint8Array; extension: Uint8Array } {
  let mainText = '';
  let used = 0;
  let rest = '';
  for (const ch of name) {
    const len = gbkEncode(ch).length;
    if (!rest && used + len <= 30) {
      mainText += ch;
      used += len;
    } else rest += ch;
  }
  return { main: gbkEncode(mainText), extension: rest ? gbkEncode(rest) : new Uint8Array(0) };
}

/** EF05 card information records 1–7, each a SIMPLE-TLV. */
export function ef05Records(p: CardProfile): Uint8Array[] {
  return [
    simpleTlv(0x01, cardIdentificationCode(p)),
    simpleTlv(0x02, anField(ascii(p.card.type), 1)),
    simpleTlv(0x03, ascii(`${p.generation}.00`)),
    simpleTlv(0x04, cnField(p.card.issuer, 12)),
    simpleTlv(0x05, cnField(ymd(p.card.issueDate), 4)),
    simpleTlv(0x06, cnField(ymd(p.card.expiryDate), 4)),
    simpleTlv(0x07, anField(ascii(p.card.number), 9)),
  ];
}

/** EF06 holder records: 08, 09, (4E on gen 2/3), 0A, 0B, 0C, 0D. */
export function ef06Records(p: CardProfile): Uint8Array[] {
  const { main, extension } = splitName(p.holder.name);
  const records = [simpleTlv(0x08, anField(ascii(p.holder.ssn), 18)), simpleTlv(0x09, anField(main, 30))];
  if (p.generation >= 2) records.push(simpleTlv(0x4e, anField(extension, 20)));
  records.push(
    simpleTlv(0x0a, ascii(p.holder.sex === 'male' ? '1' : '2')),
    simpleTlv(0x0b, cnField(p.holder.nation, 1)),
    simpleTlv(0x0c, cnField(p.holder.birthplace, 3)),
    simpleTlv(0x0d, cnField(ymd(p.holder.birthDate), 4)),
  );
  return records;
}

function bcdDigits(d: string): Uint8Array {
  return cnField(d, Math.ceil(d.length / 2));
}

function lastDayOfMonth(yyyyMm: string): string {
  const [y, m] = yyyyMm.split('-').map(Number) as [number, number];
  const day = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return `${String(y).slice(2)}${String(m).padStart(2, '0')}${String(day).padStart(2, '0')}`;
}

export interface FinancialFiles {
  fci: Uint8Array;
  /** SFI 1 records 1 and 2 (record templates 70). */
  records: Uint8Array[];
  /** GET PROCESSING OPTIONS answer, format 1: AIP ‖ AFL. */
  gpo: Uint8Array;
}

/** The debit application's data: PAN (5A), track 2 equivalent (57), dates. */
export function financialFiles(p: CardProfile): FinancialFiles | null {
  if (!p.financial) return null;
  const pan = p.financial.pan;
  const exp = lastDayOfMonth(p.financial.expiry);
  const eff = ymd(p.card.issueDate).slice(2);
  // Track 2 equivalent: PAN, separator D, expiry YYMM, service code 220, discretionary data.
  const track2 = `${pan}D${exp.slice(0, 4)}220${'0'.repeat(10)}`;
  const track2Bytes = fromHex(track2.length % 2 ? track2 + 'F' : track2);
  const fci = tlv(
    0x6f,
    tlv(0x84, DEBIT_AID),
    tlv(
      0xa5,
      tlv(0x50, ascii('PBOC DEBIT')),
      tlv(0x87, new Uint8Array([0x01])),
      tlv(0x5f2d, ascii('zhen')),
      tlv(0x9f11, new Uint8Array([0x01])),
    ),
  );
  const records = [
    tlv(0x70, tlv(0x57, track2Bytes), tlv(0x9f1f, ascii('0000'))),
    tlv(
      0x70,
      tlv(0x5a, bcdDigits(pan)),
      tlv(0x5f24, fromHex(exp)),
      tlv(0x5f25, fromHex(eff)),
      tlv(0x5f34, new Uint8Array([0x01])),
      tlv(0x5f28, fromHex('0156')),
      tlv(0x9f07, fromHex('FF00')),
    ),
  ];
  const gpo = tlv(0x80, fromHex('7C00'), fromHex('08010200'));
  return { fci, records, gpo };
}
