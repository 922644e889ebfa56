import { openCardStore, type CardStore } from '../ledger/card-store.ts';
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
import {
  TerminalLedger,
  TerminalLedgerError,
  type Reconciliation,
  type TerminalPayment,
} from './terminal-ledger.ts';
import { PosTerminal, DEFAULT_MERCHANT_NAME } from './terminal.ts';
import { renderReceipt } from './receipt.ts';
import {
  backoffDelayMs,
  forwardPending,
  hostRequestOf,
  type ForwardOptions,
  type ForwardResult,
} from './forwarder.ts';
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

/** What PosSystem.recover() did with the reversals a till owed when it started. */
export interface RecoveryResult {
  /** Payment ids the host had applied and has now reversed (debits the till never booked). */
  reversed: string[];
  /** Payment ids whose reversal the host answered with "never applied" (nothing to undo). */
  neverApplied: string[];
  /** Reversals still owed after this run (host unreachable or refusing): the next sync retries. */
  pending: number;
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
   * Refunds (退费) part or all of a payment: a new entry pointing at the original, written
   * ahead — the refund, its journal lines and its queue entry are committed before the host
   * hears of it — then sent at once (mode 'online', 联机, when the host confirms it in this
   * call) or left queued for sync when the host is unreachable or the payment itself has not
   * reached the host yet (mode 'offline', 脱机). A till that dies in between finds the refund
   * queued at its restart; sync sends it and the host answers with its first record.
   * Validation errors (unknown payment, more than what is left) write nothing. A host that
   * refuses the refund leaves it queued and rejects with TerminalLedgerError HOST_REFUSED.
   */
  refund(paymentId: string, amountFen: number): Promise<TerminalPayment>;
  /**
   * Run when a till starts: settles the reversals it owes — debits the host applied that a
   * till which died never booked, and reversals owed whose answer was lost — as sync does,
   * never one whose debit is in flight in a live till. No host call at all when nothing is
   * owed. Host failures leave them owed for the next sync; never throws for them.
   */
  recover(): Promise<RecoveryResult>;
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
      const split = ledger.planRefund(paymentId, amountFen); // validates: an error writes nothing
      const original = ledger.payment(paymentId)!;
      const refundId = ledger.newPaymentId();
      const at = clock();
      const receipt = (mode: 'online' | 'offline') =>
        renderReceipt({
          merchantName: options.merchantName ?? DEFAULT_MERCHANT_NAME,
          merchantId: ledger.merchantId,
          terminalId: ledger.terminalId,
          paymentId: refundId,
          refPaymentId: paymentId,
          kind: 'refund',
          at,
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
      // Sent at once when the host is reachable and the payment has reached it (a payment still
      // queued must reach the host before its refund can: sync sends both, in order); else queued.
      const sendNow = host.link === 'up' && ledger.queueEntry(paymentId)?.state !== 'pending';
      const mode = sendNow ? 'online' : 'offline';
      // Written ahead, committed: from here on the refund is in the till's books and queue,
      // whatever happens to the till while the host is being asked.
      const written = ledger.recordRefund(refundId, paymentId, amountFen, true, {
        mode,
        receiptText: receipt(mode),
      });
      if (!sendNow) return written;
      let hostRecord;
      try {
        // Exactly what the forwarder sends for this entry: a replay after a crash is the same request.
        hostRecord = await host.refund(refundId, paymentId, amountFen, written.createdAt);
      } catch (e) {
        // No answer after all (a central host gone mid-call): it stays queued for sync.
        if (e instanceof HostError && (e.code === 'HOST_DOWN' || e.code === 'HOST_TIMEOUT')) return written;
        // The host answered no: the refund is written and stays queued, the failure counted
        // against it (retried with back-off); the operator is told so.
        const why = e instanceof Error ? e.message : String(e);
        try {
          ledger.markFailed(refundId, e, new Date(clock().getTime() + backoffDelayMs(1)));
        } catch {
          // Sent meanwhile by a forwarder: nothing to count.
        }
        throw new TerminalLedgerError(
          'HOST_REFUSED',
          `主机拒绝退费 ${refundId}（${why}）：退费已记入终端账簿并排队，上传时重试 / ` +
            `the host refused refund ${refundId} (${why}): it is recorded at the till and queued; sync retries it`,
        );
      }
      ledger.markSent(refundId, hostRecord); // idempotent: a forwarder may have got there first
      return written;
    },
    async recover() {
      const open = store.db
        .prepare<[], string>('SELECT reversal_id FROM pending_host_reversals WHERE done_at IS NULL')
        .pluck()
        .all();
      // A fresh ledger, or one with nothing owed: no host call.
      if (open.length === 0) return { reversed: [], neverApplied: [], pending: 0 };
      const reversals = new PendingReversals(store.db);
      // A link switched down or slow reaches nobody: left for the sync after it is back up.
      if (host.link !== 'up') {
        const live = reversals.armed().filter((a) => a.inFlight).length;
        return { reversed: [], neverApplied: [], pending: open.length - live };
      }
      const r = await reversals.settleAll(host, clock());
      const done = store.db
        .prepare<[string], { payment_id: string; outcome: string | null }>(
          `SELECT payment_id, outcome FROM pending_host_reversals
           WHERE done_at IS NOT NULL AND reversal_id IN (SELECT value FROM json_each(?))
           ORDER BY created_at, reversal_id`,
        )
        .all(JSON.stringify(open));
      return {
        reversed: done.filter((d) => d.outcome === 'reversed').map((d) => d.payment_id),
        neverApplied: done.filter((d) => d.outcome === 'never-applied').map((d) => d.payment_id),
        pending: r.pending,
      };
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
