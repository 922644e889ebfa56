import { exchange, type Exchange } from '../../device/exchange.ts';
import type { CardReader } from '../../device/reader.ts';
import { chipSerialFromAtr } from '../card/atr.ts';
import { encodePinBcd } from '../card/codec.ts';
import type { Algorithm } from '../card/crypto.ts';
import { concatBytes } from '../card/hex.ts';
import { DEBIT_AID, SSSE_AID } from '../card/layout.ts';
import type { CounterPinKey } from '../card/psam.ts';
import { describeSw, swHex } from '../card/status-words.ts';
import { findTag } from '../card/tlv.ts';

/**
 * The commands a terminal sends to a 社保卡 (card-reference.md §1–§5), in one place: every
 * terminal-side component (POS read, recording, bank counter, conformance) builds its APDUs
 * here, so a byte of SELECT SSSE or VERIFY is spelt once. The card's own file names (AIDs)
 * come from core/card/layout.ts; the status-word vocabulary stays card side in
 * core/card/status-words.ts, because the emulator answers with it and the APDU trace reads it.
 */

// ---- builders --------------------------------------------------------------------------

/** SELECT by name (00 A4 04 00 Lc name). */
export function selectByName(aid: Uint8Array): Uint8Array {
  return Uint8Array.of(0x00, 0xa4, 0x04, 0x00, aid.length, ...aid);
}

/** SELECT the SSSE environment by name: 00 A4 04 00 0F 7378312E73682EC9E7BBE1B1A3D5CF. */
export const SELECT_SSSE: Uint8Array = selectByName(SSSE_AID);
/** SELECT the UnionPay debit application (gen 2/3): 00 A4 04 00 08 A000000333010101. */
export const SELECT_DEBIT: Uint8Array = selectByName(DEBIT_AID);

/**
 * SELECT an EF by its file id (EF05, EF06): P1=02 or 00, both seen in reader programs,
 * optionally with a trailing Le (§1).
 */
export function selectFile(fid: number, options: { p1?: 0x00 | 0x02; le?: number } = {}): Uint8Array {
  const head = Uint8Array.of(0x00, 0xa4, options.p1 ?? 0x02, 0x00, 0x02, fid >> 8, fid & 0xff);
  return options.le === undefined ? head : Uint8Array.of(...head, options.le);
}

/**
 * READ RECORD by record number: in the current EF (P2=04) or, with `sfi`, without selecting
 * the EF (P2=SFI<<3|4). Le 00 lets the card say the length (§3).
 */
export function readRecord(record: number, options: { sfi?: number; le?: number } = {}): Uint8Array {
  return Uint8Array.of(0x00, 0xb2, record, ((options.sfi ?? 0) << 3) | 0x04, options.le ?? 0x00);
}

/** READ RECORD by record identifier = tag, first occurrence (P2=00, or SFI<<3 with `sfi`; §3). */
export function readRecordByTag(tag: number, options: { sfi?: number; le?: number } = {}): Uint8Array {
  return Uint8Array.of(0x00, 0xb2, tag, (options.sfi ?? 0) << 3, options.le ?? 0x00);
}

/** GET CHALLENGE of 8 bytes (external authentication, reload) or 4 (unblock). */
export function getChallenge(length: 4 | 8 = 8): Uint8Array {
  return Uint8Array.of(0x00, 0x84, 0x00, 0x00, length);
}

/** EXTERNAL AUTHENTICATE with the PSAM's cryptogram under RKSSSE (key reference 0A; §4). */
export function externalAuthenticate(cryptogram: Uint8Array): Uint8Array {
  return Uint8Array.of(0x00, 0x82, 0x00, 0x0a, cryptogram.length, ...cryptogram);
}

/** VERIFY: 00 20 00 00 Lc + the PIN as packed BCD (§5). */
export function verifyPin(pin: string): Uint8Array {
  const bcd = encodePinBcd(pin);
  return Uint8Array.of(0x00, 0x20, 0x00, 0x00, bcd.length, ...bcd);
}

/** VERIFY without data: asks for the tries left (63Cx) without spending one. */
export const VERIFY_STATUS: Uint8Array = Uint8Array.of(0x00, 0x20, 0x00, 0x00);

/** CHANGE PIN (PBOC style): 80 5E 01 00 Lc old ‖ FF ‖ new, both BCD (§5). */
export function changePin(oldPin: string, newPin: string): Uint8Array {
  const data = concatBytes(encodePinBcd(oldPin), Uint8Array.of(0xff), encodePinBcd(newPin));
  return Uint8Array.of(0x80, 0x5e, 0x01, 0x00, data.length, ...data);
}

/**
 * PIN UNBLOCK (84 24) and RELOAD PIN (84 5E) carry a MAC under the bank counter's key, so
 * their bytes come from the key holder (CounterPinKey); these name the step for callers.
 */
export function unblockPinCommand(
  key: CounterPinKey,
  alg: Algorithm,
  serial: Uint8Array,
  challenge: Uint8Array,
): Uint8Array {
  return key.unblockCommand(alg, serial, challenge);
}

export function reloadPinCommand(
  key: CounterPinKey,
  alg: Algorithm,
  serial: Uint8Array,
  challenge: Uint8Array,
  newPin: string,
): Uint8Array {
  return key.reloadCommand(alg, serial, challenge, newPin);
}

/** GET PROCESSING OPTIONS with empty PDOL data (83 00): no transaction is started. */
export const GET_PROCESSING_OPTIONS: Uint8Array = Uint8Array.of(0x80, 0xa8, 0x00, 0x00, 0x02, 0x83, 0x00);

// ---- the algorithm the SSSE FCI announces ------------------------------------------------

/** The FCI tag of the algorithm id (86 01 xx): 01 DES/3DES, 02 SSF33, 03 SM4 (§1). */
export const ALGORITHM_TAG = 0x9f0c;

/**
 * The key algorithm a terminal uses with the card: SM4 when 9F0C's id is 03, otherwise
 * 3DES (absent means DES/3DES; SSF33 is not simulated, so 3DES is what gets tried).
 */
export function keyAlgorithm(fci: Uint8Array): Algorithm {
  return findTag(fci, ALGORITHM_TAG)?.[2] === 0x03 ? 'sm4' : '3des';
}

/**
 * What a well-formed 9F0C (three bytes) announces, including the unsupported SSF33 — for
 * `sscard record`, which must say when it cannot reproduce the card's algorithm.
 */
export function announcedAlgorithm(fci: Uint8Array): Algorithm | 'ssf33' {
  const v = findTag(fci, ALGORITHM_TAG);
  if (v && v.length === 3 && v[2] === 0x03) return 'sm4';
  if (v && v.length === 3 && v[2] === 0x02) return 'ssf33';
  return '3des';
}

// ---- status-word text as terminals print it ----------------------------------------------

/** "6A82 (file or application not found)": the status word with its meaning. */
export function swText(sw: number): string {
  return `${swHex(sw)} (${describeSw(sw)})`;
}

/** "6A82 file or application not found": the same without brackets, for lists of reasons. */
export function swTextPlain(sw: number): string {
  return `${swHex(sw)} ${describeSw(sw)}`;
}

// ---- small exchanges ---------------------------------------------------------------------

/** SELECT SSSE; the answer's data is the FCI. */
export function selectSsse(reader: CardReader): Promise<Exchange> {
  return exchange(reader, SELECT_SSSE);
}

export type ReloadPinResult = { ok: boolean; zh: string; en: string };

/**
 * RELOAD PIN at the bank counter: power up, SELECT SSSE (its algorithm), GET CHALLENGE, then
 * 84 5E MACed with the counter's key — sets the PIN and resets its try counter. Every "no"
 * is a result with a bilingual reason, never an exception.
 */
export async function reloadPin(
  reader: CardReader,
  key: CounterPinKey,
  newPin: string,
): Promise<ReloadPinResult> {
  const atr = await reader.connect();
  const fci = await selectSsse(reader);
  if (fci.sw !== 0x9000) {
    return {
      ok: false,
      zh: `选择社保应用失败（${swHex(fci.sw)}）`,
      en: `SELECT SSSE answered ${swHex(fci.sw)}`,
    };
  }
  const alg = keyAlgorithm(fci.data);
  const serial = chipSerialFromAtr(atr);
  if (!serial) return { ok: false, zh: '无法从 ATR 读取芯片序列号', en: 'no chip serial in the ATR' };
  const ch = await exchange(reader, getChallenge(8));
  if (ch.sw !== 0x9000) {
    return {
      ok: false,
      zh: `取随机数失败（${swHex(ch.sw)}）`,
      en: `GET CHALLENGE failed (${swHex(ch.sw)})`,
    };
  }
  const { sw } = await exchange(reader, reloadPinCommand(key, alg, serial, ch.data, newPin));
  return sw === 0x9000
    ? { ok: true, zh: '社保密码已设置', en: 'card PIN set' }
    : {
        ok: false,
        zh: `卡片拒绝重装密码（${swHex(sw)}）`,
        en: `the card refused RELOAD PIN (${swHex(sw)})`,
      };
}
