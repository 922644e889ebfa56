/**
 * The ledger's vocabulary: cards, their security state, accounts, postings and journal lines as
 * the rest of the program sees them, and the errors the ledger raises. Apart from the Ledger
 * class so that the books of the till and the host can name them without the statements.
 */
import type Database from 'better-sqlite3';
import type { CardSecurityState } from '../card/social-security-card.ts';

export type CardStatus = 'active' | 'not-activated' | 'loss-reported' | 'closed';
export type CardGeneration = 1 | 2 | 3;
export type CardAccountKind = 'reserve' | 'medical_current' | 'medical_prior';
export type SystemAccountKind = 'bank_funding' | 'medical_funding' | 'merchant';
export type AccountKind = CardAccountKind | SystemAccountKind;

export interface CardInput {
  readonly cardId: string;
  readonly profileId: string | null;
  readonly generation: CardGeneration;
  readonly ssn: string;
  readonly holderName: string;
  readonly pan: string | null;
  readonly status: CardStatus;
  /** The card profile with its secrets already removed by the caller. */
  readonly profileJson: string;
}

export interface CardRow extends CardInput {
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The card's persistent security state (its EEPROM), exactly as the emulator keeps it. */
export type SecurityState = CardSecurityState;

export interface SecurityRow extends SecurityState {
  readonly cardId: string;
  readonly updatedAt: string;
}

export interface AccountRow {
  readonly accountId: number;
  /** null for a system account. */
  readonly cardId: string | null;
  readonly kind: AccountKind;
  /** '95000' for medical_current, '95001' for medical_prior, otherwise null. */
  readonly code: string | null;
  readonly balanceFen: number;
  readonly openedAt: string;
}

/** Balances in fen; null when the card has no such account (yet). */
export interface Balances {
  readonly reserve: number | null;
  readonly medicalCurrent: number | null;
  readonly medicalPrior: number | null;
}

export interface PostingLine {
  readonly accountId: number;
  /** Signed: + credits the account, − debits it. */
  readonly amountFen: number;
}

export interface Posting {
  readonly txnId: string;
  /** e.g. 'funding', 'payment', 'refund', 'reversal', 'carry-over', 'opening'. */
  readonly kind: string;
  /** The original transaction, for refunds and reversals. */
  readonly refTxnId?: string;
  readonly memo?: string;
  readonly lines: readonly PostingLine[];
}

export interface JournalLine {
  readonly entryId: number;
  readonly txnId: string;
  readonly line: number;
  readonly at: string;
  readonly accountId: number;
  readonly cardId: string | null;
  readonly accountKind: AccountKind;
  readonly amountFen: number;
  readonly kind: string;
  readonly refTxnId: string | null;
  readonly memo: string | null;
}

export interface JournalFilter {
  readonly cardId?: string;
  readonly txnId?: string;
}

export interface Inconsistency {
  readonly accountId: number;
  readonly cardId: string | null;
  readonly kind: AccountKind;
  readonly balanceFen: number;
  /** What the journal says the balance should be. */
  readonly journalFen: number;
}

export type LedgerErrorCode =
  | 'INSUFFICIENT_FUNDS'
  | 'DUPLICATE_TXN'
  | 'UNBALANCED'
  | 'INVALID_AMOUNT'
  | 'INVALID_TXN'
  | 'INVALID_ACCOUNT_KIND'
  | 'UNKNOWN_ACCOUNT'
  | 'UNKNOWN_CARD'
  | 'UNKNOWN_REF_TXN'
  | 'BALANCE_OUT_OF_RANGE'
  | 'CORRUPT_ROW';

export class LedgerError extends Error {
  override readonly name = 'LedgerError';

  constructor(
    readonly code: LedgerErrorCode,
    message: string,
    /** The account concerned, for INSUFFICIENT_FUNDS, BALANCE_OUT_OF_RANGE and UNKNOWN_ACCOUNT. */
    readonly accountId?: number,
  ) {
    super(message);
  }
}

export interface LedgerOptions {
  /** A database opened with openLedgerDb() (pragmas set, migrated). */
  readonly db: Database.Database;
  /** Source of every timestamp the ledger writes; injected so tests and replays are deterministic. */
  readonly clock: () => Date;
}
