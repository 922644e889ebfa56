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
import { forwardPending, hostRequestOf, type ForwardOptions, type ForwardResult } from './forwarder.ts';
import { PendingReversals } from './pending-reversals.ts';
import { HttpHost } from '../host/http-host.ts';
import type { CardRegistration, TerminalReport } from '../host/server/pg-host.ts';

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

/**
 * Choosing the host: the central host by URL (docs/central-host.md), or, with hostUrl
 * undefined, the in-process host on the terminal's own SQLite file (the embedded default).
 */
export interface HostChoiceOptions extends Omit<PosSystemOptions, 'wrapHost'> {
  hostUrl: string | undefined;
  /** The central host's shared token (default: SSCARD_HOST_TOKEN). */
  hostToken?: string | undefined;
  /** Queued payments per request to the central host (default 200; 1: one by one). */
  hostBatchSize?: number | undefined;
  wrapHost?: (host: Host) => Host;
}

export interface PosSystem<H extends Host = InProcessHost> {
  store: CardStore;
  host: H;
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
  /**
   * Resolves when the cards registered so far are known to the host (a central host learns a
   * card from the terminal; the in-process host shares the terminal's file). With the central
   * host down it resolves all the same: the registration is resent before the card's next call.
   */
  enrolled(): Promise<void>;
  close(): void;
}

/** The registration a central host gets for a card: its password only as the stored salted hash. */
export function cardRegistration(
  store: CardStore,
  profile: Pick<CardProfile, 'generation' | 'status' | 'accounts'> & { card: { number: string } },
  terminalId: string,
): CardRegistration {
  const a = profile.accounts;
  return {
    cardId: profile.card.number,
    generation: profile.generation,
    status: profile.status,
    passwordHash: store.ledger.getBankPassword(profile.card.number),
    opening: {
      reserve: a.reserveFen ?? null,
      medicalCurrent: a.medicalCurrentFen ?? null,
      medicalPrior: a.medicalPriorFen ?? null,
    },
    terminalId,
  };
}

export function openPosSystem(options: HostChoiceOptions): PosSystem<Host>;
export function openPosSystem(options: PosSystemOptions): PosSystem<InProcessHost>;
export function openPosSystem(options: PosSystemOptions | HostChoiceOptions): PosSystem<Host> {
  const hostUrl = 'hostUrl' in options ? options.hostUrl : undefined;
  const hostToken = 'hostToken' in options ? options.hostToken : undefined;
  const hostBatchSize = 'hostBatchSize' in options ? options.hostBatchSize : undefined;
  const wrapHost = options.wrapHost as ((host: Host) => Host) | undefined;
  const clock = options.clock ?? systemClock;
  const store = openCardStore(options.dbPath, clock);
  const medicalOrder = options.medicalOrder ?? 'current-first';
  let remote: HttpHost | null = null;
  let host: InProcessHost | HttpHost;
  try {
    host = hostUrl
      ? (remote = new HttpHost({
          url: hostUrl,
          ...(hostToken !== undefined ? { token: hostToken } : {}),
          ...(hostBatchSize !== undefined ? { batchSize: hostBatchSize } : {}),
          ...(options.hostTimeoutMs !== undefined ? { timeoutMs: options.hostTimeoutMs } : {}),
          link: options.link ?? 'up',
          // A card this till took payments from, known to its store, for a host that has not
          // seen it yet (e.g. payments taken offline by an earlier run while the host was down).
          cardSource: (cardId) => {
            const row = store.ledger.getCard(cardId);
            if (!row) return null;
            const p = JSON.parse(row.profileJson) as Pick<CardProfile, 'accounts'>;
            return cardRegistration(
              store,
              {
                generation: row.generation,
                status: row.status,
                accounts: p.accounts ?? {},
                card: { number: cardId },
              },
              options.terminalId ?? 'T0001',
            );
          },
        }))
      : new InProcessHost({
          ledger: store.ledger,
          db: store.db,
          clock,
          medicalOrder,
          shortfall: options.shortfall ?? 'self-pay',
          ...(options.hostTimeoutMs !== undefined ? { timeoutMs: options.hostTimeoutMs } : {}),
          link: options.link ?? 'up',
        });
  } catch (e) {
    store.close();
    throw e;
  }
  const enrolling = new Set<Promise<unknown>>();
  // A central host hears what this terminal knows about itself after every sync and reconciliation.
  const report = async (r: Omit<TerminalReport, 'terminalId' | 'merchantId'>) => {
    await remote
      ?.report({ terminalId: ledger.terminalId, merchantId: ledger.merchantId, ...r })
      .catch(() => undefined);
  };
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
    host: wrapHost ? wrapHost(host) : host,
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
      if (remote) {
        const p = remote.enrol(cardRegistration(store, profile, ledger.terminalId)).catch(() => null);
        enrolling.add(p);
        void p.finally(() => enrolling.delete(p));
      }
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
      if (remote && remote.link === 'up') {
        // The central host takes the queued offline payments in batches; the forwarder then
        // books each one in its order exactly as before (docs/central-host.md).
        const due = ledger
          .pendingForwards(opts.now ?? ledger.now())
          .filter(
            (e) =>
              e.payment.kind === 'payment' &&
              (opts.maxAttempts === undefined || e.attempts < opts.maxAttempts),
          )
          .slice(0, opts.limit ?? Infinity);
        if (due.length > 1) await remote.prefetchForwards(due.map(hostRequestOf));
      }
      const r = await forwardPending(ledger, host, opts).finally(() => remote?.clearPrefetched());
      const rev = await new PendingReversals(store.db).settleAll(host, clock());
      await report({ queueDepth: ledger.pendingCount(), lastSyncAt: clock().toISOString() });
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
      await report({
        queueDepth: ledger.pendingCount(),
        reconciliation: mismatches.length === 0 ? 'agree' : 'mismatch',
        mismatches: mismatches.length,
        reconciledAt: clock().toISOString(),
      });
      return { ...r, mismatches, agree: mismatches.length === 0, timedOutReversed };
    },
    async enrolled() {
      await Promise.all([...enrolling]);
    },
    close() {
      terminal.stop();
      remote?.close();
      store.close();
    },
  };
}
