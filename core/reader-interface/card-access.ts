import { exchange } from '../../device/exchange.ts';
import { isReaderError } from '../../device/errors.ts';
import type { CardReader } from '../../device/reader.ts';
import { chipSerialFromAtr, historicalBytes } from '../card/atr.ts';
import { anTrim, cnDigits, gbkDecode } from '../card/codec.ts';
import type { Algorithm } from '../card/crypto.ts';
import { toHex } from '../card/hex.ts';
import {
  announcedAlgorithm,
  externalAuthenticate,
  keyAlgorithm,
  readRecordByTag,
  SELECT_SSSE,
} from '../terminal/card-commands.ts';
import { RC } from './codes.ts';

/**
 * How the interface's functions talk to the card: the terminal-side commands of
 * core/terminal/card-commands.ts, with every "no" turned into the interface's return code
 * (InterfaceFailure) instead of an exception the caller would have to know.
 */
export class InterfaceFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
    /** pOutInfo that goes with the code (the tries left after a wrong PIN). */
    readonly outInfo = '',
  ) {
    super(message);
    this.name = 'InterfaceFailure';
  }
}

export function failWith(code: number, message: string, outInfo = ''): never {
  throw new InterfaceFailure(code, message, outInfo);
}

/** A reader error as the interface's code: no card -2, reader gone -11, no answer -4. */
export function readerFailure(e: unknown): InterfaceFailure | null {
  if (!isReaderError(e)) return null;
  switch (e.code) {
    case 'NO_CARD':
    case 'CARD_REMOVED':
      return new InterfaceFailure(RC.NO_CARD, e.message);
    case 'NOT_CONNECTED':
      return new InterfaceFailure(RC.NOT_CONNECTED, e.message);
    case 'READER_GONE':
      return new InterfaceFailure(RC.READER_CONNECTION, e.message);
    case 'TRANSMIT_FAILED':
      return new InterfaceFailure(RC.CARD_NO_ANSWER, e.message);
  }
}

/** Sends one command; anything but 9000 ends the function with the status word's code. */
export async function must(reader: CardReader, command: Uint8Array, step: string): Promise<Uint8Array> {
  const r = await exchange(reader, command);
  if (r.sw !== 0x9000) failWith(-r.sw, `${step}: the card answered ${r.sw.toString(16).toUpperCase()}`);
  return r.data;
}

/** The data items of EF05 and EF06 by their tags (card-reference.md §2), and how each reads as text. */
export type ItemFormat = 'hex' | 'an' | 'cn' | 'gbk';
export const ITEM_FORMATS: Readonly<Record<number, { ef: 5 | 6; format: ItemFormat; zh: string }>> = {
  0x01: { ef: 5, format: 'hex', zh: '卡识别码' },
  0x02: { ef: 5, format: 'an', zh: '卡类别' },
  0x03: { ef: 5, format: 'an', zh: '规范版本' },
  0x04: { ef: 5, format: 'cn', zh: '初始化机构编号' },
  0x05: { ef: 5, format: 'cn', zh: '发卡日期' },
  0x06: { ef: 5, format: 'cn', zh: '卡有效期' },
  0x07: { ef: 5, format: 'an', zh: '卡号' },
  0x08: { ef: 6, format: 'an', zh: '社会保障号码' },
  0x09: { ef: 6, format: 'gbk', zh: '姓名' },
  0x4e: { ef: 6, format: 'gbk', zh: '姓名扩展' },
  0x0a: { ef: 6, format: 'an', zh: '性别' },
  0x0b: { ef: 6, format: 'cn', zh: '民族' },
  0x0c: { ef: 6, format: 'cn', zh: '出生地' },
  0x0d: { ef: 6, format: 'cn', zh: '出生日期' },
};

export function itemText(tag: number, value: Uint8Array): string {
  const f = ITEM_FORMATS[tag]?.format ?? 'hex';
  switch (f) {
    case 'hex':
      return toHex(value);
    case 'cn':
      return cnDigits(value);
    case 'an':
    case 'gbk':
      return gbkDecode(anTrim(value));
  }
}

/** One record of EF05 (SFI 5) or EF06 (SFI 6) by its tag; the value. */
export async function readItem(reader: CardReader, ef: 5 | 6, tag: number): Promise<Uint8Array> {
  const hex = tag.toString(16).toUpperCase().padStart(2, '0');
  const rec = await must(reader, readRecordByTag(tag, { sfi: ef }), `READ RECORD EF0${ef} ${hex}`);
  if (rec[0] !== tag || rec.length < 2 || rec.length < 2 + rec[1]!)
    failWith(RC.CHECK_FAILED, `EF0${ef} record ${hex} is not a well-formed TLV of tag ${hex}`);
  return rec.subarray(2, 2 + rec[1]!);
}

/** What every function learns first: power-up, SELECT SSSE, EF05. */
export interface OpenedCard {
  atr: Uint8Array;
  /** The ATR's historical bytes (卡复位信息), uppercase hex. */
  historical: string;
  serial: Uint8Array | null;
  algorithm: Algorithm;
  /** What the SSSE FCI announces (9F0C): SSF33 is neither the PSAM's nor the centre's (-2202). */
  announced: Algorithm | 'ssf33';
  generation: 1 | 2 | 3;
  /** EF05 items 01–07 as text. */
  cardId: string;
  cardType: string;
  version: string;
  issuer: string;
  issueDate: string;
  expiryDate: string;
  cardNumber: string;
}

export async function openCard(reader: CardReader): Promise<OpenedCard> {
  if (!reader.cardPresent()) failWith(RC.NO_CARD, `no card in ${reader.name}`);
  const atr = await reader.connect();
  const fci = await must(reader, SELECT_SSSE, 'SELECT SSSE');
  const items = new Map<number, Uint8Array>();
  for (const tag of [1, 2, 3, 4, 5, 6, 7]) items.set(tag, await readItem(reader, 5, tag));
  const text = (tag: number) => itemText(tag, items.get(tag)!);
  const version = text(3);
  const g = version[0];
  const generation = g === '1' ? 1 : g === '2' ? 2 : g === '3' ? 3 : null;
  if (!generation) failWith(RC.WRONG_CARD_TYPE, `unknown specification version '${version}' in EF05`);
  const cardId = text(1);
  if (!/^[0-9]{6}D156000005[0-9A-F]{16}$/.test(cardId))
    failWith(
      RC.CARD_ID_FORMAT,
      `the card identification code ${cardId} is not 6 digits, D156000005, 16 hex digits`,
    );
  return {
    atr,
    historical: toHex(historicalBytes(atr) ?? new Uint8Array(0)),
    serial: chipSerialFromAtr(atr),
    algorithm: keyAlgorithm(fci),
    announced: announcedAlgorithm(fci),
    generation,
    cardId,
    cardType: text(2),
    version,
    issuer: text(4),
    issueDate: text(5),
    expiryDate: text(6),
    cardNumber: text(7),
  };
}

/** EXTERNAL AUTHENTICATE with a cryptogram (from the PSAM or the card-management centre). */
export async function authenticateWith(reader: CardReader, cryptogram: Uint8Array): Promise<void> {
  await must(reader, externalAuthenticate(cryptogram), 'EXTERNAL AUTHENTICATE');
}
