import type { CardStatus } from '../ledger/ledger.ts';
import { splitMedical } from './medical.ts';
import {
  HostError,
  type HostBalances,
  type HostPaymentRequest,
  type MedicalOrder,
  type PaymentMethod,
  type PaymentSplit,
  type ShortfallPolicy,
} from './types.ts';
import type { HostRecordColumns } from './split.ts';
import { MAX_AMOUNT_FEN } from '../../state-machines/types.ts';

/**
 * What both hosts — the in-process one (SQLite) and the central one (PostgreSQL) — check of a
 * request before anything moves, and the order a payment draws its parts in: one copy, so the
 * two hosts refuse the same requests with the same messages.
 */

/** The parts a payment is drawn from, as the hosts' books name them. */
export type Part = 'medical_current' | 'medical_prior' | 'reserve' | 'self_pay';

/** A host record row as both hosts store it. */
export interface HostRecordRow extends HostRecordColumns {
  mode: 'online' | 'offline' | null;
  merchant_id: string;
  card_status: CardStatus;
  business_date: string;
}

/** A payment's record before its split is known. */
export type RecordHead = Omit<
  HostRecordRow,
  | 'medical_current_fen'
  | 'medical_prior_fen'
  | 'reserve_fen'
  | 'self_pay_fen'
  | 'advanced_fen'
  | 'business_date'
  | 'applied_at'
>;

export function invalid(message: string): HostError {
  return new HostError('INVALID_REQUEST', message);
}

export function requireText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`${field} must be a non-empty string`);
  return value;
}

/**
 * The largest amount one payment, refund or split part may carry: the till's own limit
 * (MAX_AMOUNT_FEN, 9,999,999.99 yuan), so a host never accepts what no till sends, and sums of
 * many of them stay far inside the safe integer range.
 */
export const MAX_PAYMENT_FEN = MAX_AMOUNT_FEN;

export function requireFen(value: unknown, field: string, min: 0 | 1): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > MAX_PAYMENT_FEN) {
    const what = min === 1 ? 'a positive' : 'a non-negative';
    throw invalid(
      `${field} must be ${what} whole number of fen up to ${MAX_PAYMENT_FEN} (the till's limit), got ${String(value)}`,
    );
  }
  return value;
}

/**
 * An instant as tills send it: ISO 8601 with date, time and zone (`2025-03-10T02:00:00.000Z`,
 * `…+08:00`), a real calendar day, years 1970–2999. `"1"`, `"2025"` or year 275760 — which
 * `new Date()` would take — are refused.
 */
const INSTANT_RE =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):?(\d{2}))$/;

export function instantProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be an ISO date-time string';
  const m = INSTANT_RE.exec(value);
  if (!m) return 'must be an ISO date-time such as 2025-03-10T02:00:00.000Z';
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(
    Number,
  ) as [number, number, number, number, number, number];
  if (year < 1970 || year > 2999) return 'must be a year from 1970 to 2999';
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || calendar.getUTCDate() !== day || calendar.getUTCMonth() !== month - 1)
    return 'is not a calendar date';
  if (hour > 23 || minute > 59 || second > 59) return 'is not a time of day';
  if ((m[7] !== undefined && Number(m[7]) > 14) || (m[8] !== undefined && Number(m[8]) > 59))
    return 'has an impossible time zone offset';
  return null;
}

export function requireInstant(value: unknown, field: string): Date {
  const problem = instantProblem(value);
  if (problem !== null) throw invalid(`${field} ${problem}`);
  return new Date(value as string);
}

/** The order in which a payment draws its parts (and a refund returns them, backwards). */
export function drawOrder(medicalOrder: MedicalOrder): Part[] {
  const medical: Part[] =
    medicalOrder === 'current-first'
      ? ['medical_current', 'medical_prior']
      : ['medical_prior', 'medical_current'];
  return [...medical, 'reserve', 'self_pay'];
}

/** Checks a payment request's fields; the record head it will be stored under. */
export function validatePaymentRequest(request: HostPaymentRequest, mode: 'online' | 'offline'): RecordHead {
  if (typeof request !== 'object' || request === null) throw invalid('request must be an object');
  const paymentId = requireText(request.paymentId, 'paymentId');
  const terminalId = requireText(request.terminalId, 'terminalId');
  const merchantId = requireText(request.merchantId, 'merchantId');
  const cardId = requireText(request.cardId, 'cardId');
  if (request.method !== 'medical' && request.method !== 'reserve') {
    throw invalid(`method must be 'medical' or 'reserve', got ${String(request.method)}`);
  }
  requireFen(request.amountFen, 'amountFen', 1);
  requireInstant(request.createdAt, 'createdAt');
  return {
    payment_id: paymentId,
    kind: 'payment',
    ref_payment_id: null,
    mode,
    terminal_id: terminalId,
    merchant_id: merchantId,
    card_id: cardId,
    card_status: 'active',
    method: request.method,
    amount_fen: request.amountFen,
    created_at: request.createdAt,
  };
}

/** Checks the split a till decided for an offline payment: whole fen, summing to the amount. */
export function validatePaymentSplit(request: HostPaymentRequest): PaymentSplit {
  const s: unknown = request.split;
  if (typeof s !== 'object' || s === null) throw invalid('split must be an object');
  const split = s as PaymentSplit;
  const fields: (keyof PaymentSplit)[] = ['medicalCurrentFen', 'medicalPriorFen', 'reserveFen', 'selfPayFen'];
  let sum = 0n;
  for (const f of fields) sum += BigInt(requireFen(split[f], `split.${f}`, 0));
  if (sum !== BigInt(request.amountFen)) {
    throw invalid(`split parts sum to ${sum} fen, not amountFen ${request.amountFen}`);
  }
  if (request.method === 'reserve' && (split.medicalCurrentFen > 0 || split.medicalPriorFen > 0)) {
    throw invalid('split of a reserve payment must not draw on 95000/95001');
  }
  return {
    medicalCurrentFen: split.medicalCurrentFen,
    medicalPriorFen: split.medicalPriorFen,
    reserveFen: split.reserveFen,
    selfPayFen: split.selfPayFen,
  };
}

/** Fen as yuan for messages: 1234 → '12.34 yuan'. */
export function formatYuan(fen: number): string {
  const a = Math.abs(fen);
  return `${fen < 0 ? '-' : ''}${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')} yuan`;
}

/**
 * The host's decision on an online payment: refused for a gen 1 card (R1.1) or a card not
 * active; else split over 95000/95001 in the configured order with the shortfall policy (R4), or
 * taken from the reserve account. Throws the refusal; returns the split to apply.
 */
export function decideOnlinePayment(
  card: { cardId: string; generation: 1 | 2 | 3; status: CardStatus },
  method: PaymentMethod,
  amount: number,
  balances: HostBalances,
  medicalOrder: MedicalOrder,
  shortfall: ShortfallPolicy,
): PaymentSplit {
  if (card.generation === 1) {
    throw new HostError(
      'CARD_NOT_USABLE',
      `card ${card.cardId} is a gen 1 card: no financial account and no medical account payment (R1.1); ` +
        'the holder should apply for a gen 3 card',
    );
  }
  if (card.status !== 'active') {
    throw new HostError('CARD_NOT_USABLE', `card ${card.cardId} is ${card.status}, not active`);
  }
  if (method === 'medical') {
    const r = splitMedical(amount, balances, medicalOrder, shortfall);
    if (!r.ok) {
      throw new HostError(
        'INSUFFICIENT_FUNDS',
        `medical accounts of card ${card.cardId} are short by ${formatYuan(r.shortfallFen)} ` +
          `of ${formatYuan(amount)}`,
      );
    }
    return r.split;
  }
  const reserve = balances.reserve ?? 0;
  if (balances.reserve === null || reserve < amount) {
    throw new HostError(
      'INSUFFICIENT_FUNDS',
      balances.reserve === null
        ? `card ${card.cardId} has no reserve account`
        : `reserve account of card ${card.cardId} has ${formatYuan(reserve)}, ${formatYuan(amount)} needed`,
    );
  }
  return { medicalCurrentFen: 0, medicalPriorFen: 0, reserveFen: amount, selfPayFen: 0 };
}
