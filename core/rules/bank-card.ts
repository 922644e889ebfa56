/**
 * R3.1 card type code (卡别) and the region's bank card numbers (银行卡号).
 *
 * The handbook (卡别卡号) gives the card type as "89XX" and the central region's card numbers
 * as `622262371XXXXXXXXX`: a 9-digit prefix and 9 more digits, 18 in all. Like every UnionPay
 * card number, the last digit is the Luhn check digit (card-reference.md §7), so an issued
 * number is prefix + 8-digit serial + check digit. Other branches use other prefixes, so the
 * prefix and length are a scheme the caller may replace; the central region's is the default.
 */
import { luhnCheckDigit } from './luhn.ts';
import { ruleReason, type RuleReason } from './reason.ts';

/** Card type code: "89" followed by two digits (the XX is the product variant, e.g. 8919). */
const CARD_TYPE = /^89[0-9]{2}$/;

export type CardTypeCheck = { ok: true; cardType: string } | { ok: false; reason: RuleReason };

export function checkCardType(code: string): CardTypeCheck {
  if (CARD_TYPE.test(code)) return { ok: true, cardType: code };
  return {
    ok: false,
    reason: ruleReason(
      'R3.1',
      `卡别应为“89”开头的 4 位数字（89XX），“${code}”不符合`,
      `The card type must be 4 digits starting with 89 (89XX), not '${code}'`,
    ),
  };
}

export interface BankCardScheme {
  /** The digits every card number of the region starts with. */
  prefix: string;
  /** Total number of digits, check digit included. */
  length: number;
}

/** 中心地区号 622262371XXXXXXXXX: 9 prefix digits + 8 serial digits + 1 Luhn digit. */
export const CENTRAL_REGION_SCHEME: BankCardScheme = { prefix: '622262371', length: 18 };

/** Which part of the number is wrong, so a UI can point at it. */
export type BankCardProblem = 'digits' | 'serial' | 'prefix' | 'length' | 'luhn';

export interface BankCardReason extends RuleReason {
  problem: BankCardProblem;
}

export type BankCardCheck = { ok: true; pan: string; serial: string } | { ok: false; reason: BankCardReason };

const problem = (problem: BankCardProblem, zh: string, en: string): BankCardReason => ({
  ...ruleReason('R3.1', zh, en),
  problem,
});

/**
 * Serial digits between prefix and check digit. A scheme that leaves no room for them, or that
 * is not a 16–19 digit card number, is a configuration mistake, not user input: it throws.
 */
function serialLength(scheme: BankCardScheme): number {
  const n = scheme.length - scheme.prefix.length - 1;
  if (!/^[0-9]+$/.test(scheme.prefix) || scheme.length < 16 || scheme.length > 19 || n < 1) {
    throw new Error(`invalid bank card scheme: prefix '${scheme.prefix}', length ${scheme.length}`);
  }
  return n;
}

/**
 * Builds the card number for a serial: prefix + serial + Luhn check digit. A number serial is
 * zero-padded (4 → 00000004); a string serial must already have exactly the right digits, since
 * padding a typed value would silently turn a typo into some other customer's card.
 */
export function makeBankCardNumber(
  serial: number | string,
  scheme: BankCardScheme = CENTRAL_REGION_SCHEME,
): BankCardCheck {
  const n = serialLength(scheme);
  let digits: string;
  if (typeof serial === 'number') {
    if (!Number.isSafeInteger(serial) || serial < 0 || serial >= 10 ** n) {
      return {
        ok: false,
        reason: problem(
          'serial',
          `流水号应为 0 至 ${10 ** n - 1} 之间的整数，当前为 ${serial}`,
          `The serial must be a whole number from 0 to ${10 ** n - 1}, not ${serial}`,
        ),
      };
    }
    digits = String(serial).padStart(n, '0');
  } else {
    if (!new RegExp(`^[0-9]{${n}}$`).test(serial)) {
      return {
        ok: false,
        reason: problem(
          'serial',
          `流水号应为 ${n} 位数字，“${serial}”不符合`,
          `The serial must be ${n} digits, not '${serial}'`,
        ),
      };
    }
    digits = serial;
  }
  const body = scheme.prefix + digits;
  return { ok: true, pan: body + luhnCheckDigit(body), serial: digits };
}

/**
 * Checks a typed or read card number against the scheme. The order matters for the message:
 * characters first, then the prefix (a number of another bank or region is the likelier
 * mistake than a miscount), then the length, and the Luhn digit last.
 */
export function checkBankCardNumber(
  pan: string,
  scheme: BankCardScheme = CENTRAL_REGION_SCHEME,
): BankCardCheck {
  const { prefix, length } = scheme;
  const n = serialLength(scheme);
  if (!/^[0-9]+$/.test(pan)) {
    return {
      ok: false,
      reason: problem('digits', '银行卡号只能包含数字', 'The bank card number may contain digits only'),
    };
  }
  // A number shorter than the prefix that agrees with it so far is too short, not foreign.
  if (pan.slice(0, prefix.length) !== prefix.slice(0, pan.length)) {
    return {
      ok: false,
      reason: problem(
        'prefix',
        `银行卡号应以 ${prefix} 开头（本地区社保卡卡号段）`,
        `The bank card number must start with ${prefix} (this region's social security card range)`,
      ),
    };
  }
  if (pan.length !== length) {
    return {
      ok: false,
      reason: problem(
        'length',
        `银行卡号应为 ${length} 位，当前为 ${pan.length} 位`,
        `The bank card number must have ${length} digits, not ${pan.length}`,
      ),
    };
  }
  const expected = luhnCheckDigit(pan.slice(0, -1));
  const actual = pan.slice(-1);
  if (actual !== expected) {
    return {
      ok: false,
      reason: problem(
        'luhn',
        `银行卡号校验位错误：最后一位应为 ${expected}，而不是 ${actual}`,
        `Wrong check digit: the last digit should be ${expected}, not ${actual}`,
      ),
    };
  }
  return { ok: true, pan, serial: pan.slice(prefix.length, prefix.length + n) };
}
