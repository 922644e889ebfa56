/**
 * R3.2 card order batch numbers (订单批次号).
 *
 * The handbook (卡别卡号): "批次号规则：机构号(6位)+日期(6位)+银行卡代码(8位，含4位卡别)+卡商(2位)+
 * 7位顺序", example `CN44180024111322258919110000010`. The rule does not mention the `CN`, but
 * the example starts with it, so a batch number is `CN` followed by 6+6+8+2+7 = 29 digits,
 * 31 characters in all. The example fits those lengths exactly:
 *
 *   CN | 441800 | 241113     | 22258919 | 11     | 0000010
 *      | 机构号 | 2024-11-13 | 银行卡代码 | 卡商   | 顺序 10
 *
 * Where the 4-digit card type (卡别 89XX, R3.1) sits inside the 8-digit bank card code is not
 * stated. In the example the only "89" anywhere in the number is at offset 4 of the bank card
 * code, giving card type 8919 as its last four digits (the leading 2225 is left unexplained by
 * the handbook). So the card type is read from the last four digits; if those are not 89XX,
 * the first 89XX found elsewhere in the code is accepted, since the handbook only says the
 * code "contains" it. A bank card code with no 89XX at all is rejected.
 *
 * The date is YYMMDD; card orders are all from this century, so YY means 20YY.
 */
import { isValidDate } from './ssn.ts';
import { checkCardType } from './bank-card.ts';
import { ruleReason, type RuleReason } from './reason.ts';

export interface BatchNumberParts {
  /** 机构号: the ordering bank institution, 6 digits. */
  institution: string;
  /** 日期: the order date, YYYY-MM-DD (written YYMMDD in the number). */
  date: string;
  /** 银行卡代码: 8 digits that contain the card type. */
  bankCardCode: string;
  /** 卡别: the 89XX card type found inside the bank card code. */
  cardType: string;
  /** 卡商: the card vendor, 2 digits. */
  vendor: string;
  /** 顺序: the order's sequence number, written as 7 zero-padded digits. */
  sequence: number;
}

export type BatchNumberPart =
  'prefix' | 'length' | 'institution' | 'date' | 'bankCardCode' | 'cardType' | 'vendor' | 'sequence';

export interface BatchNumberReason extends RuleReason {
  part: BatchNumberPart;
}

export type BatchNumberParse =
  { ok: true; parts: BatchNumberParts } | { ok: false; reason: BatchNumberReason };

export type BatchNumberFormat = { ok: true; batchNumber: string } | { ok: false; reason: BatchNumberReason };

const PREFIX = 'CN';

type DigitPart = 'institution' | 'date' | 'bankCardCode' | 'vendor' | 'sequence';

/** The digit fields in the order they appear, with the names a clerk and a log reader use. */
const FIELDS: readonly { part: DigitPart; length: number; zh: string; en: string }[] = [
  { part: 'institution', length: 6, zh: '机构号', en: 'institution code' },
  { part: 'date', length: 6, zh: '日期', en: 'date' },
  { part: 'bankCardCode', length: 8, zh: '银行卡代码', en: 'bank card code' },
  { part: 'vendor', length: 2, zh: '卡商', en: 'card vendor code' },
  { part: 'sequence', length: 7, zh: '顺序号', en: 'sequence number' },
];

/** Each field with its offset in the full number (after the CN). */
const LAYOUT = FIELDS.map((f, i) => ({
  ...f,
  start: PREFIX.length + FIELDS.slice(0, i).reduce((n, g) => n + g.length, 0),
}));

export const BATCH_NUMBER_LENGTH = PREFIX.length + FIELDS.reduce((n, f) => n + f.length, 0); // 31

const fail = (part: BatchNumberPart, zh: string, en: string): { ok: false; reason: BatchNumberReason } => ({
  ok: false,
  reason: { ...ruleReason('R3.2', zh, en), part },
});

function layoutOf(part: DigitPart): { length: number; start: number; zh: string; en: string } {
  const field = LAYOUT.find((f) => f.part === part);
  if (!field) throw new Error(`no batch number field '${part}'`);
  return field;
}

/** The reason a field is not exactly its number of digits, or null. */
function checkDigits(part: DigitPart, value: string): { ok: false; reason: BatchNumberReason } | null {
  const { length, zh, en } = layoutOf(part);
  if (new RegExp(`^[0-9]{${length}}$`).test(value)) return null;
  return fail(
    part,
    `${zh}应为 ${length} 位数字，“${value}”不符合`,
    `The ${en} must be ${length} digits, not '${value}'`,
  );
}

/**
 * The 89XX card type inside an 8-digit bank card code: the last four digits when they are
 * 89XX (where the handbook's example has it), otherwise the first 89XX anywhere in the code.
 */
export function cardTypeInBankCardCode(bankCardCode: string): string | null {
  const tail = bankCardCode.slice(-4);
  if (checkCardType(tail).ok) return tail;
  return /89[0-9]{2}/.exec(bankCardCode)?.[0] ?? null;
}

function noCardType(bankCardCode: string): { ok: false; reason: BatchNumberReason } {
  return fail(
    'cardType',
    `银行卡代码“${bankCardCode}”中没有 89XX 格式的卡别`,
    `The bank card code '${bankCardCode}' contains no card type of the form 89XX`,
  );
}

function badDate(value: string, iso: string): { ok: false; reason: BatchNumberReason } {
  return fail('date', `日期“${value}”不是有效日期`, `The date '${value}' is not a calendar date (${iso})`);
}

/** Splits and checks a batch number; every "no" names the part that is wrong. */
export function parseBatchNumber(text: string): BatchNumberParse {
  const value = text.trim(); // pasted numbers often carry a stray space or newline
  if (!value.startsWith(PREFIX)) {
    return fail('prefix', '订单批次号应以“CN”开头', `A batch number must start with 'CN'`);
  }
  if (value.length !== BATCH_NUMBER_LENGTH) {
    return fail(
      'length',
      `订单批次号应为 ${BATCH_NUMBER_LENGTH} 位（CN + ${BATCH_NUMBER_LENGTH - PREFIX.length} 位数字），当前为 ${value.length} 位`,
      `A batch number has ${BATCH_NUMBER_LENGTH} characters (CN + ${BATCH_NUMBER_LENGTH - PREFIX.length} digits), not ${value.length}`,
    );
  }
  for (const { part, start, length } of LAYOUT) {
    const bad = checkDigits(part, value.slice(start, start + length));
    if (bad) return bad;
  }
  const field = (part: DigitPart): string => {
    const { start, length } = layoutOf(part);
    return value.slice(start, start + length);
  };
  const yymmdd = field('date');
  const bankCardCode = field('bankCardCode');

  const date = `20${yymmdd.slice(0, 2)}-${yymmdd.slice(2, 4)}-${yymmdd.slice(4, 6)}`;
  if (!isValidDate(date)) return badDate(yymmdd, date);

  const cardType = cardTypeInBankCardCode(bankCardCode);
  if (cardType === null) return noCardType(bankCardCode);

  return {
    ok: true,
    parts: {
      institution: field('institution'),
      date,
      bankCardCode,
      cardType,
      vendor: field('vendor'),
      sequence: Number(field('sequence')),
    },
  };
}

/**
 * Builds a batch number from its parts, checking each one. `cardType` may be left out; when it
 * is given it must be the card type the bank card code carries, so that what was formatted
 * parses back to the same parts.
 */
export function formatBatchNumber(
  parts: Omit<BatchNumberParts, 'cardType'> & { cardType?: string },
): BatchNumberFormat {
  const { institution, date, bankCardCode, vendor, sequence } = parts;

  const badInstitution = checkDigits('institution', institution);
  if (badInstitution) return badInstitution;

  const m = /^20([0-9]{2})-([0-9]{2})-([0-9]{2})$/.exec(date);
  if (!m) {
    return fail(
      'date',
      `日期应为 2000 至 2099 年间的 YYYY-MM-DD，“${date}”不符合`,
      `The date must be YYYY-MM-DD between 2000 and 2099, not '${date}'`,
    );
  }
  if (!isValidDate(date)) return badDate(date, date);
  const yymmdd = `${m[1]}${m[2]}${m[3]}`;

  const badCode = checkDigits('bankCardCode', bankCardCode);
  if (badCode) return badCode;
  const found = cardTypeInBankCardCode(bankCardCode);
  if (found === null) return noCardType(bankCardCode);
  if (parts.cardType !== undefined && parts.cardType !== found) {
    return fail(
      'cardType',
      `卡别“${parts.cardType}”与银行卡代码“${bankCardCode}”中的卡别“${found}”不一致`,
      `The card type '${parts.cardType}' does not match the '${found}' inside bank card code '${bankCardCode}'`,
    );
  }

  const badVendor = checkDigits('vendor', vendor);
  if (badVendor) return badVendor;

  const { length: seqLength, zh: seqZh, en: seqEn } = layoutOf('sequence');
  const maxSequence = 10 ** seqLength - 1;
  if (!Number.isSafeInteger(sequence) || sequence < 0 || sequence > maxSequence) {
    return fail(
      'sequence',
      `${seqZh}应为 0 至 ${maxSequence} 之间的整数，当前为 ${sequence}`,
      `The ${seqEn} must be a whole number from 0 to ${maxSequence}, not ${sequence}`,
    );
  }

  return {
    ok: true,
    batchNumber: `${PREFIX}${institution}${yymmdd}${bankCardCode}${vendor}${String(sequence).padStart(seqLength, '0')}`,
  };
}
