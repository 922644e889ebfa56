import type Database from 'better-sqlite3';
import { verifySecret } from '../card/pin.ts';
import { LedgerError, type CardStatus, type Ledger } from '../ledger/ledger.ts';
import { invalid, requireText } from './request-checks.ts';
import { CARRY_OVER_KEY, carryOverCurrent, type CarryOverResult } from './rules/carry-over.ts';
import { carryOverYearDue } from './medical.ts';
import {
  noPasswordError,
  passwordLocked,
  passwordLockedError,
  refusedPasswordCard,
  wrongPasswordError,
} from './rules/password.ts';
import { neverAppliedError } from './rules/voiding.ts';
import { hostRecordFromColumns } from './split.ts';
import {
  HostError,
  type Host,
  type HostBalances,
  type HostPaymentRequest,
  type HostRecord,
  type LinkState,
  type OnApplied,
  type MedicalOrder,
  type PasswordCheck,
  type ShortfallPolicy,
} from './types.ts';
import { cardAt, type InProcessBooks } from './in-process-host/books.ts';
import { carryOverInTx } from './in-process-host/carry-over.ts';
import { forwardInTx, payInTx } from './in-process-host/payments.ts';
import { refundInTx, reverseInTx } from './in-process-host/returns.ts';
import { prepareStatements, type InProcessStatements } from './in-process-host/statements.ts';

export { formatYuan } from './request-checks.ts';
export { neverAppliedError, voidedError } from './rules/voiding.ts';
export type { CarryOverResult } from './rules/carry-over.ts';

/**
 * The bank and the medical insurance centre, simulated in-process on the ledger's own
 * database: the host's books ARE the ledger's `accounts` and `journal` (card accounts reserve,
 * 95000, 95001; system accounts bank_funding, medical_funding, merchant). The host tables of
 * core/db/migrations/020-host.ts add what the host knows besides the money.
 *
 * Decisions:
 * - Link: 'down' rejects at once with HOST_DOWN and changes nothing. 'slow' answers after
 *   slowDelayMs; when that is past timeoutMs the caller gets HOST_TIMEOUT after timeoutMs and,
 *   by default (`timedOutRequests: 'dropped'`), the request was NOT applied. With
 *   `timedOutRequests: 'applied'` the request reaches the host and is applied but the answer is
 *   lost, to exercise the terminal's retry path. pay/forward/reverse/refund are idempotent by
 *   their ids either way, so a retry is always safe. When slowDelayMs < timeoutMs a slow link
 *   just answers late.
 * - A carry-over that is due runs lazily at the start of every operation that reaches the host,
 *   and explicitly with runCarryOver().
 * - Payments draw their parts in this order: the medical sub-accounts in the configured order,
 *   then the reserve, then self-pay (cash at the till). Within a part of a forwarded offline
 *   payment, the card account gives what it still has and the funding account advances the rest
 *   (medical_funding for 95000/95001 — the centre; bank_funding for the reserve — the bank).
 * - Refunds return money last-drawn first: self-pay cash first (handed back at the till, not in
 *   the host's books), then the sub-accounts in reverse drawing order; within a part the advance
 *   is repaid to the funding account before the card account is credited.
 * - A reversal returns everything not yet refunded, leg by leg, exactly to where it came from.
 *
 * Those decisions are core/host/rules/, shared with the central host (server/pg-host.ts); this
 * class keeps the link simulation and the write transaction, and in-process-host/ the SQLite
 * reads and writes per concept.
 */
export interface InProcessHostOptions {
  readonly ledger: Ledger;
  /** The ledger's database (the same connection the Ledger was built on). */
  readonly db: Database.Database;
  readonly clock: () => Date;
  /** Which medical sub-account a payment draws first; default 'current-first' (R4). */
  readonly medicalOrder?: MedicalOrder;
  /** What an online medical payment does when 95000 + 95001 fall short; default 'self-pay'. */
  readonly shortfall?: ShortfallPolicy;
  /** How long the terminal waits for an answer; default 2000 ms. */
  readonly timeoutMs?: number;
  /** When a slow host answers; default 5000 ms (past the default timeout). */
  readonly slowDelayMs?: number;
  /** Wrong transaction passwords the bank allows before locking; default 3. */
  readonly passwordRetryLimit?: number;
  /** Whether a request that times out on a slow link was applied; default 'dropped'. */
  readonly timedOutRequests?: 'dropped' | 'applied';
  /** Link state at start; default 'up'. */
  readonly link?: LinkState;
}

const LINK_STATES: readonly LinkState[] = ['up', 'down', 'slow'];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Ledger failures as the terminal sees them; anything else is a fault and propagates. */
function translate(e: unknown): unknown {
  if (!(e instanceof LedgerError)) return e;
  switch (e.code) {
    case 'INSUFFICIENT_FUNDS':
      return new HostError('INSUFFICIENT_FUNDS', e.message);
    case 'UNKNOWN_CARD':
      return new HostError('UNKNOWN_CARD', e.message);
    case 'DUPLICATE_TXN':
      return invalid(`${e.message}: the id is already used by another ledger transaction`);
    case 'INVALID_AMOUNT':
    case 'BALANCE_OUT_OF_RANGE':
      return invalid(e.message);
    default:
      return e;
  }
}

export class InProcessHost implements Host {
  private readonly ledger: Ledger;
  private readonly clock: () => Date;
  private readonly timeoutMs: number;
  private readonly slowDelayMs: number;
  private readonly passwordRetryLimit: number;
  private readonly timedOutRequests: 'dropped' | 'applied';
  private readonly s: InProcessStatements;
  /** The ledger, statements and settings the per-concept modules (in-process-host/) work on. */
  private readonly books: InProcessBooks;
  private readonly inTx: Database.Transaction<(fn: () => unknown) => unknown>;
  private linkState: LinkState;
  /** The carry-over year known done; never goes back, so a stale value only costs a query. */
  private carryOverDone: number | null = null;

  constructor(options: InProcessHostOptions) {
    const {
      ledger,
      db,
      clock,
      medicalOrder = 'current-first',
      shortfall = 'self-pay',
      timeoutMs = 2000,
      slowDelayMs = 5000,
      passwordRetryLimit = 3,
      timedOutRequests = 'dropped',
      link = 'up',
    } = options;
    if (medicalOrder !== 'current-first' && medicalOrder !== 'prior-first') {
      throw new TypeError(
        `medicalOrder must be 'current-first' or 'prior-first', not ${String(medicalOrder)}`,
      );
    }
    if (shortfall !== 'self-pay' && shortfall !== 'decline') {
      throw new TypeError(`shortfall must be 'self-pay' or 'decline', not ${String(shortfall)}`);
    }
    for (const [name, ms] of [
      ['timeoutMs', timeoutMs],
      ['slowDelayMs', slowDelayMs],
    ] as const) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`${name} must be a non-negative number of ms`);
    }
    if (!Number.isSafeInteger(passwordRetryLimit) || passwordRetryLimit < 1) {
      throw new RangeError('passwordRetryLimit must be a positive integer');
    }
    if (timedOutRequests !== 'dropped' && timedOutRequests !== 'applied') {
      throw new TypeError(`timedOutRequests must be 'dropped' or 'applied', not ${String(timedOutRequests)}`);
    }
    if (!LINK_STATES.includes(link)) throw new TypeError(`link must be one of ${LINK_STATES.join(', ')}`);
    this.ledger = ledger;
    this.clock = clock;
    this.timeoutMs = timeoutMs;
    this.slowDelayMs = slowDelayMs;
    this.passwordRetryLimit = passwordRetryLimit;
    this.timedOutRequests = timedOutRequests;
    this.linkState = link;
    this.s = prepareStatements(db);
    this.books = { ledger, s: this.s, medicalOrder, shortfall, now: () => this.now() };
    this.inTx = db.transaction((fn: () => unknown) => fn());
    // The host's books start now: this year's 21 June, if past, is not carried over again
    // (the balances it was given are this year's); the next one will be.
    if (this.s.getMeta.get(CARRY_OVER_KEY) === undefined) {
      this.s.setMeta.run(CARRY_OVER_KEY, String(carryOverYearDue(clock())));
    }
  }

  // ---- link ------------------------------------------------------------------------------

  get link(): LinkState {
    return this.linkState;
  }

  setLink(state: LinkState): void {
    if (!LINK_STATES.includes(state)) {
      throw new TypeError(`link state must be one of ${LINK_STATES.join(', ')}, not ${String(state)}`);
    }
    this.linkState = state;
  }

  /** Every request goes through here: the link decides whether, when and how it is answered. */
  private async call<T>(op: (answered: boolean) => T): Promise<T> {
    const link = this.linkState;
    if (link === 'down') {
      throw new HostError('HOST_DOWN', 'host link is down: the request never left the terminal');
    }
    if (link === 'slow') {
      if (this.slowDelayMs < this.timeoutMs) {
        await sleep(this.slowDelayMs);
        return this.arrive(() => op(true));
      }
      if (this.timedOutRequests === 'applied') {
        try {
          this.arrive(() => op(false));
        } catch {
          // The host's answer, refusal included, is lost on the slow link.
        }
      }
      await sleep(this.timeoutMs);
      throw new HostError(
        'HOST_TIMEOUT',
        `no answer from the host within ${this.timeoutMs} ms (slow link); the request may or may not have been applied`,
      );
    }
    return this.arrive(() => op(true));
  }

  /** The request has reached the host. */
  private arrive<T>(op: () => T): T {
    try {
      this.carryOverIfDue();
      return op();
    } catch (e) {
      throw translate(e);
    }
  }

  private tx<T>(fn: () => T): T {
    return this.inTx.immediate(fn) as T;
  }

  private now(): string {
    return this.clock().toISOString();
  }

  private card(cardId: unknown) {
    return cardAt(this.books, requireText(cardId, 'cardId'));
  }

  // ---- bank: the gen 2/3 transaction password (R1.2) ---------------------------------------

  verifyPassword(cardId: string, password: string): Promise<PasswordCheck> {
    return this.call(() => {
      const card = this.card(cardId);
      if (typeof password !== 'string') throw invalid('password must be a string');
      refusedPasswordCard(card);
      const secret = this.s.bankSecret.get(card.cardId);
      const hash = this.ledger.getBankPassword(card.cardId);
      if (!secret || !hash) throw noPasswordError(card.cardId);
      if (passwordLocked(secret.password_failures, this.passwordRetryLimit)) {
        throw passwordLockedError(card.cardId, this.passwordRetryLimit);
      }
      // scrypt runs outside the write transaction; the counter update below is atomic.
      if (verifySecret(hash, password)) {
        this.s.passwordOk.run(card.cardId);
        return { ok: true };
      }
      const failures = this.tx(() => this.s.passwordFailed.get(card.cardId)?.password_failures ?? 0);
      throw wrongPasswordError(card.cardId, failures, this.passwordRetryLimit);
    });
  }

  // ---- card management and balances -------------------------------------------------------

  cardStatus(cardId: string): Promise<CardStatus> {
    return this.call(() => this.card(cardId).status);
  }

  balances(cardId: string): Promise<HostBalances> {
    return this.call(() => {
      const card = this.card(cardId);
      const b = this.ledger.balances(card.cardId);
      return { reserve: b.reserve, medicalCurrent: b.medicalCurrent, medicalPrior: b.medicalPrior };
    });
  }

  // ---- carry-over (R4.2) ---------------------------------------------------------------------

  /**
   * The 21 June job: moves the whole 95000 balance of every card into 95001 (opening 95001,
   * also for cards whose 95000 is empty), once per year however often it runs. Returns the
   * years it did now (none when nothing was due). At first use it only records the year due
   * then as done, so a host started in November does not move this year's money.
   */
  runCarryOver(): CarryOverResult[] {
    const { done, results } = this.tx(() => carryOverInTx(this.books, this.clock()));
    this.carryOverDone = done;
    return results;
  }

  private carryOverIfDue(): void {
    if (carryOverCurrent(this.carryOverDone, this.clock())) return;
    this.runCarryOver();
  }

  // ---- payments --------------------------------------------------------------------------

  pay(request: HostPaymentRequest, onApplied?: OnApplied): Promise<HostRecord> {
    return this.call((answered) =>
      this.tx(() => {
        const record = payInTx(this.books, request);
        // The terminal's books commit in this same transaction (one database in-process):
        // the host never holds a payment the terminal lost, nor the other way round.
        if (answered && onApplied) onApplied(record, this.ledger.balances(record.cardId));
        return record;
      }),
    );
  }

  forward(request: HostPaymentRequest): Promise<HostRecord> {
    return this.call(() => this.tx(() => forwardInTx(this.books, request)));
  }

  // ---- reversals and refunds ---------------------------------------------------------------

  reverse(reversalId: string, paymentId: string, at: string): Promise<HostRecord> {
    return this.call(() => {
      const out = this.tx(() => reverseInTx(this.books, reversalId, paymentId, at));
      // Answered after the commit: the tombstone stays.
      if ('reversal_id' in out) throw neverAppliedError(paymentId, out.reversal_id);
      return out;
    });
  }

  refund(refundId: string, paymentId: string, amountFen: number, at: string): Promise<HostRecord> {
    return this.call(() => this.tx(() => refundInTx(this.books, refundId, paymentId, amountFen, at)));
  }

  // ---- reconciliation ----------------------------------------------------------------------

  records(terminalId: string, date?: string): Promise<HostRecord[]> {
    return this.call(() => {
      const terminal = requireText(terminalId, 'terminalId');
      if (date === undefined) return this.s.recordsOfTerminal.all(terminal).map(hostRecordFromColumns);
      if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
        throw invalid(`date must be a business day as YYYY-MM-DD, got ${String(date)}`);
      }
      return this.s.recordsOfTerminalDay.all(terminal, date).map(hostRecordFromColumns);
    });
  }
}
