import { openCardStore, type CardStore } from '../card-store.ts';
import { InProcessHost } from '../host/in-process-host.ts';
import {
  HostError,
  type Host,
  type LinkState,
  type MedicalOrder,
  type ShortfallPolicy,
} from '../host/types.ts';
import type { PsamSimulator } from '../card/psam.ts';
import { VirtualReader } from '../../device/virtual-reader.ts';
import type { CardReader } from '../../device/reader.ts';
import type { ApduTrace } from '../../device/trace.ts';
import type { SocialSecurityCard } from '../card/social-security-card.ts';
import type { CardProfile } from '../card/profile.ts';
import { systemClock, type Clock } from '../time.ts';
import { BalanceCache } from './balance-cache.ts';
import { TerminalLedger, type Reconciliation, type TerminalPayment } from './terminal-ledger.ts';
import { PosTerminal, DEFAULT_MERCHANT_NAME } from './terminal.ts';
import { renderReceipt } from './receipt.ts';
import { forwardPending, type ForwardOptions, type ForwardResult } from './forwarder.ts';
import { PendingReversals } from './pending-reversals.ts';

/**
 * One till on the embedded defaults: a SQLite file holding the cards (their chips' memory),
 * the in-process host's books and the terminal's own books; an in-process virtual reader
 * (or a PC/SC reader); the terminal machine on top.
 */
export interface PosSystemOptions {
  dbPath: string;
  clock?: Clock;
  terminalId?: string;
  merchantId?: string;
  merchantName?: string;
  link?: LinkState;
  reader?: CardReader;
  trace?: ApduTrace;
  medicalOrder?: MedicalOrder;
  shortfall?: ShortfallPolicy;
  hostTimeoutMs?: number;
  /** The terminal's PSAM (default: the simulator's, holding the test RKSSSE key). */
  psam?: PsamSimulator;
  /** Wraps the host the terminal talks to (fault injection in tests and scenarios). */
  wrapHost?: (host: InProcessHost) => Host;
}

export interface PosSystem {
  store: CardStore;
  host: InProcessHost;
  ledger: TerminalLedger;
  reader: CardReader;
  terminal: PosTerminal;
  clock: Clock;
  /** Registers the card with this till (and its host) and returns the card to insert. */
  register(profile: CardProfile): SocialSecurityCard;
  /**
   * Refunds (退费) part or all of a payment: a new entry pointing at the original, sent to
   * the host now or queued when it is unreachable.
   */
  refund(paymentId: string, amountFen: number): Promise<TerminalPayment>;
  /**
   * Forwards queued offline payments, refunds and reversals that are due (retries back off);
   * `{ now }` far ahead makes everything due, as an operator's explicit sync does. Safe to repeat.
   */
  sync(options?: ForwardOptions): Promise<ForwardResult & { reversalsSettled: number }>;
  /**
   * 对账 of the terminal's books against the host's records. Debits that timed out and were
   * reversed at the host without the terminal ever booking them net to zero and are listed
   * apart (`timedOutReversed`), not as mismatches.
   */
  reconcile(date?: string): Promise<Reconciliation & { timedOutReversed: string[] }>;
  close(): void;
}

export function openPosSystem(options: PosSystemOptions): PosSystem {
  const clock = options.clock ?? systemClock;
  const store = openCardStore(options.dbPath, clock);
  const medicalOrder = options.medicalOrder ?? 'current-first';
  const host = new InProcessHost({
    ledger: store.ledger,
    db: store.db,
    clock,
    medicalOrder,
    shortfall: options.shortfall ?? 'self-pay',
    ...(options.hostTimeoutMs !== undefined ? { timeoutMs: options.hostTimeoutMs } : {}),
    link: options.link ?? 'up',
  });
  const ledger = new TerminalLedger({
    db: store.db,
    clock,
    terminalId: options.terminalId ?? 'T0001',
    merchantId: options.merchantId ?? '898440100001',
    medicalOrder,
    // The host hands a refund's cash part back first; the terminal's books follow it.
    cashRefund: 'first',
  });
  const reader = options.reader ?? new VirtualReader(options.trace ? { trace: options.trace } : {});
  const terminal = new PosTerminal({
    reader,
    host: options.wrapHost ? options.wrapHost(host) : host,
    ...(options.psam ? { psam: options.psam } : {}),
    ledger,
    db: store.db,
    clock,
    medicalOrder,
    shortfall: options.shortfall ?? 'self-pay',
    ...(options.merchantName ? { merchantName: options.merchantName } : {}),
  });
  const cache = new BalanceCache(store.db);
  return {
    store,
    host,
    ledger,
    reader,
    terminal,
    clock,
    register(profile) {
      const card = store.open(profile);
      // The balance list is downloaded when a card is registered with the till, so that the
      // first gen 3 payment can already be taken offline.
      if (!cache.get(profile.card.number, clock()))
        cache.set(profile.card.number, store.balances(profile.card.number), clock());
      return card;
    },
    async refund(paymentId, amountFen) {
      const refundId = ledger.newPaymentId();
      const split = ledger.planRefund(paymentId, amountFen); // validates before the host hears of it
      const original = ledger.payment(paymentId)!;
      const receipt = (mode: 'online' | 'offline') =>
        renderReceipt({
          merchantName: options.merchantName ?? DEFAULT_MERCHANT_NAME,
          merchantId: ledger.merchantId,
          terminalId: ledger.terminalId,
          paymentId: refundId,
          refPaymentId: paymentId,
          kind: 'refund',
          at: clock(),
          cardNumber: original.cardId,
          pan: null,
          holderName: null,
          generation: original.generation,
          method: original.method,
          amountFen,
          split,
          mode,
          balancesAfter: null,
        });
      // A payment still queued must reach the host before its refund can.
      if (ledger.queueEntry(paymentId)?.state !== 'pending') {
        try {
          const hostRecord = await host.refund(refundId, paymentId, amountFen, clock().toISOString());
          return ledger.recordRefund(refundId, paymentId, amountFen, false, {
            hostRecord,
            receiptText: receipt('online'),
          });
        } catch (e) {
          if (!(e instanceof HostError) || (e.code !== 'HOST_DOWN' && e.code !== 'HOST_TIMEOUT')) throw e;
        }
      }
      return ledger.recordRefund(refundId, paymentId, amountFen, true, { receiptText: receipt('offline') });
    },
    async sync(opts = {}) {
      const r = await forwardPending(ledger, host, opts);
      const rev = await new PendingReversals(store.db).settleAll(host, clock());
      return { ...r, pending: r.pending + rev.pending, reversalsSettled: rev.settled };
    },
    async reconcile(date) {
      const r = ledger.reconcile(await host.records(ledger.terminalId, date), date);
      const unbooked = new PendingReversals(store.db).reversedUnbooked();
      const netZero = (id: string) =>
        unbooked.has(id) || (id.endsWith('-R') && unbooked.has(id.slice(0, -2)));
      const mismatches = r.mismatches.filter(
        (m) => !(m.kind === 'missing-at-terminal' && netZero(m.paymentId)),
      );
      const timedOutReversed = [...unbooked].filter((id) => r.mismatches.some((m) => m.paymentId === id));
      return { ...r, mismatches, agree: mismatches.length === 0, timedOutReversed };
    },
    close() {
      terminal.stop();
      store.close();
    },
  };
}
