import { z } from 'zod';
import type { HostErrorCode } from '../types.ts';

/** What the central host answers, as the till's client (core/host/http-host.ts) reads it. */

export const splitWire = z.object({
  medicalCurrentFen: z.number().int(),
  medicalPriorFen: z.number().int(),
  reserveFen: z.number().int(),
  selfPayFen: z.number().int(),
});
export const recordWire = z.object({
  paymentId: z.string(),
  kind: z.enum(['payment', 'refund', 'reversal']),
  refPaymentId: z.string().nullable(),
  terminalId: z.string(),
  cardId: z.string(),
  method: z.enum(['medical', 'reserve']),
  amountFen: z.number().int(),
  split: splitWire,
  advancedFen: z.number().int(),
  createdAt: z.string(),
  appliedAt: z.string(),
});
export const balancesWire = z.object({
  reserve: z.number().int().nullable(),
  medicalCurrent: z.number().int().nullable(),
  medicalPrior: z.number().int().nullable(),
});
export const statusWire = z.enum(['active', 'not-activated', 'loss-reported', 'closed']);

export const HOST_CODES: ReadonlySet<string> = new Set<HostErrorCode>([
  'HOST_DOWN',
  'HOST_TIMEOUT',
  'UNKNOWN_CARD',
  'CARD_NOT_USABLE',
  'WRONG_PASSWORD',
  'PASSWORD_LOCKED',
  'INSUFFICIENT_FUNDS',
  'UNKNOWN_PAYMENT',
  'PAYMENT_VOIDED',
  'INVALID_REQUEST',
]);

export const signOnWire = z.object({
  sessionId: z.string().regex(/^[0-9a-f]{32}$/),
  alg: z.enum(['3des', 'sm4']),
  pinKey: z.string(),
  pinKeyCheck: z.string(),
  macKey: z.string(),
  macKeyCheck: z.string(),
});
