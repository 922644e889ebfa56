import { authCryptogram, diversify, encryptEcb, mac4, type Algorithm } from '../card/crypto.ts';
import { createDecipheriv } from 'node:crypto';
import { bytesEqual, concatBytes, fromHex, toHex } from '../card/hex.ts';
import { TEST_MASTER_KEYS } from '../card/keys.ts';
import { CounterPinKey } from '../card/psam.ts';
import { RC } from './codes.ts';
import { fields } from './context.ts';

/**
 * The card-management centre (卡管中心), playing the HSM service a HIS calls between Step 1 and
 * Step 2: it takes the Step 1 pOutInfo, checks that the card is one the issuer made (the MAC in
 * its card identification code, under the issuer key IRK), and answers the pKey Step 2 hands
 * to the card — the EXTERNAL AUTHENTICATE cryptogram under the card's RKSSSE key over the
 * card's challenge, or the MAC of the counter's PIN UNBLOCK / RELOAD PIN command. The keys are
 * SSCard Lab's test master keys (core/card/keys.ts), diversified per card as the cards are.
 *
 * Step 1's pOutInfo, 9 fields each followed by `|` (docs/reader-interface.md):
 *   1 卡识别码 (32 hex) | 2 芯片序列号 (16 hex, the ATR's last 8 historical bytes) |
 *   3 算法标识 (01 3DES, 03 SM4: the card's 9F0C) | 4 随机数 (the card's 8-byte challenge) |
 *   5 业务类型 (01 读卡, 02 重置密码, 03 解锁密码) | 6 规范版本 | 7 发卡地区行政区划代码 |
 *   8 新密码密文 (02 only: the PIN pad's PIN block under the transport key) | 9 终端机编号 |
 */
export type CentreOperation = 'read' | 'reload' | 'unblock';

export const OPERATION_CODES: Record<CentreOperation, string> = { read: '01', reload: '02', unblock: '03' };

export interface Step1Info {
  cardId: string;
  serial: Uint8Array;
  algorithm: Algorithm;
  challenge: Uint8Array;
  operation: CentreOperation;
  version: string;
  region: string;
  pinBlock: Uint8Array | null;
  terminalNumber: string;
}

export function step1OutInfo(s: Step1Info): string {
  return fields([
    s.cardId,
    toHex(s.serial),
    s.algorithm === 'sm4' ? '03' : '01',
    toHex(s.challenge),
    OPERATION_CODES[s.operation],
    s.version,
    s.region,
    s.pinBlock ? toHex(s.pinBlock) : '',
    s.terminalNumber,
  ]);
}

export type CentreAnswer = { code: 0; pKey: string } | { code: number; message: string };

/** The PIN pad's transport key for one card: TPK diversified by the chip serial (3DES). */
function transportKey(tpk: Uint8Array, serial: Uint8Array): Uint8Array {
  return diversify('3des', tpk, serial);
}

/**
 * The PIN block the PIN pad sends the centre: ISO 9564 format 2 (2L, the digits, F padding;
 * 8 bytes) encrypted under the card's transport key. The clear PIN never leaves the pad.
 */
export function encryptPinBlock(
  pin: string,
  serial: Uint8Array,
  tpk: Uint8Array = TEST_MASTER_KEYS.tpk,
): Uint8Array {
  if (!/^[0-9]{4,12}$/.test(pin)) throw new Error('a PIN block holds 4 to 12 digits');
  const nibbles = `2${pin.length.toString(16)}${pin}`.padEnd(16, 'F');
  return encryptEcb('3des', transportKey(tpk, serial), fromHex(nibbles));
}

function decryptPinBlock(block: Uint8Array, serial: Uint8Array, tpk: Uint8Array): string | null {
  const d = createDecipheriv('des-ede-ecb', transportKey(tpk, serial), null);
  d.setAutoPadding(false);
  const clear = toHex(new Uint8Array(Buffer.concat([d.update(block), d.final()])));
  const m = /^2([4-9A-C])([0-9]+)F*$/.exec(clear);
  if (!m) return null;
  const len = parseInt(m[1]!, 16);
  return m[2]!.length === len ? m[2]! : null;
}

export interface CentreKeys {
  rksse: Uint8Array;
  irk: Uint8Array;
  pin: Uint8Array;
  tpk: Uint8Array;
}

export class CardManagementCentre {
  private readonly keys: CentreKeys;
  private readonly counter: CounterPinKey;

  constructor(keys: CentreKeys = TEST_MASTER_KEYS) {
    this.keys = keys;
    this.counter = new CounterPinKey(keys.pin);
  }

  /** Parses a Step 1 pOutInfo; every problem is a code with the field it is in. */
  parseStep1(step1: string): Step1Info | { code: number; message: string } {
    if (typeof step1 !== 'string') return { code: RC.BAD_PARAMETER, message: 'step1 must be a string' };
    const f = step1.split('|');
    if (f.length !== 10 || f[9] !== '')
      return {
        code: RC.BAD_PARAMETER,
        message: `step1 must be 9 fields each followed by "|", got ${f.length - 1}`,
      };
    const bad = (n: number, what: string) => ({
      code: RC.BAD_PARAMETER,
      message: `step1 field ${n}: ${what}`,
    });
    const [cardId, serial, alg, challenge, op, version, region, pinBlock, terminal] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (!/^[0-9]{6}D156000005[0-9A-F]{16}$/.test(cardId))
      return { code: RC.CARD_ID_FORMAT, message: 'step1 field 1: not a card identification code' };
    if (!/^[0-9A-F]{16}$/.test(serial)) return bad(2, 'the chip serial must be 16 hex digits');
    if (alg !== '01' && alg !== '03')
      return {
        code: RC.PSAM_ALGORITHM,
        message: `step1 field 3: algorithm ${alg} is not 01 (3DES) or 03 (SM4)`,
      };
    if (!/^[0-9A-F]{16}$/.test(challenge)) return bad(4, 'the challenge must be 16 hex digits');
    const operation = (Object.keys(OPERATION_CODES) as CentreOperation[]).find(
      (k) => OPERATION_CODES[k] === op,
    );
    if (!operation) return bad(5, `operation ${op} is not 01, 02 or 03`);
    if (!/^[123]\.[0-9]{2}$/.test(version)) return bad(6, 'not a specification version');
    if (!/^[0-9]{6}$/.test(region) || region !== cardId.slice(0, 6))
      return bad(7, 'the region code must be the first 6 digits of the card identification code');
    if (operation === 'reload' ? !/^[0-9A-F]{16}$/.test(pinBlock) : pinBlock !== '')
      return bad(8, operation === 'reload' ? 'the new PIN block must be 16 hex digits' : 'must be empty');
    if (!/^[0-9]{12}$/.test(terminal)) return bad(9, 'the terminal number must be 12 digits');
    return {
      cardId,
      serial: fromHex(serial),
      algorithm: alg === '03' ? 'sm4' : '3des',
      challenge: fromHex(challenge),
      operation,
      version,
      region,
      pinBlock: pinBlock ? fromHex(pinBlock) : null,
      terminalNumber: terminal,
    };
  }

  /** Answers a Step 1 with the pKey its Step 2 needs, or the reason it will not. */
  authenticate(step1: string): CentreAnswer {
    const s = this.parseStep1(step1);
    if (!('cardId' in s)) return s;
    // The issuer's MAC over area ‖ RID ‖ serial part: a card the issuer never made fails here.
    const id = fromHex(s.cardId);
    const mac = mac4('3des', this.keys.irk, new Uint8Array(8), id.subarray(0, 12));
    if (!bytesEqual(mac, id.subarray(12, 16)))
      return {
        code: RC.INTERNAL_AUTH_FAILED,
        message: 'the card identification code does not carry the issuer MAC',
      };
    if (!bytesEqual(id.subarray(8, 12), s.serial.subarray(4, 8)))
      return {
        code: RC.CARD_MISMATCH,
        message: 'the chip serial is not the one in the card identification code',
      };
    if (s.operation === 'read') {
      if (s.version[0] !== '3')
        return {
          code: RC.HSM_NOT_NEEDED,
          message: 'a gen 1/2 card is read without the card-management centre',
        };
      const key = diversify(s.algorithm, this.keys.rksse, s.serial);
      return { code: 0, pKey: toHex(authCryptogram(s.algorithm, key, s.challenge)) };
    }
    if (s.operation === 'unblock') {
      const cmd = this.counter.unblockCommand(s.algorithm, s.serial, s.challenge);
      return { code: 0, pKey: toHex(cmd.subarray(cmd.length - 4)) };
    }
    const pin = decryptPinBlock(s.pinBlock!, s.serial, this.keys.tpk);
    if (pin === null)
      return { code: RC.CHECK_FAILED, message: 'step1 field 8: the PIN block does not decrypt to a PIN' };
    const cmd = this.counter.reloadCommand(s.algorithm, s.serial, s.challenge, pin);
    return { code: 0, pKey: toHex(cmd.subarray(cmd.length - 4)) };
  }
}

/** Joins the RELOAD PIN command from the PIN pad's PIN and the centre's MAC. */
export function reloadCommandWithMac(newPinBcd: Uint8Array, mac: Uint8Array): Uint8Array {
  const header = [0x84, 0x5e, 0x00, 0x00, newPinBcd.length + 4];
  return concatBytes(new Uint8Array(header), newPinBcd, mac);
}

/** Joins the PIN UNBLOCK command from the centre's MAC. */
export function unblockCommandWithMac(mac: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(0x84, 0x24, 0x00, 0x00, 0x04), mac);
}
