import type { CardGeneration } from '../../ledger/ledger.ts';
import type { PaymentMethod } from '../../host/types.ts';
import { splitFromColumns } from '../../host/split.ts';
import type {
  ClosedSettlement,
  ForwardState,
  PaymentMode,
  TerminalAccount,
  TerminalEvent,
  TerminalJournalLine,
  TerminalPayment,
  TransactionKind,
} from './types.ts';

/**
 * The rows of the books' tables (core/db/migrations/030-terminal-books.ts) as SQLite returns them, and their
 * mapping to the camelCase objects the books hand out. Kept in one place so that a column
 * added by a migration is mapped once, whichever part of the books reads the table.
 */

export interface PaymentDbRow {
  payment_id: string;
  seq: number;
  kind: TransactionKind;
  ref_payment_id: string | null;
  terminal_id: string;
  merchant_id: string;
  card_id: string;
  generation: CardGeneration;
  method: PaymentMethod;
  amount_fen: number;
  medical_current_fen: number;
  medical_prior_fen: number;
  reserve_fen: number;
  self_pay_fen: number;
  mode: PaymentMode;
  created_at: string;
  business_date: string;
  receipt_text: string | null;
  operator: string | null;
}

export type NewPaymentDbRow = Omit<PaymentDbRow, 'seq'>;

export interface JournalDbRow {
  entry_id: number;
  payment_id: string;
  line: number;
  account: TerminalAccount;
  amount_fen: number;
  business_date: string;
}

export interface QueueDbRow {
  payment_id: string;
  origin: 'queued' | 'online';
  state: ForwardState;
  attempts: number;
  last_error: string | null;
  next_attempt_at: string;
  enqueued_at: string;
  sent_at: string | null;
  advanced_fen: number | null;
  host_applied_at: string | null;
}

export interface SettlementDbRow {
  terminal_id: string;
  business_date: string;
  version: number;
  closed_at: string;
  payments: number;
  refunds: number;
  reversals: number;
  gross_fen: number;
  refunded_fen: number;
  reversed_fen: number;
  total_fen: number;
  medical_current_fen: number;
  medical_prior_fen: number;
  reserve_fen: number;
  cash_fen: number;
  method_medical_fen: number;
  method_reserve_fen: number;
  pending_forward: number;
}

export interface EventDbRow {
  event_id: number;
  terminal_id: string;
  at: string;
  business_date: string;
  kind: string;
  payment_id: string | null;
  card_id: string | null;
  amount_fen: number | null;
  code: string | null;
  message: string;
}

export function toPayment(r: PaymentDbRow): TerminalPayment {
  return {
    paymentId: r.payment_id,
    seq: r.seq,
    kind: r.kind,
    refPaymentId: r.ref_payment_id,
    terminalId: r.terminal_id,
    merchantId: r.merchant_id,
    cardId: r.card_id,
    generation: r.generation,
    method: r.method,
    amountFen: r.amount_fen,
    split: splitFromColumns(r),
    mode: r.mode,
    createdAt: r.created_at,
    businessDate: r.business_date,
    receiptText: r.receipt_text,
    operator: r.operator,
  };
}

export function toJournalLine(r: JournalDbRow): TerminalJournalLine {
  return {
    entryId: r.entry_id,
    paymentId: r.payment_id,
    line: r.line,
    account: r.account,
    amountFen: r.amount_fen,
    businessDate: r.business_date,
  };
}

export function toSettlement(r: SettlementDbRow): ClosedSettlement {
  return {
    terminalId: r.terminal_id,
    date: r.business_date,
    version: r.version,
    closedAt: r.closed_at,
    payments: r.payments,
    refunds: r.refunds,
    reversals: r.reversals,
    grossFen: r.gross_fen,
    refundedFen: r.refunded_fen,
    reversedFen: r.reversed_fen,
    totalFen: r.total_fen,
    byAccount: {
      'receivable:medical-current': r.medical_current_fen,
      'receivable:medical-prior': r.medical_prior_fen,
      'receivable:reserve': r.reserve_fen,
      cash: r.cash_fen,
    },
    byMethod: { medical: r.method_medical_fen, reserve: r.method_reserve_fen },
    pendingForward: r.pending_forward,
  };
}

export function toEvent(r: EventDbRow): TerminalEvent {
  return {
    eventId: r.event_id,
    terminalId: r.terminal_id,
    at: r.at,
    businessDate: r.business_date,
    kind: r.kind,
    message: r.message,
    paymentId: r.payment_id,
    cardId: r.card_id,
    amountFen: r.amount_fen,
    code: r.code,
  };
}
