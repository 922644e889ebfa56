import type pg from 'pg';
import { migrate } from '../../db/pg-migrate.ts';
import { carryOverYearDue } from '../medical.ts';
import { CARRY_OVER_KEY, carryOverCurrent, type CarryOverResult } from '../rules/carry-over.ts';
import type { FundingKind } from '../rules/legs.ts';
import {
  HostError,
  type Host,
  type HostBalances,
  type HostPaymentRequest,
  type HostRecord,
  type LinkState,
  type MedicalOrder,
  type PasswordCheck,
  type ShortfallPolicy,
} from '../types.ts';
import type { CardStatus, PgBooks } from './pg-host/books.ts';
import { balances, cardStatus, registerCard, verifyPassword } from './pg-host/cards.ts';
import { runCarryOver } from './pg-host/carry-over.ts';
import { forward, forwardBatch, pay } from './pg-host/payments.ts';
import { hostPool, inTransaction } from './pg-host/pool.ts';
import type {
  CardRegistration,
  ForwardBatchOutcome,
  HostStatus,
  RegistrationResult,
  TerminalReport,
} from './pg-host/public-types.ts';
import { refund, reverse } from './pg-host/returns.ts';
import { records } from './pg-host/records.ts';
import { hostStatus, reportTerminal } from './pg-host/status.ts';

export { connectionFailure, hostPool, PG_TYPES } from './pg-host/pool.ts';
export type {
  CardRegistration,
  ForwardBatchOutcome,
  HostStatus,
  RegistrationResult,
  TerminalReport,
  TerminalStatus,
} from './pg-host/public-types.ts';

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
 *
 * The money decisions are core/host/rules/, shared with InProcessHost; this class keeps the
 * pool, the link and the carry-over trigger, and pg-host/ the locks, reads and writes per concept.
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

export class PgHost implements Host {
  readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly clock: () => Date;
  /** The pool, settings and system accounts the per-concept modules (pg-host/) work with. */
  private readonly books: PgBooks;
  private linkState: LinkState = 'up';
  private carryOverDone: number | null = null;
  private systemIds: Record<FundingKind | 'merchant', number> | null = null;

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
    this.books = {
      pool,
      medicalOrder,
      shortfall,
      passwordRetryLimit,
      clock: () => this.clock(),
      now: () => this.clock().toISOString(),
      system: (kind) => this.system(kind),
      tx: (fn) => inTransaction(this.pool, fn),
    };
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
        await pool.query<{ kind: FundingKind | 'merchant'; account_id: number }>(
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

  private system(kind: FundingKind | 'merchant'): number {
    const id = this.systemIds?.[kind];
    if (id === undefined) throw new Error(`host: no ${kind} account (migrations not run?)`);
    return id;
  }

  // ---- registration and terminal reports ----------------------------------------------------

  /**
   * Registers a card. The first registration creates it and funds its accounts with the
   * opening balances; a later one (another terminal, a restart) changes nothing and answers
   * with the balances the host holds now.
   */
  registerCard(reg: CardRegistration): Promise<RegistrationResult> {
    return this.call(() => registerCard(this.books, reg));
  }

  /** Stores what a terminal says about itself; `last_seen` is the host's time of the report. */
  reportTerminal(report: TerminalReport): Promise<void> {
    return reportTerminal(this.books, report);
  }

  /** Terminals seen (by report or by their records), their queues and reconciliation; chain totals. */
  status(): Promise<HostStatus> {
    return hostStatus(this.books);
  }

  // ---- bank, cards and balances ----------------------------------------------------------

  verifyPassword(cardId: string, password: string): Promise<PasswordCheck> {
    return this.call(() => verifyPassword(this.books, cardId, password));
  }

  cardStatus(cardId: string): Promise<CardStatus> {
    return this.call(() => cardStatus(this.books, cardId));
  }

  balances(cardId: string): Promise<HostBalances> {
    return this.call(() => balances(this.books, cardId));
  }

  // ---- carry-over (R4.2) ---------------------------------------------------------------------

  /**
   * The 21 June job: moves the whole 95000 balance of every card into 95001 (opening 95001,
   * also for cards whose 95000 is empty), once per year however often it runs and however
   * many host processes run it (the meta row is locked for the run).
   */
  async runCarryOver(): Promise<CarryOverResult[]> {
    const { done, results } = await runCarryOver(this.books);
    this.carryOverDone = done;
    return results;
  }

  private async carryOverIfDue(): Promise<void> {
    if (carryOverCurrent(this.carryOverDone, this.clock())) return;
    await this.runCarryOver();
  }

  // ---- payments --------------------------------------------------------------------------

  /** Online authorisation; the terminal records after the answer (no shared transaction here). */
  pay(request: HostPaymentRequest): Promise<HostRecord> {
    return this.call(() => pay(this.books, request));
  }

  forward(request: HostPaymentRequest): Promise<HostRecord> {
    return this.call(() => forward(this.books, request));
  }

  /** Many forwarded payments in one transaction, with forward()'s answers (pg-host/payments.ts). */
  forwardBatch(requests: readonly HostPaymentRequest[]): Promise<ForwardBatchOutcome[]> {
    return this.call(() => forwardBatch(this.books, requests));
  }

  // ---- reversals and refunds ---------------------------------------------------------------

  reverse(reversalId: string, paymentId: string, at: string): Promise<HostRecord> {
    return this.call(() => reverse(this.books, reversalId, paymentId, at));
  }

  refund(refundId: string, paymentId: string, amountFen: number, at: string): Promise<HostRecord> {
    return this.call(() => refund(this.books, refundId, paymentId, amountFen, at));
  }

  // ---- reconciliation ----------------------------------------------------------------------

  records(terminalId: string, date?: string): Promise<HostRecord[]> {
    return this.call(() => records(this.books, terminalId, date));
  }
}
