import { toHex } from '../../card/hex.ts';
import { anTrim, cnDigits, gbkDecode } from '../../card/codec.ts';
import { findTag } from '../../card/tlv.ts';
import { swHex } from '../../card/status-words.ts';
import { checkCardNumber } from '../../rules/card-number.ts';
import { checkMainlandId, checkNonMainlandSsn, mainlandIdParts } from '../../rules/ssn.ts';
import { SELECT_SSSE, parseAtr, swText, type CheckContext } from '../context.ts';
import { ALGORITHM_TAG } from '../../terminal/card-commands.ts';
import type { ConformanceCheck } from './check-model.ts';
import {
  EF06_RECORD_1,
  hex2,
  EF05,
  ef06Layout,
  checkRecord,
  ef05BySfi,
  ef05Value,
  dateField,
  cnOk,
  openEf06,
  ef06Tag,
} from './record-support.ts';

/** iReadCardBas: reading the card as real reader programs do (card-reference.md §1–§5). */

export const READ_CARD_BAS_CHECKS: readonly ConformanceCheck[] = [
  {
    id: 'BAS-01',
    group: 'iReadCardBas',
    kind: 'read',
    zh: 'ATR 结构正确，历史字节含芯片序列号',
    en: 'ATR well formed (ISO 7816-3); historical bytes end with the chip serial',
    ref: '§2 (S12), §9, ISO 7816-3',
    expect: 'TS 3B/3F, length and TCK consistent (fewer than 8 historical bytes: noted)',
    async run(ctx: CheckContext) {
      const a = parseAtr(ctx.facts.atr);
      if (!a.ok) ctx.fail(a.problem ?? 'malformed ATR');
      const h = a.historical!;
      if (h.length < 8) {
        return `well formed; only ${h.length} historical bytes, so no chip serial for key diversification (U in the reference)`;
      }
      return `well formed, protocols T=${a.protocols.join('/T=')}, ${h.length} historical bytes`;
    },
  },
  {
    id: 'BAS-02',
    group: 'iReadCardBas',
    kind: 'read',
    zh: '按名称选择 SSSE，返回 FCI',
    en: 'SELECT SSSE by name (00 A4 04 00 0F 7378…D5CF); FCI 6F with 84 = the name',
    ref: '§1',
    expect: '9000, or 61xx then GET RESPONSE 9000 (T=0)',
    async run(ctx: CheckContext) {
      const first = await ctx.raw(SELECT_SSSE);
      let fci = first.data;
      if (first.sw >> 8 === 0x61) {
        const r = await ctx.raw(`00C00000${hex2(first.sw & 0xff)}`);
        ctx.expectSw('GET RESPONSE', r.sw, 0x9000);
        fci = r.data;
      } else ctx.expectSw('SELECT SSSE', first.sw, 0x9000);
      if (fci.length === 0) return `${swHex(first.sw)}, no FCI returned`;
      if (fci[0] !== 0x6f) ctx.fail(`the FCI starts with ${hex2(fci[0]!)}, not 6F`);
      const name = findTag(fci, 0x84);
      if (name && toHex(name) !== SELECT_SSSE.slice(10))
        ctx.fail(`FCI tag 84 is ${toHex(name)}, not the SSSE name`);
      return `${swHex(first.sw)}; FCI ${fci.length} bytes${name ? ', 84 = SSSE' : ''}`;
    },
  },
  {
    id: 'BAS-03',
    group: 'iReadCardBas',
    kind: 'read',
    zh: 'FCI 中算法标识 9F0C（如有）为 01/02/03',
    en: 'FCI algorithm id 9F0C, when present, is 86 01 01 (3DES), 02 (SSF33) or 03 (SM4)',
    ref: '§1 (S3, S5)',
    expect: '9F0C absent (DES assumed) or 86 01 0x, x = 1–3',
    async run(ctx: CheckContext) {
      const fci = await ctx.selectSsse();
      const v = findTag(fci, ALGORITHM_TAG);
      if (!v) return '9F0C absent: DES/3DES assumed';
      if (v.length !== 3 || v[0] !== 0x86 || v[1] !== 0x01 || v[2]! < 1 || v[2]! > 3) {
        ctx.fail(`9F0C is ${toHex(v)}, expected 86 01 01/02/03`);
      }
      return `9F0C = ${toHex(v)} (${['', '3DES', 'SSF33', 'SM4'][v[2]!]})`;
    },
  },
  {
    id: 'BAS-04',
    group: 'iReadCardBas',
    kind: 'read',
    zh: '按文件标识选择 EF05（P1=02 与 P1=00 两种形式）',
    en: 'SELECT EF05 by FID, both forms used in the wild (P1=02, P1=00, with and without Le)',
    ref: '§1',
    expect: '9000 (61xx accepted with Le)',
    async run(ctx: CheckContext) {
      for (const cmd of ['00A4020002EF05', '00A4000002EF05', '00A4020002EF0500']) {
        await ctx.selectSsse();
        await ctx.expect(`SELECT ${cmd.slice(0, 8)} EF05`, cmd, 0x9000);
      }
    },
  },
  {
    id: 'BAS-05',
    group: 'iReadCardBas',
    kind: 'read',
    zh: 'EF05 记录 1–7 按记录号读取，标签与长度正确',
    en: 'EF05 records 1–7 by record number (P2=04, exact Le): tags 01–07 with their lengths',
    ref: '§2, §3 (S5, S6, S9, S14)',
    expect: '9000 each; tag ‖ len ‖ value, len 16/1/4/12/4/4/9',
    async run(ctx: CheckContext) {
      await ctx.selectSsse();
      await ctx.expect('SELECT EF05', '00A4020002EF05', 0x9000);
      for (const [i, e] of EF05.entries()) {
        const r = await ctx.expect(`READ RECORD ${i + 1}`, `00B2${hex2(i + 1)}04${hex2(e.len + 2)}`, 0x9000);
        checkRecord(ctx, `EF05 record ${i + 1}`, r.data, e.tag, e.len);
      }
    },
  },
  {
    id: 'BAS-06',
    group: 'iReadCardBas',
    kind: 'read',
    zh: 'EF05 按短文件标识（SFI 5）读取，与按记录号读取一致',
    en: 'EF05 by SFI without selecting it (P2=2C): the same records as by record number',
    ref: '§3 (S2, S8, S10)',
    expect: '9000 each; identical data',
    async run(ctx: CheckContext) {
      const bySfi: string[] = [];
      await ctx.selectSsse();
      for (const [i, e] of EF05.entries()) {
        const r = await ctx.expect(
          `READ RECORD ${i + 1} SFI 5`,
          `00B2${hex2(i + 1)}2C${hex2(e.len + 2)}`,
          0x9000,
        );
        bySfi.push(toHex(r.data));
      }
      await ctx.selectSsse();
      await ctx.expect('SELECT EF05', '00A4020002EF05', 0x9000);
      for (let n = 1; n <= 7; n++) {
        const r = await ctx.expect(`READ RECORD ${n}`, `00B2${hex2(n)}0400`, 0x9000);
        if (toHex(r.data) !== bySfi[n - 1])
          ctx.fail(`record ${n} differs between SFI and record-number reads`);
      }
    },
  },
  {
    id: 'BAS-07',
    group: 'iReadCardBas',
    kind: 'read',
    zh: 'EF05 按记录标识（标签）读取（P2=00 当前文件，P2=28 SFI）',
    en: 'EF05 by record identifier = tag, first occurrence (P2=00 in the current EF, P2=28 by SFI)',
    ref: '§3 (S1, S2, S3, S7)',
    expect: '9000 each; the record with that tag',
    async run(ctx: CheckContext) {
      const reference = (await ef05BySfi(ctx)).map(toHex);
      await ctx.selectSsse();
      for (const [i, e] of EF05.entries()) {
        const r = await ctx.expect(
          `READ RECORD tag ${hex2(e.tag)} SFI 5`,
          `00B2${hex2(e.tag)}28${hex2(e.len + 2)}`,
          0x9000,
        );
        if (toHex(r.data) !== reference[i])
          ctx.fail(`tag ${hex2(e.tag)} by SFI differs from record ${i + 1}`);
      }
      await ctx.expect('SELECT EF05', '00A4020002EF05', 0x9000);
      for (const [i, e] of EF05.entries()) {
        const r = await ctx.expect(
          `READ RECORD tag ${hex2(e.tag)}`,
          `00B2${hex2(e.tag)}00${hex2(e.len + 2)}`,
          0x9000,
        );
        if (toHex(r.data) !== reference[i])
          ctx.fail(`tag ${hex2(e.tag)} in the current EF differs from record ${i + 1}`);
      }
    },
  },
  {
    id: 'BAS-08',
    group: 'iReadCardBas',
    kind: 'read',
    zh: 'EF05 各字段格式：卡类别、规范版本、机构编号、发卡日期、有效期',
    en: 'EF05 field formats: card type (an 1), spec version "n.00", issuer (cn), issue and expiry dates',
    ref: '§2, §4',
    expect: 'version 1.00/2.00/3.00; BCD dates, expiry after issue',
    async run(ctx: CheckContext) {
      const recs = await ef05BySfi(ctx);
      const v = EF05.map((e, i) => checkRecord(ctx, `EF05 record ${i + 1}`, recs[i]!, e.tag, e.len));
      const type = v[1]!;
      if (type[0]! < 0x20 || type[0]! > 0x7e)
        ctx.fail(`card type ${toHex(type)} is not a printable character`);
      const version = String.fromCharCode(...v[2]!);
      if (!/^[123]\.00$/.test(version)) ctx.fail(`spec version '${version}', expected 1.00, 2.00 or 3.00`);
      if (!cnOk(v[3]!) || cnDigits(v[3]!).length === 0)
        ctx.fail(`issuer ${toHex(v[3]!)} is not BCD digits, F-filled`);
      const issued = dateField(ctx, 'issue date (tag 05)', v[4]!);
      const expires = dateField(ctx, 'expiry date (tag 06)', v[5]!);
      if (expires <= issued) ctx.fail(`expiry ${expires} is not after issue ${issued}`);
      return `spec ${version}, issued ${issued}, valid until ${expires}`;
    },
  },
  {
    id: 'BAS-09',
    group: 'iReadCardBas',
    kind: 'read',
    zh: '卡识别码：地区代码（BCD）+ RID D156000005',
    en: 'Card identification code (tag 01): area code in BCD, then RID D156000005',
    ref: '§2 (S3, S6, S12, S14)',
    expect: '3 BCD bytes, D156000005, 8 more bytes',
    async run(ctx: CheckContext) {
      const v = await ef05Value(ctx, 0x01);
      const area = cnDigits(v.subarray(0, 3));
      if (!/^\d{6}$/.test(area)) ctx.fail(`area code ${toHex(v.subarray(0, 3))} is not 6 BCD digits`);
      if (toHex(v.subarray(3, 8)) !== 'D156000005')
        ctx.fail(`RID ${toHex(v.subarray(3, 8))}, expected D156000005`);
      return `area code ${area}`;
    },
  },
  {
    id: 'BAS-10',
    group: 'iReadCardBas',
    kind: 'read',
    zh: '卡号（9 位）校验位正确',
    en: 'Card number (tag 07): 8 characters and its check character',
    ref: '§7',
    expect: 'check character per weights 3,7,9,10,5,8,4,2 mod 11',
    async run(ctx: CheckContext) {
      const number = gbkDecode(anTrim(await ef05Value(ctx, 0x07)));
      const problem = checkCardNumber(number);
      if (problem) ctx.fail(`card number: ${problem}`);
      return 'check character valid';
    },
  },
  {
    id: 'BAS-11',
    group: 'iReadCardBas',
    kind: 'read',
    zh: 'EF06 访问控制：一二代免认证可读，三代须外部认证',
    en: 'EF06 access: free on gen 1/2; on gen 3 refused before external authentication',
    ref: '§4 (S3, S6, S13)',
    expect: 'gen 1/2: 9000; gen 3: 6982',
    async run(ctx: CheckContext) {
      await ctx.selectSsse();
      const r = await ctx.send(EF06_RECORD_1);
      if (ctx.generation === 3) {
        if (r.sw === 0x9000) ctx.fail('gen 3 holder data was read without external authentication');
        if (r.sw === 0x6982) return 'protected: 6982 before authentication';
        if (r.sw >> 8 === 0x69) return `protected: ${swHex(r.sw)} (the reference expects 6982, U)`;
        ctx.fail(`READ RECORD EF06: expected 6982, card answered ${swText(r.sw)}`);
      }
      ctx.expectSw('READ RECORD EF06 record 1', r.sw, 0x9000);
      if (r.data[0] !== 0x08) ctx.fail(`EF06 record 1 has tag ${hex2(r.data[0] ?? 0)}, expected 08`);
      return 'free read';
    },
  },
  {
    id: 'BAS-12',
    group: 'iReadCardBas',
    kind: 'read',
    zh: '三代卡外部认证（RKSSSE）后可读 EF06',
    en: 'Gen 3: GET CHALLENGE, EXTERNAL AUTHENTICATE with RKSSSE, then EF06 reads',
    ref: '§4 (S3, S4, S6)',
    expect: '9000, 9000, 9000',
    async run(ctx: CheckContext) {
      if (ctx.generation !== 3) ctx.skip('not applicable: EF06 is free on gen 1/2');
      await ctx.selectSsse();
      await ctx.externalAuthenticate();
      const r = await ctx.expect('READ RECORD EF06 record 1', EF06_RECORD_1, 0x9000);
      if (r.data[0] !== 0x08) ctx.fail(`EF06 record 1 has tag ${hex2(r.data[0] ?? 0)}, expected 08`);
    },
  },
  {
    id: 'BAS-13',
    group: 'iReadCardBas',
    kind: 'read',
    zh: 'EF06 各记录标签、长度与格式（二代起含 4E 姓名扩展）',
    en: 'EF06 records by number: tags, lengths, formats (4E name extension as record 3 on 2.0+)',
    ref: '§2 (S1, S2, S6, S7, S8, S11)',
    expect: '9000 each; sex 1/2, nation and birthplace BCD, birth date',
    async run(ctx: CheckContext) {
      await openEf06(ctx);
      await ctx.expect('SELECT EF06', '00A4020002EF06', 0x9000);
      const v = new Map<number, Uint8Array>();
      for (const [i, e] of ef06Layout(ctx.generation).entries()) {
        const r = await ctx.expect(`READ RECORD ${i + 1}`, `00B2${hex2(i + 1)}04${hex2(e.len + 2)}`, 0x9000);
        v.set(e.tag, checkRecord(ctx, `EF06 record ${i + 1}`, r.data, e.tag, e.len));
      }
      const sex = v.get(0x0a)![0];
      if (sex !== 0x31 && sex !== 0x32) ctx.fail(`sex (tag 0A) is ${hex2(sex ?? 0)}, expected '1' or '2'`);
      if (!/^\d{2}$/.test(toHex(v.get(0x0b)!))) ctx.fail('nation (tag 0B) is not 2 BCD digits');
      if (!/^\d{6}$/.test(toHex(v.get(0x0c)!))) ctx.fail('birthplace (tag 0C) is not 6 BCD digits');
      dateField(ctx, 'birth date (tag 0D)', v.get(0x0d)!);
      if (anTrim(v.get(0x09)!).length === 0) ctx.fail('name (tag 09) is empty');
    },
  },
  {
    id: 'BAS-14',
    group: 'iReadCardBas',
    kind: 'read',
    zh: '社会保障号码校验位正确，与出生日期、性别一致',
    en: 'Social security number (tag 08): MOD 11-2 check character, matching birth date and sex',
    ref: '§7',
    expect: 'valid check character (mainland) or country code + 0 + digits',
    async run(ctx: CheckContext) {
      await openEf06(ctx);
      const ssn = gbkDecode(anTrim(await ef06Tag(ctx, 0x08)));
      if (/^[A-Z]/.test(ssn)) {
        const p = checkNonMainlandSsn(ssn);
        if (p) ctx.fail(`SSN: ${p}`);
        return 'non-mainland format';
      }
      const problem = checkMainlandId(ssn);
      if (problem) ctx.fail(`SSN: ${problem}`);
      const parts = mainlandIdParts(ssn);
      const birth = dateField(ctx, 'birth date (tag 0D)', await ef06Tag(ctx, 0x0d));
      if (birth !== parts.birthDate)
        ctx.fail(`birth date (tag 0D) ${birth} differs from the SSN's ${parts.birthDate}`);
      const sex = (await ef06Tag(ctx, 0x0a))[0] === 0x31 ? 'male' : 'female';
      if (sex !== parts.sex) ctx.fail(`sex (tag 0A) ${sex} differs from the SSN's ${parts.sex}`);
      return 'check character valid; birth date and sex match';
    },
  },
  {
    id: 'BAS-15',
    group: 'iReadCardBas',
    kind: 'read',
    zh: 'Le 错误时返回 6Cxx（正确长度），按 xx 重发成功',
    en: 'Wrong Le answers 6Cxx with the right length; re-issued with Le = xx it reads',
    ref: '§3 (S8), §6',
    expect: '6C0B, then 9000',
    async run(ctx: CheckContext) {
      await ctx.selectSsse();
      for (const le of ['05', '20']) {
        const r = await ctx.raw(`00B2072C${le}`);
        if (r.sw === 0x9000 && r.data.length === 11 && ctx.facts.protocol === 'T=0') {
          ctx.skip('the reader corrected Le itself (T=0 transport): the card’s 6Cxx is not visible');
        }
        ctx.expectSw(`READ RECORD with Le=${le}`, r.sw, 0x6c0b);
      }
      const r = await ctx.raw('00B2072C0B');
      ctx.expectSw('READ RECORD with Le=0B', r.sw, 0x9000);
      if (r.data.length !== 11 || r.data[0] !== 0x07)
        ctx.fail('the re-issued READ RECORD did not return record 7');
    },
  },
  {
    id: 'BAS-16',
    group: 'iReadCardBas',
    kind: 'read',
    zh: 'T=0：SELECT 返回 61xx，GET RESPONSE 分段取回 FCI',
    en: 'T=0: SELECT answers 61xx; GET RESPONSE fetches the FCI, in parts with a shorter Le',
    ref: '§1 (S1, S2, S14), §9',
    expect: '61xx; 61yy then 9000',
    async run(ctx: CheckContext) {
      if (ctx.facts.protocol !== 'T=0') ctx.skip('not applicable: the card talks T=1');
      const first = await ctx.raw(SELECT_SSSE);
      if (first.sw === 0x9000)
        ctx.skip('the reader fetched the response itself (T=0 transport): 61xx not visible');
      if (first.sw >> 8 !== 0x61) ctx.fail(`SELECT SSSE: expected 61xx, card answered ${swText(first.sw)}`);
      const total = first.sw & 0xff || 256;
      const full = await ctx.raw(`00C00000${hex2(total & 0xff)}`);
      ctx.expectSw('GET RESPONSE', full.sw, 0x9000);
      if (full.data.length !== total)
        ctx.fail(`GET RESPONSE returned ${full.data.length} bytes, 61xx announced ${total}`);
      if (total < 6) return `61${hex2(total)}, FCI fetched`;
      await ctx.raw(SELECT_SSSE);
      const part = await ctx.raw('00C0000005');
      ctx.expectSw('GET RESPONSE Le=05', part.sw, 0x6100 | ((total - 5) & 0xff));
      const rest = await ctx.raw(`00C00000${hex2(total - 5)}`);
      ctx.expectSw('GET RESPONSE for the rest', rest.sw, 0x9000);
      if (toHex(part.data) + toHex(rest.data) !== toHex(full.data))
        ctx.fail('the FCI fetched in parts differs');
      return `61${hex2(total)}; in parts: 61${hex2(total - 5)}, 9000`;
    },
  },
];
