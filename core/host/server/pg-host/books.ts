import type pg from 'pg';
import type { SecretHash } from '../../../card/pin.ts';
import type { HostRecordRow as RecordRow, Part } from '../../request-checks.ts';
import type { AccountPart, FundingKind } from '../../rules/legs.ts';
import type { OpenLeg } from '../../rules/refund-order.ts';
import type { Tombstone } from '../../rules/voiding.ts';
import {
  HostError,
  type HostBalances,
  type HostPaymentRequest,
  type MedicalOrder,
  type ShortfallPolicy,
} from '../../types.ts';
import type { Client } from './pool.ts';
import type { CardRegistration } from './public-types.ts';
import { LOCK_CARD_FOR_PAYMENT_SQL, READ_FOR_PAYMENT_SQL, RECORD_COLUMNS } from './sql.ts';

/**
 * What PgHost's per-concept modules share: the pool and settings they work with, the rows they
 * read (as node-postgres returns them) and the reads and row locks every money operation starts
 * with. Money decisions are not here: they are core/host/rules/.
 */
export interface PgBooks {
  readonly pool: pg.Pool;
  readonly medicalOrder: MedicalOrder;
  readonly shortfall: ShortfallPolicy;
  readonly passwordRetryLimit: number;
  clock(): Date;
  now(): string;
  /** The id of a system account (read once at open). */
  system(kind: FundingKind | 'merchant'): number;
  /** One READ COMMITTED transaction, re-run on deadlock, serialization failure or id race. */
  tx<T>(fn: (c: Client) => Promise<T>): Promise<T>;
}

export type { RecordRow };
export type CardStatus = CardRegistration['status'];

export interface CardRow {
  card_id: string;
  generation: 1 | 2 | 3;
  status: CardStatus;
  password_hash: SecretHash | null;
  password_failures: number;
}

export interface AccountRow {
  account_id: number;
  kind: AccountPart;
  balance_fen: number;
}

/** A tombstone as VOIDED_SELECT reads it. */
export interface VoidedRow extends Tombstone {
  reversal_taken: boolean;
}

interface OpenLegRow {
  leg: number;
  part: Part;
  account_id: number | null;
  advanced: boolean;
  remaining_fen: number;
}

export function balancesOf(accounts: Map<AccountPart, AccountRow>): HostBalances {
  return {
    reserve: accounts.get('reserve')?.balance_fen ?? null,
    medicalCurrent: accounts.get('medical_current')?.balance_fen ?? null,
    medicalPrior: accounts.get('medical_prior')?.balance_fen ?? null,
  };
}

export async function lockCard(c: Client, cardId: string): Promise<CardRow> {
  const r = await c.query<CardRow>({
    name: 'host-lock-card',
    text: 'SELECT card_id, generation, status, password_hash, password_failures FROM host_cards WHERE card_id = $1 FOR UPDATE',
    values: [cardId],
  });
  const card = r.rows[0];
  if (!card) throw new HostError('UNKNOWN_CARD', `no card ${cardId} at the host`);
  return card;
}

/** lockCard for a pay or forward: the shared lock on the payment id first (see PgHost). */
export async function lockCardForPayment(c: Client, cardId: string, paymentId: string): Promise<CardRow> {
  const r = await c.query<CardRow>({
    name: 'host-lock-card-for-payment',
    text: LOCK_CARD_FOR_PAYMENT_SQL,
    values: [cardId, paymentId],
  });
  const card = r.rows[0];
  if (!card) throw new HostError('UNKNOWN_CARD', `no card ${cardId} at the host`);
  return card;
}

export async function accountsOf(c: Client | pg.Pool, cardId: string): Promise<Map<AccountPart, AccountRow>> {
  const r = await c.query<AccountRow>(
    'SELECT account_id, kind, balance_fen FROM host_accounts WHERE card_id = $1',
    [cardId],
  );
  return new Map(r.rows.map((a) => [a.kind, a]));
}

export async function getRecord(c: Client, id: string): Promise<RecordRow | null> {
  return (
    (await c.query<RecordRow>(`SELECT ${RECORD_COLUMNS} FROM host_records WHERE payment_id = $1`, [id]))
      .rows[0] ?? null
  );
}

/** In one statement, after the card's row is locked: a record of this id, and the card's accounts. */
export async function readForPayment(
  c: Client,
  request: HostPaymentRequest,
): Promise<{
  existing: RecordRow | null;
  accounts: Map<AccountPart, AccountRow>;
  voided: VoidedRow | null;
}> {
  const r = await c.query<{ existing: RecordRow | null; accounts: AccountRow[]; voided: VoidedRow | null }>({
    name: 'host-read-for-payment',
    text: READ_FOR_PAYMENT_SQL,
    values: [request.cardId, request.paymentId],
  });
  const row = r.rows[0]!;
  return {
    existing: row.existing,
    accounts: new Map(row.accounts.map((a) => [a.kind, a])),
    voided: row.voided,
  };
}

export async function reversalOf(c: Client, paymentId: string): Promise<RecordRow | null> {
  return (
    (
      await c.query<RecordRow>(
        `SELECT ${RECORD_COLUMNS} FROM host_records WHERE ref_payment_id = $1 AND kind = 'reversal'`,
        [paymentId],
      )
    ).rows[0] ?? null
  );
}

/** The legs of a payment with what is still unreturned of each, in drawing order. */
export async function openLegs(c: Client, paymentId: string): Promise<OpenLeg[]> {
  const rows = (
    await c.query<OpenLegRow>(
      `SELECT l.leg, l.part, l.account_id, l.advanced,
              (l.amount_fen - COALESCE((
                SELECT SUM(b.amount_fen) FROM host_legs b
                JOIN host_records h ON h.payment_id = b.payment_id
                WHERE h.ref_payment_id = l.payment_id AND b.ref_leg = l.leg), 0))::bigint AS remaining_fen
       FROM host_legs l WHERE l.payment_id = $1 ORDER BY l.leg`,
      [paymentId],
    )
  ).rows;
  return rows.map((l) => ({
    leg: l.leg,
    part: l.part,
    accountId: l.account_id,
    advanced: l.advanced,
    remainingFen: l.remaining_fen,
  }));
}
