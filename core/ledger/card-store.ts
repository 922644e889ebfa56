import type Database from 'better-sqlite3';
import { openLedgerDb } from '../db/open.ts';
import { Ledger, type Balances, type CardAccountKind, type SecurityState } from './ledger.ts';
import {
  SocialSecurityCard,
  KEY_RETRY_LIMIT,
  type CardSecurityState,
  type SharedCardState,
} from '../card/social-security-card.ts';
import { hashSecret, type SecretHash } from '../card/pin.ts';
import { profilePinInitial, type CardProfile } from '../card/profile.ts';
import { secureRandom, type RandomSource } from '../card/crypto.ts';

/**
 * Virtual cards bound to a SQLite ledger: the first time a profile is opened its card,
 * PIN state (hashed), bank password (hashed) and opening balances are imported; from then
 * on the ledger is the card's EEPROM — counters persist across restarts and re-imports.
 *
 * Every card object opened on the same card — in this process or another, a till, a served
 * card, an app window — is the same card: each command that reads or changes a counter re-reads
 * the stored row, decides and writes in one IMMEDIATE transaction, committed (fsynced) before
 * the card answers (SharedCardState). Guesses from N processes therefore add up on the one
 * counter, exactly as on a chip.
 */
export interface CardStore {
  readonly ledger: Ledger;
  /** The SQLite connection, shared with the host simulator and the terminal's books. */
  readonly db: Database.Database;
  /** A card object for the profile, its security state loaded from and saved to the ledger. */
  open(profile: CardProfile, options?: { random?: RandomSource }): SocialSecurityCard;
  security(cardId: string): Omit<SecurityState, 'pinHash'>;
  balances(cardId: string): Balances;
  close(): void;
}

/** The profile as stored in the ledger: no PIN and no password, even hashed. */
export function publicProfileJson(profile: CardProfile): string {
  const { pin: _pin, transactionPassword: _pw, ...rest } = profile;
  return JSON.stringify(rest);
}

const OPENING: [keyof CardProfile['accounts'], CardAccountKind][] = [
  ['reserveFen', 'reserve'],
  ['medicalCurrentFen', 'medical_current'],
  ['medicalPriorFen', 'medical_prior'],
];

export interface CardStoreOptions {
  /**
   * Makes the stored form of a card's PIN or bank password at import (default: hashSecret, a
   * freshly salted scrypt hash). The scenario runner's ledger templates pass one that hands
   * back, within its process, the salted hash it already made for this card's same secret
   * (core/scenario/template.ts); it must return a salted slow hash all the same.
   */
  hashSecret?: (secret: string, of: { cardId: string; secret: 'pin' | 'password' }) => SecretHash;
}

export function openCardStore(
  dbPath: string,
  clock: () => Date = () => new Date(),
  options: CardStoreOptions = {},
): CardStore {
  const db = openLedgerDb(dbPath);
  const ledger = new Ledger({ db, clock });
  const hash = options.hashSecret ?? ((secret: string) => hashSecret(secret));

  const importCard = db.transaction((profile: CardProfile) => {
    const cardId = profile.card.number;
    // Checked again under the write lock: another till on the same file may have imported the
    // card since we looked (its opening fundings would then be posted twice: DUPLICATE_TXN).
    if (ledger.getCard(cardId)) return;
    ledger.upsertCard({
      cardId,
      profileId: profile.id,
      generation: profile.generation,
      ssn: profile.holder.ssn,
      holderName: profile.holder.name,
      pan: profile.financial?.pan ?? null,
      status: profile.status,
      profileJson: publicProfileJson(profile),
    });
    if (profile.transactionPassword)
      ledger.setBankPassword(cardId, hash(profile.transactionPassword, { cardId, secret: 'password' }));
    for (const [field, kind] of OPENING) {
      const fen = profile.accounts[field];
      if (fen === undefined || fen === null) continue;
      if (fen === 0) ledger.openAccount(cardId, kind);
      else ledger.fund(cardId, kind, fen, `opening:${cardId}:${kind}`);
    }
  });

  // BEGIN IMMEDIATE takes the write lock before the row is read: no other connection can
  // change the counter between this read and the command's write, and WAL never has to
  // upgrade a read to a write (SQLITE_BUSY_SNAPSHOT). The commit (synchronous=FULL) returns
  // once the write is on disk, before the card answers.
  const exclusivelyTx = db.transaction(
    (cardId: string, command: (stored: CardSecurityState) => unknown): unknown => {
      const row = ledger.getSecurity(cardId);
      if (!row) throw new Error(`no security state for card ${cardId} in the ledger`);
      const { pinHash, pinTriesLeft, pinRetryLimit, pinInitial, keyTriesLeft } = row;
      return command({ pinHash, pinTriesLeft, pinRetryLimit, pinInitial, keyTriesLeft });
    },
  );
  const sharedState = (cardId: string): SharedCardState => ({
    exclusively: <T>(command: (stored: CardSecurityState) => T): T =>
      exclusivelyTx.immediate(cardId, command) as T,
  });

  return {
    ledger,
    db,
    open(profile, options = {}) {
      const cardId = profile.card.number;
      if (!ledger.getCard(cardId)) importCard.immediate(profile);
      // Hash the fixture's PIN only for a card the ledger has never seen (scrypt is slow on purpose).
      const stored =
        ledger.getSecurity(cardId) ??
        ledger.initSecurityIfAbsent(cardId, {
          pinHash: hash(profile.pin, { cardId, secret: 'pin' }),
          pinTriesLeft: profile.pinTriesLeft ?? profile.pinRetryLimit,
          pinRetryLimit: profile.pinRetryLimit,
          pinInitial: profilePinInitial(profile),
          keyTriesLeft: KEY_RETRY_LIMIT,
        });
      return new SocialSecurityCard(profile, {
        state: stored,
        persist: (s) => ledger.saveSecurity(cardId, s),
        shared: sharedState(cardId),
        random: options.random ?? secureRandom,
      });
    },
    security(cardId) {
      const s = ledger.getSecurity(cardId);
      if (!s) throw new Error(`no card ${cardId} in the ledger`);
      const { pinHash: _h, ...rest } = s;
      return rest;
    },
    balances: (cardId) => ledger.balances(cardId),
    close: () => ledger.close(),
  };
}
