import { HostError, type Host, type HostPaymentRequest, type HostRecord } from '../host/types.ts';
import { TerminalLedgerError, type ForwardEntry, type TerminalLedger } from './terminal-ledger.ts';

/**
 * Sends the terminal's forward queue to the host (上传): payments taken offline with
 * host.forward, reversals with host.reverse, refunds with host.refund, in the order the till
 * took them.
 *
 * Safe to replay: the host applies each id once and answers a repeat with the first record,
 * which counts as success; an entry already booked as sent is never sent again. Nothing is
 * ever dropped: an entry that keeps failing stays pending (see maxAttempts). The host's
 * confirmations are booked in groups (BOOKING_GROUP per durable transaction); one confirmed
 * but not yet booked when the till stops is simply sent again.
 */

export interface ForwardOptions {
  /** Entries due at this instant are tried (default: the ledger's clock). */
  readonly now?: Date;
  /** First retry delay; doubles with every failed attempt (default 30 s). */
  readonly baseDelayMs?: number;
  /** Ceiling of the retry delay (default 1 h). */
  readonly maxDelayMs?: number;
  /**
   * Entries that have failed this many times are not tried by this run: they stay pending
   * (and are listed in `exhausted`) for an operator to look at or for a run with a higher
   * limit. Default: no limit.
   */
  readonly maxAttempts?: number;
  /** Try at most this many entries in this run. */
  readonly limit?: number;
}

export interface ForwardError {
  readonly paymentId: string;
  readonly code: string;
  readonly message: string;
  readonly nextAttemptAt: string;
}

export interface ForwardResult {
  /** Entries the host confirmed in this run. */
  readonly sent: number;
  /** Entries tried and failed in this run (their next attempt is scheduled). */
  readonly failed: number;
  /** Entries of this terminal still pending after the run (due or not). */
  readonly pending: number;
  /** The run stopped at a HOST_DOWN: the link is down, the rest was not tried. */
  readonly stoppedOnHostDown: boolean;
  readonly sentIds: readonly string[];
  readonly errors: readonly ForwardError[];
  /** Refunds/reversals not tried because their payment has not reached the host yet. */
  readonly waiting: readonly string[];
  /** Entries not tried because they reached maxAttempts. */
  readonly exhausted: readonly string[];
}

export const DEFAULT_BASE_DELAY_MS = 30_000;
export const DEFAULT_MAX_DELAY_MS = 3_600_000;

/** Delay before the next try after `attempts` failed attempts (≥ 1): base · 2^(attempts−1), capped. */
export function backoffDelayMs(
  attempts: number,
  baseDelayMs = DEFAULT_BASE_DELAY_MS,
  maxDelayMs = DEFAULT_MAX_DELAY_MS,
): number {
  const exp = Math.min(Math.max(attempts, 1) - 1, 52);
  return Math.min(maxDelayMs, baseDelayMs * 2 ** exp);
}

/** The request that forwards an offline payment, as the host contract wants it. */
export function hostRequestOf(entry: ForwardEntry): HostPaymentRequest {
  const p = entry.payment;
  return {
    paymentId: p.paymentId,
    terminalId: p.terminalId,
    merchantId: p.merchantId,
    cardId: p.cardId,
    method: p.method,
    amountFen: p.amountFen,
    split: { ...p.split },
    createdAt: p.createdAt,
    mode: p.mode,
  };
}

async function send(host: Host, entry: ForwardEntry): Promise<HostRecord> {
  const p = entry.payment;
  switch (p.kind) {
    case 'payment':
      return host.forward(hostRequestOf(entry));
    case 'reversal':
      return host.reverse(p.paymentId, p.refPaymentId as string, p.createdAt);
    case 'refund':
      // The refund's whole amount (cash part included), as the host's payment record holds the
      // whole amount too; the host returns its covered part to the accounts.
      return host.refund(p.paymentId, p.refPaymentId as string, p.amountFen, p.createdAt);
  }
}

function codeOf(e: unknown): string {
  if (e instanceof HostError || e instanceof TerminalLedgerError) return e.code;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'ERROR';
}

const inFlight = new WeakMap<TerminalLedger, Promise<ForwardResult>>();

/**
 * Sends every due pending entry of the ledger's forward queue, in order. A call made while a
 * run for the same ledger is in progress (a timer and a button) waits for that run and
 * returns its result instead of sending the same entries twice.
 */
export function forwardPending(
  ledger: TerminalLedger,
  host: Host,
  opts: ForwardOptions = {},
): Promise<ForwardResult> {
  const running = inFlight.get(ledger);
  if (running) return running;
  const run = runForward(ledger, host, opts).finally(() => inFlight.delete(ledger));
  inFlight.set(ledger, run);
  return run;
}

/**
 * Confirmations booked per IMMEDIATE transaction: the host's answers are kept in memory and
 * booked together (one durable commit for up to this many), instead of one commit each.
 */
export const BOOKING_GROUP = 250;

async function runForward(ledger: TerminalLedger, host: Host, opts: ForwardOptions): Promise<ForwardResult> {
  const base = opts.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const max = opts.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const due = ledger.pendingForwards(opts.now ?? ledger.now());

  const sentIds: string[] = [];
  const errors: ForwardError[] = [];
  const waiting: string[] = [];
  const exhausted: string[] = [];
  let stoppedOnHostDown = false;
  let tried = 0;

  // Confirmed by the host, not yet booked at the till. Booked in one transaction when the group
  // is full, before anything that reads or changes the queue (a refund or reversal asking after
  // its payment, a failure, the end of the run). A crash before the booking loses no money: the
  // entries are still pending, are sent again, and the host answers with its first record.
  const unbooked = new Map<string, HostRecord>();
  const book = () => {
    if (unbooked.size === 0) return;
    ledger.markSentMany([...unbooked].map(([paymentId, hostRecord]) => ({ paymentId, hostRecord })));
    unbooked.clear();
  };

  let completed = false;
  try {
    for (const entry of due) {
      if (opts.maxAttempts !== undefined && entry.attempts >= opts.maxAttempts) {
        exhausted.push(entry.paymentId);
        continue;
      }
      // A refund or reversal goes after its payment: the host would not know what it refers to.
      if (entry.refPaymentId !== null) {
        if (unbooked.has(entry.refPaymentId)) book();
        if (ledger.queueEntry(entry.refPaymentId)?.state === 'pending') {
          waiting.push(entry.paymentId);
          continue;
        }
      }
      if (opts.limit !== undefined && tried >= opts.limit) break;
      tried += 1;

      let record: HostRecord;
      try {
        record = await send(host, entry);
        if (record.paymentId !== entry.paymentId) {
          throw new TerminalLedgerError(
            'HOST_RECORD_MISMATCH',
            `${entry.paymentId}: the host record is for ${record.paymentId}`,
          );
        }
      } catch (e) {
        book();
        const code = codeOf(e);
        const nextAttemptAt = new Date(
          ledger.now().getTime() + backoffDelayMs(entry.attempts + 1, base, max),
        );
        try {
          ledger.markFailed(entry.paymentId, e, nextAttemptAt);
        } catch (markError) {
          // Sent meanwhile by another forwarder (another process): nothing left to do.
          if (!(markError instanceof TerminalLedgerError && markError.code === 'ALREADY_SENT'))
            throw markError;
          continue;
        }
        errors.push({
          paymentId: entry.paymentId,
          code,
          message: e instanceof Error ? e.message : String(e),
          nextAttemptAt: nextAttemptAt.toISOString(),
        });
        // Link down: nothing can get through, keep the rest for the next run. A timeout or a
        // refusal concerns this entry only (HOST_TIMEOUT: it may have arrived; the retry will
        // get the host's first answer back), and does not hold up the others (only the
        // refunds and reversals of a payment wait for it).
        if (code === 'HOST_DOWN') {
          stoppedOnHostDown = true;
          // The whole queue waits for the link, so that the next run starts from the oldest
          // entry again instead of whichever one is still due.
          ledger.deferForwards(nextAttemptAt);
          break;
        }
        continue;
      }
      unbooked.set(entry.paymentId, record);
      sentIds.push(entry.paymentId);
      if (unbooked.size >= BOOKING_GROUP) book();
    }
    book();
    completed = true;
  } finally {
    // A run stopped by an exception still books what the host confirmed (best effort: the
    // run's own error is the one reported; what is not booked is simply sent again).
    if (!completed) {
      try {
        book();
      } catch {
        // keep the original error
      }
    }
  }

  return {
    sent: sentIds.length,
    failed: errors.length,
    pending: ledger.pendingCount(),
    stoppedOnHostDown,
    sentIds,
    errors,
    waiting,
    exhausted,
  };
}
