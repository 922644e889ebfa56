/** The ledger's SQL, each statement prepared on first use (lazyStatements). */
import { lazyStatements } from '../db/lazy-statements.ts';
import type { AccountDbRow, CardDbRow, InconsistencyDbRow, JournalDbRow, SecurityDbRow } from './rows.ts';
import type { AccountKind, CardAccountKind, SystemAccountKind } from './types.ts';

const journalSelect = `
  SELECT j.entry_id, j.txn_id, j.line, j.at, j.account_id, a.card_id, a.kind AS account_kind,
         j.amount_fen, j.kind, j.ref_txn_id, j.memo
  FROM journal j JOIN accounts a ON a.account_id = j.account_id`;

export const prepareStatements = lazyStatements({
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

export type Statements = ReturnType<typeof prepareStatements>;
