/**
 * The event vocabulary and data shared by the POS machines of every card generation. Pure
 * types: no I/O here. Device, host and ledger work is done by named actors supplied from
 * outside (`machine.provide({ actors })`), so the machines can be walked exhaustively.
 */
import type { PaymentMethod, PaymentSplit, HostBalances } from '../core/host/types.ts';

export type Generation = 1 | 2 | 3;

/** What the terminal learnt from reading the card (EF05/EF06 and the host's card status). */
export interface CardSummary {
  generation: Generation;
  cardNumber: string;
  holderName: string | null;
  /** SSN with the middle masked, for the screen and the receipt. */
  ssnMasked: string | null;
  expiryDate: string; // YYYY-MM-DD
  expired: boolean;
  /** Card management status; 'unknown' when the host could not be asked (offline). */
  status: 'active' | 'not-activated' | 'loss-reported' | 'closed' | 'unknown';
}

/** Operator and device events (the till's keyboard, the reader, the clock). */
export type OperatorEvent =
  | { type: 'CARD_INSERTED' }
  | { type: 'CARD_REMOVED' }
  | { type: 'AMOUNT_ENTERED'; amountFen: number; method: PaymentMethod }
  | { type: 'PIN_ENTERED'; pin: string }
  | { type: 'CANCEL' }
  /** Esc at the PIN pad: back to the amount, the sale goes on (nothing was sent to the card yet). */
  | { type: 'EDIT_AMOUNT' }
  | { type: 'TIMEOUT' };

/** A message for the screen: a code the renderer translates (zh default, en), with values. */
export interface PosMessage {
  code: MessageCode;
  params?: Record<string, string | number>;
}

export type MessageCode =
  | 'INSERT_CARD'
  | 'READING_CARD'
  | 'READ_FAILED'
  | 'CARD_EXPIRED'
  | 'CARD_LOSS_REPORTED'
  | 'CARD_CLOSED'
  | 'CARD_NOT_ACTIVATED'
  | 'ENTER_AMOUNT'
  | 'INVALID_AMOUNT'
  | 'GEN1_NO_MEDICAL'
  | 'GEN1_NO_FINANCIAL'
  | 'ENTER_PASSWORD'
  | 'WRONG_PASSWORD'
  | 'PASSWORD_LOCKED'
  | 'HOST_UNREACHABLE_GEN2'
  | 'HOST_UNREACHABLE'
  | 'AUTHENTICATING'
  | 'AUTH_FAILED'
  | 'ENTER_PIN'
  | 'INITIAL_PIN_REFUSED'
  | 'WRONG_PIN'
  | 'PIN_BLOCKED'
  | 'CARD_ERROR'
  | 'PROCESSING'
  | 'INSUFFICIENT_FUNDS'
  | 'PAYMENT_DECLINED'
  | 'APPROVED'
  | 'APPROVED_OFFLINE'
  | 'REMOVE_CARD'
  | 'CANCELLED'
  | 'TIMED_OUT'
  | 'CARD_PULLED'
  | 'REVERSED'
  | 'REVERSAL_QUEUED';

/** The result of a debit, as the payment actor returns it. */
export interface PaymentOutcome {
  paymentId: string;
  amountFen: number;
  method: PaymentMethod;
  split: PaymentSplit;
  mode: 'online' | 'offline';
  balancesAfter: HostBalances | null;
  receiptText: string;
  at: string;
}

/** Typed failure of an actor, thrown by the actor and read by the machines' guards. */
export interface ActorFailure {
  code:
    | 'CARD_REMOVED'
    | 'READ_FAILED'
    | 'AUTH_FAILED'
    | 'WRONG_PIN'
    | 'PIN_BLOCKED'
    | 'INITIAL_PIN'
    | 'CARD_ERROR'
    | 'WRONG_PASSWORD'
    | 'PASSWORD_LOCKED'
    | 'HOST_DOWN'
    | 'HOST_TIMEOUT'
    | 'INSUFFICIENT_FUNDS'
    | 'DECLINED';
  message: string;
  triesLeft?: number;
}

export function failure(e: unknown): ActorFailure {
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    return e as ActorFailure;
  }
  return { code: 'DECLINED', message: e instanceof Error ? e.message : String(e) };
}

/** How a generation machine ended; the terminal machine acts on it. */
export interface SessionResult {
  result: 'paid' | 'declined' | 'cancelled' | 'reversed' | 'pulled';
  message: PosMessage;
  outcome: PaymentOutcome | null;
}

/** The largest single payment the till accepts (9,999,999.99 yuan), to catch typos. */
export const MAX_AMOUNT_FEN = 999_999_999;
