import {
  assign,
  createActor,
  fromPromise,
  type Actor,
  type EventFromLogic,
  type NonReducibleUnknown,
  type SnapshotFrom,
} from 'xstate';
import { terminalMachine } from '../../state-machines/terminal.machine.ts';
import { gen1Machine } from '../../state-machines/gen1.machine.ts';
import { gen2Machine } from '../../state-machines/gen2.machine.ts';
import { gen3Machine } from '../../state-machines/gen3.machine.ts';
import type {
  ActorFailure,
  CardSummary,
  OperatorEvent,
  PaymentOutcome,
  PosMessage,
} from '../../state-machines/types.ts';
import type { DebitInput, ReverseOutput, SessionContext } from '../../state-machines/session-setup.ts';
import type { CardReader } from '../../device/reader.ts';
import { isReaderError } from '../../device/errors.ts';
import { exchange } from '../../device/exchange.ts';
import { readCard } from '../terminal/read-card.ts';
import { PsamSimulator } from '../card/psam.ts';
import { chipSerialFromAtr } from '../card/atr.ts';
import {
  externalAuthenticate,
  getChallenge,
  keyAlgorithm,
  SELECT_SSSE,
  verifyPin,
} from '../terminal/card-commands.ts';
import {
  HostError,
  type Host,
  type HostBalances,
  type HostRecord,
  type MedicalOrder,
  type PaymentSplit,
  type ShortfallPolicy,
} from '../host/types.ts';
import { splitMedical } from '../host/medical.ts';
import { HostFaultError } from '../host/faulty-host.ts';
import { businessDate, type Clock } from '../time.ts';
import { BalanceCache } from './balance-cache.ts';
import { PendingReversals } from './pending-reversals.ts';
import { renderReceipt, yuan } from './receipt.ts';
import type { TerminalLedger } from './terminal-ledger.ts';
import type Database from 'better-sqlite3';
import { crashPoint, crashPointAfter } from '../crash-points.ts';

/**
 * The POS terminal: the terminal machine with real work behind its named actors — the card
 * in the reader, the PSAM, the host, and the terminal's own ledger.
 */
export interface PosTerminalOptions {
  reader: CardReader;
  host: Host;
  ledger: TerminalLedger;
  db: Database.Database;
  clock: Clock;
  merchantName?: string;
  psam?: PsamSimulator;
  medicalOrder?: MedicalOrder;
  shortfall?: ShortfallPolicy;
}

type SessionEvent = EventFromLogic<typeof gen3Machine>;

/** What a debit learnt on its way: whether the host applied it, whether the till booked it. */
interface DebitState {
  applied: boolean | 'unknown';
  booked: boolean;
}

export const DEFAULT_MERCHANT_NAME = '康宁大药房（模拟）';

export type TerminalSnapshot = SnapshotFrom<typeof terminalMachine>;

function fail(code: ActorFailure['code'], message: string, triesLeft?: number): ActorFailure {
  return triesLeft === undefined ? { code, message } : { code, message, triesLeft };
}

function cardFailure(e: unknown): ActorFailure {
  if (isReaderError(e, 'CARD_REMOVED') || isReaderError(e, 'NO_CARD'))
    return fail('CARD_REMOVED', 'card removed');
  return fail('CARD_ERROR', e instanceof Error ? e.message : String(e));
}

function hostFailure(e: unknown): ActorFailure {
  if (e instanceof HostError) {
    switch (e.code) {
      case 'HOST_DOWN':
      case 'HOST_TIMEOUT':
      case 'WRONG_PASSWORD':
      case 'PASSWORD_LOCKED':
      case 'INSUFFICIENT_FUNDS':
        return fail(e.code, e.message, e.triesLeft);
      default:
        return fail('DECLINED', e.message);
    }
  }
  return fail('DECLINED', e instanceof Error ? e.message : String(e));
}

function maskSsn(ssn: string | null): string | null {
  if (!ssn) return null;
  return ssn.length > 8 ? ssn.slice(0, 4) + '*'.repeat(ssn.length - 8) + ssn.slice(-4) : ssn;
}

export class PosTerminal {
  readonly actor: Actor<typeof terminalMachine>;
  private readonly o: Required<Omit<PosTerminalOptions, 'psam'>> & { psam: PsamSimulator };
  private readonly cache: BalanceCache;
  /** Reversals owed to the host, and the write-ahead ones of the debits in flight. */
  private readonly owed: PendingReversals;
  /** Debits in flight by payment id, so a reversal waits for the debit it undoes. */
  private readonly inflight = new Map<string, Promise<unknown>>();
  private pan: string | null = null;
  private readonly onInserted = () => this.actor.send({ type: 'CARD_INSERTED' });
  private readonly onRemoved = () => this.actor.send({ type: 'CARD_REMOVED' });

  constructor(options: PosTerminalOptions) {
    this.o = {
      merchantName: DEFAULT_MERCHANT_NAME,
      medicalOrder: 'current-first',
      shortfall: 'self-pay',
      ...options,
      psam: options.psam ?? new PsamSimulator(),
    };
    this.cache = new BalanceCache(options.db);
    this.owed = new PendingReversals(options.db);
    const actors = {
      authenticateCard: fromPromise<void, { card: CardSummary }>(({ input }) =>
        this.authenticate(input.card),
      ),
      verifyPin: fromPromise<void, { pin: string }>(({ input }) => this.verifyPin(input.pin)),
      verifyPassword: fromPromise<void, { card: CardSummary; password: string }>(({ input }) =>
        this.verifyPassword(input.card, input.password),
      ),
      debit: fromPromise<PaymentOutcome, DebitInput>(({ input }) => this.debit(input)),
      reverse: fromPromise<ReverseOutput, { paymentId: string; card: CardSummary }>(({ input }) =>
        this.reverse(input.paymentId, input.card),
      ),
    };
    // Payment ids come from the terminal ledger: unique across processes and restarts.
    const assignPaymentId = assign<SessionContext, SessionEvent, NonReducibleUnknown, SessionEvent, never>(
      ({ context }) => ({
        seq: context.seq + 1,
        paymentId: this.o.ledger.newPaymentId(),
      }),
    );
    const machine = terminalMachine.provide({
      actors: {
        readCard: fromPromise<CardSummary, void>(() => this.readCard()),
        gen1: gen1Machine.provide({ actors }),
        gen2: gen2Machine.provide({ actors, actions: { assignPaymentId } }),
        gen3: gen3Machine.provide({ actors, actions: { assignPaymentId } }),
      },
    });
    // Every snapshot of the terminal and of its session machine wakes the waiters of until().
    this.actor = createActor(machine, {
      inspect: (ev) => {
        if (ev.type === '@xstate.snapshot') queueMicrotask(() => this.notify());
      },
    });
  }

  private readonly waiters = new Set<() => void>();

  /** Calls the listener after every change of the terminal or its session (screens, tests). */
  subscribe(listener: () => void): () => void {
    this.waiters.add(listener);
    return () => this.waiters.delete(listener);
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  start(): this {
    this.actor.start();
    this.o.reader.on('card-inserted', this.onInserted);
    this.o.reader.on('card-removed', this.onRemoved);
    if (this.o.reader.cardPresent()) this.onInserted();
    return this;
  }

  stop(): void {
    this.o.reader.off('card-inserted', this.onInserted);
    this.o.reader.off('card-removed', this.onRemoved);
    this.actor.stop();
  }

  send(event: OperatorEvent): void {
    this.actor.send(event);
  }

  get snapshot(): TerminalSnapshot {
    return this.actor.getSnapshot();
  }

  /** The generation machine's snapshot while a session runs. */
  get session() {
    const child = this.actor.getSnapshot().children.session as Actor<typeof gen3Machine> | undefined;
    return child?.getSnapshot() ?? null;
  }

  /** What the screen shows now: the session's message while a session runs. */
  message(): PosMessage {
    const child = this.session;
    return child && this.snapshot.matches('session') ? child.context.message : this.snapshot.context.message;
  }

  /** A readable state path: 'idle', 'session.gen3/awaitingPin', 'removeCard'… */
  stateName(): string {
    const s = this.snapshot;
    const top =
      typeof s.value === 'string'
        ? s.value
        : Object.entries(s.value).map(([k, v]) => `${k}.${String(v)}`)[0]!;
    const child = this.session;
    return child && s.matches('session') ? `${top}/${String(child.value)}` : top;
  }

  /** Resolves when the terminal (or its session) reaches a state matching the predicate. */
  async until(predicate: (t: PosTerminal) => boolean, timeoutMs = 10_000): Promise<void> {
    if (predicate(this)) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      const check = () => {
        if (predicate(this)) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `terminal did not reach the expected state within ${timeoutMs} ms (now ${this.stateName()})`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Waits until the terminal is waiting for the operator or the holder, or has finished. */
  settled(timeoutMs = 10_000): Promise<void> {
    const busy = [
      'readingCard',
      'authenticating',
      'verifyingPin',
      'verifyingPassword',
      'paying',
      'reversing',
    ];
    return this.until((t) => {
      const name = t.stateName();
      return !busy.some((b) => name.endsWith(b)) && !name.endsWith('dispatch');
    }, timeoutMs);
  }

  // ---- actors ------------------------------------------------------------------------

  private async readCard(): Promise<CardSummary> {
    let r;
    try {
      r = await readCard(this.o.reader, { psam: this.o.psam });
    } catch (e) {
      throw isReaderError(e, 'CARD_REMOVED') || isReaderError(e, 'NO_CARD')
        ? fail('CARD_REMOVED', 'card removed')
        : fail('READ_FAILED', e instanceof Error ? e.message : String(e));
    }
    this.pan = r.pan;
    const now = this.o.clock();
    let status: CardSummary['status'] = 'unknown';
    if (r.generation > 1) {
      try {
        status = await this.o.host.cardStatus(r.cardNumber);
        this.cache.refresh(r.cardNumber, await this.o.host.balances(r.cardNumber), now);
      } catch (e) {
        if (!(e instanceof HostError) || (e.code !== 'HOST_DOWN' && e.code !== 'HOST_TIMEOUT')) {
          if (e instanceof HostError && e.code === 'UNKNOWN_CARD') status = 'unknown';
          else throw fail('READ_FAILED', (e as Error).message);
        }
      }
    }
    return {
      generation: r.generation,
      cardNumber: r.cardNumber,
      holderName: r.name,
      ssnMasked: maskSsn(r.ssn),
      expiryDate: r.expiryDate,
      expired: r.expiryDate < businessDate(now),
      status,
    };
  }

  private async authenticate(card: CardSummary): Promise<void> {
    try {
      const atr = await this.o.reader.reset();
      const fci = await exchange(this.o.reader, SELECT_SSSE);
      if (fci.sw !== 0x9000) throw fail('AUTH_FAILED', `SELECT SSSE answered ${fci.sw.toString(16)}`);
      const alg = keyAlgorithm(fci.data);
      const serial = chipSerialFromAtr(atr);
      if (!serial) throw fail('AUTH_FAILED', 'no chip serial in the ATR');
      const ch = await exchange(this.o.reader, getChallenge(8));
      if (ch.sw !== 0x9000) throw fail('AUTH_FAILED', `GET CHALLENGE answered ${ch.sw.toString(16)}`);
      const crypt = this.o.psam.externalAuthenticate(alg, serial, ch.data);
      const r = await exchange(this.o.reader, externalAuthenticate(crypt));
      if (r.sw !== 0x9000)
        throw fail('AUTH_FAILED', `EXTERNAL AUTHENTICATE answered ${r.sw.toString(16).toUpperCase()}`);
    } catch (e) {
      if (e && typeof e === 'object' && 'code' in e && !(e instanceof Error)) throw e;
      throw cardFailure(e);
    }
    void card;
  }

  private async verifyPin(pin: string): Promise<void> {
    if (!/^[0-9]{4,12}$/.test(pin)) throw fail('CARD_ERROR', 'the PIN must be 4 to 12 digits');
    let sw: number;
    try {
      sw = (await exchange(this.o.reader, verifyPin(pin))).sw;
    } catch (e) {
      throw cardFailure(e);
    }
    if (sw === 0x9000) return;
    if ((sw & 0xfff0) === 0x63c0) throw fail('WRONG_PIN', 'wrong PIN', sw & 0x0f);
    if (sw === 0x6983) throw fail('PIN_BLOCKED', 'PIN blocked');
    if (sw === 0x6985) throw fail('INITIAL_PIN', 'initial PIN not enabled for transactions');
    throw fail('CARD_ERROR', `VERIFY answered ${sw.toString(16).toUpperCase()}`);
  }

  private async verifyPassword(card: CardSummary, password: string): Promise<void> {
    try {
      await this.o.host.verifyPassword(card.cardNumber, password);
    } catch (e) {
      throw hostFailure(e);
    }
  }

  private debit(input: DebitInput): Promise<PaymentOutcome> {
    const p = this.doDebit(input);
    crashPointAfter('after-journal-commit', p);
    this.inflight.set(
      input.paymentId,
      p.catch(() => undefined),
    );
    return p;
  }

  /**
   * An online debit with its reversal written ahead (pending_host_reversals, 'armed'): once the
   * request may reach the host, the till owes its reversal until it has booked the sale (the
   * booking deletes the armed row in its own transaction) or the host has said it applied
   * nothing. A till killed in between finds the armed row at its next start and reverses it.
   */
  private async doDebit(input: DebitInput): Promise<PaymentOutcome> {
    const at = this.o.clock();
    // A link that is down sends nothing (HOST_DOWN at once): nothing can be owed.
    const armed = this.o.host.link !== 'down';
    if (armed) {
      try {
        this.owed.arm(input.paymentId, input.card.cardNumber, at);
      } catch (e) {
        throw fail(
          'DECLINED',
          `the till could not write ahead the reversal of the payment, so it did not send it (${e instanceof Error ? e.message : String(e)})`,
        );
      }
    }
    const state: DebitState = { applied: 'unknown', booked: false };
    try {
      const outcome = await this.debitOnline(input, at, state);
      state.booked = true;
      return outcome;
    } finally {
      if (armed) {
        if (state.booked) this.owed.landed(input.paymentId);
        else {
          try {
            this.owed.settled(input.paymentId, state.applied);
          } catch {
            // Still armed, no longer in flight: the next sync reverses it.
          }
        }
      }
    }
  }

  private async debitOnline(input: DebitInput, at: Date, state: DebitState): Promise<PaymentOutcome> {
    const { host } = this.o;
    const request = {
      paymentId: input.paymentId,
      terminalId: this.o.ledger.terminalId,
      merchantId: this.o.ledger.merchantId,
      cardId: input.card.cardNumber,
      method: input.method,
      amountFen: input.amountFen,
      split: { medicalCurrentFen: 0, medicalPriorFen: 0, reserveFen: 0, selfPayFen: 0 },
      createdAt: at.toISOString(),
      mode: 'online' as const,
    };
    let outcome: PaymentOutcome | null = null;
    let record: HostRecord | null = null;
    let bookingFailed: unknown = undefined;
    try {
      // An in-process host runs the callback inside its own transaction: the host's and the
      // terminal's books (and the removal of the armed reversal) then commit together, once.
      record = await host.pay(request, (r, balancesAfter) => {
        crashPoint('after-card-debit');
        try {
          outcome = this.commit(input, at, r.split, 'online', balancesAfter, r);
        } catch (e) {
          bookingFailed = e;
          throw e;
        }
      });
    } catch (e) {
      // A refusal the host answered, a request that never left, or the host's transaction
      // undone by the till's failed booking in it: nothing was applied. No answer
      // (HOST_TIMEOUT) or anything unexpected: it may have been.
      if (
        (e instanceof HostError && e.code !== 'HOST_TIMEOUT') ||
        e instanceof HostFaultError ||
        (bookingFailed !== undefined && e === bookingFailed)
      )
        state.applied = false;
      const f = hostFailure(e);
      const unreachable = f.code === 'HOST_DOWN' || f.code === 'HOST_TIMEOUT';
      if (!unreachable || !input.offlineAllowed) throw f;
    }
    if (outcome) return outcome;
    if (record) {
      state.applied = true;
      const balancesAfter = await host.balances(input.card.cardNumber).catch(() => null);
      // IMMEDIATE, as every write transaction here: commit() reads before it writes, and a
      // deferred transaction's read-to-write upgrade fails at once with SQLITE_BUSY when another
      // till on the same file has written meanwhile (busy_timeout does not cover it).
      try {
        return this.o.db
          .transaction(() => this.commit(input, at, record!.split, 'online', balancesAfter, record!))
          .immediate();
      } catch (e) {
        // The host applied the debit but the till could not book it: no receipt can be handed
        // out, and the holder must not pay for a sale the till declines.
        throw await this.reverseUnbooked(input, e);
      }
    }
    // Offline (gen 3 medical, host unreachable): split against the terminal's balance list,
    // read under the write lock so that two tills on one file cannot both spend the same
    // balance (read, split and the list's update are one transaction). Booked under the same
    // payment id: should the host have applied it after all, forwarding it is idempotent.
    return this.o.db
      .transaction(() => {
        const cached = this.cache.get(input.card.cardNumber, at);
        if (!cached) throw fail('HOST_DOWN', 'host unreachable and no balance list for this card');
        const s = splitMedical(input.amountFen, cached, this.o.medicalOrder, this.o.shortfall);
        if (!s.ok) {
          throw fail(
            'INSUFFICIENT_FUNDS',
            `medical accounts short by ${yuan(s.shortfallFen)} yuan (offline balance list)`,
          );
        }
        // What the balance list holds once this payment is taken off it.
        const balancesAfter: HostBalances = {
          reserve: cached.reserve,
          medicalCurrent:
            cached.medicalCurrent === null ? null : cached.medicalCurrent - s.split.medicalCurrentFen,
          medicalPrior: cached.medicalPrior === null ? null : cached.medicalPrior - s.split.medicalPriorFen,
        };
        return this.commit(input, at, s.split, 'offline', balancesAfter, null);
      })
      .immediate();
  }

  /**
   * Reverses at the host a debit it applied that the terminal could not record, kept owed
   * (pending_host_reversals, retried by sync) until the host confirms it; returns the failure
   * the till declines with.
   */
  private async reverseUnbooked(input: DebitInput, cause: unknown): Promise<ActorFailure> {
    const reversalId = PendingReversals.reversalIdOf(input.paymentId);
    const at = this.o.clock();
    let reversed: boolean;
    try {
      this.owed.add(reversalId, input.paymentId, input.card.cardNumber, at);
      reversed = await this.owed.settle(this.o.host, reversalId, at);
    } catch {
      // Not even the owed reversal could be written: ask the host directly.
      reversed = await this.o.host.reverse(reversalId, input.paymentId, at.toISOString()).then(
        () => true,
        () => false,
      );
    }
    const why = cause instanceof Error ? cause.message : String(cause);
    return fail(
      'DECLINED',
      `the till could not record the payment (${why}): ${reversed ? 'reversed at the host' : 'reversal owed to the host'}`,
    );
  }

  /**
   * The terminal's side of a payment: receipt, payment row, journal lines, queue entry (when
   * it must still reach the host) and the balance list. Runs inside a transaction.
   */
  private commit(
    input: DebitInput,
    at: Date,
    split: PaymentSplit,
    mode: 'online' | 'offline',
    balancesAfter: HostBalances | null,
    record: HostRecord | null,
  ): PaymentOutcome {
    const { ledger } = this.o;
    const receiptText = renderReceipt({
      merchantName: this.o.merchantName,
      merchantId: ledger.merchantId,
      terminalId: ledger.terminalId,
      paymentId: input.paymentId,
      at,
      cardNumber: input.card.cardNumber,
      pan: input.method === 'reserve' ? this.pan : null,
      holderName: input.card.holderName,
      generation: input.card.generation,
      method: input.method,
      amountFen: input.amountFen,
      split,
      mode,
      balancesAfter,
    });
    // A host that replays an id already applied (a retry) finds it recorded here already.
    if (!ledger.payment(input.paymentId)) {
      ledger.recordPayment({
        paymentId: input.paymentId,
        cardId: input.card.cardNumber,
        generation: input.card.generation,
        method: input.method,
        amountFen: input.amountFen,
        split,
        mode,
        receiptText,
        forward: mode === 'offline',
        ...(record ? { hostRecord: record } : {}),
      });
    }
    // The reversal written ahead of this debit is not owed: the sale is booked, in this transaction.
    this.owed.booked(input.paymentId);
    if (balancesAfter) this.cache.set(input.card.cardNumber, balancesAfter, at);
    crashPoint('before-journal-commit');
    return {
      paymentId: input.paymentId,
      amountFen: input.amountFen,
      method: input.method,
      split,
      mode,
      balancesAfter,
      receiptText,
      at: at.toISOString(),
    };
  }

  private async reverse(paymentId: string, card: CardSummary): Promise<ReverseOutput> {
    await this.inflight.get(paymentId);
    this.inflight.delete(paymentId);
    const { ledger, host, clock } = this.o;
    const reversalId = PendingReversals.reversalIdOf(paymentId);
    if (!ledger.payment(paymentId)) {
      // The debit never committed at the terminal, but the host may have applied it (a timeout
      // loses the answer, not the request): the reversal is owed until the host confirms it.
      this.owed.add(reversalId, paymentId, card.cardNumber, clock());
      return { online: await this.owed.settle(host, reversalId, clock()) };
    }
    try {
      const hostRecord = await host.reverse(reversalId, paymentId, clock().toISOString());
      ledger.recordReversal(reversalId, paymentId, false, { hostRecord });
      this.cache.set(card.cardNumber, await host.balances(card.cardNumber), clock());
      return { online: true };
    } catch {
      ledger.recordReversal(reversalId, paymentId, true);
      return { online: false };
    }
  }
}
