import { isReaderError } from '../../device/errors.ts';
import { toHex } from '../card/hex.ts';
import { anTrim, cnDigits, encodePinBcd, gbkDecode } from '../card/codec.ts';
import { chipSerialFromAtr } from '../card/atr.ts';
import { findTag } from '../card/tlv.ts';
import { CounterPinKey } from '../card/psam.ts';
import { swHex } from '../card/status-words.ts';
import { checkCardNumber } from '../rules/card-number.ts';
import { checkPan } from '../rules/luhn.ts';
import { checkMainlandId, checkNonMainlandSsn, isValidDate, mainlandIdParts } from '../rules/ssn.ts';
import {
  DEBIT_AID_HEX,
  SELECT_DEBIT,
  SELECT_SSSE,
  parseAtr,
  swText,
  type CheckContext,
  type PinStart,
} from './context.ts';

/**
 * The conformance pack: the documented list of checks (docs/conformance.md has the same
 * table for QA test plans). Checks are grouped under the reader-interface functions that
 * Chinese terminal test plans use (LD/T 6001.5 style: iReadCardBas, iVerifyPIN, iChangePIN,
 * iReloadPIN, iUnblockPIN, iDoDebit, iReadDebitRecord), plus the status words of malformed
 * commands and the card-pull (防拔) checks. References (§n) are to card-reference.md.
 *
 * Every check runs against a real card too: what only a simulated card can do (the test
 * keys of the PSAM and of the bank counter, pulling the card) is skipped with a reason.
 */

export type CheckGroup =
  | 'iReadCardBas'
  | 'iVerifyPIN'
  | 'iChangePIN'
  | 'iReloadPIN'
  | 'iUnblockPIN'
  | 'iDoDebit'
  | 'iReadDebitRecord'
  | 'apdu'
  | 'pull';

/** Which option runs a check: read-only by default, PIN checks, card-pull checks. */
export type CheckKind = 'read' | 'pin' | 'pull';

export interface ConformanceCheck {
  id: string;
  group: CheckGroup;
  kind: CheckKind;
  /** Also needs --pin-checks (a pull check that touches the PIN counter). */
  needsPin?: boolean;
  /** Needs the simulator's test keys; on a real card it is skipped with `realCardReason`. */
  virtualOnly?: string;
  zh: string;
  en: string;
  /** Reference section(s) in card-reference.md, or the standard. */
  ref: string;
  /** The expected answer, as the docs table shows it. */
  expect: string;
  /** Passes by returning (optionally a note), fails or skips by throwing (ctx.fail/ctx.skip). */
  run(ctx: CheckContext): Promise<string | void>;
}

export const GROUPS: Record<CheckGroup, { zh: string; en: string }> = {
  iReadCardBas: { zh: '读基本信息', en: 'read basic card information' },
  iVerifyPIN: { zh: '校验 PIN', en: 'verify the PIN' },
  iChangePIN: { zh: '修改 PIN', en: 'change the PIN' },
  iReloadPIN: { zh: '重装 PIN', en: 'reload the PIN' },
  iUnblockPIN: { zh: '解锁 PIN', en: 'unblock the PIN' },
  iDoDebit: { zh: '金融应用（借记）', en: 'debit application' },
  iReadDebitRecord: { zh: '读金融应用记录', en: 'read the debit application records' },
  apdu: { zh: '异常指令状态字', en: 'status words of malformed commands' },
  pull: { zh: '防拔', en: 'card pulled during a command' },
};

const hex2 = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');

/** EF05 records 1–7: tag, value length, Le used by reader programs (§2). */
const EF05 = [
  { tag: 0x01, len: 16 },
  { tag: 0x02, len: 1 },
  { tag: 0x03, len: 4 },
  { tag: 0x04, len: 12 },
  { tag: 0x05, len: 4 },
  { tag: 0x06, len: 4 },
  { tag: 0x07, len: 9 },
] as const;

/** EF06 records by generation (§2): 4E is record 3 on 2.0+ cards only. */
function ef06Layout(generation: 1 | 2 | 3): { tag: number; len: number }[] {
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
function checkRecord(ctx: CheckContext, what: string, rec: Uint8Array, tag: number, len: number): Uint8Array {
  if (rec.length < 2) ctx.fail(`${what}: ${rec.length} bytes, not a TLV record`);
  if (rec[0] !== tag) ctx.fail(`${what}: tag ${hex2(rec[0]!)}, expected ${hex2(tag)}`);
  if (rec[1] !== len) ctx.fail(`${what}: length ${rec[1]}, expected ${len}`);
  if (rec.length !== len + 2)
    ctx.fail(`${what}: ${rec.length} bytes returned for a ${len}-byte value (Le = len + 2)`);
  return rec.subarray(2);
}

/** EF05 records 1–7 by SFI (P2=2C, Le=00) as a terminal reads them. */
async function ef05BySfi(ctx: CheckContext): Promise<Uint8Array[]> {
  await ctx.selectSsse();
  const out: Uint8Array[] = [];
  for (let n = 1; n <= 7; n++) {
    const r = await ctx.expect(`READ RECORD EF05 record ${n} (SFI)`, `00B2${hex2(n)}2C00`, 0x9000);
    out.push(r.data);
  }
  return out;
}

async function ef05Value(ctx: CheckContext, tag: number): Promise<Uint8Array> {
  const recs = await ef05BySfi(ctx);
  const e = EF05.find((x) => x.tag === tag)!;
  return checkRecord(ctx, `EF05 tag ${hex2(tag)}`, recs[EF05.indexOf(e)]!, e.tag, e.len);
}

const isoOf = (digits: string) => `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}`;

function dateField(ctx: CheckContext, what: string, value: Uint8Array): string {
  const d = cnDigits(value);
  if (!/^\d{8}$/.test(d) || !isValidDate(isoOf(d)))
    ctx.fail(`${what}: '${toHex(value)}' is not a date YYYYMMDD in BCD`);
  return isoOf(d);
}

/** cn: BCD digits, F only as right fill. */
function cnOk(value: Uint8Array): boolean {
  return /^[0-9]*F*$/.test(toHex(value));
}

/** EF06 opened for reading: SSSE selected and, on gen 3, external authentication (virtual only). */
async function openEf06(ctx: CheckContext): Promise<void> {
  await ctx.selectSsse();
  if (ctx.generation === 3) await ctx.externalAuthenticate();
}

async function ef06Tag(ctx: CheckContext, tag: number): Promise<Uint8Array> {
  const r = await ctx.expect(`READ RECORD EF06 tag ${hex2(tag)}`, `00B2${hex2(tag)}3000`, 0x9000);
  const len = ef06Layout(ctx.generation).find((x) => x.tag === tag)!.len;
  return checkRecord(ctx, `EF06 tag ${hex2(tag)}`, r.data, tag, len);
}

function notGen1(ctx: CheckContext, why: string): void {
  if (ctx.generation === 1) ctx.skip(`not applicable: a gen 1 card has no debit application (${why})`);
}

/** The debit application's records of SFI 1–3, as a terminal reading tag 5A does (S8). */
async function debitRecords(ctx: CheckContext): Promise<Uint8Array[]> {
  await ctx.expect('SELECT debit application', SELECT_DEBIT, 0x9000);
  const out: Uint8Array[] = [];
  for (let sfi = 1; sfi <= 3; sfi++) {
    for (let n = 1; n <= 16; n++) {
      const r = await ctx.send(`00B2${hex2(n)}${hex2((sfi << 3) | 4)}00`);
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

const changeCommand = (oldPin: string, newPin: string) => {
  const o = encodePinBcd(oldPin);
  const n = encodePinBcd(newPin);
  return `805E0100${hex2(o.length + 1 + n.length)}${toHex(o)}FF${toHex(n)}`;
};

/** A six-digit PIN to change to and back from: never the card's, never 123456. */
function tempPin(pin: string): string {
  return ['147258', '258369', '369147'].find((p) => p !== pin)!;
}

function counterKeyParts(ctx: CheckContext): Uint8Array {
  const serial = chipSerialFromAtr(ctx.facts.atr);
  if (!serial) ctx.fail('the ATR carries no chip serial for key diversification');
  return serial;
}

async function unblockCommand(ctx: CheckContext): Promise<Uint8Array> {
  const serial = counterKeyParts(ctx);
  const challenge = (await ctx.expect('GET CHALLENGE', '0084000008', 0x9000)).data;
  return new CounterPinKey().unblockCommand(ctx.facts.algorithm, serial, challenge);
}

async function reloadCommand(ctx: CheckContext, pin: string): Promise<Uint8Array> {
  const serial = counterKeyParts(ctx);
  const challenge = (await ctx.expect('GET CHALLENGE', '0084000008', 0x9000)).data;
  return new CounterPinKey().reloadCommand(ctx.facts.algorithm, serial, challenge, pin);
}

function corruptMac(cmd: Uint8Array): Uint8Array {
  const out = new Uint8Array(cmd);
  out[out.length - 1] = out[out.length - 1]! ^ 0x5a;
  return out;
}

/** The right PIN must be accepted (9000, or 6985 for a gen 3 initial PIN). */
async function verifyRight(
  ctx: CheckContext,
  start: PinStart,
  what = 'VERIFY with the right PIN',
): Promise<void> {
  const sw = await ctx.verify(ctx.requirePin());
  if (!ctx.rightPinOk(start, sw)) ctx.fail(`${what}: card answered ${swText(sw)}`);
}

async function expectCounter(ctx: CheckContext, what: string, expected: number | null): Promise<void> {
  if (expected === null) return;
  const left = await ctx.triesLeft();
  if (left !== expected) ctx.fail(`${what}: ${left ?? 'unknown'} tries left, expected ${expected}`);
}

const VIRTUAL_KEYS =
  'needs the bank counter’s PIN key: only SSCard Lab’s virtual cards use the simulator’s test keys';

// ---------------------------------------------------------------------------------------
// Card pulls

async function cardGone(ctx: CheckContext): Promise<boolean> {
  for (let i = 0; i < 80; i++) {
    if (!ctx.reader.cardPresent()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

/**
 * Runs `action` with a pull armed, requires the reader's card-removed error and an empty
 * reader, then puts the card back and reconnects (always, so the next check has a card).
 */
async function pullDuring(
  ctx: CheckContext,
  what: string,
  match: (cmd: Uint8Array) => boolean,
  when: 'before' | 'after',
  action: () => Promise<unknown>,
): Promise<void> {
  const pull = ctx.pull;
  if (!pull) ctx.skip('needs a card this process can pull');
  pull.arm(match, when);
  let error: unknown = null;
  let answered = false;
  try {
    await action();
    answered = true;
  } catch (e) {
    error = e;
  }
  const fired = pull.fired();
  try {
    if (!fired) {
      if (error) throw error;
      ctx.fail(`${what}: the pull did not happen`);
    }
    if (answered) ctx.fail(`${what}: an answer came back although the card left during the command`);
    if (!isReaderError(error, 'CARD_REMOVED')) {
      ctx.fail(`${what}: the reader reported ${String(error)} instead of card removed`);
    }
    if (!(await cardGone(ctx))) ctx.fail(`${what}: the reader still reports a card after the pull`);
  } finally {
    if (fired) {
      await pull.reinsert();
      await ctx.reader.connect();
    }
  }
}

const ins = (i: number) => (c: Uint8Array) => c[1] === i;

// ---------------------------------------------------------------------------------------

export const CHECKS: readonly ConformanceCheck[] = [
  // ---- iReadCardBas: what real reader programs do (§1–§5) -------------------------------
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
      const v = findTag(fci, 0x9f0c);
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
      const r = await ctx.send('00B2013414');
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
      const r = await ctx.expect('READ RECORD EF06 record 1', '00B2013414', 0x9000);
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

  // ---- iVerifyPIN ------------------------------------------------------------------------
  {
    id: 'VER-01',
    group: 'iVerifyPIN',
    kind: 'pin',
    zh: '正确 PIN 校验通过（三代卡初始密码返回 6985）',
    en: 'VERIFY with the right PIN (00 20 00 00 03 + BCD) succeeds; gen 3 initial PIN answers 6985',
    ref: '§5 (S4, S5, S9), R1.4',
    expect: '9000 (6985 for a gen 3 unchanged initial PIN)',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart(false);
      const tries = s.limit === null ? '' : `; counter ${s.limit} tries`;
      return (s.initial ? '6985: initial PIN refused for transactions' : '9000') + tries;
    },
  },
  {
    id: 'VER-02',
    group: 'iVerifyPIN',
    kind: 'pin',
    zh: '错误 PIN 返回 63Cx，剩余次数递减',
    en: 'A wrong PIN answers 63Cx, x = tries left, one less each time; the right PIN then restores it',
    ref: '§5 (S3/S4, interface spec -51)',
    expect: '63C(n-1), 63C(n-2), then 9000',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      await ctx.selectSsse();
      const wrong = ctx.wrongPin();
      const left = ctx.expectTries(
        'first wrong PIN',
        await ctx.verify(wrong),
        s.limit === null ? null : s.limit - 1,
      );
      if (left >= 2) ctx.expectTries('second wrong PIN', await ctx.verify(wrong), left - 1);
      await verifyRight(ctx, s);
      return left >= 2 ? `63C${left}, 63C${left - 1}` : `63C${left}`;
    },
  },
  {
    id: 'VER-03',
    group: 'iVerifyPIN',
    kind: 'pin',
    zh: '正确 PIN 使剩余次数复位',
    en: 'The right PIN resets the try counter',
    ref: '§5',
    expect: '63C(n-1), 9000, 63C(n-1) again',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      await ctx.selectSsse();
      const wrong = ctx.wrongPin();
      const left = ctx.expectTries(
        'wrong PIN',
        await ctx.verify(wrong),
        s.limit === null ? null : s.limit - 1,
      );
      await verifyRight(ctx, s);
      await ctx.selectSsse();
      ctx.expectTries('wrong PIN after the right one', await ctx.verify(wrong), left);
      await verifyRight(ctx, s);
    },
  },
  {
    id: 'VER-04',
    group: 'iVerifyPIN',
    kind: 'pin',
    zh: '无数据 VERIFY 返回剩余次数且不计次',
    en: 'VERIFY without data (00 20 00 00) reports the tries left and does not count',
    ref: 'ISO 7816-4 §11.5.6',
    expect: '63Cn twice',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart(false);
      if (s.limit === null) ctx.skip('the card does not report its counter without a PIN');
      await ctx.selectSsse();
      ctx.expectTries('VERIFY without data', (await ctx.send('00200000')).sw, s.limit);
      ctx.expectTries('VERIFY without data, again', (await ctx.send('00200000')).sw, s.limit);
    },
  },
  {
    id: 'VER-05',
    group: 'iVerifyPIN',
    kind: 'pin',
    zh: '三代卡未修改的初始密码 123456 返回 6985，不计次',
    en: 'Gen 3: the unchanged initial PIN 123456 answers 6985 and costs no try',
    ref: '§5 (S16, interface spec -35), R1.4',
    expect: '6985, counter unchanged',
    async run(ctx: CheckContext) {
      const pin = ctx.requirePin();
      if (ctx.generation !== 3) ctx.skip('not applicable: refusing the initial PIN is a gen 3 rule');
      if (pin !== '123456')
        ctx.skip('the card’s PIN is not the initial 123456 (verifying 123456 would cost a try)');
      const s = await ctx.pinStart(false);
      if (!s.initial) ctx.fail('the initial PIN 123456 was accepted with 9000; expected 6985');
      await ctx.selectSsse();
      ctx.expectSw('VERIFY 123456', await ctx.verify(pin), 0x6985);
      await expectCounter(ctx, 'after 6985', s.limit);
    },
  },
  {
    id: 'VER-06',
    group: 'iVerifyPIN',
    kind: 'pin',
    zh: 'PIN 数据格式错误（非 BCD）返回 6A80',
    en: 'A malformed PIN block (a non-BCD nibble) answers 6A80 and costs no try',
    ref: '§6, card-emulator.md',
    expect: '6A80, counter unchanged',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      await ctx.selectSsse();
      ctx.expectSw('VERIFY 12 3A 56', (await ctx.send('0020000003123A56')).sw, 0x6a80);
      await expectCounter(ctx, 'after 6A80', s.limit);
    },
  },
  {
    id: 'VER-07',
    group: 'iVerifyPIN',
    kind: 'pin',
    virtualOnly: 'not tested: it would block the PIN of a real card, which only the bank counter can release',
    zh: 'PIN 锁定后返回 6983（正确 PIN 亦然），柜面解锁后恢复',
    en: 'Once the tries are used up the PIN is blocked: 6983, even for the right PIN; the counter’s unblock restores it',
    ref: '§5 (S3/S4, interface spec -52)',
    expect: '63C(n-1) … 63C0, 6983, 6983; unblock 9000; 9000',
    async run(ctx: CheckContext) {
      const pin = ctx.requirePin();
      await ctx.selectSsse();
      const found = await ctx.verify(pin);
      if (found === 0x6983) return 'blocked as found: the right PIN answers 6983; left blocked';
      if ((found & 0xfff0) === 0x63c0) {
        ctx.shared.pinStop = `the PIN given is wrong (the card answered ${swHex(found)}): PIN checks stopped so that the card is not blocked`;
        ctx.fail(ctx.shared.pinStop);
      }
      const s = await ctx.pinStart();
      const limit = s.limit;
      if (limit === null) ctx.fail('the counter is unknown: VERIFY without data did not answer 63Cx');
      await ctx.selectSsse();
      const wrong = ctx.wrongPin();
      for (let left = limit - 1; left >= 0; left--) {
        ctx.expectTries(`wrong PIN (${limit - left})`, await ctx.verify(wrong), left);
      }
      ctx.expectSw('wrong PIN once blocked', await ctx.verify(wrong), 0x6983);
      ctx.expectSw('right PIN once blocked', await ctx.verify(pin), 0x6983);
      await ctx.expect('PIN UNBLOCK (bank counter key)', await unblockCommand(ctx), 0x9000);
      await verifyRight(ctx, s, 'VERIFY after unblock');
    },
  },

  // ---- iChangePIN ------------------------------------------------------------------------
  {
    id: 'CHG-01',
    group: 'iChangePIN',
    kind: 'pin',
    zh: '原 PIN 错误时修改失败，返回 63Cx 并计次',
    en: 'CHANGE PIN (80 5E 01 00, old ‖ FF ‖ new) with a wrong old PIN: 63Cx, counted',
    ref: '§5 (S4, S5)',
    expect: '63C(n-1), PIN unchanged',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      const pin = ctx.requirePin();
      await ctx.selectSsse();
      const r = await ctx.send(changeCommand(ctx.wrongPin(), tempPin(pin)));
      if (r.sw === 0x9000) {
        await ctx.send(changeCommand(tempPin(pin), pin));
        ctx.fail('CHANGE PIN with a wrong old PIN answered 9000 (changed back)');
      }
      ctx.expectTries('CHANGE PIN with a wrong old PIN', r.sw, s.limit === null ? null : s.limit - 1);
      await verifyRight(ctx, s, 'VERIFY with the unchanged PIN');
    },
  },
  {
    id: 'CHG-02',
    group: 'iChangePIN',
    kind: 'pin',
    zh: '不能改为初始密码 123456（6A80）',
    en: 'CHANGE PIN to the initial PIN 123456 is refused (6A80, interface spec -36), no try counted',
    ref: '§5 (interface spec -36)',
    expect: '6A80, counter and PIN unchanged',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart(false);
      const pin = ctx.requirePin();
      await ctx.selectSsse();
      const r = await ctx.send(changeCommand(pin, '123456'));
      if (r.sw === 0x9000 && pin !== '123456') {
        await ctx.send(changeCommand('123456', pin));
        ctx.fail('CHANGE PIN to 123456 answered 9000 (changed back)');
      }
      ctx.expectSw('CHANGE PIN to 123456', r.sw, 0x6a80);
      await expectCounter(ctx, 'after 6A80', s.limit);
      await verifyRight(ctx, s, 'VERIFY with the unchanged PIN');
    },
  },
  {
    id: 'CHG-03',
    group: 'iChangePIN',
    kind: 'pin',
    zh: '修改 PIN 成功，新 PIN 生效，再改回原 PIN',
    en: 'CHANGE PIN old → new succeeds and the new PIN verifies; changed back, the old PIN verifies again',
    ref: '§5 (S4, S5)',
    expect: '9000, 9000, 9000, 9000',
    async run(ctx: CheckContext) {
      const pin = ctx.requirePin();
      if (pin === '123456')
        ctx.skip('the initial PIN 123456 cannot be set again by CHANGE PIN, so it would stay changed');
      if (!/^\d{6}$/.test(pin)) ctx.skip('the PIN is not six digits: CHANGE PIN could not set it back');
      const s = await ctx.pinStart(false);
      const temp = tempPin(pin);
      await ctx.selectSsse();
      await ctx.expect('CHANGE PIN old → new', changeCommand(pin, temp), 0x9000);
      let restored = false;
      try {
        ctx.expectSw('VERIFY the new PIN', await ctx.verify(temp), 0x9000);
        await ctx.expect('CHANGE PIN new → old', changeCommand(temp, pin), 0x9000);
        restored = true;
        await verifyRight(ctx, s, 'VERIFY the old PIN again');
      } finally {
        if (!restored) {
          const back = await ctx.send(changeCommand(temp, pin));
          if (back.sw !== 0x9000) {
            ctx.shared.pinStop = `the PIN could not be changed back: it may now be ${temp}`;
            ctx.fail(ctx.shared.pinStop);
          }
        }
      }
    },
  },

  // ---- iReloadPIN (bank counter key: virtual cards only) ----------------------------------
  {
    id: 'RLD-01',
    group: 'iReloadPIN',
    kind: 'pin',
    virtualOnly: VIRTUAL_KEYS,
    zh: '重装 PIN：无随机数 6985，MAC 错误 6988，PIN 不变',
    en: 'RELOAD PIN (84 5E) without a fresh challenge: 6985; with a wrong MAC: 6988; PIN unchanged',
    ref: '§5 (S3, S5, S13)',
    expect: '6985, 6988, counter unchanged',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      const pin = ctx.requirePin();
      await ctx.selectSsse();
      const cmd = await reloadCommand(ctx, pin);
      await ctx.selectSsse(); // selecting the DF drops the challenge
      await ctx.expect('RELOAD PIN without a challenge', cmd, 0x6985);
      await ctx.expect('RELOAD PIN with a wrong MAC', corruptMac(await reloadCommand(ctx, pin)), 0x6988);
      await expectCounter(ctx, 'after the refused reloads', s.limit);
      await verifyRight(ctx, s, 'VERIFY with the unchanged PIN');
    },
  },
  {
    id: 'RLD-02',
    group: 'iReloadPIN',
    kind: 'pin',
    virtualOnly: VIRTUAL_KEYS,
    zh: '柜面密钥重装 PIN 成功，计数器复位',
    en: 'RELOAD PIN with the counter’s key (same PIN) succeeds and resets the counter',
    ref: '§5 (S3, S5, S13)',
    expect: '63C(n-1), 9000, counter n, 9000',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      const pin = ctx.requirePin();
      await ctx.selectSsse();
      ctx.expectTries('wrong PIN', await ctx.verify(ctx.wrongPin()), s.limit === null ? null : s.limit - 1);
      await ctx.expect('RELOAD PIN', await reloadCommand(ctx, pin), 0x9000);
      await expectCounter(ctx, 'after RELOAD', s.limit);
      await verifyRight(ctx, s, 'VERIFY the reloaded PIN');
    },
  },

  // ---- iUnblockPIN (bank counter key: virtual cards only) ---------------------------------
  {
    id: 'UNB-01',
    group: 'iUnblockPIN',
    kind: 'pin',
    virtualOnly: VIRTUAL_KEYS,
    zh: '解锁 PIN：无随机数 6985，MAC 错误 6988，计数器不变',
    en: 'PIN UNBLOCK (84 24) without a fresh challenge: 6985; with a wrong MAC: 6988; counter unchanged',
    ref: '§5 (S4)',
    expect: '6985, 6988',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      await ctx.selectSsse();
      ctx.expectTries('wrong PIN', await ctx.verify(ctx.wrongPin()), s.limit === null ? null : s.limit - 1);
      const cmd = await unblockCommand(ctx);
      await ctx.selectSsse();
      await ctx.expect('PIN UNBLOCK without a challenge', cmd, 0x6985);
      await ctx.expect('PIN UNBLOCK with a wrong MAC', corruptMac(await unblockCommand(ctx)), 0x6988);
      await expectCounter(ctx, 'after the refused unblocks', s.limit === null ? null : s.limit - 1);
      await verifyRight(ctx, s);
    },
  },
  {
    id: 'UNB-02',
    group: 'iUnblockPIN',
    kind: 'pin',
    virtualOnly: VIRTUAL_KEYS,
    zh: '柜面密钥解锁：计数器复位，PIN 不变',
    en: 'PIN UNBLOCK with the counter’s key resets the counter and keeps the PIN',
    ref: '§5 (S4)',
    expect: '63C(n-1), 9000, counter n, 9000',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      await ctx.selectSsse();
      ctx.expectTries('wrong PIN', await ctx.verify(ctx.wrongPin()), s.limit === null ? null : s.limit - 1);
      await ctx.expect('PIN UNBLOCK', await unblockCommand(ctx), 0x9000);
      await expectCounter(ctx, 'after UNBLOCK', s.limit);
      await verifyRight(ctx, s, 'VERIFY the unchanged PIN');
    },
  },

  // ---- iDoDebit / iReadDebitRecord: the UnionPay debit application --------------------------
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
      const r = await ctx.expect('GET PROCESSING OPTIONS', '80A8000002830000', 0x9000);
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

  // ---- status words of malformed commands (§6) ---------------------------------------------
  {
    id: 'APDU-01',
    group: 'apdu',
    kind: 'read',
    zh: '数据长度错误返回 6700',
    en: 'Wrong length: SELECT by FID with 3 data bytes',
    ref: '§6, ISO 7816-4',
    expect: '6700',
    async run(ctx: CheckContext) {
      await ctx.selectSsse();
      await ctx.expect('00 A4 02 00 03 EF 05 00', '00A4020003EF0500', 0x6700);
    },
  },
  {
    id: 'APDU-02',
    group: 'apdu',
    kind: 'read',
    zh: '不支持的指令（INS）返回 6D00',
    en: 'Instruction not supported (INS 7E)',
    ref: '§6, ISO 7816-4',
    expect: '6D00',
    async run(ctx: CheckContext) {
      await ctx.selectSsse();
      await ctx.expect('00 7E 00 00', '007E0000', 0x6d00);
    },
  },
  {
    id: 'APDU-03',
    group: 'apdu',
    kind: 'read',
    zh: '不支持的类别（CLA）返回 6E00',
    en: 'Class not supported (CLA A0)',
    ref: '§6, ISO 7816-4',
    expect: '6E00',
    async run(ctx: CheckContext) {
      await ctx.selectSsse();
      await ctx.expect('A0 B2 07 2C 0B', 'A0B2072C0B', 0x6e00);
    },
  },
  {
    id: 'APDU-04',
    group: 'apdu',
    kind: 'read',
    zh: 'P1/P2 错误返回 6A86',
    en: 'Incorrect P1/P2: READ RECORD with the reserved P2 mode 111',
    ref: '§6, ISO 7816-4',
    expect: '6A86',
    async run(ctx: CheckContext) {
      await ctx.selectSsse();
      await ctx.expect('00 B2 01 2F 00', '00B2012F00', 0x6a86);
    },
  },
  {
    id: 'APDU-05',
    group: 'apdu',
    kind: 'read',
    zh: '记录不存在返回 6A83',
    en: 'Record not found: EF05 record 8',
    ref: '§6',
    expect: '6A83',
    async run(ctx: CheckContext) {
      await ctx.selectSsse();
      await ctx.expect('00 B2 08 2C 00', '00B2082C00', 0x6a83);
    },
  },
  {
    id: 'APDU-06',
    group: 'apdu',
    kind: 'read',
    zh: '应用不存在返回 6A82',
    en: 'File or application not found: SELECT an unknown AID',
    ref: '§6 (S14)',
    expect: '6A82',
    async run(ctx: CheckContext) {
      await ctx.expect('SELECT F0535343414C4201', '00A4040008F0535343414C4201', 0x6a82);
    },
  },
  {
    id: 'APDU-07',
    group: 'apdu',
    kind: 'read',
    zh: '未外部认证读 EF07 返回 6982',
    en: 'Security status not satisfied: READ BINARY EF07 before external authentication',
    ref: '§1 (S5), §6',
    expect: '6982',
    async run(ctx: CheckContext) {
      await ctx.selectSsse();
      await ctx.expect('00 B0 87 00 10', '00B0870010', 0x6982);
    },
  },

  // ---- card pulls (防拔): virtual cards under this process's control -----------------------
  {
    id: 'PULL-01',
    group: 'pull',
    kind: 'pull',
    zh: '读记录时拔卡：读卡器报告卡已拔出，重插后数据完好',
    en: 'Card pulled during READ RECORD: the reader reports card removed; reinserted, EF05 reads the same',
    ref: '§9, docs/pcsc.md',
    expect: 'CARD_REMOVED; then EF05 identical',
    async run(ctx: CheckContext) {
      const before = (await ef05BySfi(ctx)).map(toHex);
      await ctx.selectSsse();
      await pullDuring(ctx, 'READ RECORD', ins(0xb2), 'after', () => ctx.raw('00B2072C0B'));
      const after = (await ef05BySfi(ctx)).map(toHex);
      if (after.join() !== before.join()) ctx.fail('EF05 differs after the card was reinserted');
    },
  },
  {
    id: 'PULL-02',
    group: 'pull',
    kind: 'pull',
    zh: '选择应用应答未取回时拔卡：重插后无残留应答，FCI 一致',
    en: 'Card pulled before the FCI was fetched (T=0 GET RESPONSE, T=1 SELECT): no stale answer after reinsertion',
    ref: '§1, §9',
    expect: 'CARD_REMOVED; GET RESPONSE ≠ 9000; SELECT SSSE same FCI',
    async run(ctx: CheckContext) {
      const fci = toHex(await ctx.selectSsse());
      if (ctx.facts.protocol === 'T=0') {
        const first = await ctx.raw(SELECT_SSSE);
        if (first.sw >> 8 !== 0x61) ctx.skip('the reader fetched the FCI itself (no 61xx visible)');
        await pullDuring(ctx, 'GET RESPONSE', ins(0xc0), 'before', () =>
          ctx.raw(`00C00000${hex2(first.sw & 0xff)}`),
        );
      } else {
        await pullDuring(ctx, 'SELECT SSSE', ins(0xa4), 'after', () => ctx.raw(SELECT_SSSE));
      }
      const stale = await ctx.raw('00C0000000');
      if (stale.sw === 0x9000)
        ctx.fail('GET RESPONSE after reinsertion returned data left from before the pull');
      if (toHex(await ctx.selectSsse()) !== fci) ctx.fail('the FCI differs after reinsertion');
    },
  },
  {
    id: 'PULL-03',
    group: 'pull',
    kind: 'pull',
    zh: '外部认证时拔卡：重插后认证状态清除，密钥计数器未消耗',
    en: 'Gen 3: card pulled during EXTERNAL AUTHENTICATE: after reinsertion EF06 is closed again and a new authentication works',
    ref: '§4, §9',
    expect: 'CARD_REMOVED; 6982; 9000',
    async run(ctx: CheckContext) {
      if (ctx.generation !== 3) ctx.skip('not applicable: no external authentication before EF06 on gen 1/2');
      if (!ctx.facts.simulated) ctx.skip('needs the simulator’s PSAM keys');
      await ctx.selectSsse();
      await pullDuring(ctx, 'EXTERNAL AUTHENTICATE', ins(0x82), 'after', () => ctx.externalAuthenticate());
      await ctx.selectSsse();
      await ctx.expect('READ RECORD EF06 after reinsertion', '00B2013414', 0x6982);
      await ctx.externalAuthenticate();
      await ctx.expect('READ RECORD EF06 after a new authentication', '00B2013414', 0x9000);
    },
  },
  {
    id: 'PULL-04',
    group: 'pull',
    kind: 'pull',
    needsPin: true,
    zh: '错误 PIN 送达前拔卡：计数器不变',
    en: 'Card pulled before it processed a wrong VERIFY: the try counter is unchanged',
    ref: '§5, §9',
    expect: 'CARD_REMOVED; counter n',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      if (s.limit === null) ctx.skip('the card does not report its counter without a PIN');
      await ctx.selectSsse();
      await pullDuring(ctx, 'VERIFY', ins(0x20), 'before', () => ctx.verify(ctx.wrongPin()));
      await expectCounter(ctx, 'after reinsertion', s.limit);
    },
  },
  {
    id: 'PULL-05',
    group: 'pull',
    kind: 'pull',
    needsPin: true,
    zh: '错误 PIN 处理后、应答前拔卡：计数器正确减一',
    en: 'Card pulled after it processed a wrong VERIFY, before the answer: the counter is one less, exactly',
    ref: '§5, §9, card-emulator.md (persistence)',
    expect: 'CARD_REMOVED; counter n-1; right PIN 9000',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      if (s.limit === null) ctx.skip('the card does not report its counter without a PIN');
      await ctx.selectSsse();
      await pullDuring(ctx, 'VERIFY', ins(0x20), 'after', () => ctx.verify(ctx.wrongPin()));
      await expectCounter(ctx, 'after reinsertion', s.limit - 1);
      await ctx.selectSsse();
      await verifyRight(ctx, s);
    },
  },
  {
    id: 'PULL-06',
    group: 'pull',
    kind: 'pull',
    needsPin: true,
    zh: '修改 PIN 时拔卡：无半写状态，新旧 PIN 恰一个有效',
    en: 'Card pulled during CHANGE PIN: no half-written state — exactly one of old and new PIN verifies',
    ref: '§5, §9',
    expect: 'CARD_REMOVED; old or new PIN 9000',
    async run(ctx: CheckContext) {
      const pin = ctx.requirePin();
      if (pin === '123456') ctx.skip('the initial PIN 123456 cannot be set again by CHANGE PIN');
      if (!/^\d{6}$/.test(pin)) ctx.skip('the PIN is not six digits: CHANGE PIN could not set it back');
      const s = await ctx.pinStart();
      const temp = tempPin(pin);
      await ctx.selectSsse();
      await pullDuring(ctx, 'CHANGE PIN', ins(0x5e), 'after', () => ctx.send(changeCommand(pin, temp)));
      await ctx.selectSsse();
      const old = await ctx.verify(pin);
      if (old === 0x9000) return 'the change was not applied: the old PIN verifies';
      if ((old & 0xfff0) !== 0x63c0) ctx.fail(`VERIFY the old PIN: ${swText(old)}`);
      const now = await ctx.verify(temp);
      if (now !== 0x9000) {
        ctx.shared.pinStop = 'neither the old nor the new PIN verifies after the pull: PIN checks stopped';
        ctx.fail(`${ctx.shared.pinStop} (${swHex(now)})`);
      }
      await ctx.expect('CHANGE PIN back', changeCommand(temp, pin), 0x9000);
      await verifyRight(ctx, s);
      return 'the change was applied whole: the new PIN verifies (changed back)';
    },
  },
];

/** The check list by id. */
export function checkById(id: string): ConformanceCheck | undefined {
  return CHECKS.find((c) => c.id === id);
}
