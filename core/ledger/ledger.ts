import type Database from 'better-sqlite3';
import { latestVersion, userVersion } from '../db/migrate.ts';
import type { SecretHash } from '../card/pin.ts';
import type { CardSecurityState } from '../card/social-security-card.ts';
import { lazyStatements } from '../db/lazy-statements.ts';

export type { SecretHash };

/**
 * The ledger: virtual cards, their persistent security state (the chip's EEPROM), the bank
 * transaction password, and double-entry accounts with an append-only journal.
 *
 * Money is integer fen throughout (1 yuan = 100 fen). Every balance and amount is kept
 * within Number.MAX_SAFE_INTEGER so that it reads back into a JS number exactly.
 */

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

const CARD_ACCOUNT_CODES: Readonly<Record<CardAccountKind, string | null>> = {
  reserve: null,
  medical_current: '95000',
  medical_prior: '95001',
};

const SYSTEM_ACCOUNT_KINDS: readonly SystemAccountKind[] = ['bank_funding', 'medical_funding', 'merchant'];

/** The system account that funds each kind of card account. */
const FUNDING_SOURCE: Readonly<Record<CardAccountKind, SystemAccountKind>> = {
  reserve: 'bank_funding',
  medical_current: 'medical_funding',
  medical_prior: 'medical_funding',
};

const MAX_FEN = BigInt(Number.MAX_SAFE_INTEGER);

interface CardDbRow {
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

interface SecurityDbRow {
  card_id: string;
  pin_hash: string;
  pin_tries_left: number;
  pin_retry_limit: number;
  pin_initial: number;
  key_tries_left: number;
  updated_at: string;
}

interface AccountDbRow {
  account_id: number;
  card_id: string | null;
  kind: AccountKind;
  code: string | null;
  balance_fen: number;
  opened_at: string;
}

interface JournalDbRow {
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

interface InconsistencyDbRow {
  account_id: number;
  card_id: string | null;
  kind: AccountKind;
  balance_fen: number;
  journal_fen: number;
}

function isCardAccountKind(kind: unknown): kind is CardAccountKind {
  return typeof kind === 'string' && Object.hasOwn(CARD_ACCOUNT_CODES, kind);
}

function isSecretHash(v: unknown): v is SecretHash {
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
function secretHashJson(h: SecretHash, what: string): string {
  if (!isSecretHash(h)) throw new TypeError(`${what} is not a scrypt SecretHash`);
  return JSON.stringify({ alg: h.alg, n: h.n, r: h.r, p: h.p, salt: h.salt, hash: h.hash });
}

function parseSecretHash(text: string, what: string): SecretHash {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  if (!isSecretHash(v)) throw new LedgerError('CORRUPT_ROW', `${what} is not a valid scrypt SecretHash`);
  return v;
}

function isSqliteError(e: unknown, code: string): boolean {
  return e instanceof Error && (e as Error & { code?: unknown }).code === code;
}

function describeAccount(a: AccountDbRow): string {
  const owner = a.card_id === null ? 'system' : `card ${a.card_id}`;
  return `account ${a.account_id} (${owner} ${a.kind}${a.code ? ' ' + a.code : ''})`;
}

/** Checks a posting's shape and arithmetic before the database is touched. */
function validatePosting(txn: Posting): void {
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

const journalSelect = `
  SELECT j.entry_id, j.txn_id, j.line, j.at, j.account_id, a.card_id, a.kind AS account_kind,
         j.amount_fen, j.kind, j.ref_txn_id, j.memo
  FROM journal j JOIN accounts a ON a.account_id = j.account_id`;

/** The statements, each prepared on first use (lazyStatements). */
const prepareStatements = lazyStatements({
  upsertCard: (db) =>
    db.prepare<CardDbRow, CardDbRow>(`
      INSERT INTO cards (card_id, profile_id, generation, ssn, holder_name, pan, status, profile_json,
                         created_at, updated_at)
      VALUES (@card_id, @profile_id, @generation, @ssn, @holder_name, @pan, @status, @profile_json,
              @created_at, @updated_at)
      ON CONFLICT (card_id) DO UPDATE SET
        profile_id = excluded.profile_id, generation = excluded.generation, ssn = excluded.ssn,
        holder_name = excluded.holder_name, pan = excluded.pan, status = excluded.status,
        profile_json = excluded.profile_json, updated_at = excluded.updated_at
      RETURNING *`),
  getCard: (db) => db.prepare<[string], CardDbRow>('SELECT * FROM cards WHERE card_id = ?'),
  listCards: (db) => db.prepare<[], CardDbRow>('SELECT * FROM cards ORDER BY card_id'),
  setCardStatus: (db) =>
    db.prepare<[string, string, string]>('UPDATE cards SET status = ?, updated_at = ? WHERE card_id = ?'),

  getSecurity: (db) => db.prepare<[string], SecurityDbRow>('SELECT * FROM card_security WHERE card_id = ?'),
  saveSecurity: (db) =>
    db.prepare<SecurityDbRow>(`
      INSERT INTO card_security (card_id, pin_hash, pin_tries_left, pin_retry_limit, pin_initial,
                                 key_tries_left, updated_at)
      VALUES (@card_id, @pin_hash, @pin_tries_left, @pin_retry_limit, @pin_initial, @key_tries_left, @updated_at)
      ON CONFLICT (card_id) DO UPDATE SET
        pin_hash = excluded.pin_hash, pin_tries_left = excluded.pin_tries_left,
        pin_retry_limit = excluded.pin_retry_limit, pin_initial = excluded.pin_initial,
        key_tries_left = excluded.key_tries_left, updated_at = excluded.updated_at`),
  insertSecurityIfAbsent: (db) =>
    db.prepare<SecurityDbRow>(`
      INSERT INTO card_security (card_id, pin_hash, pin_tries_left, pin_retry_limit, pin_initial,
                                 key_tries_left, updated_at)
      VALUES (@card_id, @pin_hash, @pin_tries_left, @pin_retry_limit, @pin_initial, @key_tries_left, @updated_at)
      ON CONFLICT (card_id) DO NOTHING`),

  setBankPassword: (db) =>
    db.prepare<[string, string, string]>(`
      INSERT INTO bank_secrets (card_id, password_hash, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (card_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at`),
  getBankPassword: (db) =>
    db.prepare<[string], { password_hash: string }>(
      'SELECT password_hash FROM bank_secrets WHERE card_id = ?',
    ),

  // DO NOTHING (not INSERT OR IGNORE): only the uniqueness conflict is expected; a CHECK
  // or foreign-key failure must still raise.
  insertAccount: (db) =>
    db.prepare<[string | null, AccountKind, string | null, string]>(`
      INSERT INTO accounts (card_id, kind, code, opened_at) VALUES (?, ?, ?, ?)
      ON CONFLICT DO NOTHING`),
  getCardAccount: (db) =>
    db.prepare<[string, CardAccountKind], AccountDbRow>(
      'SELECT * FROM accounts WHERE card_id = ? AND kind = ?',
    ),
  getSystemAccount: (db) =>
    db.prepare<[SystemAccountKind], AccountDbRow>(
      'SELECT * FROM accounts WHERE card_id IS NULL AND kind = ?',
    ),
  getAccountById: (db) => db.prepare<[number], AccountDbRow>('SELECT * FROM accounts WHERE account_id = ?'),
  cardAccounts: (db) => db.prepare<[string], AccountDbRow>('SELECT * FROM accounts WHERE card_id = ?'),
  setBalance: (db) =>
    db.prepare<[number, number]>('UPDATE accounts SET balance_fen = ? WHERE account_id = ?'),

  txnExists: (db) => db.prepare<[string], number>('SELECT 1 FROM journal WHERE txn_id = ? LIMIT 1').pluck(),
  insertLine: (db) =>
    db.prepare<[string, number, string, number, number, string, string | null, string | null]>(`
      INSERT INTO journal (txn_id, line, at, account_id, amount_fen, kind, ref_txn_id, memo)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
  journalAll: (db) => db.prepare<[], JournalDbRow>(`${journalSelect} ORDER BY j.entry_id`),
  journalByCard: (db) =>
    db.prepare<[string], JournalDbRow>(`${journalSelect} WHERE a.card_id = ? ORDER BY j.entry_id`),
  journalByTxn: (db) =>
    db.prepare<[string], JournalDbRow>(`${journalSelect} WHERE j.txn_id = ? ORDER BY j.entry_id`),
  journalByCardAndTxn: (db) =>
    db.prepare<[string, string], JournalDbRow>(
      `${journalSelect} WHERE a.card_id = ? AND j.txn_id = ? ORDER BY j.entry_id`,
    ),
  inconsistencies: (db) =>
    db.prepare<[], InconsistencyDbRow>(`
      SELECT a.account_id, a.card_id, a.kind, a.balance_fen, COALESCE(SUM(j.amount_fen), 0) AS journal_fen
      FROM accounts a LEFT JOIN journal j ON j.account_id = a.account_id
      GROUP BY a.account_id
      HAVING a.balance_fen <> journal_fen
      ORDER BY a.account_id`),
});

type Statements = ReturnType<typeof prepareStatements>;

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
