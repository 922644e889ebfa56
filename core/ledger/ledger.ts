import type Database from 'better-sqlite3';
import { latestVersion, userVersion } from '../db/migrate.ts';
import type { SecretHash } from '../card/pin.ts';
import {
  CARD_ACCOUNT_CODES,
  FUNDING_SOURCE,
  MAX_FEN,
  SYSTEM_ACCOUNT_KINDS,
  describeAccount,
  isCardAccountKind,
  isSqliteError,
  parseSecretHash,
  secretHashJson,
  validatePosting,
  type AccountDbRow,
  type CardDbRow,
  type JournalDbRow,
  type SecurityDbRow,
} from './rows.ts';
import { prepareStatements, type Statements } from './statements.ts';
import {
  LedgerError,
  type AccountRow,
  type Balances,
  type CardAccountKind,
  type CardInput,
  type CardRow,
  type CardStatus,
  type Inconsistency,
  type JournalFilter,
  type JournalLine,
  type LedgerOptions,
  type Posting,
  type SecurityRow,
  type SecurityState,
  type SystemAccountKind,
} from './types.ts';

export type { SecretHash };

/**
 * The ledger: virtual cards, their persistent security state (the chip's EEPROM), the bank
 * transaction password, and double-entry accounts with an append-only journal.
 *
 * Money is integer fen throughout (1 yuan = 100 fen). Every balance and amount is kept
 * within Number.MAX_SAFE_INTEGER so that it reads back into a JS number exactly.
 */

export * from './types.ts';

export class Ledger {
  private readonly db: Database.Database;
  private readonly clock: () => Date;
  private readonly s: Statements;
  private readonly postTx: Database.Transaction<(txn: Posting) => void>;
  private readonly fundTx: Database.Transaction<
    (cardId: string, kind: CardAccountKind, fen: number, txnId: string) => number
  >;
  private readonly initSecurityTx: Database.Transaction<(row: SecurityDbRow) => SecurityRow>;

  constructor({ db, clock }: LedgerOptions) {
    // Fail here with a clear message rather than on the first prepare or, worse, silently
    // without foreign keys.
    const version = userVersion(db);
    if (version !== latestVersion()) {
      throw new Error(
        `ledger database is at schema version ${version}, expected ${latestVersion()}: open it with openLedgerDb()`,
      );
    }
    if (db.pragma('foreign_keys', { simple: true }) !== 1) {
      throw new Error('ledger database has foreign keys off: open it with openLedgerDb()');
    }
    this.db = db;
    this.clock = clock;

    this.s = prepareStatements(db);

    // Write transactions are run with .immediate(): the write lock is taken before the
    // first read, so another connection cannot invalidate the duplicate and balance checks
    // before we write, and WAL never has to fail a read-to-write upgrade (SQLITE_BUSY_SNAPSHOT).
    this.postTx = db.transaction((txn: Posting) => this.postInTransaction(txn));
    this.fundTx = db.transaction((cardId: string, kind: CardAccountKind, fen: number, txnId: string) => {
      const accountId = this.openAccount(cardId, kind);
      const source = this.systemAccount(FUNDING_SOURCE[kind]);
      this.post({
        txnId,
        kind: 'funding',
        lines: [
          { accountId: source, amountFen: -fen },
          { accountId, amountFen: fen },
        ],
      });
      return accountId;
    });
    this.initSecurityTx = db.transaction((row: SecurityDbRow) => {
      this.s.insertSecurityIfAbsent.run(row);
      return this.getSecurity(row.card_id) as SecurityRow;
    });
  }

  private now(): string {
    return this.clock().toISOString();
  }

  /** Runs a write that references cards(card_id), turning the foreign-key failure into UNKNOWN_CARD. */
  private forCard<T>(cardId: string, write: () => T): T {
    try {
      return write();
    } catch (e) {
      if (isSqliteError(e, 'SQLITE_CONSTRAINT_FOREIGNKEY')) {
        throw new LedgerError('UNKNOWN_CARD', `no card ${cardId} in the ledger`);
      }
      throw e;
    }
  }

  // ---- cards ---------------------------------------------------------------------------

  /** Inserts the card or replaces its fields (created_at is kept). Returns the stored row. */
  upsertCard(card: CardInput): CardRow {
    const now = this.now();
    const row = this.s.upsertCard.get({
      card_id: card.cardId,
      profile_id: card.profileId,
      generation: card.generation,
      ssn: card.ssn,
      holder_name: card.holderName,
      pan: card.pan,
      status: card.status,
      profile_json: card.profileJson,
      created_at: now,
      updated_at: now,
    });
    return toCard(row as CardDbRow);
  }

  getCard(cardId: string): CardRow | null {
    const row = this.s.getCard.get(cardId);
    return row ? toCard(row) : null;
  }

  listCards(): CardRow[] {
    return this.s.listCards.all().map(toCard);
  }

  setCardStatus(cardId: string, status: CardStatus): void {
    const { changes } = this.s.setCardStatus.run(status, this.now(), cardId);
    if (changes === 0) throw new LedgerError('UNKNOWN_CARD', `no card ${cardId} in the ledger`);
  }

  // ---- security state (the chip's EEPROM) ------------------------------------------------

  getSecurity(cardId: string): SecurityRow | null {
    const row = this.s.getSecurity.get(cardId);
    if (!row) return null;
    return {
      cardId: row.card_id,
      pinHash: parseSecretHash(row.pin_hash, `PIN hash of card ${cardId}`),
      pinTriesLeft: row.pin_tries_left,
      pinRetryLimit: row.pin_retry_limit,
      pinInitial: row.pin_initial === 1,
      keyTriesLeft: row.key_tries_left,
      updatedAt: row.updated_at,
    };
  }

  /**
   * Stores the card's security state. Synchronous and committed (fsynced, synchronous=FULL)
   * on return: the emulator calls this before it answers the APDU, so a crash right after
   * can never hand back a retry counter that was already spent.
   */
  saveSecurity(cardId: string, s: SecurityState): void {
    const row = this.securityRow(cardId, s);
    this.forCard(cardId, () => this.s.saveSecurity.run(row));
  }

  /**
   * Stores `s` only when the card has no security state yet, and returns what is stored now.
   * Importing a fixture again must never reset a counter the card has already spent.
   */
  initSecurityIfAbsent(cardId: string, s: SecurityState): SecurityRow {
    const row = this.securityRow(cardId, s);
    return this.forCard(cardId, () => this.initSecurityTx.immediate(row));
  }

  private securityRow(cardId: string, s: SecurityState): SecurityDbRow {
    return {
      card_id: cardId,
      pin_hash: secretHashJson(s.pinHash, `PIN hash of card ${cardId}`),
      pin_tries_left: s.pinTriesLeft,
      pin_retry_limit: s.pinRetryLimit,
      pin_initial: s.pinInitial ? 1 : 0,
      key_tries_left: s.keyTriesLeft,
      updated_at: this.now(),
    };
  }

  // ---- bank transaction password (gen 2/3) -----------------------------------------------

  setBankPassword(cardId: string, hash: SecretHash): void {
    const json = secretHashJson(hash, `transaction password hash of card ${cardId}`);
    this.forCard(cardId, () => this.s.setBankPassword.run(cardId, json, this.now()));
  }

  getBankPassword(cardId: string): SecretHash | null {
    const row = this.s.getBankPassword.get(cardId);
    return row ? parseSecretHash(row.password_hash, `transaction password hash of card ${cardId}`) : null;
  }

  // ---- accounts --------------------------------------------------------------------------

  /** Opens the card's account of this kind if it does not exist yet; returns its id either way. */
  openAccount(cardId: string, kind: CardAccountKind): number {
    if (!isCardAccountKind(kind)) {
      throw new LedgerError('INVALID_ACCOUNT_KIND', `${String(kind)} is not a card account kind`);
    }
    const existing = this.s.getCardAccount.get(cardId, kind);
    if (existing) return existing.account_id;
    this.forCard(cardId, () => this.s.insertAccount.run(cardId, kind, CARD_ACCOUNT_CODES[kind], this.now()));
    return (this.s.getCardAccount.get(cardId, kind) as AccountDbRow).account_id;
  }

  /** The system counterparty account of this kind, created on first use. */
  systemAccount(kind: SystemAccountKind): number {
    if (!SYSTEM_ACCOUNT_KINDS.includes(kind)) {
      throw new LedgerError('INVALID_ACCOUNT_KIND', `${String(kind)} is not a system account kind`);
    }
    const existing = this.s.getSystemAccount.get(kind);
    if (existing) return existing.account_id;
    this.s.insertAccount.run(null, kind, null, this.now());
    return (this.s.getSystemAccount.get(kind) as AccountDbRow).account_id;
  }

  getAccount(cardId: string, kind: CardAccountKind): AccountRow | null {
    const row = this.s.getCardAccount.get(cardId, kind);
    return row ? toAccount(row) : null;
  }

  balances(cardId: string): Balances {
    const by = new Map(this.s.cardAccounts.all(cardId).map((a) => [a.kind, a.balance_fen]));
    return {
      reserve: by.get('reserve') ?? null,
      medicalCurrent: by.get('medical_current') ?? null,
      medicalPrior: by.get('medical_prior') ?? null,
    };
  }

  // ---- postings ----------------------------------------------------------------------------

  /**
   * Posts one balanced transaction atomically: either every line is journalled and every
   * balance updated, or (on any LedgerError) nothing is written.
   */
  post(txn: Posting): void {
    validatePosting(txn);
    this.postTx.immediate(txn);
  }

  private postInTransaction(txn: Posting): void {
    if (this.s.txnExists.get(txn.txnId) !== undefined) {
      throw new LedgerError('DUPLICATE_TXN', `transaction ${txn.txnId} is already posted`);
    }
    if (txn.refTxnId !== undefined && this.s.txnExists.get(txn.refTxnId) === undefined) {
      throw new LedgerError(
        'UNKNOWN_REF_TXN',
        `${txn.txnId} refers to ${txn.refTxnId}, which was never posted`,
      );
    }

    // Net change per account: an account may appear on several lines, and only where it
    // ends up matters (and must stay a safe integer, hence BigInt while summing).
    const net = new Map<number, bigint>();
    for (const l of txn.lines) net.set(l.accountId, (net.get(l.accountId) ?? 0n) + BigInt(l.amountFen));

    const newBalances: [AccountDbRow, number][] = [];
    for (const [accountId, delta] of net) {
      const account = this.s.getAccountById.get(accountId);
      if (!account)
        throw new LedgerError('UNKNOWN_ACCOUNT', `${txn.txnId}: no account ${accountId}`, accountId);
      const balance = BigInt(account.balance_fen) + delta;
      if (account.card_id !== null && balance < 0n) {
        throw new LedgerError(
          'INSUFFICIENT_FUNDS',
          `${txn.txnId}: ${describeAccount(account)} has ${account.balance_fen} fen, ${-delta} fen needed`,
          accountId,
        );
      }
      if (balance > MAX_FEN || balance < -MAX_FEN) {
        throw new LedgerError(
          'BALANCE_OUT_OF_RANGE',
          `${txn.txnId}: ${describeAccount(account)} would reach ${balance} fen, beyond ±${MAX_FEN}`,
          accountId,
        );
      }
      newBalances.push([account, Number(balance)]);
    }

    const at = this.now();
    txn.lines.forEach((l, i) => {
      this.s.insertLine.run(
        txn.txnId,
        i + 1,
        at,
        l.accountId,
        l.amountFen,
        txn.kind,
        txn.refTxnId ?? null,
        txn.memo ?? null,
      );
    });
    for (const [account, balance] of newBalances) this.s.setBalance.run(balance, account.account_id);
  }

  /**
   * Credits `fen` to the card's account of `kind` from the matching system account
   * (bank_funding for the reserve, medical_funding for 95000/95001), opening the card
   * account first if needed — R4.1: 95000 comes into being at the first medical funding.
   * Returns the card account's id. Use openAccount() for an account that starts at zero.
   */
  fund(cardId: string, kind: CardAccountKind, fen: number, txnId: string): number {
    if (!isCardAccountKind(kind)) {
      throw new LedgerError('INVALID_ACCOUNT_KIND', `${String(kind)} is not a card account kind`);
    }
    if (!Number.isSafeInteger(fen) || fen <= 0) {
      throw new LedgerError(
        'INVALID_AMOUNT',
        `${txnId}: funding must be a positive whole number of fen, not ${fen}`,
      );
    }
    return this.fundTx.immediate(cardId, kind, fen, txnId);
  }

  journal(filter: JournalFilter = {}): JournalLine[] {
    const { cardId, txnId } = filter;
    let rows: JournalDbRow[];
    if (cardId !== undefined && txnId !== undefined) rows = this.s.journalByCardAndTxn.all(cardId, txnId);
    else if (cardId !== undefined) rows = this.s.journalByCard.all(cardId);
    else if (txnId !== undefined) rows = this.s.journalByTxn.all(txnId);
    else rows = this.s.journalAll.all();
    return rows.map(toJournalLine);
  }

  /** Accounts whose stored balance disagrees with the sum of their journal lines; empty when consistent. */
  checkConsistency(): Inconsistency[] {
    return this.s.inconsistencies.all().map((r) => ({
      accountId: r.account_id,
      cardId: r.card_id,
      kind: r.kind,
      balanceFen: r.balance_fen,
      journalFen: r.journal_fen,
    }));
  }

  close(): void {
    this.db.close();
  }
}

function toCard(r: CardDbRow): CardRow {
  return {
    cardId: r.card_id,
    profileId: r.profile_id,
    generation: r.generation,
    ssn: r.ssn,
    holderName: r.holder_name,
    pan: r.pan,
    status: r.status,
    profileJson: r.profile_json,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toAccount(r: AccountDbRow): AccountRow {
  return {
    accountId: r.account_id,
    cardId: r.card_id,
    kind: r.kind,
    code: r.code,
    balanceFen: r.balance_fen,
    openedAt: r.opened_at,
  };
}

function toJournalLine(r: JournalDbRow): JournalLine {
  return {
    entryId: r.entry_id,
    txnId: r.txn_id,
    line: r.line,
    at: r.at,
    accountId: r.account_id,
    cardId: r.card_id,
    accountKind: r.account_kind,
    amountFen: r.amount_fen,
    kind: r.kind,
    refTxnId: r.ref_txn_id,
    memo: r.memo,
  };
}
