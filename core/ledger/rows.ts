/**
 * How the ledger's rows look in SQLite and how they are checked on the way in and out: the
 * database row shapes, the account codes, secret hashes as JSON, and a posting's arithmetic,
 * checked before the database is touched.
 */
import type { SecretHash } from '../card/pin.ts';
import {
  LedgerError,
  type AccountKind,
  type CardAccountKind,
  type CardGeneration,
  type CardStatus,
  type Posting,
  type SystemAccountKind,
} from './types.ts';

export const CARD_ACCOUNT_CODES: Readonly<Record<CardAccountKind, string | null>> = {
  reserve: null,
  medical_current: '95000',
  medical_prior: '95001',
};

export const SYSTEM_ACCOUNT_KINDS: readonly SystemAccountKind[] = [
  'bank_funding',
  'medical_funding',
  'merchant',
];

/** The system account that funds each kind of card account. */
export const FUNDING_SOURCE: Readonly<Record<CardAccountKind, SystemAccountKind>> = {
  reserve: 'bank_funding',
  medical_current: 'medical_funding',
  medical_prior: 'medical_funding',
};

export const MAX_FEN = BigInt(Number.MAX_SAFE_INTEGER);

export interface CardDbRow {
  card_id: string;
  profile_id: string | null;
  generation: CardGeneration;
  ssn: string;
  holder_name: string;
  pan: string | null;
  status: CardStatus;
  profile_json: string;
  created_at: string;
  updated_at: string;
}

export interface SecurityDbRow {
  card_id: string;
  pin_hash: string;
  pin_tries_left: number;
  pin_retry_limit: number;
  pin_initial: number;
  key_tries_left: number;
  updated_at: string;
}

export interface AccountDbRow {
  account_id: number;
  card_id: string | null;
  kind: AccountKind;
  code: string | null;
  balance_fen: number;
  opened_at: string;
}

export interface JournalDbRow {
  entry_id: number;
  txn_id: string;
  line: number;
  at: string;
  account_id: number;
  card_id: string | null;
  account_kind: AccountKind;
  amount_fen: number;
  kind: string;
  ref_txn_id: string | null;
  memo: string | null;
}

export interface InconsistencyDbRow {
  account_id: number;
  card_id: string | null;
  kind: AccountKind;
  balance_fen: number;
  journal_fen: number;
}

export function isCardAccountKind(kind: unknown): kind is CardAccountKind {
  return typeof kind === 'string' && Object.hasOwn(CARD_ACCOUNT_CODES, kind);
}

export function isSecretHash(v: unknown): v is SecretHash {
  if (typeof v !== 'object' || v === null) return false;
  const h = v as Record<string, unknown>;
  const positiveInt = (x: unknown) => Number.isSafeInteger(x) && (x as number) > 0;
  const hex = (x: unknown) => typeof x === 'string' && x.length > 0 && /^[0-9a-f]+$/i.test(x);
  return (
    h.alg === 'scrypt' &&
    positiveInt(h.n) &&
    positiveInt(h.r) &&
    positiveInt(h.p) &&
    hex(h.salt) &&
    hex(h.hash)
  );
}

/** Serialises exactly the hash fields, so nothing else the caller's object carries is stored. */
export function secretHashJson(h: SecretHash, what: string): string {
  if (!isSecretHash(h)) throw new TypeError(`${what} is not a scrypt SecretHash`);
  return JSON.stringify({ alg: h.alg, n: h.n, r: h.r, p: h.p, salt: h.salt, hash: h.hash });
}

export function parseSecretHash(text: string, what: string): SecretHash {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  if (!isSecretHash(v)) throw new LedgerError('CORRUPT_ROW', `${what} is not a valid scrypt SecretHash`);
  return v;
}

export function isSqliteError(e: unknown, code: string): boolean {
  return e instanceof Error && (e as Error & { code?: unknown }).code === code;
}

export function describeAccount(a: AccountDbRow): string {
  const owner = a.card_id === null ? 'system' : `card ${a.card_id}`;
  return `account ${a.account_id} (${owner} ${a.kind}${a.code ? ' ' + a.code : ''})`;
}

/** Checks a posting's shape and arithmetic before the database is touched. */
export function validatePosting(txn: Posting): void {
  const nonEmpty = (s: unknown) => typeof s === 'string' && s.length > 0;
  if (!nonEmpty(txn.txnId)) throw new LedgerError('INVALID_TXN', 'txnId must be a non-empty string');
  if (!nonEmpty(txn.kind)) {
    throw new LedgerError('INVALID_TXN', `${txn.txnId}: kind must be a non-empty string`);
  }
  if (txn.refTxnId !== undefined && !nonEmpty(txn.refTxnId)) {
    throw new LedgerError('INVALID_TXN', `${txn.txnId}: refTxnId must be a non-empty string when given`);
  }
  if (!Array.isArray(txn.lines) || txn.lines.length < 2) {
    throw new LedgerError('INVALID_TXN', `${txn.txnId}: a double entry needs at least 2 lines`);
  }
  // BigInt: a sum of safe integers is not itself exact as a double.
  let sum = 0n;
  txn.lines.forEach((l, i) => {
    if (!Number.isSafeInteger(l.accountId) || l.accountId < 1) {
      throw new LedgerError(
        'INVALID_TXN',
        `${txn.txnId} line ${i + 1}: accountId ${l.accountId} is not an account id`,
      );
    }
    if (!Number.isSafeInteger(l.amountFen)) {
      throw new LedgerError(
        'INVALID_AMOUNT',
        `${txn.txnId} line ${i + 1}: amount ${l.amountFen} is not a whole number of fen within ±${Number.MAX_SAFE_INTEGER}`,
      );
    }
    sum += BigInt(l.amountFen);
  });
  if (sum !== 0n) throw new LedgerError('UNBALANCED', `${txn.txnId}: lines sum to ${sum} fen, not 0`);
}
