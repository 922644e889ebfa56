import { toHex } from '../../card/hex.ts';
import { cnDigits } from '../../card/codec.ts';
import { isValidDate } from '../../rules/ssn.ts';
import { readRecord, readRecordByTag } from '../../terminal/card-commands.ts';
import type { CheckContext } from '../context.ts';

/**
 * What the card-reading checks share: the EF05/EF06 record layouts of card-reference.md §2
 * and the helpers that read and judge a SIMPLE-TLV record, so every group checks a record
 * the same way.
 */

export const hex2 = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');

/** EF06 record 1 (tag 08, the SSN) by SFI 6 with its exact Le: the protected-data probe (§4). */
export const EF06_RECORD_1 = readRecord(1, { sfi: 6, le: 0x14 });

/** EF05 records 1–7: tag, value length, Le used by reader programs (§2). */
export const EF05 = [
  { tag: 0x01, len: 16 },
  { tag: 0x02, len: 1 },
  { tag: 0x03, len: 4 },
  { tag: 0x04, len: 12 },
  { tag: 0x05, len: 4 },
  { tag: 0x06, len: 4 },
  { tag: 0x07, len: 9 },
] as const;

/** EF06 records by generation (§2): 4E is record 3 on 2.0+ cards only. */
export function ef06Layout(generation: 1 | 2 | 3): { tag: number; len: number }[] {
  const head = [
    { tag: 0x08, len: 18 },
    { tag: 0x09, len: 30 },
  ];
  const tail = [
    { tag: 0x0a, len: 1 },
    { tag: 0x0b, len: 1 },
    { tag: 0x0c, len: 3 },
    { tag: 0x0d, len: 4 },
  ];
  return generation === 1 ? [...head, ...tail] : [...head, { tag: 0x4e, len: 20 }, ...tail];
}

/** A SIMPLE-TLV record must be tag ‖ len ‖ value with the expected tag and length. */
export function checkRecord(
  ctx: CheckContext,
  what: string,
  rec: Uint8Array,
  tag: number,
  len: number,
): Uint8Array {
  if (rec.length < 2) ctx.fail(`${what}: ${rec.length} bytes, not a TLV record`);
  if (rec[0] !== tag) ctx.fail(`${what}: tag ${hex2(rec[0]!)}, expected ${hex2(tag)}`);
  if (rec[1] !== len) ctx.fail(`${what}: length ${rec[1]}, expected ${len}`);
  if (rec.length !== len + 2)
    ctx.fail(`${what}: ${rec.length} bytes returned for a ${len}-byte value (Le = len + 2)`);
  return rec.subarray(2);
}

/** EF05 records 1–7 by SFI (P2=2C, Le=00) as a terminal reads them. */
export async function ef05BySfi(ctx: CheckContext): Promise<Uint8Array[]> {
  await ctx.selectSsse();
  const out: Uint8Array[] = [];
  for (let n = 1; n <= 7; n++) {
    const r = await ctx.expect(`READ RECORD EF05 record ${n} (SFI)`, readRecord(n, { sfi: 5 }), 0x9000);
    out.push(r.data);
  }
  return out;
}

export async function ef05Value(ctx: CheckContext, tag: number): Promise<Uint8Array> {
  const recs = await ef05BySfi(ctx);
  const e = EF05.find((x) => x.tag === tag)!;
  return checkRecord(ctx, `EF05 tag ${hex2(tag)}`, recs[EF05.indexOf(e)]!, e.tag, e.len);
}

export const isoOf = (digits: string) => `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}`;

export function dateField(ctx: CheckContext, what: string, value: Uint8Array): string {
  const d = cnDigits(value);
  if (!/^\d{8}$/.test(d) || !isValidDate(isoOf(d)))
    ctx.fail(`${what}: '${toHex(value)}' is not a date YYYYMMDD in BCD`);
  return isoOf(d);
}

/** cn: BCD digits, F only as right fill. */
export function cnOk(value: Uint8Array): boolean {
  return /^[0-9]*F*$/.test(toHex(value));
}

/** EF06 opened for reading: SSSE selected and, on gen 3, external authentication (virtual only). */
export async function openEf06(ctx: CheckContext): Promise<void> {
  await ctx.selectSsse();
  if (ctx.generation === 3) await ctx.externalAuthenticate();
}

export async function ef06Tag(ctx: CheckContext, tag: number): Promise<Uint8Array> {
  const r = await ctx.expect(`READ RECORD EF06 tag ${hex2(tag)}`, readRecordByTag(tag, { sfi: 6 }), 0x9000);
  const len = ef06Layout(ctx.generation).find((x) => x.tag === tag)!.len;
  return checkRecord(ctx, `EF06 tag ${hex2(tag)}`, r.data, tag, len);
}
