import { exchange } from '../../device/exchange.ts';
import type { CardReader } from '../../device/reader.ts';
import { toHex } from '../card/hex.ts';
import { anTrim, cnDigits, gbkDecode } from '../card/codec.ts';
import { chipSerialFromAtr, historicalBytes } from '../card/atr.ts';
import { findTag } from '../card/tlv.ts';
import { PsamSimulator } from '../card/psam.ts';
import { checkCardNumber } from '../rules/card-number.ts';
import {
  externalAuthenticate,
  getChallenge,
  keyAlgorithm,
  readRecord,
  readRecordByTag,
  SELECT_DEBIT,
  SELECT_SSSE,
  swText,
} from './card-commands.ts';

/** What a POS reads from a 社保卡 (EF05, EF06 and, on gen 2/3, the debit application's PAN). */
export interface CardReading {
  atr: string;
  generation: 1 | 2 | 3;
  specVersion: string;
  cardIdentificationCode: string;
  cardType: string;
  issuer: string;
  issueDate: string; // YYYY-MM-DD
  expiryDate: string;
  cardNumber: string;
  cardNumberValid: boolean;
  /** Holder data (EF06); null when it is protected and no PSAM can open it (see below). */
  ssn: string | null;
  name: string | null;
  sex: 'male' | 'female' | 'unknown' | null;
  nation: string | null;
  birthplace: string | null;
  birthDate: string | null;
  /** True when EF06 stayed closed: a gen 3 card that is not ours, and no real PSAM. */
  holderProtected: boolean;
  pan: string | null;
}

export class CardReadError extends Error {
  constructor(
    message: string,
    readonly step: string,
    readonly sw?: number,
  ) {
    super(message);
    this.name = 'CardReadError';
  }
}

function isoDate(digits: string): string {
  return digits.length === 8 ? `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}` : digits;
}

async function must(reader: CardReader, cmd: Uint8Array, step: string): Promise<Uint8Array> {
  const r = await exchange(reader, cmd);
  if (r.sw !== 0x9000) {
    throw new CardReadError(`${step}: card answered ${swText(r.sw)}`, step, r.sw);
  }
  return r.data;
}

/** Reads one record of EF05/EF06 by tag (P2=00 within the SFI), returning the value. */
async function recordByTag(reader: CardReader, sfi: number, tag: number, step: string): Promise<Uint8Array> {
  const rec = await must(reader, readRecordByTag(tag, { sfi }), step);
  if (rec[0] !== tag || rec.length < 2)
    throw new CardReadError(`${step}: record is not tag ${tag.toString(16)}`, step);
  return rec.subarray(2, 2 + rec[1]!);
}

export interface ReadCardOptions {
  /**
   * The PSAM for gen 3 external authentication. Without one, the simulator's PSAM is used
   * only for SSCard Lab's own virtual cards (recognised by their ATR): its test keys would
   * fail on a real card, and three failures lock the card's key for good.
   */
  psam?: PsamSimulator;
}

/** Whether the ATR is one of SSCard Lab's virtual cards (historical bytes 80 55 "SSC"). */
export function isSimulatedCard(atr: Uint8Array): boolean {
  const h = historicalBytes(atr);
  return (
    !!h && h.length >= 5 && h[0] === 0x80 && h[1] === 0x55 && h[2] === 0x53 && h[3] === 0x53 && h[4] === 0x43
  );
}

/**
 * The POS read: power up, SELECT SSSE, EF05 (generation from the spec version), PSAM
 * external authentication on gen 3, EF06, then the debit application's PAN on gen 2/3.
 */
export async function readCard(reader: CardReader, options: ReadCardOptions = {}): Promise<CardReading> {
  const atr = await reader.connect();
  const fci = await must(reader, SELECT_SSSE, 'SELECT SSSE');
  const algorithm = keyAlgorithm(fci);

  const ef05 = new Map<number, Uint8Array>();
  for (const tag of [1, 2, 3, 4, 5, 6, 7])
    ef05.set(tag, await recordByTag(reader, 5, tag, `READ EF05 tag ${tag}`));
  const version = String.fromCharCode(...ef05.get(3)!);
  const genDigit = version[0];
  const generation = genDigit === '1' ? 1 : genDigit === '2' ? 2 : genDigit === '3' ? 3 : null;
  if (!generation) throw new CardReadError(`unknown specification version '${version}'`, 'READ EF05 tag 3');

  const holderProtected = generation === 3 && !options.psam && !isSimulatedCard(atr);
  if (generation === 3 && !holderProtected) {
    const serial = chipSerialFromAtr(atr);
    if (!serial) throw new CardReadError('the ATR carries no chip serial for key diversification', 'ATR');
    const challenge = await must(reader, getChallenge(8), 'GET CHALLENGE');
    const psam = options.psam ?? new PsamSimulator();
    const cryptogram = psam.externalAuthenticate(algorithm, serial, challenge);
    await must(reader, externalAuthenticate(cryptogram), 'EXTERNAL AUTHENTICATE');
  }

  const ef06 = new Map<number, Uint8Array>();
  const tags =
    generation === 1 ? [0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d] : [0x08, 0x09, 0x4e, 0x0a, 0x0b, 0x0c, 0x0d];
  if (!holderProtected) {
    for (const tag of tags)
      ef06.set(tag, await recordByTag(reader, 6, tag, `READ EF06 tag ${tag.toString(16)}`));
  }

  let pan: string | null = null;
  if (generation >= 2) {
    await must(reader, SELECT_DEBIT, 'SELECT debit application');
    for (const rec of [1, 2]) {
      const data = await must(reader, readRecord(rec, { sfi: 1 }), `READ debit record ${rec}`);
      const v = findTag(data, 0x5a);
      if (v) pan = toHex(v).replace(/F+$/, '');
    }
  }

  const cardNumber = gbkDecode(anTrim(ef05.get(7)!));
  const text = (tag: number) => {
    const v = ef06.get(tag);
    return v ? gbkDecode(anTrim(v)) : null;
  };
  const digits = (tag: number) => {
    const v = ef06.get(tag);
    return v ? cnDigits(v) : null;
  };
  const name = holderProtected ? null : (text(0x09) ?? '') + (text(0x4e) ?? '');
  const sexCode = text(0x0a);
  const birth = digits(0x0d);
  return {
    atr: toHex(atr),
    generation,
    specVersion: version,
    cardIdentificationCode: toHex(ef05.get(1)!),
    cardType: gbkDecode(anTrim(ef05.get(2)!)),
    issuer: cnDigits(ef05.get(4)!),
    issueDate: isoDate(cnDigits(ef05.get(5)!)),
    expiryDate: isoDate(cnDigits(ef05.get(6)!)),
    cardNumber,
    cardNumberValid: checkCardNumber(cardNumber) === null,
    ssn: text(0x08),
    name,
    sex: sexCode === null ? null : sexCode === '1' ? 'male' : sexCode === '2' ? 'female' : 'unknown',
    nation: digits(0x0b),
    birthplace: digits(0x0c),
    birthDate: birth === null ? null : isoDate(birth),
    holderProtected,
    pan,
  };
}
