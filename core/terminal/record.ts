import { exchange, type Exchange } from '../../device/exchange.ts';
import type { CardReader } from '../../device/reader.ts';
import { toHex } from '../card/hex.ts';
import { anTrim, cnDigits, gbkDecode } from '../card/codec.ts';
import { chipSerialFromAtr } from '../card/atr.ts';
import { findTag } from '../card/tlv.ts';
import { parseProfile, ProfileError, type CardProfile, type CardProfileInput } from '../card/profile.ts';
import { announcedAlgorithm, readRecord, SELECT_DEBIT, SELECT_SSSE, swTextPlain } from './card-commands.ts';
import { checkCardNumber } from '../rules/card-number.ts';
import { checkPan, luhnCheckDigit } from '../rules/luhn.ts';
import { idCheckChar, isValidDate } from '../rules/ssn.ts';

/**
 * `sscard record`: reads what a card gives out freely — the ATR, the SSSE FCI, EF05, EF06
 * when it is not protected, the debit application's PAN — into a card profile that
 * `sscard serve --card` can present. It never sends a PIN, a key or a cryptogram: a gen 3
 * card keeps its holder data, and the PIN fields get placeholders (docs/conformance.md,
 * "Record and replay").
 */

/** What a recording puts where the card's PIN and bank password would be. Not the card's. */
export const PIN_PLACEHOLDER = '000000';

export const RECORD_TOOL = 'sscard record';

/** A Luhn-valid PAN standing in when the debit application gives none. */
export const PAN_PLACEHOLDER = `620000000000000000${luhnCheckDigit('620000000000000000')}`;

export class RecordError extends Error {
  constructor(
    message: string,
    readonly step: string,
    readonly sw?: number,
  ) {
    super(message);
    this.name = 'RecordError';
  }
}

export interface RecordOptions {
  /** Reader name written into the recording. */
  readerName?: string;
  now?: () => Date;
}

export interface Recording {
  /** The profile as JSON (what `sscard record` prints). */
  profile: CardProfileInput;
  /** The same, validated by parseProfile. */
  parsed: CardProfile;
}

const ymdToIso = (d: string) => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;

function dateOf(value: Uint8Array | undefined): string | null {
  if (!value) return null;
  const d = cnDigits(value);
  if (!/^\d{8}$/.test(d)) return null;
  const iso = ymdToIso(d);
  return isValidDate(iso) ? iso : null;
}

function textOf(value: Uint8Array | undefined): string {
  return value ? gbkDecode(anTrim(value)) : '';
}

/** The protocol in use: the PC/SC reader's, else the first one the ATR offers (TD1). */
export function protocolOf(reader: CardReader, atr: Uint8Array): 'T=0' | 'T=1' {
  const p = (reader as { protocol?: unknown }).protocol;
  if (p === 'T=0' || p === 'T=1') return p;
  const t0 = atr[1];
  if (t0 === undefined || !(t0 & 0x80)) return 'T=0';
  let i = 2;
  if (t0 & 0x10) i++;
  if (t0 & 0x20) i++;
  if (t0 & 0x40) i++;
  const td1 = atr[i];
  return td1 !== undefined && (td1 & 0x0f) === 1 ? 'T=1' : 'T=0';
}

/** Reads the SIMPLE-TLV records of a record EF by SFI, 1 … until the card says there are no more. */
async function readRecords(
  reader: CardReader,
  sfi: number,
  max: number,
): Promise<{ records: Uint8Array[]; firstSw: number }> {
  const records: Uint8Array[] = [];
  let firstSw = 0x9000;
  for (let n = 1; n <= max; n++) {
    const r = await exchange(reader, readRecord(n, { sfi }));
    if (n === 1) firstSw = r.sw;
    if (r.sw !== 0x9000) break;
    records.push(r.data);
  }
  return { records, firstSw };
}

function byTag(records: readonly (Uint8Array | null)[]): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  for (const rec of records) {
    if (!rec || rec.length < 2) continue;
    const tag = rec[0]!;
    if (!m.has(tag)) m.set(tag, rec.subarray(2, 2 + rec[1]!));
  }
  return m;
}

const swText = (r: Exchange | number) => swTextPlain(typeof r === 'number' ? r : r.sw);

/** A mainland-format SSN for placeholder holder data: area ‖ birth date ‖ 001 ‖ check. */
function placeholderSsn(area: string, birthDate: string): string {
  const body = `${area}${birthDate.replaceAll('-', '')}001`;
  return body + idCheckChar(body);
}

/** Reads the card in `reader` into a card profile. The reader is left connected. */
export async function recordCard(reader: CardReader, options: RecordOptions = {}): Promise<Recording> {
  const read: string[] = [];
  const placeholders: string[] = [];
  const notRead: { item: string; reason: string }[] = [];
  const placeholder = <T>(field: string, value: T): T => {
    placeholders.push(field);
    return value;
  };

  const atr = await reader.connect();
  const protocol = protocolOf(reader, atr);
  read.push('protocol');

  const select = await exchange(reader, SELECT_SSSE);
  if (select.sw !== 0x9000) {
    throw new RecordError(
      `SELECT SSSE answered ${swText(select)}: this does not look like a social security card`,
      'SELECT SSSE',
      select.sw,
    );
  }
  const fci = select.data;
  const announced = announcedAlgorithm(fci);
  let algorithm: '3des' | 'sm4' = '3des';
  if (announced === 'sm4') {
    algorithm = 'sm4';
    read.push('algorithm');
  } else if (announced === 'ssf33') {
    algorithm = placeholder('algorithm', '3des');
    notRead.push({ item: 'algorithm', reason: 'the card uses SSF33 (9F0C = 02), which the simulator lacks' });
  } else read.push('algorithm'); // 01 or absent: DES/3DES (card-reference.md §1)

  // EF05 by SFI and record number: free read on every generation (§2, §3).
  const ef05Raw: (Uint8Array | null)[] = [];
  for (let n = 1; n <= 7; n++) {
    const r = await exchange(reader, readRecord(n, { sfi: 5 }));
    ef05Raw.push(r.sw === 0x9000 ? r.data : null);
    if (r.sw !== 0x9000) notRead.push({ item: `EF05 record ${n}`, reason: swText(r) });
  }
  const ef05 = byTag(ef05Raw);

  const version = textOf(ef05.get(0x03));
  const generation = ({ '1': 1, '2': 2, '3': 3 } as const)[version[0] as '1' | '2' | '3'];
  if (!generation) {
    throw new RecordError(
      `EF05 tag 03 (spec version) is '${version}': not a generation 1, 2 or 3 card`,
      'READ EF05',
    );
  }
  read.push('generation');

  const number = textOf(ef05.get(0x07));
  const numberProblem = checkCardNumber(number);
  if (numberProblem) {
    throw new RecordError(
      `EF05 tag 07 card number does not pass its check (${numberProblem}); a card profile needs a valid one`,
      'READ EF05',
    );
  }
  read.push('card.number');

  const typeText = textOf(ef05.get(0x02));
  const type = typeText.length === 1 ? typeText : placeholder('card.type', '3');
  if (typeText.length === 1) read.push('card.type');

  const issuerDigits = ef05.has(0x04) ? cnDigits(ef05.get(0x04)!) : '';
  const issuer = /^[0-9]{1,24}$/.test(issuerDigits)
    ? issuerDigits
    : placeholder('card.issuer', '000000000000');
  if (issuer === issuerDigits) read.push('card.issuer');

  const cic = ef05.get(0x01);
  const areaDigits = cic ? cnDigits(cic.subarray(0, 3)) : '';
  let areaCode: string;
  if (/^[0-9]{6}$/.test(areaDigits)) {
    areaCode = areaDigits;
    read.push('card.areaCode');
  } else areaCode = placeholder('card.areaCode', /^[0-9]{6}/.test(issuer) ? issuer.slice(0, 6) : '000000');

  const serial = chipSerialFromAtr(atr);
  let chipSerial: string;
  if (serial) {
    chipSerial = toHex(serial);
    read.push('card.chipSerial');
  } else {
    chipSerial = placeholder('card.chipSerial', '0000000000000000');
    notRead.push({ item: 'card.chipSerial', reason: 'the ATR has fewer than 8 historical bytes' });
  }

  let issueDate = dateOf(ef05.get(0x05));
  let expiryDate = dateOf(ef05.get(0x06));
  if (issueDate) read.push('card.issueDate');
  else issueDate = placeholder('card.issueDate', '2000-01-01');
  if (expiryDate && expiryDate > issueDate) read.push('card.expiryDate');
  else
    expiryDate = placeholder('card.expiryDate', `${Number(issueDate.slice(0, 4)) + 10}${issueDate.slice(4)}`);
  placeholders.push('card.photo');
  notRead.push({
    item: 'card identification code MAC (EF05 tag 01, last 4 bytes)',
    reason:
      'computed by the issuer with its key IRK: kept in recorded.ef05, but a served recording computes its own with the simulator’s test key',
  });

  // EF06: only when the card gives it without authentication (gen 1/2; never a key here).
  const holderRecords = await readRecords(reader, 6, 10);
  let holder: CardProfileInput['holder'] | null = null;
  if (holderRecords.records.length === 0) {
    notRead.push({
      item: 'EF06 holder information',
      reason:
        holderRecords.firstSw === 0x6982
          ? `${swText(0x6982)}: gen 3 holder data needs external authentication with the issuer key RKSSSE (a PSAM), which recording never uses`
          : swText(holderRecords.firstSw),
    });
  } else {
    const ef06 = byTag(holderRecords.records);
    const ssn = textOf(ef06.get(0x08));
    const sexCode = textOf(ef06.get(0x0a));
    const nation = ef06.has(0x0b) ? cnDigits(ef06.get(0x0b)!) : '';
    const birthplace = ef06.has(0x0c) ? cnDigits(ef06.get(0x0c)!) : '';
    const birthDate = dateOf(ef06.get(0x0d));
    const name = textOf(ef06.get(0x09)) + textOf(ef06.get(0x4e));
    if (
      ssn &&
      name &&
      (sexCode === '1' || sexCode === '2') &&
      /^[0-9]{2}$/.test(nation) &&
      /^[0-9]{6}$/.test(birthplace) &&
      birthDate
    ) {
      holder = {
        name,
        sex: sexCode === '1' ? 'male' : 'female',
        nation,
        birthplace,
        birthDate,
        ssn,
        nationality: /^[A-Z]{3}/.test(ssn) ? ssn.slice(0, 3) : 'CHN',
      };
    } else {
      notRead.push({
        item: 'EF06 holder information',
        reason: 'records missing or not in the expected format',
      });
    }
  }

  // The debit application (gen 2/3): the PAN and its expiry from the records of SFI 1–3.
  let financial: { pan: string; expiry: string } | null = null;
  if (generation >= 2) {
    const sel = await exchange(reader, SELECT_DEBIT);
    if (sel.sw !== 0x9000) {
      notRead.push({ item: 'debit application A000000333010101', reason: swText(sel) });
    } else {
      let pan: string | null = null;
      let expiry: string | null = null;
      for (let sfi = 1; sfi <= 3 && !(pan && expiry); sfi++) {
        const { records } = await readRecords(reader, sfi, 10);
        for (const rec of records) {
          const p = findTag(rec, 0x5a);
          if (p && !pan) pan = toHex(p).replace(/F+$/, '');
          const e = findTag(rec, 0x5f24);
          if (e && e.length === 3 && !expiry) {
            const hex = toHex(e);
            if (/^\d{2}(0[1-9]|1[0-2])\d{2}$/.test(hex)) expiry = `20${hex.slice(0, 2)}-${hex.slice(2, 4)}`;
          }
        }
      }
      if (pan && !checkPan(pan) && expiry) financial = { pan, expiry };
      else {
        notRead.push({
          item: 'debit application PAN (5A) and expiry (5F24)',
          reason: pan ? 'not a Luhn-valid 16–19 digit PAN, or no expiry' : 'no tag 5A in SFI 1–3',
        });
      }
    }
  }

  const build = (): { profile: CardProfileInput; read: string[]; placeholders: string[] } => {
    const more: string[] = [];
    const fake: string[] = [];
    let h: CardProfileInput['holder'];
    if (holder) {
      h = holder;
      more.push(
        ...['name', 'sex', 'nation', 'birthplace', 'birthDate', 'ssn', 'nationality'].map(
          (f) => `holder.${f}`,
        ),
      );
    } else {
      const birthDate = issueDate < '1970-01-01' ? issueDate : '1970-01-01';
      fake.push(
        ...['name', 'sex', 'nation', 'birthplace', 'birthDate', 'ssn', 'nationality'].map(
          (f) => `holder.${f}`,
        ),
      );
      h = {
        name: '未读取',
        sex: 'male',
        nation: '01',
        birthplace: areaCode,
        birthDate,
        ssn: placeholderSsn(areaCode, birthDate),
        nationality: 'CHN',
      };
    }
    const p: CardProfileInput = {
      id: `recorded-${number.toLowerCase()}`,
      label: `录制的卡 ${number}`,
      labelEn: `Card ${number} recorded by sscard record`,
      generation,
      protocol,
      algorithm,
      card: { number, type, issuer, areaCode, chipSerial, issueDate, expiryDate },
      holder: h,
      pin: PIN_PLACEHOLDER,
    };
    fake.push('pin');
    if (generation >= 2) {
      p.transactionPassword = PIN_PLACEHOLDER;
      fake.push('transactionPassword');
      if (financial) {
        p.financial = financial;
        more.push('financial.pan', 'financial.expiry');
      } else {
        p.financial = { pan: PAN_PLACEHOLDER, expiry: expiryDate.slice(0, 7) };
        fake.push('financial.pan', 'financial.expiry');
      }
    }
    fake.push('status');
    return { profile: p, read: more, placeholders: fake };
  };

  let built = build();
  try {
    parseProfile(built.profile, 'recording');
  } catch (e) {
    // The card's holder data may break a profile rule (an SSN whose birth date differs from
    // tag 0D, say): keep the recording usable with placeholders, and say so.
    if (!(e instanceof ProfileError) || !holder || !e.problems.every((x) => x.path.startsWith('holder')))
      throw e;
    notRead.push({
      item: 'EF06 holder information',
      reason: `read, but not valid in a profile (${e.problems.map((x) => `${x.path}: ${x.message}`).join('; ')})`,
    });
    holder = null;
    built = build();
  }
  const profile = built.profile;
  read.push(...built.read);
  placeholders.push(...built.placeholders);

  notRead.push(
    {
      item: 'PIN and PIN try counter',
      reason: 'never read: the PIN is secret; pin holds the placeholder 000000',
    },
    {
      item: 'status, accounts, card.photo',
      reason: 'kept by the card management system and the bank, not on the chip',
    },
  );
  if (generation >= 2) {
    notRead.push({
      item: 'transactionPassword',
      reason: 'the bank transaction password is not on the chip; placeholder 000000',
    });
  }

  profile.recorded = {
    tool: RECORD_TOOL,
    at: (options.now?.() ?? new Date()).toISOString(),
    ...(options.readerName ? { reader: options.readerName } : {}),
    atr: toHex(atr),
    ssseFci: fci.length ? toHex(fci) : null,
    ef05: ef05Raw.map((r) => (r ? toHex(r) : null)),
    read: [...new Set(read)],
    placeholders: [...new Set(placeholders)],
    notRead,
  };
  return { profile, parsed: parseProfile(profile, 'recording') };
}
