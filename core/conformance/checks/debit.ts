import { toHex } from '../../card/hex.ts';
import { findTag } from '../../card/tlv.ts';
import { checkPan } from '../../rules/luhn.ts';
import { isValidDate } from '../../rules/ssn.ts';
import { DEBIT_AID_HEX, SELECT_DEBIT, type CheckContext } from '../context.ts';
import { GET_PROCESSING_OPTIONS, readRecord } from '../../terminal/card-commands.ts';
import type { ConformanceCheck } from './check-model.ts';

/**
 * iDoDebit and iReadDebitRecord: the UnionPay debit application of gen 2/3 cards (§4); one
 * file because both groups select it and read its records the same way.
 */

function notGen1(ctx: CheckContext, why: string): void {
  if (ctx.generation === 1) ctx.skip(`not applicable: a gen 1 card has no debit application (${why})`);
}

/** The debit application's records of SFI 1–3, as a terminal reading tag 5A does (S8). */
async function debitRecords(ctx: CheckContext): Promise<Uint8Array[]> {
  await ctx.expect('SELECT debit application', SELECT_DEBIT, 0x9000);
  const out: Uint8Array[] = [];
  for (let sfi = 1; sfi <= 3; sfi++) {
    for (let n = 1; n <= 16; n++) {
      const r = await ctx.send(readRecord(n, { sfi }));
      if (r.sw !== 0x9000) break;
      out.push(r.data);
    }
  }
  return out;
}

function findIn(records: Uint8Array[], tag: number): Uint8Array | null {
  for (const r of records) {
    const v = findTag(r, tag);
    if (v) return v;
  }
  return null;
}

export const DEBIT_CHECKS: readonly ConformanceCheck[] = [
  {
    id: 'DEB-01',
    group: 'iDoDebit',
    kind: 'read',
    zh: '选择借记应用 A000000333010101（一代卡 6A82）',
    en: 'SELECT the debit application A000000333010101 (gen 1: 6A82, no such application)',
    ref: '§4 (S6, S8, S13)',
    expect: 'gen 2/3: 9000 with FCI 6F, 84 = AID; gen 1: 6A82',
    async run(ctx: CheckContext) {
      if (ctx.generation === 1) {
        await ctx.expect('SELECT debit application on gen 1', SELECT_DEBIT, 0x6a82);
        return '6A82: no financial application on gen 1';
      }
      const r = await ctx.expect('SELECT debit application', SELECT_DEBIT, 0x9000);
      if (r.data[0] !== 0x6f) ctx.fail('the FCI is not a 6F template');
      const aid = findTag(r.data, 0x84);
      if (!aid || toHex(aid) !== DEBIT_AID_HEX) ctx.fail(`FCI tag 84 is ${aid ? toHex(aid) : 'absent'}`);
    },
  },
  {
    id: 'DEB-02',
    group: 'iDoDebit',
    kind: 'read',
    zh: '借记应用 GET PROCESSING OPTIONS 返回 AIP/AFL（不产生交易）',
    en: 'GET PROCESSING OPTIONS (80 A8, empty PDOL data) answers AIP and AFL; no money moves',
    ref: '§4 (S6), PBOC 3.0 / EMV Book 3',
    expect: '9000, template 80 (AIP 2 bytes, AFL 4n) or 77 (82, 94)',
    async run(ctx: CheckContext) {
      notGen1(ctx, 'DEB-01 checks its 6A82');
      const sel = await ctx.expect('SELECT debit application', SELECT_DEBIT, 0x9000);
      if (findTag(sel.data, 0x9f38)) ctx.skip('the card asks for PDOL data (9F38): terminal data not built');
      const r = await ctx.expect('GET PROCESSING OPTIONS', GET_PROCESSING_OPTIONS, 0x9000);
      if (r.data[0] === 0x80) {
        const len = r.data[1] ?? 0;
        if (len < 6 || (len - 2) % 4 !== 0 || r.data.length !== len + 2)
          ctx.fail('template 80 is not AIP ‖ AFL (4n)');
        return `AIP ${toHex(r.data.subarray(2, 4))}, AFL ${(len - 2) / 4} entr${len === 6 ? 'y' : 'ies'}`;
      }
      if (r.data[0] === 0x77 && findTag(r.data, 0x82) && findTag(r.data, 0x94))
        return 'template 77 with AIP and AFL';
      ctx.fail('the answer is neither template 80 nor 77 with AIP (82) and AFL (94)');
    },
  },
  {
    id: 'DRD-01',
    group: 'iReadDebitRecord',
    kind: 'read',
    zh: '读借记应用记录，主账号 5A 符合 Luhn 校验',
    en: 'READ RECORD of the debit application (SFI 1–3): PAN tag 5A, 16–19 digits, Luhn valid',
    ref: '§4 (S8), §7',
    expect: '9000; 5A Luhn valid',
    async run(ctx: CheckContext) {
      notGen1(ctx, 'DEB-01 checks its 6A82');
      const recs = await debitRecords(ctx);
      const pan = findIn(recs, 0x5a);
      if (!pan) ctx.fail(`no tag 5A in ${recs.length} records of SFI 1–3`);
      const digits = toHex(pan).replace(/F+$/, '');
      const problem = checkPan(digits);
      if (problem) ctx.fail(`PAN: ${problem}`);
      return `PAN ${digits.length} digits, Luhn valid${digits.startsWith('62') ? ', UnionPay 62' : ''}`;
    },
  },
  {
    id: 'DRD-02',
    group: 'iReadDebitRecord',
    kind: 'read',
    zh: '二磁道等效数据 57 与 5A 一致，有效期 5F24 合法',
    en: 'Track 2 equivalent (57) carries the same PAN; expiry 5F24 is a date',
    ref: '§4, PBOC 3.0 / EMV Book 3',
    expect: '57 PAN = 5A; 5F24 YYMMDD',
    async run(ctx: CheckContext) {
      notGen1(ctx, 'DEB-01 checks its 6A82');
      const recs = await debitRecords(ctx);
      const pan = findIn(recs, 0x5a);
      const exp = findIn(recs, 0x5f24);
      if (!pan) ctx.fail('no tag 5A');
      if (!exp) ctx.fail('no expiry date (5F24)');
      const e = toHex(exp);
      if (!isValidDate(`20${e.slice(0, 2)}-${e.slice(2, 4)}-${e.slice(4, 6)}`))
        ctx.fail(`5F24 ${e} is not YYMMDD`);
      const t2 = findIn(recs, 0x57);
      if (!t2) return 'no track 2 equivalent (57); 5F24 valid';
      const [t2pan, rest] = toHex(t2).split('D');
      if (t2pan !== toHex(pan).replace(/F+$/, '')) ctx.fail('the PAN in 57 differs from 5A');
      if (!rest || rest.slice(0, 4) !== e.slice(0, 4)) ctx.fail('the expiry in 57 differs from 5F24');
      return '57 and 5A agree; 5F24 valid';
    },
  },
];
