import type { CardGeneration } from '../../ledger/ledger.ts';
import type { HostRecord, PaymentMethod, PaymentSplit } from '../../host/types.ts';

/**
 * The shapes the terminal's books take in and hand out. They live apart from the code so that
 * each part of the books (payments, forward queue, closing, reconciliation, events) and the
 * row mapping can share them without importing one another; callers still import them from
 * core/pos/terminal-ledger.ts. Money is integer fen.
 */

export type TransactionKind = 'payment' | 'refund' | 'reversal';
export type PaymentMode = 'online' | 'offline';

/** The till's accounts: sales (credit), and what it is owed or holds (debit). */
export type TerminalAccount =
  'sales' | 'cash' | 'receivable:medical-current' | 'receivable:medical-prior' | 'receivable:reserve';

export const TERMINAL_ACCOUNTS: readonly TerminalAccount[] = [
  'sales',
  'receivable:medical-current',
  'receivable:medical-prior',
  'receivable:reserve',
  'cash',
];

/** The accounts a day's takings end up in (everything but sales): they sum to the net sales. */
export type SettlementAccount = Exclude<TerminalAccount, 'sales'>;

export interface TerminalPayment {
  readonly paymentId: string;
  /** Position in the till's books: the order transactions were taken (and are forwarded). */
  readonly seq: number;
  readonly kind: TransactionKind;
  /** The payment a refund or reversal returns; null for a payment. */
  readonly refPaymentId: string | null;
  readonly terminalId: string;
  readonly merchantId: string;
  readonly cardId: string;
  readonly generation: CardGeneration;
  readonly method: PaymentMethod;
  /** For a refund or reversal: the amount returned. Always > 0. */
  readonly amountFen: number;
  /** For a refund or reversal: what went back where. */
  readonly split: PaymentSplit;
  readonly mode: PaymentMode;
  readonly createdAt: string;
  /** YYYY-MM-DD, Beijing time. */
  readonly businessDate: string;
  readonly receiptText: string | null;
  readonly operator: string | null;
}

export interface TerminalJournalLine {
  readonly entryId: number;
  readonly paymentId: string;
  readonly line: number;
  readonly account: TerminalAccount;
  /** Signed: + debit (the till is owed / holds more), − credit (sales). */
  readonly amountFen: number;
  readonly businessDate: string;
}

export type ForwardState = 'pending' | 'sent';

export interface ForwardEntry {
  readonly paymentId: string;
  readonly kind: TransactionKind;
  readonly refPaymentId: string | null;
  /** 'queued': to be sent by the forwarder; 'online': confirmed by the host at the till. */
  readonly origin: 'queued' | 'online';
  readonly state: ForwardState;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly nextAttemptAt: string;
  readonly enqueuedAt: string;
  readonly sentAt: string | null;
  /** The host's answer, once sent. */
  readonly advancedFen: number | null;
  readonly hostAppliedAt: string | null;
  readonly payment: TerminalPayment;
}

export interface RecordPaymentInput {
  readonly paymentId: string;
  readonly cardId: string;
  readonly generation: CardGeneration;
  readonly method: PaymentMethod;
  readonly amountFen: number;
  readonly split: PaymentSplit;
  readonly mode: PaymentMode;
  /** The Chinese receipt, rendered before recording (rows are append-only). */
  readonly receiptText?: string | null;
  readonly operator?: string | null;
  /** true: the host has not applied it yet, queue it for the forwarder. */
  readonly forward: boolean;
  /** forward=false only: the host's answer to the online request; marks it host-confirmed. */
  readonly hostRecord?: HostRecord;
}

/** Extra fields of a refund or reversal. */
export interface RecordCorrectionOptions {
  readonly receiptText?: string | null;
  readonly operator?: string | null;
  /** forward=false only: the host's answer, when the correction was done online. */
  readonly hostRecord?: HostRecord;
  /**
   * forward=true only: 'online' for a correction written ahead that the till sends to the
   * host at once, before asking (its queue entry is marked sent on the host's answer, or
   * forwarded by sync should the till die first); default 'offline', queued for later.
   */
  readonly mode?: PaymentMode;
}

export interface PaymentFilter {
  readonly date?: string;
  readonly kind?: TransactionKind;
  readonly cardId?: string;
  readonly refPaymentId?: string;
  readonly mode?: PaymentMode;
}

export interface Settlement {
  readonly terminalId: string;
  readonly date: string;
  /** Count of kind 'payment' taken that day. */
  readonly payments: number;
  readonly refunds: number;
  readonly reversals: number;
  /** Payments taken. */
  readonly grossFen: number;
  /** Refunded that day (whatever day the payment was). */
  readonly refundedFen: number;
  readonly reversedFen: number;
  /** Net sales: grossFen − refundedFen − reversedFen; equals the sum of byAccount. */
  readonly totalFen: number;
  readonly byAccount: Readonly<Record<SettlementAccount, number>>;
  /** Net per payment method (refunds and reversals carry their payment's method). */
  readonly byMethod: Readonly<Record<PaymentMethod, number>>;
  /** That day's transactions still waiting for the host (when computed / closed). */
  readonly pendingForward: number;
}

export interface ClosedSettlement extends Settlement {
  readonly version: number;
  readonly closedAt: string;
}

export type MismatchKind =
  | 'missing-at-host'
  | 'missing-at-terminal'
  | 'amount-differs'
  | 'split-differs'
  | 'not-yet-forwarded'
  /** Same id, but kind, reference, card or method differ. */
  | 'record-differs';

export interface Mismatch {
  readonly paymentId: string;
  readonly kind: MismatchKind;
  readonly terminal?: TerminalPayment;
  readonly host?: HostRecord;
  /** Chinese / English. */
  readonly detail: string;
}

export interface ReconcileNote {
  readonly paymentId: string;
  readonly kind: 'advanced';
  readonly advancedFen: number;
  readonly detail: string;
}

export interface Reconciliation {
  readonly date: string | null;
  readonly agree: boolean;
  readonly mismatches: readonly Mismatch[];
  readonly notes: readonly ReconcileNote[];
  /** Net covered part (medical + reserve, no cash) of the terminal's transactions in scope. */
  readonly terminalTotalFen: number;
  /** Net covered part of the host's records in scope. */
  readonly hostTotalFen: number;
}

export interface BalanceCheck {
  readonly balanced: boolean;
  /** Sum of every journal line of this terminal: 0 when the books conserve money. */
  readonly totalFen: number;
  /** Payments whose lines do not sum to zero, or whose sales line disagrees with the row. */
  readonly unbalanced: readonly { paymentId: string; sumFen: number; detail: string }[];
}

export interface TerminalEventInput {
  /** e.g. 'decline', 'error', 'info'. */
  readonly kind: string;
  readonly message: string;
  readonly paymentId?: string | null;
  readonly cardId?: string | null;
  readonly amountFen?: number | null;
  readonly code?: string | null;
}

export interface TerminalEvent extends Required<TerminalEventInput> {
  readonly eventId: number;
  readonly terminalId: string;
  readonly at: string;
  readonly businessDate: string;
}
