/**
 * The counter's RELOAD PIN on the chip, kept apart from the counter service so that the
 * terminal-side card command module (core/terminal/card-commands.ts) can replace these APDUs in
 * one place. Moved unchanged from counter.ts; core/bank/pin-services.ts has a second copy.
 */
import type { CounterPinKey } from '../card/psam.ts';
import { chipSerialFromAtr } from '../card/atr.ts';
import { fromHex } from '../card/hex.ts';
import { findTag } from '../card/tlv.ts';
import type { Algorithm } from '../card/crypto.ts';
import { exchange } from '../../device/exchange.ts';
import type { CardReader } from '../../device/reader.ts';
import type { Bilingual } from '../../state-machines/card-lifecycle.machine.ts';

const SELECT_SSSE = fromHex('00A404000F7378312E73682EC9E7BBE1B1A3D5CF');

function swText(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}

/** GET CHALLENGE, then RELOAD PIN (84 5E) MACed with the counter's key: sets the PIN, resets its counter. */
export async function reloadPin(
  reader: CardReader,
  key: CounterPinKey,
  newPin: string,
): Promise<{ ok: boolean } & Bilingual> {
  const atr = await reader.connect();
  const fci = await exchange(reader, SELECT_SSSE);
  if (fci.sw !== 0x9000) {
    return {
      ok: false,
      zh: `选择社保应用失败（${swText(fci.sw)}）`,
      en: `SELECT SSSE answered ${swText(fci.sw)}`,
    };
  }
  const alg: Algorithm = findTag(fci.data, 0x9f0c)?.[2] === 0x03 ? 'sm4' : '3des';
  const serial = chipSerialFromAtr(atr);
  if (!serial) return { ok: false, zh: '无法从 ATR 读取芯片序列号', en: 'no chip serial in the ATR' };
  const ch = await exchange(reader, fromHex('0084000008'));
  if (ch.sw !== 0x9000) {
    return {
      ok: false,
      zh: `取随机数失败（${swText(ch.sw)}）`,
      en: `GET CHALLENGE failed (${swText(ch.sw)})`,
    };
  }
  const { sw } = await exchange(reader, key.reloadCommand(alg, serial, ch.data, newPin));
  return sw === 0x9000
    ? { ok: true, zh: '社保密码已设置', en: 'card PIN set' }
    : {
        ok: false,
        zh: `卡片拒绝重装密码（${swText(sw)}）`,
        en: `the card refused RELOAD PIN (${swText(sw)})`,
      };
}
