import { fromHex } from '../../card/hex.ts';
import { swHex } from '../../card/status-words.ts';
import { readRecord, selectByName } from '../../terminal/card-commands.ts';
import type { CheckContext } from '../context.ts';
import type { ConformanceCheck } from './check-model.ts';

/**
 * Status words of malformed commands (§6), as a table: each row is one command and the
 * status word the card must answer, so adding a case is adding a row. Most commands are
 * deliberately malformed and therefore spelt as bytes; the well-formed ones come from the
 * terminal's builders.
 */

interface ApduRow {
  id: string;
  zh: string;
  en: string;
  ref: string;
  /** SELECT SSSE first (the command is judged inside the social-security application). */
  inSsse: boolean;
  /** How a failure names the command. */
  what: string;
  command: Uint8Array;
  sw: number;
}

const ROWS: readonly ApduRow[] = [
  {
    id: 'APDU-01',
    zh: '数据长度错误返回 6700',
    en: 'Wrong length: SELECT by FID with 3 data bytes',
    ref: '§6, ISO 7816-4',
    inSsse: true,
    what: '00 A4 02 00 03 EF 05 00',
    command: fromHex('00A4020003EF0500'),
    sw: 0x6700,
  },
  {
    id: 'APDU-02',
    zh: '不支持的指令（INS）返回 6D00',
    en: 'Instruction not supported (INS 7E)',
    ref: '§6, ISO 7816-4',
    inSsse: true,
    what: '00 7E 00 00',
    command: fromHex('007E0000'),
    sw: 0x6d00,
  },
  {
    id: 'APDU-03',
    zh: '不支持的类别（CLA）返回 6E00',
    en: 'Class not supported (CLA A0)',
    ref: '§6, ISO 7816-4',
    inSsse: true,
    what: 'A0 B2 07 2C 0B',
    command: fromHex('A0B2072C0B'),
    sw: 0x6e00,
  },
  {
    id: 'APDU-04',
    zh: 'P1/P2 错误返回 6A86',
    en: 'Incorrect P1/P2: READ RECORD with the reserved P2 mode 111',
    ref: '§6, ISO 7816-4',
    inSsse: true,
    what: '00 B2 01 2F 00',
    command: fromHex('00B2012F00'),
    sw: 0x6a86,
  },
  {
    id: 'APDU-05',
    zh: '记录不存在返回 6A83',
    en: 'Record not found: EF05 record 8',
    ref: '§6',
    inSsse: true,
    what: '00 B2 08 2C 00',
    command: readRecord(8, { sfi: 5 }),
    sw: 0x6a83,
  },
  {
    id: 'APDU-06',
    zh: '应用不存在返回 6A82',
    en: 'File or application not found: SELECT an unknown AID',
    ref: '§6 (S14)',
    inSsse: false,
    what: 'SELECT F0535343414C4201',
    command: selectByName(fromHex('F0535343414C4201')),
    sw: 0x6a82,
  },
  {
    id: 'APDU-07',
    zh: '未外部认证读 EF07 返回 6982',
    en: 'Security status not satisfied: READ BINARY EF07 before external authentication',
    ref: '§1 (S5), §6',
    inSsse: true,
    what: '00 B0 87 00 10',
    command: fromHex('00B0870010'),
    sw: 0x6982,
  },
];

/** A row as a check: (SELECT SSSE,) send the command, require the status word. */
function apduCheck(row: ApduRow): ConformanceCheck {
  return {
    id: row.id,
    group: 'apdu',
    kind: 'read',
    zh: row.zh,
    en: row.en,
    ref: row.ref,
    expect: swHex(row.sw),
    async run(ctx: CheckContext) {
      if (row.inSsse) await ctx.selectSsse();
      await ctx.expect(row.what, row.command, row.sw);
    },
  };
}

export const APDU_CHECKS: readonly ConformanceCheck[] = ROWS.map(apduCheck);
