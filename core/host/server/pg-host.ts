import { scrypt, timingSafeEqual } from 'node:crypto';
import pg from 'pg';
import type { SecretHash } from '../../card/pin.ts';
import { businessDate } from '../../time.ts';
import { neverAppliedError, voidedError, type CarryOverResult } from '../in-process-host.ts';
import { carryOverYearDue } from '../medical.ts';
import { hostRecordFromColumns } from '../split.ts';
import {
  drawOrder,
  invalid,
  requireFen,
  requireInstant,
  requireText,
  validatePaymentRequest,
  validatePaymentSplit,
  decideOnlinePayment,
  formatYuan,
  type HostRecordRow as RecordRow,
  type Part,
  type RecordHead,
} from '../request-checks.ts';
import {
  HostError,
  type Host,
  type HostBalances,
  type HostPaymentRequest,
  type HostRecord,
  type LinkState,
  type MedicalOrder,
  type PasswordCheck,
  type PaymentSplit,
  type ShortfallPolicy,
} from '../types.ts';
import { migrate } from '../../db/pg-migrate.ts';

/**
 * The central host (bank + medical insurance centre) on PostgreSQL: the same contract and the
 * same results as InProcessHost (core/host/in-process-host.ts) for the same calls — the split
 * (splitMedical), the drawing order, the advance of an offline payment the accounts can no
 * longer cover, refunds last-drawn first, reversals, password tries, the 21 June carry-over —
 * shared by many terminals over the network (core/host/server/http-server.ts).
 *
 * Concurrency: every operation that moves a card's money runs in one READ COMMITTED
 * transaction that first locks the card's row (SELECT … FOR UPDATE), so two terminals paying
 * from the same card are applied one after the other against the balances the first left,
 * and never overdraw (host_accounts also CHECKs balance ≥ 0). The replay check comes after
 * the lock: a payment id retried while its first attempt is still running finds the first
 * record once that commits, and the payment_id PRIMARY KEY is the last guard (a conflict
 * re-runs the transaction, which then answers with the first record). Operations lock at most
 * one card; the carry-over locks all cards in card_id order; deadlocks (40P01) and
 * serialization failures (40001) are retried all the same.
 *
 * Voided ids (migration 3): a reversal of a payment id the host has not applied leaves a
 * tombstone, and a later pay of that id is refused, a later forward applied and reversed at
 * once. A pay or forward and such a reversal of the same id may run at the same time, and the
 * reversal cannot lock a card it does not know: pay and forward take a shared advisory lock on
 * the id (in the statement that locks the card, before the statement that reads the records
 * and the tombstone), the reversal that writes a tombstone an exclusive one, then looks for the
 * payment again. So either the reversal sees the payment (and reverses it) or the payment sees
 * the tombstone — never neither.
 */
export interface PgHostOptions {
  /** A pool on the host's database; or a connection string (the host then owns its pool). */
  readonly pool?: pg.Pool;
  readonly connectionString?: string;
  readonly clock?: () => Date;
  readonly medicalOrder?: MedicalOrder;
  readonly shortfall?: ShortfallPolicy;
  readonly passwordRetryLimit?: number;
  /** Pool size when the host makes its own pool (default 10). */
  readonly poolSize?: number;
  /** Runs the migrations at open (default true). */
  readonly migrate?: boolean;
}

/** A card as a terminal registers it with the host: its first registration seeds its accounts. */
export interface CardRegistration {
  readonly cardId: string;
  readonly generation: 1 | 2 | 3;
  readonly status: 'active' | 'not-activated' | 'loss-reported' | 'closed';
  /** Salted scrypt hash of the bank transaction password (gen 2/3), never the password. */
  readonly passwordHash: SecretHash | null;
  /** Opening balances in fen; null leaves the account unopened, 0 opens it empty. */
  readonly opening: {
    readonly reserve: number | null;
    readonly medicalCurrent: number | null;
    readonly medicalPrior: number | null;
  };
  /** The terminal that registered it (for the record). */
  readonly terminalId: string;
}

export interface RegistrationResult {
  /** False when the card was known already: nothing was changed. */
  readonly created: boolean;
  readonly balances: HostBalances;
}

/** One payment of a forwarded batch: its record, or why the host refused it. */
export interface ForwardBatchOutcome {
  readonly paymentId: string;
  readonly record?: HostRecord;
  readonly error?: { readonly code: string; readonly message: string };
}

/** What a terminal reports about itself (sscard host status). */
export interface TerminalReport {
  readonly terminalId: string;
  readonly merchantId?: string | null;
  readonly queueDepth?: number | null;
  readonly lastSyncAt?: string | null;
  readonly reconciliation?: 'agree' | 'mismatch' | 'unknown' | null;
  readonly mismatches?: number | null;
  readonly reconciledAt?: string | null;
}

export interface TerminalStatus {
  readonly terminalId: string;
  readonly merchantId: string | null;
  readonly lastSeen: string | null;
  readonly queueDepth: number | null;
  readonly lastSync: string | null;
  readonly reconciliation: 'agree' | 'mismatch' | 'unknown';
  readonly mismatches: number | null;
  readonly reconciledAt: string | null;
  /** From the host's own records. */
  readonly payments: number;
  readonly refunds: number;
  readonly reversals: number;
  /** Net of the terminal's records at the host: payments − refunds − reversals. */
  readonly netFen: number;
  readonly lastAppliedAt: string | null;
}

export interface HostStatus {
  readonly terminals: readonly TerminalStatus[];
  readonly chain: {
    readonly terminals: number;
    readonly cards: number;
    readonly payments: number;
    readonly netFen: number;
    readonly queueDepth: number;
    /** Every terminal reported agreement at its last reconciliation. */
    readonly allReconciled: boolean;
    /** The host's own books: postings sum to zero and every card balance is its postings' sum. */
    readonly booksBalanced: boolean;
  };
  readonly schemaVersion: number;
}
type AccountPart = Exclude<Part, 'self_pay'>;
type CardStatus = CardRegistration['status'];

interface Leg {
  readonly part: Part;
  readonly accountId: number | null;
  readonly advanced: boolean;
  readonly amountFen: number;
  readonly refLeg: number | null;
}

/** A record decided and not written yet (PgHost.plan), with its postings and card balance deltas. */
interface Planned {
  readonly row: RecordRow;
  readonly legs: readonly Leg[];
  /** Postings in line order: [account, signed fen]. */
  readonly lines: readonly [number, number][];
  /** Card accounts' balance changes: [account, signed fen]. */
  readonly cardDeltas: readonly [number, number][];
}

interface CardRow {
  card_id: string;
  generation: 1 | 2 | 3;
  status: CardStatus;
  password_hash: SecretHash | null;
  password_failures: number;
}

interface AccountRow {
  account_id: number;
  kind: AccountPart;
  balance_fen: number;
}

/** A tombstone as VOIDED_SELECT reads it. */
interface VoidedRow {
  payment_id: string;
  reversal_id: string;
  reversed_at: string;
  reversal_taken: boolean;
}

interface OpenLegRow {
  leg: number;
  part: Part;
  account_id: number | null;
  advanced: boolean;
  remaining_fen: number;
}

const SPLIT_FIELD: Readonly<Record<Part, keyof PaymentSplit>> = {
  medical_current: 'medicalCurrentFen',
  medical_prior: 'medicalPriorFen',
  reserve: 'reserveFen',
  self_pay: 'selfPayFen',
};

const ADVANCED_BY: Readonly<Record<AccountPart, 'bank_funding' | 'medical_funding'>> = {
  medical_current: 'medical_funding',
  medical_prior: 'medical_funding',
  reserve: 'bank_funding',
};

const CARRY_OVER_KEY = 'carry_over_done_year';

/**
 * Applies records, one or many, in one statement: $1–$18 the records (one array per column,
 * inserted in array order so that seq follows it), $19–$25 their legs, $26–$30 the balanced
 * postings, $31–$32 the card balance deltas (one per account, summed over the records).
 */
const APPLY_SQL = `
WITH rec AS (
  INSERT INTO host_records (payment_id, kind, ref_payment_id, mode, terminal_id, merchant_id, card_id, card_status,
    method, amount_fen, medical_current_fen, medical_prior_fen, reserve_fen, self_pay_fen, advanced_fen,
    created_at, business_date, applied_at)
  SELECT r.payment_id, r.kind, r.ref_payment_id, r.mode, r.terminal_id, r.merchant_id, r.card_id, r.card_status,
    r.method, r.amount_fen, r.medical_current_fen, r.medical_prior_fen, r.reserve_fen, r.self_pay_fen,
    r.advanced_fen, r.created_at, r.business_date, r.applied_at
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
              $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[],
              $16::text[], $17::text[], $18::text[]) WITH ORDINALITY
    AS r (payment_id, kind, ref_payment_id, mode, terminal_id, merchant_id, card_id, card_status, method,
          amount_fen, medical_current_fen, medical_prior_fen, reserve_fen, self_pay_fen, advanced_fen,
          created_at, business_date, applied_at, ord)
  ORDER BY r.ord),
legs AS (
  INSERT INTO host_legs (payment_id, leg, part, account_id, advanced, amount_fen, ref_leg)
  SELECT l.payment_id, l.leg, l.part, l.account_id, l.advanced, l.amount_fen, l.ref_leg
  FROM unnest($19::text[], $20::smallint[], $21::text[], $22::bigint[], $23::boolean[], $24::bigint[], $25::smallint[])
    AS l (payment_id, leg, part, account_id, advanced, amount_fen, ref_leg)),
post AS (
  INSERT INTO host_postings (txn_id, line, kind, account_id, amount_fen, posted_at)
  SELECT p.txn_id, p.line, p.kind, p.account_id, p.amount_fen, now()
  FROM unnest($26::text[], $27::smallint[], $28::text[], $29::bigint[], $30::bigint[])
    AS p (txn_id, line, kind, account_id, amount_fen)),
bal AS (
  UPDATE host_accounts a SET balance_fen = a.balance_fen + d.delta
  FROM unnest($31::bigint[], $32::bigint[]) AS d (account_id, delta)
  WHERE a.account_id = d.account_id
  RETURNING a.account_id)
SELECT (SELECT count(*) FROM bal) AS updated`;

/**
 * A tombstone (migration 3), and whether its reversal id is already taken by another record
 * (then the voided payment cannot be applied and reversed under it).
 */
const VOIDED_SELECT = `SELECT v.payment_id, v.reversal_id, v.reversed_at,
         EXISTS (SELECT 1 FROM host_records t WHERE t.payment_id = v.reversal_id) AS reversal_taken
  FROM host_voided_payments v`;

/** The advisory lock class (first key) of the payment-id locks; see PgHost. */
const VOID_LOCK = 0x5653_4944; // 'VSID'

/**
 * Locks a card's row for a payment, with the shared lock on the payment id taken first: a
 * MATERIALIZED CTE is evaluated once, when the join first needs it, before LockRows above the
 * join locks any row.
 */
const LOCK_CARD_FOR_PAYMENT_SQL = `
WITH id_lock AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(${VOID_LOCK}, hashtext($2)))
SELECT card_id, generation, status, password_hash, password_failures
FROM host_cards, id_lock
WHERE card_id = $1 FOR UPDATE OF host_cards`;

/**
 * Locks the cards of a batch in card_id order, with the shared locks on all its payment ids
 * taken first (once, before any row lock, as above).
 */
const LOCK_CARDS_FOR_BATCH_SQL = `
WITH id_locks AS MATERIALIZED (
  SELECT count(pg_advisory_xact_lock_shared(${VOID_LOCK}, h)) AS n
  FROM (SELECT DISTINCT hashtext(x) AS h FROM unnest($2::text[]) AS x) ids)
SELECT card_id, generation, status, password_hash, password_failures
FROM host_cards, id_locks
WHERE card_id = ANY($1::text[]) ORDER BY card_id FOR UPDATE OF host_cards`;

/**
 * After the cards' rows are locked (a separate, earlier statement: in READ COMMITTED a
 * statement reads the data committed when it starts), in one read: the records of these ids
 * (replays) and the accounts of these cards.
 */
const READ_FOR_BATCH_SQL = `
SELECT COALESCE((SELECT json_agg(r) FROM (
          SELECT payment_id, kind, ref_payment_id, mode, terminal_id, merchant_id, card_id, card_status, method,
                 amount_fen, medical_current_fen, medical_prior_fen, reserve_fen, self_pay_fen, advanced_fen,
                 created_at, business_date, applied_at
          FROM host_records WHERE payment_id = ANY($2::text[])) r), '[]'::json) AS existing,
       COALESCE((SELECT json_agg(json_build_object('card_id', card_id, 'account_id', account_id, 'kind', kind,
                                                   'balance_fen', balance_fen))
                 FROM host_accounts WHERE card_id = ANY($1::text[])), '[]'::json) AS accounts,
       COALESCE((SELECT json_agg(v) FROM (${VOIDED_SELECT} WHERE v.payment_id = ANY($2::text[])) v),
                '[]'::json) AS voided`;

/** After the card row is locked: the record of this id (a replay) and the card's accounts, in one read. */
const READ_FOR_PAYMENT_SQL = `
SELECT (SELECT row_to_json(r) FROM (
          SELECT payment_id, kind, ref_payment_id, mode, terminal_id, merchant_id, card_id, card_status, method,
                 amount_fen, medical_current_fen, medical_prior_fen, reserve_fen, self_pay_fen, advanced_fen,
                 created_at, business_date, applied_at
          FROM host_records WHERE payment_id = $2) r) AS existing,
       COALESCE((SELECT json_agg(json_build_object('account_id', account_id, 'kind', kind, 'balance_fen', balance_fen))
                 FROM host_accounts WHERE card_id = $1), '[]'::json) AS accounts,
       (SELECT row_to_json(v) FROM (${VOIDED_SELECT} WHERE v.payment_id = $2) v) AS voided`;
const RETRYABLE = new Set(['40001', '40P01', '23505']);
const RECORD_COLUMNS = `payment_id, kind, ref_payment_id, mode, terminal_id, merchant_id, card_id, card_status,
  method, amount_fen, medical_current_fen, medical_prior_fen, reserve_fen, self_pay_fen, advanced_fen,
  created_at, business_date, applied_at`;

/** BIGINT comes back as a string from node-postgres: fen are safe integers, checked. */
const INT8_OID = 20;
const NUMERIC_OID = 1700;
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`host: ${text} is not a safe integer`);
  return n;
}
export const PG_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if ((oid === INT8_OID || oid === NUMERIC_OID) && format !== 'binary') return parseInt8;
    return (pg.types.getTypeParser as (o: number, f?: string) => (v: string) => unknown)(oid, format);
  },
} as unknown as pg.CustomTypesConfig;

/** A pool on the host's database with BIGINT parsed as safe integers. */
export function hostPool(connectionString: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, types: PG_TYPES, application_name: 'sscard-host' });
  // An idle client whose server went away must not crash the host: the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

function toHostRecord(r: RecordRow): HostRecord {
  return hostRecordFromColumns(r);
}

/** Checks a password against its salted scrypt hash without blocking the event loop. */
function verifyHash(h: SecretHash, secret: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const expected = Buffer.from(h.hash, 'hex');
    scrypt(
      secret,
      Buffer.from(h.salt, 'hex'),
      expected.length,
      { N: h.n, r: h.r, p: h.p, maxmem: 256 * 1024 * 1024 },
      (err, actual) => (err ? reject(err) : resolve(timingSafeEqual(expected, actual))),
    );
  });
}

/**
 * Connection-level failures: 'refused' when PostgreSQL could not be reached at all (nothing
 * was sent), 'lost' when the connection broke (a statement may have run), null otherwise.
 */
export function connectionFailure(e: unknown): 'refused' | 'lost' | null {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (/^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|EAI_AGAIN|57P03|3D000|28P01|28000)$/.test(code))
      return 'refused';
    if (/^(ECONNRESET|ETIMEDOUT|EPIPE|57P0[12]|08\w{3})$/.test(code)) return 'lost';
  }
  const message = e instanceof Error ? e.message : '';
  if (/timeout exceeded when trying to connect/i.test(message)) return 'refused';
  if (/Connection terminated|Client has encountered a connection error|Client was closed/i.test(message))
    return 'lost';
  return null;
}

type Client = pg.PoolClient;

/** The payment a reversal was voiding committed meanwhile: re-run as a serialization failure. */
class PaymentArrived extends Error {
  readonly code = '40001';
  constructor(paymentId: string) {
    super(`payment ${paymentId} arrived while its reversal was being recorded as a void: retried`);
  }
}

/** Why a voided payment cannot be applied and reversed under its voiding reversal's id, if so. */
function voidingBlocked(voided: VoidedRow): HostError | null {
  if (!voided.reversal_taken) return null;
  return invalid(
    `payment ${voided.payment_id} was voided by reversal ${voided.reversal_id}, but that id is now ` +
      'another record: the payment cannot be applied and reversed',
  );
}

export class PgHost implements Host {
  readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly clock: () => Date;
  private readonly medicalOrder: MedicalOrder;
  private readonly shortfall: ShortfallPolicy;
  private readonly passwordRetryLimit: number;
  private linkState: LinkState = 'up';
  private carryOverDone: number | null = null;
  private systemIds: Record<'bank_funding' | 'medical_funding' | 'merchant', number> | null = null;

  private constructor(options: PgHostOptions, pool: pg.Pool, ownsPool: boolean) {
    const { clock = () => new Date(), medicalOrder = 'current-first', shortfall = 'self-pay' } = options;
    const passwordRetryLimit = options.passwordRetryLimit ?? 3;
    if (medicalOrder !== 'current-first' && medicalOrder !== 'prior-first') {
      throw new TypeError(
        `medicalOrder must be 'current-first' or 'prior-first', not ${String(medicalOrder)}`,
      );
    }
    if (shortfall !== 'self-pay' && shortfall !== 'decline') {
      throw new TypeError(`shortfall must be 'self-pay' or 'decline', not ${String(shortfall)}`);
    }
    if (!Number.isSafeInteger(passwordRetryLimit) || passwordRetryLimit < 1) {
      throw new RangeError('passwordRetryLimit must be a positive integer');
    }
    this.pool = pool;
    this.ownsPool = ownsPool;
    this.clock = clock;
    this.medicalOrder = medicalOrder;
    this.shortfall = shortfall;
    this.passwordRetryLimit = passwordRetryLimit;
  }

  /** Connects, runs the migrations in order and records the carry-over baseline. */
  static async open(options: PgHostOptions): Promise<PgHost> {
    let pool = options.pool;
    const owns = pool === undefined;
    if (!pool) {
      if (!options.connectionString) throw new TypeError('PgHost needs a pool or a connectionString');
      pool = hostPool(options.connectionString, options.poolSize ?? 10);
    }
    const host = new PgHost(options, pool, owns);
    try {
      if (options.migrate !== false) await migrate(pool);
      // The host's books start now: this year's 21 June, if past, is not carried over again.
      await pool.query('INSERT INTO host_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [
        CARRY_OVER_KEY,
        String(carryOverYearDue(host.clock())),
      ]);
      const rows = (
        await pool.query<{ kind: 'bank_funding' | 'medical_funding' | 'merchant'; account_id: number }>(
          'SELECT kind, account_id FROM host_accounts WHERE card_id IS NULL',
        )
      ).rows;
      host.systemIds = Object.fromEntries(rows.map((r) => [r.kind, r.account_id])) as PgHost['systemIds'];
    } catch (e) {
      if (owns) await pool.end().catch(() => undefined);
      throw e;
    }
    return host;
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }

  // ---- link ------------------------------------------------------------------------------

  /** 'down' refuses every request (maintenance); the central host has no slow-link simulation. */
  get link(): LinkState {
    return this.linkState;
  }

  setLink(state: LinkState): void {
    if (state !== 'up' && state !== 'down') {
      throw new TypeError(
        `the central host's link is 'up' or 'down' (a slow link is simulated at the terminal), not ${String(state)}`,
      );
    }
    this.linkState = state;
  }

  private async call<T>(op: () => Promise<T>): Promise<T> {
    if (this.linkState === 'down') {
      throw new HostError('HOST_DOWN', 'host link is down: the request never left the terminal');
    }
    await this.carryOverIfDue();
    return op();
  }

  /** One READ COMMITTED transaction, re-run on deadlock, serialization failure or id race. */
  private async tx<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let c: Client;
      try {
        c = await this.pool.connect();
      } catch (e) {
        if (connectionFailure(e) === null) throw e;
        throw new HostError(
          'HOST_DOWN',
          `the central host cannot reach its database (${(e as Error).message}); nothing was applied`,
        );
      }
      let broken = false;
      try {
        await c.query('BEGIN');
        const r = await fn(c);
        await c.query('COMMIT');
        return r;
      } catch (e) {
        try {
          await c.query('ROLLBACK');
        } catch {
          broken = true;
        }
        const code = (e as { code?: unknown }).code;
        if (typeof code === 'string' && RETRYABLE.has(code) && attempt < 8) continue;
        throw e;
      } finally {
        c.release(broken);
      }
    }
  }

  private now(): string {
    return this.clock().toISOString();
  }

  private system(kind: 'bank_funding' | 'medical_funding' | 'merchant'): number {
    const id = this.systemIds?.[kind];
    if (id === undefined) throw new Error(`host: no ${kind} account (migrations not run?)`);
    return id;
  }

  private async lockCard(c: Client, cardId: string): Promise<CardRow> {
    const r = await c.query<CardRow>({
      name: 'host-lock-card',
      text: 'SELECT card_id, generation, status, password_hash, password_failures FROM host_cards WHERE card_id = $1 FOR UPDATE',
      values: [cardId],
    });
    const card = r.rows[0];
    if (!card) throw new HostError('UNKNOWN_CARD', `no card ${cardId} at the host`);
    return card;
  }

  /** lockCard for a pay or forward: the shared lock on the payment id first (see the class). */
  private async lockCardForPayment(c: Client, cardId: string, paymentId: string): Promise<CardRow> {
    const r = await c.query<CardRow>({
      name: 'host-lock-card-for-payment',
      text: LOCK_CARD_FOR_PAYMENT_SQL,
      values: [cardId, paymentId],
    });
    const card = r.rows[0];
    if (!card) throw new HostError('UNKNOWN_CARD', `no card ${cardId} at the host`);
    return card;
  }

  private async accounts(c: Client | pg.Pool, cardId: string): Promise<Map<AccountPart, AccountRow>> {
    const r = await c.query<AccountRow>(
      'SELECT account_id, kind, balance_fen FROM host_accounts WHERE card_id = $1',
      [cardId],
    );
    return new Map(r.rows.map((a) => [a.kind, a]));
  }

  private static balancesOf(accounts: Map<AccountPart, AccountRow>): HostBalances {
    return {
      reserve: accounts.get('reserve')?.balance_fen ?? null,
      medicalCurrent: accounts.get('medical_current')?.balance_fen ?? null,
      medicalPrior: accounts.get('medical_prior')?.balance_fen ?? null,
    };
  }

  // ---- registration and terminal reports ----------------------------------------------------

  /**
   * Registers a card. The first registration creates it and funds its accounts with the
   * opening balances; a later one (another terminal, a restart) changes nothing and answers
   * with the balances the host holds now.
   */
  registerCard(reg: CardRegistration): Promise<RegistrationResult> {
    return this.call(() =>
      this.tx(async (c) => {
        const at = this.now();
        const inserted = await c.query(
          `INSERT INTO host_cards (card_id, generation, status, password_hash, registered_by, registered_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (card_id) DO NOTHING RETURNING card_id`,
          [
            reg.cardId,
            reg.generation,
            reg.status,
            reg.passwordHash === null ? null : JSON.stringify(reg.passwordHash),
            reg.terminalId,
            at,
          ],
        );
        const created = (inserted.rowCount ?? 0) > 0;
        if (created) {
          const opening: [AccountPart, number | null][] = [
            ['reserve', reg.opening.reserve],
            ['medical_current', reg.opening.medicalCurrent],
            ['medical_prior', reg.opening.medicalPrior],
          ];
          for (const [kind, fen] of opening) {
            if (fen === null) continue;
            const a = await c.query<{ account_id: number }>(
              `INSERT INTO host_accounts (card_id, kind, balance_fen, opened_at) VALUES ($1, $2, $3, $4)
               RETURNING account_id`,
              [reg.cardId, kind, fen, at],
            );
            if (fen > 0) {
              await this.post(c, `opening:${reg.cardId}:${kind}`, 'funding', [
                [this.system(ADVANCED_BY[kind]), -fen],
                [a.rows[0]!.account_id, fen],
              ]);
            }
          }
        }
        return { created, balances: PgHost.balancesOf(await this.accounts(c, reg.cardId)) };
      }),
    );
  }

  /** Stores what a terminal says about itself; `last_seen` is the host's time of the report. */
  async reportTerminal(report: TerminalReport): Promise<void> {
    const terminalId = requireText(report.terminalId, 'terminalId');
    const at = this.now();
    await this.pool.query(
      `INSERT INTO host_terminals (terminal_id, merchant_id, first_seen, last_seen, queue_depth, last_sync_at,
         reconciliation, mismatches, reconciled_at, reported_at)
       VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $3)
       ON CONFLICT (terminal_id) DO UPDATE SET
         merchant_id    = COALESCE(EXCLUDED.merchant_id, host_terminals.merchant_id),
         last_seen      = EXCLUDED.last_seen,
         queue_depth    = COALESCE(EXCLUDED.queue_depth, host_terminals.queue_depth),
         last_sync_at   = COALESCE(EXCLUDED.last_sync_at, host_terminals.last_sync_at),
         reconciliation = COALESCE(EXCLUDED.reconciliation, host_terminals.reconciliation),
         mismatches     = COALESCE(EXCLUDED.mismatches, host_terminals.mismatches),
         reconciled_at  = COALESCE(EXCLUDED.reconciled_at, host_terminals.reconciled_at),
         reported_at    = EXCLUDED.reported_at`,
      [
        terminalId,
        report.merchantId ?? null,
        at,
        report.queueDepth ?? null,
        report.lastSyncAt ?? null,
        report.reconciliation ?? null,
        report.mismatches ?? null,
        report.reconciledAt ?? null,
      ],
    );
  }

  /** Terminals seen (by report or by their records), their queues and reconciliation; chain totals. */
  async status(): Promise<HostStatus> {
    const rows = (
      await this.pool.query<{
        terminal_id: string;
        merchant_id: string | null;
        last_seen: Date | null;
        queue_depth: number | null;
        last_sync_at: Date | null;
        reconciliation: 'agree' | 'mismatch' | 'unknown' | null;
        mismatches: number | null;
        reconciled_at: Date | null;
        payments: number;
        refunds: number;
        reversals: number;
        net_fen: number;
        last_applied_at: string | null;
      }>(`
        WITH r AS (
          SELECT terminal_id,
                 count(*) FILTER (WHERE kind = 'payment')::int AS payments,
                 count(*) FILTER (WHERE kind = 'refund')::int AS refunds,
                 count(*) FILTER (WHERE kind = 'reversal')::int AS reversals,
                 COALESCE(SUM(CASE WHEN kind = 'payment' THEN amount_fen ELSE -amount_fen END), 0)::bigint AS net_fen,
                 max(applied_at) AS last_applied_at
          FROM host_records GROUP BY terminal_id)
        SELECT COALESCE(t.terminal_id, r.terminal_id) AS terminal_id, t.merchant_id, t.last_seen, t.queue_depth,
               t.last_sync_at, t.reconciliation, t.mismatches, t.reconciled_at,
               COALESCE(r.payments, 0) AS payments, COALESCE(r.refunds, 0) AS refunds,
               COALESCE(r.reversals, 0) AS reversals, COALESCE(r.net_fen, 0)::bigint AS net_fen, r.last_applied_at
        FROM host_terminals t FULL OUTER JOIN r ON r.terminal_id = t.terminal_id
        ORDER BY 1`)
    ).rows;
    const iso = (d: Date | null) => (d ? d.toISOString() : null);
    const terminals: TerminalStatus[] = rows.map((r) => ({
      terminalId: r.terminal_id,
      merchantId: r.merchant_id,
      lastSeen: iso(r.last_seen),
      queueDepth: r.queue_depth,
      lastSync: iso(r.last_sync_at),
      reconciliation: r.reconciliation ?? 'unknown',
      mismatches: r.mismatches,
      reconciledAt: iso(r.reconciled_at),
      payments: r.payments,
      refunds: r.refunds,
      reversals: r.reversals,
      netFen: r.net_fen,
      lastAppliedAt: r.last_applied_at,
    }));
    const books = (
      await this.pool.query<{ total: number; bad_cards: number; cards: number; version: number }>(`
        SELECT (SELECT COALESCE(SUM(amount_fen), 0)::bigint FROM host_postings) AS total,
               (SELECT count(*)::int FROM host_accounts a
                 WHERE a.card_id IS NOT NULL AND a.balance_fen <>
                   (SELECT COALESCE(SUM(p.amount_fen), 0) FROM host_postings p WHERE p.account_id = a.account_id)) AS bad_cards,
               (SELECT count(*)::int FROM host_cards) AS cards,
               (SELECT COALESCE(max(version), 0)::int FROM schema_migrations) AS version`)
    ).rows[0]!;
    return {
      terminals,
      chain: {
        terminals: terminals.length,
        cards: books.cards,
        payments: terminals.reduce((s, t) => s + t.payments, 0),
        netFen: terminals.reduce((s, t) => s + t.netFen, 0),
        queueDepth: terminals.reduce((s, t) => s + (t.queueDepth ?? 0), 0),
        allReconciled: terminals.length > 0 && terminals.every((t) => t.reconciliation === 'agree'),
        booksBalanced: books.total === 0 && books.bad_cards === 0,
      },
      schemaVersion: books.version,
    };
  }

  // ---- bank: the gen 2/3 transaction password (R1.2) ---------------------------------------

  verifyPassword(cardId: string, password: string): Promise<PasswordCheck> {
    return this.call(async () => {
      const id = requireText(cardId, 'cardId');
      if (typeof password !== 'string') throw invalid('password must be a string');
      const card = (
        await this.pool.query<CardRow>(
          'SELECT card_id, generation, status, password_hash, password_failures FROM host_cards WHERE card_id = $1',
          [id],
        )
      ).rows[0];
      if (!card) throw new HostError('UNKNOWN_CARD', `no card ${id} at the host`);
      if (card.generation === 1) {
        throw invalid(
          `card ${card.card_id} is a gen 1 card: it has no financial account and no transaction password (R1.1)`,
        );
      }
      if (card.status !== 'active')
        throw new HostError('CARD_NOT_USABLE', `card ${card.card_id} is ${card.status}`);
      if (!card.password_hash) throw invalid(`card ${card.card_id} has no transaction password at the bank`);
      const locked = () =>
        new HostError(
          'PASSWORD_LOCKED',
          `transaction password of card ${card.card_id} is locked after ${this.passwordRetryLimit} wrong tries; ` +
            'reset it at the bank counter',
          0,
        );
      if (card.password_failures >= this.passwordRetryLimit) throw locked();
      // scrypt runs outside any transaction; the counter update below is one atomic statement.
      if (await verifyHash(card.password_hash, password)) {
        await this.pool.query(
          'UPDATE host_cards SET password_failures = 0 WHERE card_id = $1 AND password_failures <> 0',
          [card.card_id],
        );
        return { ok: true };
      }
      const failures =
        (
          await this.pool.query<{ password_failures: number }>(
            'UPDATE host_cards SET password_failures = password_failures + 1 WHERE card_id = $1 RETURNING password_failures',
            [card.card_id],
          )
        ).rows[0]?.password_failures ?? 0;
      const triesLeft = Math.max(this.passwordRetryLimit - failures, 0);
      if (triesLeft === 0) throw locked();
      throw new HostError(
        'WRONG_PASSWORD',
        `wrong transaction password for card ${card.card_id}: ${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left`,
        triesLeft,
      );
    });
  }

  // ---- card management and balances -------------------------------------------------------

  cardStatus(cardId: string): Promise<CardStatus> {
    return this.call(async () => {
      const id = requireText(cardId, 'cardId');
      const r = await this.pool.query<{ status: CardStatus }>(
        'SELECT status FROM host_cards WHERE card_id = $1',
        [id],
      );
      const row = r.rows[0];
      if (!row) throw new HostError('UNKNOWN_CARD', `no card ${id} at the host`);
      return row.status;
    });
  }

  balances(cardId: string): Promise<HostBalances> {
    return this.call(async () => {
      const id = requireText(cardId, 'cardId');
      const known = await this.pool.query('SELECT 1 FROM host_cards WHERE card_id = $1', [id]);
      if (known.rowCount === 0) throw new HostError('UNKNOWN_CARD', `no card ${id} at the host`);
      return PgHost.balancesOf(await this.accounts(this.pool, id));
    });
  }

  // ---- carry-over (R4.2) ---------------------------------------------------------------------

  /**
   * The 21 June job: moves the whole 95000 balance of every card into 95001 (opening 95001,
   * also for cards whose 95000 is empty), once per year however often it runs and however
   * many host processes run it (the meta row is locked for the run).
   */
  async runCarryOver(): Promise<CarryOverResult[]> {
    const { done, results } = await this.tx(async (c) => {
      const due = carryOverYearDue(this.clock());
      const stored = (
        await c.query<{ value: string }>('SELECT value FROM host_meta WHERE key = $1 FOR UPDATE', [
          CARRY_OVER_KEY,
        ])
      ).rows[0];
      if (!stored) {
        await c.query('INSERT INTO host_meta (key, value) VALUES ($1, $2)', [CARRY_OVER_KEY, String(due)]);
        return { done: due, results: [] as CarryOverResult[] };
      }
      const doneYear = Number(stored.value);
      const results: CarryOverResult[] = [];
      for (let year = doneYear + 1; year <= due; year++) results.push(await this.carryOverYear(c, year));
      if (due > doneYear)
        await c.query('UPDATE host_meta SET value = $2 WHERE key = $1', [CARRY_OVER_KEY, String(due)]);
      return { done: Math.max(doneYear, due), results };
    });
    this.carryOverDone = done;
    return results;
  }

  private async carryOverIfDue(): Promise<void> {
    if (this.carryOverDone !== null && this.carryOverDone >= carryOverYearDue(this.clock())) return;
    await this.runCarryOver();
  }

  private async carryOverYear(c: Client, year: number): Promise<CarryOverResult> {
    const cards = (
      await c.query<{ card_id: string }>(
        `SELECT card_id FROM host_cards WHERE card_id IN
           (SELECT card_id FROM host_accounts WHERE kind = 'medical_current') ORDER BY card_id FOR UPDATE`,
      )
    ).rows;
    let moved = 0;
    let movedFen = 0;
    const at = this.now();
    for (const { card_id } of cards) {
      const accounts = await this.accounts(c, card_id);
      const current = accounts.get('medical_current')!;
      let prior = accounts.get('medical_prior');
      if (!prior) {
        const r = await c.query<{ account_id: number }>(
          `INSERT INTO host_accounts (card_id, kind, balance_fen, opened_at) VALUES ($1, 'medical_prior', 0, $2)
           RETURNING account_id`,
          [card_id, at],
        );
        prior = { account_id: r.rows[0]!.account_id, kind: 'medical_prior', balance_fen: 0 };
      }
      const txnId = `carry-over:${year}:${card_id}`;
      if (current.balance_fen <= 0) continue;
      const already = await c.query('SELECT 1 FROM host_postings WHERE txn_id = $1 LIMIT 1', [txnId]);
      if ((already.rowCount ?? 0) > 0) continue;
      await this.post(c, txnId, 'carry-over', [
        [current.account_id, -current.balance_fen],
        [prior.account_id, current.balance_fen],
      ]);
      await c.query('UPDATE host_accounts SET balance_fen = balance_fen + $2 WHERE account_id = $1', [
        current.account_id,
        -current.balance_fen,
      ]);
      await c.query('UPDATE host_accounts SET balance_fen = balance_fen + $2 WHERE account_id = $1', [
        prior.account_id,
        current.balance_fen,
      ]);
      moved += 1;
      movedFen += current.balance_fen;
    }
    await c.query('INSERT INTO host_carry_overs (year, ran_at, cards, moved_fen) VALUES ($1, $2, $3, $4)', [
      year,
      at,
      moved,
      movedFen,
    ]);
    return { year, cards: moved, movedFen };
  }

  // ---- payments --------------------------------------------------------------------------

  /** Online authorisation; the terminal records after the answer (no shared transaction here). */
  pay(request: HostPaymentRequest): Promise<HostRecord> {
    return this.call(async () => {
      const head = validatePaymentRequest(request, 'online');
      return this.tx(async (c) => {
        const card = await this.lockCardForPayment(c, head.card_id, head.payment_id);
        const { existing, accounts, voided } = await this.readForPayment(c, request);
        const replay = this.replayOf(existing, request);
        if (replay) return replay;
        // Reversed before it arrived (a debit delayed on the network): the till gave up on it.
        if (voided) throw voidedError(voided.payment_id, voided.reversal_id, voided.reversed_at);
        const amount = request.amountFen;
        const split = decideOnlinePayment(
          { cardId: card.card_id, generation: card.generation, status: card.status },
          request.method,
          amount,
          PgHost.balancesOf(accounts),
          this.medicalOrder,
          this.shortfall,
        );
        const legs: Leg[] = [];
        for (const part of drawOrder(this.medicalOrder)) {
          const fen = split[SPLIT_FIELD[part]];
          if (fen === 0) continue;
          const accountId = part === 'self_pay' ? null : (accounts.get(part)?.account_id ?? null);
          if (part !== 'self_pay' && accountId === null)
            throw new Error(`no ${part} account for ${card.card_id}`);
          legs.push({ part, accountId, advanced: false, amountFen: fen, refLeg: null });
        }
        return this.apply(c, { ...head, card_status: card.status }, legs, 'payment');
      });
    });
  }

  forward(request: HostPaymentRequest): Promise<HostRecord> {
    return this.call(async () => {
      const head = validatePaymentRequest(request, 'offline');
      const split = validatePaymentSplit(request);
      return this.tx(async (c) => {
        const card = await this.lockCardForPayment(c, head.card_id, head.payment_id);
        return this.forwardLocked(c, request, head, split, card);
      });
    });
  }

  /**
   * Forwards many payments in one transaction (the terminal's queue sent in batches), with the
   * same results as forward() called for each in turn: every card involved is locked first, in
   * card_id order; the records already known (replays) and the cards' accounts are read in one
   * statement; each payment is then decided in order against the balances the earlier ones
   * left (an id seen earlier in the batch or before is answered with its first record, an id
   * reused for another payment or an unknown card is refused on its own), and everything
   * decided is written in one statement. One commit for the batch.
   */
  forwardBatch(requests: readonly HostPaymentRequest[]): Promise<ForwardBatchOutcome[]> {
    return this.call(async () => {
      type Checked =
        | { request: HostPaymentRequest; head: RecordHead; split: PaymentSplit; error: null }
        | { request: HostPaymentRequest; error: HostError };
      const checked = requests.map((request): Checked => {
        try {
          const head = validatePaymentRequest(request, 'offline');
          return { request, head, split: validatePaymentSplit(request), error: null };
        } catch (e) {
          if (e instanceof HostError) return { request, error: e };
          throw e;
        }
      });
      const valid = checked.flatMap((x) => (x.error === null ? [x] : []));
      return this.tx(async (c) => {
        const ids = [...new Set(valid.map((x) => x.head.card_id))].sort();
        const paymentIds = valid.map((x) => x.head.payment_id);
        // The payment ids' shared locks come with the cards' (see the class): a reversal writing
        // a tombstone for one of them waits for this batch, or this batch reads its tombstone.
        const locked = await c.query<CardRow>({
          name: 'host-lock-cards-for-batch',
          text: LOCK_CARDS_FOR_BATCH_SQL,
          values: [ids, paymentIds],
        });
        const cards = new Map(locked.rows.map((r) => [r.card_id, r]));
        const read = await c.query<{
          existing: RecordRow[];
          accounts: (AccountRow & { card_id: string })[];
          voided: VoidedRow[];
        }>({
          name: 'host-read-for-batch',
          text: READ_FOR_BATCH_SQL,
          values: [[...cards.keys()], paymentIds],
        });
        const known = new Map(read.rows[0]!.existing.map((r) => [r.payment_id, r]));
        const voided = new Map(read.rows[0]!.voided.map((v) => [v.payment_id, v]));
        const accounts = new Map<string, Map<AccountPart, AccountRow>>();
        for (const a of read.rows[0]!.accounts) {
          let m = accounts.get(a.card_id);
          if (!m) accounts.set(a.card_id, (m = new Map()));
          m.set(a.kind, { account_id: a.account_id, kind: a.kind, balance_fen: a.balance_fen });
        }
        const out: ForwardBatchOutcome[] = [];
        const plans: Planned[] = [];
        for (const x of checked) {
          const paymentId = String(x.request?.paymentId);
          if (x.error !== null) {
            out.push({ paymentId, error: { code: x.error.code, message: x.error.message } });
            continue;
          }
          const card = cards.get(x.head.card_id);
          if (!card) {
            out.push({
              paymentId,
              error: { code: 'UNKNOWN_CARD', message: `no card ${x.head.card_id} at the host` },
            });
            continue;
          }
          try {
            // An id applied before, or earlier in this batch: its first record (or a refusal).
            const replay = this.replayOf(known.get(paymentId) ?? null, x.request);
            if (replay) {
              out.push({ paymentId, record: replay });
              continue;
            }
          } catch (e) {
            // Refusals are decided before anything is written: the batch goes on.
            if (!(e instanceof HostError)) throw e;
            out.push({ paymentId, error: { code: e.code, message: e.message } });
            continue;
          }
          // Voided before it arrived: applied and reversed at once, as forward() does (its
          // reversal id may also have been used by an earlier payment of this batch).
          const tombstone = voided.get(paymentId);
          const blocked =
            tombstone &&
            voidingBlocked({
              ...tombstone,
              reversal_taken: tombstone.reversal_taken || known.has(tombstone.reversal_id),
            });
          if (blocked) {
            out.push({ paymentId, error: { code: blocked.code, message: blocked.message } });
            continue;
          }
          const cardAccounts = accounts.get(card.card_id) ?? new Map<AccountPart, AccountRow>();
          const plan = this.plan(
            { ...x.head, card_status: card.status },
            this.forwardLegs(x.split, cardAccounts),
            'payment',
          );
          const voiding = tombstone ? this.planVoiding(plan, tombstone, cardAccounts) : null;
          plans.push(plan);
          known.set(paymentId, plan.row);
          if (voiding) {
            plans.push(voiding);
            known.set(voiding.row.payment_id, voiding.row);
          }
          out.push({ paymentId, record: toHostRecord(plan.row) });
        }
        await this.applyPlanned(c, plans);
        return out;
      });
    });
  }

  /** forward() with the card's row already locked. */
  private async forwardLocked(
    c: Client,
    request: HostPaymentRequest,
    head: RecordHead,
    split: PaymentSplit,
    card: CardRow,
  ): Promise<HostRecord> {
    const { existing, accounts, voided } = await this.readForPayment(c, request);
    const replay = this.replayOf(existing, request);
    if (replay) return replay;
    const blocked = voided && voidingBlocked(voided);
    if (blocked) throw blocked;
    // The card was accepted at the till: its status now is recorded, not re-checked.
    const plan = this.plan(
      { ...head, card_status: card.status },
      this.forwardLegs(split, accounts),
      'payment',
    );
    await this.applyPlanned(c, voided ? [plan, this.planVoiding(plan, voided, accounts)] : [plan]);
    return toHostRecord(plan.row);
  }

  /**
   * The reversal of a forwarded payment whose id a reversal voided before it arrived: the till
   * booked it offline and queued that reversal behind it, so it is applied and reversed at once
   * under that reversal's id and time (written in the same statement; the queued reversal then
   * finds its record). Everything goes back, last-drawn first, to where it came from; the
   * accounts' balances are raised again for the next payment of a batch.
   */
  private planVoiding(payment: Planned, voided: VoidedRow, accounts: Map<AccountPart, AccountRow>): Planned {
    const legs = payment.legs.map((l, i): Leg => ({ ...l, refLeg: i + 1 })).reverse();
    for (const l of legs) {
      if (l.advanced || l.accountId === null) continue;
      for (const a of accounts.values()) if (a.account_id === l.accountId) a.balance_fen += l.amountFen;
    }
    const p = payment.row;
    return this.plan(
      {
        payment_id: voided.reversal_id,
        kind: 'reversal',
        ref_payment_id: p.payment_id,
        mode: null,
        terminal_id: p.terminal_id,
        merchant_id: p.merchant_id,
        card_id: p.card_id,
        card_status: p.card_status,
        method: p.method,
        amount_fen: p.amount_fen,
        created_at: voided.reversed_at,
      },
      legs,
      'reversal',
    );
  }

  /**
   * The legs of a forwarded (offline) payment: each part drawn from its account as far as the
   * balance goes, the rest advanced by the centre (bank or medical funding). The accounts'
   * balances are lowered by what was drawn, for the next payment of a batch.
   */
  private forwardLegs(split: PaymentSplit, accounts: Map<AccountPart, AccountRow>): Leg[] {
    const legs: Leg[] = [];
    for (const part of drawOrder(this.medicalOrder)) {
      const fen = split[SPLIT_FIELD[part]];
      if (fen === 0) continue;
      if (part === 'self_pay') {
        legs.push({ part, accountId: null, advanced: false, amountFen: fen, refLeg: null });
        continue;
      }
      const account = accounts.get(part);
      const taken = Math.min(account?.balance_fen ?? 0, fen);
      if (account && taken > 0) {
        legs.push({ part, accountId: account.account_id, advanced: false, amountFen: taken, refLeg: null });
        account.balance_fen -= taken;
      }
      if (fen > taken) {
        legs.push({
          part,
          accountId: this.system(ADVANCED_BY[part]),
          advanced: true,
          amountFen: fen - taken,
          refLeg: null,
        });
      }
    }
    return legs;
  }

  private async getRecord(c: Client, id: string): Promise<RecordRow | null> {
    return (
      (await c.query<RecordRow>(`SELECT ${RECORD_COLUMNS} FROM host_records WHERE payment_id = $1`, [id]))
        .rows[0] ?? null
    );
  }

  /** In one statement, after the card's row is locked: a record of this id, and the card's accounts. */
  private async readForPayment(
    c: Client,
    request: HostPaymentRequest,
  ): Promise<{
    existing: RecordRow | null;
    accounts: Map<AccountPart, AccountRow>;
    voided: VoidedRow | null;
  }> {
    const r = await c.query<{ existing: RecordRow | null; accounts: AccountRow[]; voided: VoidedRow | null }>(
      {
        name: 'host-read-for-payment',
        text: READ_FOR_PAYMENT_SQL,
        values: [request.cardId, request.paymentId],
      },
    );
    const row = r.rows[0]!;
    return {
      existing: row.existing,
      accounts: new Map(row.accounts.map((a) => [a.kind, a])),
      voided: row.voided,
    };
  }

  private replayOf(r: RecordRow | null, request: HostPaymentRequest): HostRecord | null {
    if (!r) return null;
    if (
      r.kind !== 'payment' ||
      r.card_id !== request.cardId ||
      r.terminal_id !== request.terminalId ||
      r.merchant_id !== request.merchantId ||
      r.method !== request.method ||
      r.amount_fen !== request.amountFen
    ) {
      throw invalid(
        `paymentId ${request.paymentId} was already used for a different ${r.kind} ` +
          `(card ${r.card_id}, terminal ${r.terminal_id}, ${r.method} ${formatYuan(r.amount_fen)})`,
      );
    }
    return toHostRecord(r);
  }

  private async post(
    c: Client,
    txnId: string,
    kind: string,
    lines: [accountId: number, fen: number][],
  ): Promise<void> {
    const values: unknown[] = [];
    const rows = lines.map(([accountId, fen], i) => {
      values.push(txnId, i + 1, kind, accountId, fen);
      const b = i * 5;
      return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, now())`;
    });
    await c.query(
      `INSERT INTO host_postings (txn_id, line, kind, account_id, amount_fen, posted_at) VALUES ${rows.join(', ')}`,
      values,
    );
  }

  /**
   * Moves the legs as one balanced posting (id = the record's id), updates the card accounts'
   * balances and stores the record and its legs. Payments debit the accounts and credit the
   * merchant; refunds and reversals do the opposite. Self-pay legs are cash at the till.
   */
  private async apply(
    c: Client,
    head: RecordHead,
    legs: readonly Leg[],
    kind: HostRecord['kind'],
  ): Promise<HostRecord> {
    const plan = this.plan(head, legs, kind);
    await this.applyPlanned(c, [plan]);
    return toHostRecord(plan.row);
  }

  /** The record a set of legs makes, and its balanced postings; nothing is written. */
  private plan(head: RecordHead, legs: readonly Leg[], kind: HostRecord['kind']): Planned {
    const out = kind === 'payment' ? -1 : 1;
    const split: PaymentSplit = { medicalCurrentFen: 0, medicalPriorFen: 0, reserveFen: 0, selfPayFen: 0 };
    let advanced = 0;
    let covered = 0;
    const lines: [number, number][] = [];
    const cardDeltas: [number, number][] = [];
    for (const leg of legs) {
      split[SPLIT_FIELD[leg.part]] += leg.amountFen;
      if (leg.advanced) advanced += leg.amountFen;
      if (leg.accountId !== null) {
        covered += leg.amountFen;
        lines.push([leg.accountId, out * leg.amountFen]);
        // Card accounts carry their balance; system accounts are sums of their postings.
        if (!leg.advanced) cardDeltas.push([leg.accountId, out * leg.amountFen]);
      }
    }
    const total = split.medicalCurrentFen + split.medicalPriorFen + split.reserveFen + split.selfPayFen;
    if (total !== head.amount_fen) {
      throw new Error(`host: legs of ${head.payment_id} sum to ${total} fen, not ${head.amount_fen}`);
    }
    if (covered > 0) lines.push([this.system('merchant'), -out * covered]);
    const row: RecordRow = {
      ...head,
      kind,
      medical_current_fen: split.medicalCurrentFen,
      medical_prior_fen: split.medicalPriorFen,
      reserve_fen: split.reserveFen,
      self_pay_fen: split.selfPayFen,
      advanced_fen: advanced,
      business_date: businessDate(new Date(head.created_at)),
      applied_at: this.now(),
    };
    return { row, legs, lines, cardDeltas };
  }

  /**
   * Writes planned records in one statement (a prepared plan), in their order: the records,
   * their legs, the balanced postings and the card accounts' balances (one update per account,
   * the sum of its deltas). Foreign keys between the sibling inserts are checked at the end of
   * the statement; a record's primary key decides a race between two attempts of the same id
   * (the transaction is then re-run and finds the first record).
   */
  private async applyPlanned(c: Client, plans: readonly Planned[]): Promise<void> {
    if (plans.length === 0) return;
    const rows = plans.map((p) => p.row);
    const col = <K extends keyof RecordRow>(k: K) => rows.map((r) => r[k]);
    const legs = plans.flatMap((p) => p.legs.map((l, i) => ({ id: p.row.payment_id, leg: i + 1, l })));
    const posts = plans.flatMap((p) =>
      p.lines.map(([accountId, fen], i) => ({
        id: p.row.payment_id,
        line: i + 1,
        kind: p.row.kind,
        accountId,
        fen,
      })),
    );
    const deltas = new Map<number, number>();
    for (const p of plans) for (const [a, d] of p.cardDeltas) deltas.set(a, (deltas.get(a) ?? 0) + d);
    await c.query({
      name: 'host-apply',
      text: APPLY_SQL,
      values: [
        col('payment_id'),
        col('kind'),
        col('ref_payment_id'),
        col('mode'),
        col('terminal_id'),
        col('merchant_id'),
        col('card_id'),
        col('card_status'),
        col('method'),
        col('amount_fen'),
        col('medical_current_fen'),
        col('medical_prior_fen'),
        col('reserve_fen'),
        col('self_pay_fen'),
        col('advanced_fen'),
        col('created_at'),
        col('business_date'),
        col('applied_at'),
        legs.map((x) => x.id),
        legs.map((x) => x.leg),
        legs.map((x) => x.l.part),
        legs.map((x) => x.l.accountId),
        legs.map((x) => x.l.advanced),
        legs.map((x) => x.l.amountFen),
        legs.map((x) => x.l.refLeg),
        posts.map((x) => x.id),
        posts.map((x) => x.line),
        posts.map((x) => x.kind),
        posts.map((x) => x.accountId),
        posts.map((x) => x.fen),
        [...deltas.keys()],
        [...deltas.values()],
      ],
    });
  }

  // ---- reversals and refunds ---------------------------------------------------------------

  reverse(reversalId: string, paymentId: string, at: string): Promise<HostRecord> {
    return this.call(async () => {
      const id = requireText(reversalId, 'reversalId');
      requireText(paymentId, 'paymentId');
      requireInstant(at, 'at');
      const out = await this.tx(async (c): Promise<HostRecord | VoidedRow> => {
        const original = await this.lockedOriginal(c, id, paymentId);
        const existing = await this.getRecord(c, id);
        if (existing) {
          if (existing.kind === 'reversal' && existing.ref_payment_id === paymentId)
            return toHostRecord(existing);
          throw invalid(
            `reversalId ${id} was already used for a ${existing.kind} of ${existing.ref_payment_id ?? id}`,
          );
        }
        const voidedBy = (
          await c.query<{ payment_id: string }>(
            'SELECT payment_id FROM host_voided_payments WHERE reversal_id = $1',
            [id],
          )
        ).rows[0]?.payment_id;
        if (voidedBy !== undefined && voidedBy !== paymentId) {
          throw invalid(`reversalId ${id} was already used for the reversal of ${voidedBy}`);
        }
        if (!original) return this.voidPayment(c, id, paymentId, at);
        const earlier = await this.reversalOf(c, paymentId);
        if (earlier) throw invalid(`payment ${paymentId} was already reversed by ${earlier.payment_id}`);
        const open = (await this.openLegs(c, paymentId)).filter((l) => l.remaining_fen > 0);
        if (open.length === 0)
          throw invalid(`payment ${paymentId} is fully refunded: nothing left to reverse`);
        const legs = open.reverse().map((l) => this.returnLeg(l, l.remaining_fen));
        const amount = legs.reduce((sum, l) => sum + l.amountFen, 0);
        return this.apply(c, await this.returnHead(c, id, original, at, amount), legs, 'reversal');
      });
      // Answered after the commit: the tombstone stays.
      if ('reversal_id' in out) throw neverAppliedError(paymentId, out.reversal_id);
      return out;
    });
  }

  /**
   * A reversal of a payment id the host has not applied: the id becomes void (the first
   * reversal's id and time are kept; a repeat changes nothing). Holds the id's advisory lock
   * exclusively, then looks for the payment again: one that committed meanwhile is reversed
   * instead (the transaction is re-run, locking its card first).
   */
  private async voidPayment(c: Client, id: string, paymentId: string, at: string): Promise<VoidedRow> {
    await c.query({
      name: 'host-void-lock',
      text: `SELECT pg_advisory_xact_lock(${VOID_LOCK}, hashtext($1))`,
      values: [paymentId],
    });
    const arrived = await c.query<{ kind: HostRecord['kind'] }>(
      'SELECT kind FROM host_records WHERE payment_id = $1',
      [paymentId],
    );
    if (arrived.rows[0]) throw new PaymentArrived(paymentId);
    const r = await c.query<VoidedRow>(
      `WITH ins AS (
         INSERT INTO host_voided_payments (payment_id, reversal_id, reversed_at, voided_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (payment_id) DO NOTHING)
       ${VOIDED_SELECT} WHERE v.payment_id = $1`,
      [paymentId, id, at, this.now()],
    );
    // The statement's snapshot does not see its own insert: a new tombstone is the one just written.
    return r.rows[0] ?? { payment_id: paymentId, reversal_id: id, reversed_at: at, reversal_taken: false };
  }

  refund(refundId: string, paymentId: string, amountFen: number, at: string): Promise<HostRecord> {
    return this.call(async () => {
      const id = requireText(refundId, 'refundId');
      requireText(paymentId, 'paymentId');
      const amount = requireFen(amountFen, 'amountFen', 1);
      requireInstant(at, 'at');
      return this.tx(async (c) => {
        const original = await this.lockedOriginal(c, id, paymentId);
        const existing = await this.getRecord(c, id);
        if (existing) {
          if (
            existing.kind === 'refund' &&
            existing.ref_payment_id === paymentId &&
            existing.amount_fen === amount
          ) {
            return toHostRecord(existing);
          }
          throw invalid(
            `refundId ${id} was already used for a ${existing.kind} of ${existing.ref_payment_id ?? id} ` +
              `(${formatYuan(existing.amount_fen)})`,
          );
        }
        if (!original)
          throw new HostError('UNKNOWN_PAYMENT', `payment ${paymentId} was never applied at the host`);
        const reversal = await this.reversalOf(c, paymentId);
        if (reversal)
          throw invalid(`payment ${paymentId} was reversed by ${reversal.payment_id}: nothing to refund`);
        const open = (await this.openLegs(c, paymentId)).reverse();
        const remaining = open.reduce((sum, l) => sum + l.remaining_fen, 0);
        if (amount > remaining) {
          throw invalid(
            `refund of ${formatYuan(amount)} exceeds the ${formatYuan(remaining)} not yet refunded ` +
              `of payment ${paymentId} (${formatYuan(original.amount_fen)})`,
          );
        }
        const legs: Leg[] = [];
        let rest = amount;
        for (const l of open) {
          if (rest === 0) break;
          const fen = Math.min(l.remaining_fen, rest);
          if (fen === 0) continue;
          legs.push(this.returnLeg(l, fen));
          rest -= fen;
        }
        return this.apply(c, await this.returnHead(c, id, original, at, amount), legs, 'refund');
      });
    });
  }

  /**
   * The payment a refund/reversal points at, with its card locked; null when it was never
   * applied. Without a payment the id may still be a stored record (answered as a replay).
   */
  private async lockedOriginal(c: Client, id: string, paymentId: string): Promise<RecordRow | null> {
    const r = await this.getRecord(c, paymentId);
    if (!r) {
      const existing = await this.getRecord(c, id);
      if (existing) await this.lockCard(c, existing.card_id);
      return null;
    }
    if (r.kind !== 'payment') {
      const existing = await this.getRecord(c, id);
      if (!existing) throw invalid(`${paymentId} is a ${r.kind}, not a payment`);
    }
    await this.lockCard(c, r.card_id);
    return r.kind === 'payment' ? r : null;
  }

  private async reversalOf(c: Client, paymentId: string): Promise<RecordRow | null> {
    return (
      (
        await c.query<RecordRow>(
          `SELECT ${RECORD_COLUMNS} FROM host_records WHERE ref_payment_id = $1 AND kind = 'reversal'`,
          [paymentId],
        )
      ).rows[0] ?? null
    );
  }

  private async openLegs(c: Client, paymentId: string): Promise<OpenLegRow[]> {
    return (
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
  }

  private returnLeg(l: OpenLegRow, fen: number): Leg {
    return { part: l.part, accountId: l.account_id, advanced: l.advanced, amountFen: fen, refLeg: l.leg };
  }

  private async returnHead(
    c: Client,
    id: string,
    original: RecordRow,
    at: string,
    amountFen: number,
  ): Promise<RecordHead> {
    const status = (
      await c.query<{ status: CardStatus }>('SELECT status FROM host_cards WHERE card_id = $1', [
        original.card_id,
      ])
    ).rows[0]?.status;
    return {
      payment_id: id,
      kind: 'refund',
      ref_payment_id: original.payment_id,
      mode: null,
      terminal_id: original.terminal_id,
      merchant_id: original.merchant_id,
      card_id: original.card_id,
      card_status: status ?? original.card_status,
      method: original.method,
      amount_fen: amountFen,
      created_at: at,
    };
  }

  // ---- reconciliation ----------------------------------------------------------------------

  records(terminalId: string, date?: string): Promise<HostRecord[]> {
    return this.call(async () => {
      const terminal = requireText(terminalId, 'terminalId');
      if (date === undefined) {
        return (
          await this.pool.query<RecordRow>(
            `SELECT ${RECORD_COLUMNS} FROM host_records WHERE terminal_id = $1 ORDER BY seq`,
            [terminal],
          )
        ).rows.map(toHostRecord);
      }
      if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
        throw invalid(`date must be a business day as YYYY-MM-DD, got ${String(date)}`);
      }
      return (
        await this.pool.query<RecordRow>(
          `SELECT ${RECORD_COLUMNS} FROM host_records WHERE terminal_id = $1 AND business_date = $2 ORDER BY seq`,
          [terminal, date],
        )
      ).rows.map(toHostRecord);
    });
  }
}
