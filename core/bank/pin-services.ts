import { VirtualReader } from '../../device/virtual-reader.ts';
import { exchange } from '../../device/exchange.ts';
import type { CardReader } from '../../device/reader.ts';
import { chipSerialFromAtr } from '../card/atr.ts';
import { CounterPinKey } from '../card/psam.ts';
import { INITIAL_PIN } from '../card/pin.ts';
import { swHex } from '../card/status-words.ts';
import type { Algorithm } from '../card/crypto.ts';
import {
  changePin as changePinCommand,
  getChallenge,
  keyAlgorithm,
  selectSsse as sendSelectSsse,
  unblockPinCommand,
} from '../terminal/card-commands.ts';
import type { VirtualCard } from '../../device/reader.ts';
import type { ApduTrace } from '../../device/trace.ts';

/**
 * The bank counter's PIN services on the card itself (R1.4, R10.1 step 7): change the PIN
 * with the old one, unblock a blocked PIN with the counter's key. Every outcome is a result
 * with a bilingual message; nothing here throws for a "no".
 */
export type PinServiceResult =
  | { ok: true; zh: string; en: string }
  | {
      ok: false;
      code: 'INITIAL_PIN_AS_NEW' | 'BAD_PIN' | 'WRONG_OLD_PIN' | 'PIN_BLOCKED' | 'CARD_ERROR';
      zh: string;
      en: string;
      triesLeft?: number;
    };

async function selectSsse(reader: CardReader): Promise<Algorithm> {
  const r = await sendSelectSsse(reader);
  if (r.sw !== 0x9000) throw new Error(`SELECT SSSE answered ${r.sw.toString(16).toUpperCase()}`);
  return keyAlgorithm(r.data);
}

/** CHANGE PIN (80 5E 01 00, old ‖ FF ‖ new). The new PIN cannot be the initial 123456 (R1.4). */
export async function changePin(
  reader: CardReader,
  oldPin: string,
  newPin: string,
): Promise<PinServiceResult> {
  if (!/^[0-9]{6}$/.test(newPin) || !/^[0-9]{6}$/.test(oldPin)) {
    return { ok: false, code: 'BAD_PIN', zh: '密码须为 6 位数字', en: 'PINs are six digits' };
  }
  if (newPin === INITIAL_PIN) {
    return {
      ok: false,
      code: 'INITIAL_PIN_AS_NEW',
      zh: '不能改为初始密码 123456，请设置其他密码',
      en: 'The new PIN cannot be the initial PIN 123456',
    };
  }
  await reader.connect();
  await selectSsse(reader);
  const { sw } = await exchange(reader, changePinCommand(oldPin, newPin));
  if (sw === 0x9000) return { ok: true, zh: '社保卡密码修改成功', en: 'The card PIN was changed' };
  if ((sw & 0xfff0) === 0x63c0) {
    const left = sw & 0x0f;
    return left === 0
      ? {
          ok: false,
          code: 'PIN_BLOCKED',
          zh: '原密码错误，密码已锁定，请办理解锁',
          en: 'Wrong old PIN; the PIN is now blocked and must be unblocked',
          triesLeft: 0,
        }
      : {
          ok: false,
          code: 'WRONG_OLD_PIN',
          zh: `原密码错误，还可尝试 ${left} 次`,
          en: `Wrong old PIN, ${left} tries left`,
          triesLeft: left,
        };
  }
  if (sw === 0x6983)
    return {
      ok: false,
      code: 'PIN_BLOCKED',
      zh: '密码已锁定，请先办理解锁',
      en: 'The PIN is blocked: unblock it first',
    };
  return {
    ok: false,
    code: 'CARD_ERROR',
    zh: `卡片拒绝（${swHex(sw)}）`,
    en: `The card refused (${swHex(sw)})`,
  };
}

/** PIN UNBLOCK (84 24) with the counter's key: resets the try counter, keeps the PIN. */
export async function unblockPin(
  reader: CardReader,
  key: CounterPinKey = new CounterPinKey(),
): Promise<PinServiceResult> {
  const atr = await reader.connect();
  const alg = await selectSsse(reader);
  const serial = chipSerialFromAtr(atr);
  if (!serial)
    return {
      ok: false,
      code: 'CARD_ERROR',
      zh: '无法从 ATR 读取芯片序列号',
      en: 'No chip serial in the ATR',
    };
  const ch = await exchange(reader, getChallenge(4));
  if (ch.sw !== 0x9000)
    return {
      ok: false,
      code: 'CARD_ERROR',
      zh: `取随机数失败（${swHex(ch.sw)}）`,
      en: `GET CHALLENGE failed (${swHex(ch.sw)})`,
    };
  const { sw } = await exchange(reader, unblockPinCommand(key, alg, serial, ch.data));
  if (sw === 0x9000)
    return {
      ok: true,
      zh: '社保卡密码已解锁，密码不变',
      en: 'The card PIN is unblocked; the PIN itself is unchanged',
    };
  return {
    ok: false,
    code: 'CARD_ERROR',
    zh: `解锁被卡片拒绝（${swHex(sw)}）`,
    en: `The card refused the unblock (${swHex(sw)})`,
  };
}

/** Runs a service on a virtual card through an in-process reader. */
export async function onVirtualCard<T>(
  card: VirtualCard,
  fn: (reader: CardReader) => Promise<T>,
  options: { trace?: ApduTrace } = {},
): Promise<T> {
  const reader = new VirtualReader({ name: '银行柜台读卡器 Bank counter reader', ...options });
  reader.insert(card);
  try {
    return await fn(reader);
  } finally {
    reader.remove();
  }
}
