import { randomInt } from 'node:crypto';
import type Database from 'better-sqlite3';
import { parseProfile, type CardProfile, type CardProfileInput } from '../card/profile.ts';
import { INITIAL_PIN } from '../card/pin.ts';
import { cardNumberCheckChar } from '../rules/card-number.ts';
import { makeBankCardNumber } from '../rules/bank-card.ts';
import { checkMainlandId } from '../rules/ssn.ts';
import type { Application } from './types.ts';

/**
 * Makes the card profile of a newly issued card (申领 or 补换卡) at the bank counter.
 *
 * - Generation 3 always (R2.1: every card issued since 2020-09, first issue or replacement).
 * - Card number (卡号, 9 characters): series letter `E` (cards issued by this simulator's
 *   counter; the bundled fixtures use A–C) + a 7-digit number from the database sequence
 *   `bank_sequences.card` + the check character (cardNumberCheckChar).
 * - Chip serial: `E1` + the same sequence number in 14 hex digits — unique in the database.
 * - Bank card number: 622262371 + the sequence number in 8 digits + Luhn (makeBankCardNumber).
 *   A number that some card in the ledger already has (card number, chip serial or bank card
 *   number, e.g. an imported fixture) is skipped and the next one taken.
 * - Issue date = today (the caller's business date), expiry = issue date + 10 years.
 * - PIN: the initial 123456 (R1.4), pinInitial true: the holder sets a new one at 领卡启用.
 * - Status 'not-activated'.
 * - Bank transaction password: a gen 3 profile must carry one (the profile schema, R1.2), and
 *   no password is invented for the holder: the profile gets a random one-time value that
 *   nobody is told. openCardStore stores it only hashed (and never in profile_json), so the
 *   financial account cannot be used until activation replaces it with the holder's own
 *   password (ledger.setBankPassword).
 * - Accounts: reserve 0 only. No medical account: 95000 comes into being at the first medical
 *   funding (R4.1), 95001 at the first carry-over (R4.2).
 */

/** The holder fields of a card profile. */
export interface HolderFields {
  name: string;
  sex: 'male' | 'female';
  nation: string;
  birthplace: string;
  birthDate: string;
  ssn: string;
  nationality: string;
}

export interface NewCardInput {
  holder: HolderFields;
  /** Whether the card face carries a photo (R8: a child under 7 may have none). */
  photo: boolean;
  /** The issuing branch's 6-digit area code (card identification code, issuer number). */
  areaCode: string;
  /** Today's business date, YYYY-MM-DD. */
  issueDate: string;
}

/** The series letter of counter-issued card numbers. */
export const COUNTER_CARD_SERIES = 'E';

/** Takes the next value of a named sequence in `bank_sequences` (1, 2, 3…). */
export function nextSequence(db: Database.Database, name: string): number {
  return db
    .prepare<[string], number>(
      `INSERT INTO bank_sequences (name, value) VALUES (?, 1)
       ON CONFLICT (name) DO UPDATE SET value = value + 1
       RETURNING value`,
    )
    .pluck()
    .get(name) as number;
}

export interface CardNumbers {
  cardNumber: string;
  chipSerial: string;
  pan: string;
}

/** The numbers derived from one sequence value (no uniqueness check). */
export function numbersFor(n: number): CardNumbers {
  if (!Number.isSafeInteger(n) || n < 1 || n > 9_999_999) {
    throw new Error(`card sequence ${n} is outside 1…9999999: the ${COUNTER_CARD_SERIES} series is full`);
  }
  const body = COUNTER_CARD_SERIES + String(n).padStart(7, '0');
  const pan = makeBankCardNumber(n);
  if (!pan.ok) throw new Error(pan.reason.en);
  return {
    cardNumber: body + cardNumberCheckChar(body),
    chipSerial: 'E1' + n.toString(16).toUpperCase().padStart(14, '0'),
    pan: pan.pan,
  };
}

/** The next card numbers no card in the ledger uses yet. Run inside the issuing transaction. */
export function issueNumbers(db: Database.Database): CardNumbers {
  const taken = db.prepare<[string, string, string], number>(
    `SELECT 1 FROM cards
     WHERE card_id = ? OR pan = ? OR json_extract(profile_json, '$.card.chipSerial') = ?
     LIMIT 1`,
  );
  for (;;) {
    const numbers = numbersFor(nextSequence(db, 'card'));
    if (taken.get(numbers.cardNumber, numbers.pan, numbers.chipSerial) === undefined) return numbers;
  }
}

/** `date` + `years`, YYYY-MM-DD; 29 February becomes 28 February in a common year. */
export function addYears(date: string, years: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const year = y + years;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const day = m === 2 && d === 29 && !leap ? 28 : d;
  return `${String(year).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** A random six-digit value nobody is told (the placeholder bank password, see above). */
export function oneTimeSecret(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/** The card holder as the application describes them; `ssn` is the one the counter settled on. */
export function holderFromApplication(app: Application, ssn: string, areaCode: string): HolderFields {
  // Birthplace: the form's area code, else the mainland ID's, else the issuing branch's.
  const birthplace = app.birthplace ?? (checkMainlandId(ssn) === null ? ssn.slice(0, 6) : areaCode);
  return {
    name: app.name,
    sex: app.sex,
    nation: app.nation,
    birthplace,
    birthDate: app.birthDate,
    ssn,
    nationality: app.nationality,
  };
}

/**
 * A new gen 3 card profile with fresh numbers (see the module comment), validated by
 * parseProfile (throws ProfileError when the holder's data cannot go on a card).
 * Call inside the transaction that imports the card, so the numbers are taken once.
 */
export function makeCardProfile(db: Database.Database, input: NewCardInput): CardProfile {
  const { cardNumber, chipSerial, pan } = issueNumbers(db);
  const expiryDate = addYears(input.issueDate, 10);
  const profile: CardProfileInput = {
    id: `bank-${cardNumber.toLowerCase()}`,
    label: `${input.holder.name}的三代社保卡（网点发卡）`,
    labelEn: `Gen 3 card of ${input.holder.name}, issued at the bank counter`,
    generation: 3,
    status: 'not-activated',
    card: {
      number: cardNumber,
      type: '3',
      issuer: `${input.areaCode}100001`,
      areaCode: input.areaCode,
      chipSerial,
      issueDate: input.issueDate,
      expiryDate,
      photo: input.photo,
    },
    holder: { ...input.holder },
    pin: INITIAL_PIN,
    pinInitial: true,
    transactionPassword: oneTimeSecret(),
    financial: { pan, expiry: expiryDate.slice(0, 7) },
    accounts: { reserveFen: 0 },
  };
  return parseProfile(profile, `new card ${cardNumber}`);
}
