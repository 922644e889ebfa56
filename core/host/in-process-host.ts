import type Database from 'better-sqlite3';
import { verifySecret } from '../card/pin.ts';
import {
  LedgerError,
  type CardStatus,
  type Ledger,
  type PostingLine,
  type SystemAccountKind,
} from '../ledger/ledger.ts';
import { businessDate } from '../time.ts';
import { carryOverYearDue } from './medical.ts';
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
  type PaymentSplit,
  type ShortfallPolicy,
} from './types.ts';
import { hostRecordFromColumns } from './split.ts';
export { formatYuan } from './request-checks.ts';
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
  type HostRecordRow as RecordDbRow,
  type Part,
  type RecordHead,
} from './request-checks.ts';
import { crashPoint } from '../crash-points.ts';
import { lazyStatements } from '../db/lazy-statements.ts';

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

/** One carry-over year done by the host (R4.2). */
export interface CarryOverResult {
  readonly year: number;
  /** Cards whose 95000 balance moved (cards with an empty 95000 only get their 95001 opened). */
  readonly cards: number;
  readonly movedFen: number;
}
type AccountPart = Exclude<Part, 'self_pay'>;

interface Leg {
  readonly part: Part;
  /** null: cash at the till (self-pay), not in the host's books. */
  readonly accountId: number | null;
  readonly advanced: boolean;
  readonly amountFen: number;
  readonly refLeg: number | null;
}

interface LegDbRow {
  payment_id: string;
  leg: number;
  part: Part;
  account_id: number | null;
  advanced: number;
  amount_fen: number;
  ref_leg: number | null;
}

interface OpenLegRow {
  leg: number;
  part: Part;
  account_id: number | null;
  advanced: number;
  remaining_fen: number;
}

/** A payment id voided by a reversal that reached the host first (migration 90). */
interface VoidedDbRow {
  payment_id: string;
  reversal_id: string;
  reversed_at: string;
  voided_at: string;
}

/** The refusal of a payment whose id a reversal voided before it arrived. */
export function voidedError(paymentId: string, reversalId: string, reversedAt: string): HostError {
  return new HostError(
    'PAYMENT_VOIDED',
    `payment ${paymentId} was voided by reversal ${reversalId} (${reversedAt}) before it reached the host: ` +
      'refused, nothing applied',
  );
}

/** UNKNOWN_PAYMENT for a reversal of a payment the host never applied; the id is now void. */
export function neverAppliedError(paymentId: string, reversalId: string): HostError {
  return new HostError(
    'UNKNOWN_PAYMENT',
    `payment ${paymentId} was never applied at the host; its id is now voided by reversal ${reversalId}, ` +
      'so a late debit of it moves no money',
  );
}

const SPLIT_FIELD: Readonly<Record<Part, keyof PaymentSplit>> = {
  medical_current: 'medicalCurrentFen',
  medical_prior: 'medicalPriorFen',
  reserve: 'reserveFen',
  self_pay: 'selfPayFen',
};

/** Who advances a part the card account can no longer cover. */
const ADVANCED_BY: Readonly<Record<AccountPart, SystemAccountKind>> = {
  medical_current: 'medical_funding',
  medical_prior: 'medical_funding',
  reserve: 'bank_funding',
};

const LINK_STATES: readonly LinkState[] = ['up', 'down', 'slow'];
const CARRY_OVER_KEY = 'carry_over_done_year';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function toHostRecord(r: RecordDbRow): HostRecord {
  return hostRecordFromColumns(r);
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

/** The statements, each prepared on first use (lazyStatements). */
const prepareStatements = lazyStatements({
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

export class InProcessHost implements Host {
  private readonly ledger: Ledger;
  private readonly clock: () => Date;
  private readonly medicalOrder: MedicalOrder;
  private readonly shortfall: ShortfallPolicy;
  private readonly timeoutMs: number;
  private readonly slowDelayMs: number;
  private readonly passwordRetryLimit: number;
  private readonly timedOutRequests: 'dropped' | 'applied';
  private readonly s: ReturnType<typeof prepareStatements>;
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
    this.medicalOrder = medicalOrder;
    this.shortfall = shortfall;
    this.timeoutMs = timeoutMs;
    this.slowDelayMs = slowDelayMs;
    this.passwordRetryLimit = passwordRetryLimit;
    this.timedOutRequests = timedOutRequests;
    this.linkState = link;
    this.s = prepareStatements(db);
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
    const id = requireText(cardId, 'cardId');
    const card = this.ledger.getCard(id);
    if (!card) throw new HostError('UNKNOWN_CARD', `no card ${id} at the host`);
    return card;
  }

  // ---- bank: the gen 2/3 transaction password (R1.2) ---------------------------------------

  verifyPassword(cardId: string, password: string): Promise<PasswordCheck> {
    return this.call(() => {
      const card = this.card(cardId);
      if (typeof password !== 'string') throw invalid('password must be a string');
      if (card.generation === 1) {
        throw invalid(
          `card ${card.cardId} is a gen 1 card: it has no financial account and no transaction password (R1.1)`,
        );
      }
      if (card.status !== 'active') {
        throw new HostError('CARD_NOT_USABLE', `card ${card.cardId} is ${card.status}`);
      }
      const secret = this.s.bankSecret.get(card.cardId);
      const hash = this.ledger.getBankPassword(card.cardId);
      if (!secret || !hash) {
        throw invalid(`card ${card.cardId} has no transaction password at the bank`);
      }
      const locked = () =>
        new HostError(
          'PASSWORD_LOCKED',
          `transaction password of card ${card.cardId} is locked after ${this.passwordRetryLimit} wrong tries; ` +
            'reset it at the bank counter',
          0,
        );
      if (secret.password_failures >= this.passwordRetryLimit) throw locked();
      // scrypt runs outside the write transaction; the counter update below is atomic.
      if (verifySecret(hash, password)) {
        this.s.passwordOk.run(card.cardId);
        return { ok: true };
      }
      const failures = this.tx(() => this.s.passwordFailed.get(card.cardId)?.password_failures ?? 0);
      const triesLeft = Math.max(this.passwordRetryLimit - failures, 0);
      if (triesLeft === 0) throw locked();
      throw new HostError(
        'WRONG_PASSWORD',
        `wrong transaction password for card ${card.cardId}: ${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left`,
        triesLeft,
      );
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
    const { done, results } = this.tx(() => this.carryOverInTx());
    this.carryOverDone = done;
    return results;
  }

  private carryOverIfDue(): void {
    if (this.carryOverDone !== null && this.carryOverDone >= carryOverYearDue(this.clock())) return;
    this.runCarryOver();
  }

  private carryOverInTx(): { done: number; results: CarryOverResult[] } {
    const due = carryOverYearDue(this.clock());
    const stored = this.s.getMeta.get(CARRY_OVER_KEY);
    if (stored === undefined) {
      this.s.setMeta.run(CARRY_OVER_KEY, String(due));
      return { done: due, results: [] };
    }
    const done = Number(stored);
    const results: CarryOverResult[] = [];
    for (let year = done + 1; year <= due; year++) results.push(this.carryOverYear(year));
    if (due > done) this.s.setMeta.run(CARRY_OVER_KEY, String(due));
    return { done: Math.max(done, due), results };
  }

  private carryOverYear(year: number): CarryOverResult {
    let cards = 0;
    let movedFen = 0;
    for (const a of this.s.medicalCurrentAccounts.all()) {
      const prior = this.ledger.openAccount(a.card_id, 'medical_prior');
      const txnId = `carry-over:${year}:${a.card_id}`;
      if (a.balance_fen <= 0 || this.ledger.journal({ txnId }).length > 0) continue;
      this.ledger.post({
        txnId,
        kind: 'carry-over',
        memo: `21 June ${year}: 95000 carried over into 95001`,
        lines: [
          { accountId: a.account_id, amountFen: -a.balance_fen },
          { accountId: prior, amountFen: a.balance_fen },
        ],
      });
      cards += 1;
      movedFen += a.balance_fen;
      crashPoint('during-carry-over');
    }
    this.s.insertCarryOver.run(year, this.now(), cards, movedFen);
    return { year, cards, movedFen };
  }

  // ---- payments --------------------------------------------------------------------------

  pay(request: HostPaymentRequest, onApplied?: OnApplied): Promise<HostRecord> {
    return this.call((answered) =>
      this.tx(() => {
        const record = this.payInTx(request);
        // The terminal's books commit in this same transaction (one database in-process):
        // the host never holds a payment the terminal lost, nor the other way round.
        if (answered && onApplied) onApplied(record, this.ledger.balances(record.cardId));
        return record;
      }),
    );
  }

  private payInTx(request: HostPaymentRequest): HostRecord {
    const head = validatePaymentRequest(request, 'online');
    const replay = this.replay(request);
    if (replay) return replay;
    const card = this.card(request.cardId);
    // Reversed before it arrived (a debit delayed on the network): the till gave up on it.
    const voided = this.s.getVoided.get(request.paymentId);
    if (voided) throw voidedError(voided.payment_id, voided.reversal_id, voided.reversed_at);
    const amount = request.amountFen;
    const split = decideOnlinePayment(
      card,
      request.method,
      amount,
      this.ledger.balances(card.cardId),
      this.medicalOrder,
      this.shortfall,
    );
    const legs: Leg[] = [];
    for (const part of drawOrder(this.medicalOrder)) {
      const fen = split[SPLIT_FIELD[part]];
      if (fen === 0) continue;
      // splitMedical never takes more than an account holds, so the account exists here.
      const accountId =
        part === 'self_pay' ? null : (this.ledger.getAccount(card.cardId, part)?.accountId ?? null);
      if (part !== 'self_pay' && accountId === null) throw new Error(`no ${part} account for ${card.cardId}`);
      legs.push({ part, accountId, advanced: false, amountFen: fen, refLeg: null });
    }
    return this.apply({ ...head, card_status: card.status }, legs, 'payment');
  }

  forward(request: HostPaymentRequest): Promise<HostRecord> {
    return this.call(() =>
      this.tx(() => {
        const head = validatePaymentRequest(request, 'offline');
        const replay = this.replay(request);
        if (replay) return replay;
        const split = validatePaymentSplit(request);
        // The card was accepted at the till: its status now is recorded, not re-checked.
        const card = this.card(request.cardId);
        const legs: Leg[] = [];
        for (const part of drawOrder(this.medicalOrder)) {
          const fen = split[SPLIT_FIELD[part]];
          if (fen === 0) continue;
          if (part === 'self_pay') {
            legs.push({ part, accountId: null, advanced: false, amountFen: fen, refLeg: null });
            continue;
          }
          const account = this.ledger.getAccount(card.cardId, part);
          const taken = Math.min(account?.balanceFen ?? 0, fen);
          if (account && taken > 0) {
            legs.push({
              part,
              accountId: account.accountId,
              advanced: false,
              amountFen: taken,
              refLeg: null,
            });
          }
          if (fen > taken) {
            const funding = this.ledger.systemAccount(ADVANCED_BY[part]);
            legs.push({ part, accountId: funding, advanced: true, amountFen: fen - taken, refLeg: null });
          }
        }
        const voided = this.s.getVoided.get(request.paymentId);
        if (voided) this.checkVoidingReversal(voided);
        const record = this.apply({ ...head, card_status: card.status }, legs, 'payment');
        // Reversed before it arrived: the till booked it offline and queued that reversal behind
        // it. Applied and reversed at once, by that reversal: nothing moves, and the queued
        // reversal finds its record (a replay).
        if (voided)
          this.reverseApplied(voided.reversal_id, this.original(record.paymentId), voided.reversed_at);
        return record;
      }),
    );
  }

  /** The voiding reversal's id must still be free to become the reversal's record. */
  private checkVoidingReversal(voided: VoidedDbRow): void {
    if (this.s.getRecord.get(voided.reversal_id)) {
      throw invalid(
        `payment ${voided.payment_id} was voided by reversal ${voided.reversal_id}, but that id is now ` +
          'another record: the payment cannot be applied and reversed',
      );
    }
  }

  /** The stored record of a payment applied before, or null; refuses an id reused for another. */
  private replay(request: HostPaymentRequest): HostRecord | null {
    const r = this.s.getRecord.get(request.paymentId);
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

  /**
   * Posts the legs as ONE balanced ledger transaction (id = the record's id) and stores the
   * record and its legs. Payments debit the accounts and credit the merchant; refunds and
   * reversals do the opposite. Self-pay legs are cash at the till and are not posted.
   */
  private apply(head: RecordHead, legs: readonly Leg[], kind: HostRecord['kind']): HostRecord {
    const out = kind === 'payment' ? -1 : 1;
    const split: PaymentSplit = { medicalCurrentFen: 0, medicalPriorFen: 0, reserveFen: 0, selfPayFen: 0 };
    let advanced = 0;
    let covered = 0;
    const lines: PostingLine[] = [];
    for (const leg of legs) {
      split[SPLIT_FIELD[leg.part]] += leg.amountFen;
      if (leg.advanced) advanced += leg.amountFen;
      if (leg.accountId !== null) {
        covered += leg.amountFen;
        lines.push({ accountId: leg.accountId, amountFen: out * leg.amountFen });
      }
    }
    const total = split.medicalCurrentFen + split.medicalPriorFen + split.reserveFen + split.selfPayFen;
    if (total !== head.amount_fen) {
      throw new Error(`host: legs of ${head.payment_id} sum to ${total} fen, not ${head.amount_fen}`);
    }
    if (covered > 0) {
      lines.push({ accountId: this.ledger.systemAccount('merchant'), amountFen: -out * covered });
      this.ledger.post({
        txnId: head.payment_id,
        kind,
        ...(head.ref_payment_id !== null ? { refTxnId: head.ref_payment_id } : {}),
        memo: `${head.method} ${kind} at terminal ${head.terminal_id}`,
        lines,
      });
    }
    const row: RecordDbRow = {
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
    this.s.insertRecord.run(row);
    legs.forEach((leg, i) =>
      this.s.insertLeg.run({
        payment_id: head.payment_id,
        leg: i + 1,
        part: leg.part,
        account_id: leg.accountId,
        advanced: leg.advanced ? 1 : 0,
        amount_fen: leg.amountFen,
        ref_leg: leg.refLeg,
      }),
    );
    return toHostRecord(row);
  }

  // ---- reversals and refunds ---------------------------------------------------------------

  reverse(reversalId: string, paymentId: string, at: string): Promise<HostRecord> {
    return this.call(() => {
      const out = this.tx((): HostRecord | VoidedDbRow => {
        const id = requireText(reversalId, 'reversalId');
        requireText(paymentId, 'paymentId');
        requireInstant(at, 'at');
        const existing = this.s.getRecord.get(id);
        if (existing) {
          if (existing.kind === 'reversal' && existing.ref_payment_id === paymentId)
            return toHostRecord(existing);
          throw invalid(
            `reversalId ${id} was already used for a ${existing.kind} of ${existing.ref_payment_id ?? id}`,
          );
        }
        const tombstone = this.s.voidedByReversal.get(id);
        if (tombstone && tombstone.payment_id !== paymentId) {
          throw invalid(`reversalId ${id} was already used for the reversal of ${tombstone.payment_id}`);
        }
        if (!this.s.getRecord.get(paymentId)) {
          // Nothing to reverse — yet: the debit may still be on its way. Its id is void from now
          // on (the first reversal's id and time are kept; a repeat changes nothing).
          this.s.insertVoided.run({
            payment_id: paymentId,
            reversal_id: id,
            reversed_at: at,
            voided_at: this.now(),
          });
          return this.s.getVoided.get(paymentId)!;
        }
        return this.reverseApplied(id, this.original(paymentId), at);
      });
      // Answered after the commit: the tombstone stays.
      if ('reversal_id' in out) throw neverAppliedError(paymentId, out.reversal_id);
      return out;
    });
  }

  /** Reverses everything not yet refunded of an applied payment (inside the transaction). */
  private reverseApplied(id: string, original: RecordDbRow, at: string): HostRecord {
    const paymentId = original.payment_id;
    const earlier = this.s.reversalOf.get(paymentId);
    if (earlier) throw invalid(`payment ${paymentId} was already reversed by ${earlier.payment_id}`);
    const open = this.s.openLegs.all(paymentId).filter((l) => l.remaining_fen > 0);
    if (open.length === 0) throw invalid(`payment ${paymentId} is fully refunded: nothing left to reverse`);
    // Everything not yet refunded goes back, last-drawn first, to exactly where it came from.
    const legs = open.reverse().map((l) => this.returnLeg(l, l.remaining_fen));
    const amount = legs.reduce((sum, l) => sum + l.amountFen, 0);
    return this.apply(this.returnHead(id, original, at, amount), legs, 'reversal');
  }

  refund(refundId: string, paymentId: string, amountFen: number, at: string): Promise<HostRecord> {
    return this.call(() =>
      this.tx(() => {
        const id = requireText(refundId, 'refundId');
        requireText(paymentId, 'paymentId');
        const amount = requireFen(amountFen, 'amountFen', 1);
        requireInstant(at, 'at');
        const existing = this.s.getRecord.get(id);
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
        const original = this.original(paymentId);
        const reversal = this.s.reversalOf.get(paymentId);
        if (reversal)
          throw invalid(`payment ${paymentId} was reversed by ${reversal.payment_id}: nothing to refund`);
        // Last-drawn first: cash, then the sub-accounts backwards; an advance before the card.
        const open = this.s.openLegs.all(paymentId).reverse();
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
        return this.apply(this.returnHead(id, original, at, amount), legs, 'refund');
      }),
    );
  }

  private original(paymentId: string): RecordDbRow {
    const r = this.s.getRecord.get(paymentId);
    if (!r) throw new HostError('UNKNOWN_PAYMENT', `payment ${paymentId} was never applied at the host`);
    if (r.kind !== 'payment') throw invalid(`${paymentId} is a ${r.kind}, not a payment`);
    return r;
  }

  private returnLeg(l: OpenLegRow, fen: number): Leg {
    return {
      part: l.part,
      accountId: l.account_id,
      advanced: l.advanced === 1,
      amountFen: fen,
      refLeg: l.leg,
    };
  }

  /** The head of a refund or reversal: terminal, card and method are the payment's. */
  private returnHead(id: string, original: RecordDbRow, at: string, amountFen: number): RecordHead {
    return {
      payment_id: id,
      kind: 'refund',
      ref_payment_id: original.payment_id,
      mode: null,
      terminal_id: original.terminal_id,
      merchant_id: original.merchant_id,
      card_id: original.card_id,
      card_status: this.ledger.getCard(original.card_id)?.status ?? original.card_status,
      method: original.method,
      amount_fen: amountFen,
      created_at: at,
    };
  }

  // ---- reconciliation ----------------------------------------------------------------------

  records(terminalId: string, date?: string): Promise<HostRecord[]> {
    return this.call(() => {
      const terminal = requireText(terminalId, 'terminalId');
      if (date === undefined) return this.s.recordsOfTerminal.all(terminal).map(toHostRecord);
      if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
        throw invalid(`date must be a business day as YYYY-MM-DD, got ${String(date)}`);
      }
      return this.s.recordsOfTerminalDay.all(terminal, date).map(toHostRecord);
    });
  }
}
