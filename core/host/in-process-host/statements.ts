import type { HostRecordRow as RecordDbRow, Part } from '../request-checks.ts';
import { lazyStatements } from '../../db/lazy-statements.ts';

/**
 * The in-process host's SQL on the ledger's SQLite database, in one place: the host tables of
 * core/db/migrations/020-host.ts plus the ledger's accounts and bank secrets, each statement prepared
 * on first use. The per-concept modules beside this file run them.
 */

export type { RecordDbRow };

export interface LegDbRow {
  payment_id: string;
  leg: number;
  part: Part;
  account_id: number | null;
  advanced: number;
  amount_fen: number;
  ref_leg: number | null;
}

export interface OpenLegRow {
  leg: number;
  part: Part;
  account_id: number | null;
  advanced: number;
  remaining_fen: number;
}

/** A payment id voided by a reversal that reached the host first (migration 90). */
export interface VoidedDbRow {
  payment_id: string;
  reversal_id: string;
  reversed_at: string;
  voided_at: string;
}

/** The statements, each prepared on first use (lazyStatements). */
export const prepareStatements = lazyStatements({
  getRecord: (db) => db.prepare<[string], RecordDbRow>('SELECT * FROM host_records WHERE payment_id = ?'),
  insertRecord: (db) =>
    db.prepare<RecordDbRow>(`
      INSERT INTO host_records (payment_id, kind, ref_payment_id, mode, terminal_id, merchant_id, card_id,
        card_status, method, amount_fen, medical_current_fen, medical_prior_fen, reserve_fen, self_pay_fen,
        advanced_fen, created_at, business_date, applied_at)
      VALUES (@payment_id, @kind, @ref_payment_id, @mode, @terminal_id, @merchant_id, @card_id,
        @card_status, @method, @amount_fen, @medical_current_fen, @medical_prior_fen, @reserve_fen,
        @self_pay_fen, @advanced_fen, @created_at, @business_date, @applied_at)`),
  insertLeg: (db) =>
    db.prepare<LegDbRow>(`
      INSERT INTO host_legs (payment_id, leg, part, account_id, advanced, amount_fen, ref_leg)
      VALUES (@payment_id, @leg, @part, @account_id, @advanced, @amount_fen, @ref_leg)`),
  /** The legs of a payment with what is still unreturned of each, in drawing order. */
  openLegs: (db) =>
    db.prepare<[string], OpenLegRow>(`
      SELECT l.leg, l.part, l.account_id, l.advanced,
             l.amount_fen - COALESCE((
               SELECT SUM(b.amount_fen) FROM host_legs b
               JOIN host_records h ON h.payment_id = b.payment_id
               WHERE h.ref_payment_id = l.payment_id AND b.ref_leg = l.leg), 0) AS remaining_fen
      FROM host_legs l WHERE l.payment_id = ? ORDER BY l.leg`),
  getVoided: (db) =>
    db.prepare<[string], VoidedDbRow>('SELECT * FROM host_voided_payments WHERE payment_id = ?'),
  voidedByReversal: (db) =>
    db.prepare<[string], VoidedDbRow>('SELECT * FROM host_voided_payments WHERE reversal_id = ?'),
  insertVoided: (db) =>
    db.prepare<VoidedDbRow>(`
      INSERT INTO host_voided_payments (payment_id, reversal_id, reversed_at, voided_at)
      VALUES (@payment_id, @reversal_id, @reversed_at, @voided_at)
      ON CONFLICT (payment_id) DO NOTHING`),
  reversalOf: (db) =>
    db.prepare<[string], RecordDbRow>(
      `SELECT * FROM host_records WHERE ref_payment_id = ? AND kind = 'reversal'`,
    ),
  recordsOfTerminal: (db) =>
    db.prepare<[string], RecordDbRow>('SELECT * FROM host_records WHERE terminal_id = ? ORDER BY rowid'),
  recordsOfTerminalDay: (db) =>
    db.prepare<[string, string], RecordDbRow>(
      'SELECT * FROM host_records WHERE terminal_id = ? AND business_date = ? ORDER BY rowid',
    ),
  bankSecret: (db) =>
    db.prepare<[string], { password_failures: number }>(
      'SELECT password_failures FROM bank_secrets WHERE card_id = ?',
    ),
  passwordFailed: (db) =>
    db.prepare<[string], { password_failures: number }>(
      `UPDATE bank_secrets SET password_failures = password_failures + 1 WHERE card_id = ?
       RETURNING password_failures`,
    ),
  passwordOk: (db) =>
    db.prepare<[string]>(
      'UPDATE bank_secrets SET password_failures = 0 WHERE card_id = ? AND password_failures <> 0',
    ),
  getMeta: (db) => db.prepare<[string], string>('SELECT value FROM host_meta WHERE key = ?').pluck(),
  setMeta: (db) =>
    db.prepare<[string, string]>(
      'INSERT INTO host_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
  medicalCurrentAccounts: (db) =>
    db.prepare<[], { card_id: string; account_id: number; balance_fen: number }>(
      `SELECT card_id, account_id, balance_fen FROM accounts WHERE kind = 'medical_current' ORDER BY card_id`,
    ),
  insertCarryOver: (db) =>
    db.prepare<[number, string, number, number]>(
      'INSERT INTO host_carry_overs (year, ran_at, cards, moved_fen) VALUES (?, ?, ?, ?)',
    ),
});

export type InProcessStatements = ReturnType<typeof prepareStatements>;
