import { z } from 'zod';
import type { HostErrorCode } from '../types.ts';
import { instantProblem, MAX_PAYMENT_FEN } from '../request-checks.ts';

/**
 * The central host's wire protocol: HTTP POST with a JSON body per Host method, JSON answers.
 * Shared by the server (core/host/server/http-server.ts), which validates every body with
 * these schemas, and the terminal's client (core/host/http-host.ts).
 *
 *   200 { result }                               the method's answer
 *   4xx { error: { code, message, triesLeft? } }  a HostError (INVALID_REQUEST for a bad body)
 *   401 { error: { code: 'UNAUTHORIZED' | 'NOT_ENROLLED' | 'TERMINAL_REVOKED' | 'SIGN_ON_REQUIRED'
 *                  | 'BAD_MAC' | 'REPLAYED' } }   the operator token or the till's credential refused
 *   403 { error: { code: 'FORBIDDEN' } }         another terminal's payment, records or id
 *   413 { error: { code: 'INVALID_REQUEST' } }   a body over the limit
 *
 * Every route but /health, /v1/status (operator token) and /v1/sign-on is a till's: it carries
 * the headers of terminal-keys.ts (terminal, session, sequence, MAC).
 *   503 { error: { code: 'HOST_DOWN' } }         PostgreSQL unreachable: nothing was applied
 *   500 { error: { code: 'HOST_FAILED' } }       anything else: the request may or may not have applied
 */
export const API_PREFIX = '/v1';

export const ROUTES = {
  verifyPassword: `${API_PREFIX}/verify-password`,
  balances: `${API_PREFIX}/balances`,
  cardStatus: `${API_PREFIX}/card-status`,
  pay: `${API_PREFIX}/pay`,
  forward: `${API_PREFIX}/forward`,
  forwardBatch: `${API_PREFIX}/forward-batch`,
  reverse: `${API_PREFIX}/reverse`,
  refund: `${API_PREFIX}/refund`,
  records: `${API_PREFIX}/records`,
  registerCard: `${API_PREFIX}/cards`,
  report: `${API_PREFIX}/terminals/report`,
  status: `${API_PREFIX}/status`,
  signOn: `${API_PREFIX}/sign-on`,
  health: '/health',
} as const;

/** Payments per forward-batch request. */
export const MAX_BATCH = 500;

/**
 * The formats a till produces, and nothing else (docs/central-host.md, "Limits"): a terminal id
 * as `--terminal-id` takes it, a 9-character card number, transaction ids (the till's are
 * `<terminal>-<YYYYMMDD>-<HHmmssSSS>-<8 hex>`, a reversal's with `-R`), a merchant number.
 */
export const TERMINAL_ID_RE = /^[A-Za-z0-9_.]{1,32}$/;
export const CARD_ID_RE = /^[0-9A-Z]{9}$/;
export const TRANSACTION_ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
export const MERCHANT_ID_RE = /^[A-Za-z0-9_.-]{1,32}$/;

const terminalId = z.string().regex(TERMINAL_ID_RE, "must be 1–32 letters, digits, '_' or '.'");
const cardId = z.string().regex(CARD_ID_RE, 'must be a 9-character card number (0-9, A-Z)');
const transactionId = z
  .string()
  .regex(TRANSACTION_ID_RE, "must be 1–64 letters, digits, '_', '.', ':' or '-'");
const merchantId = z.string().regex(MERCHANT_ID_RE, "must be 1–32 letters, digits, '_', '.' or '-'");
/** One payment's amount or part: the till's limit (MAX_AMOUNT_FEN). */
const fen = z.number().int().min(0).max(MAX_PAYMENT_FEN);
const positiveFen = z.number().int().min(1).max(MAX_PAYMENT_FEN);
/** A card's opening balance: any whole fen a card profile may hold. */
const balanceFen = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const instant = z
  .string()
  .max(64)
  .superRefine((s, ctx) => {
    const problem = instantProblem(s);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

export const splitSchema = z.strictObject({
  medicalCurrentFen: fen,
  medicalPriorFen: fen,
  reserveFen: fen,
  selfPayFen: fen,
});

export const paymentRequestSchema = z.strictObject({
  paymentId: transactionId,
  terminalId,
  merchantId,
  cardId,
  method: z.enum(['medical', 'reserve']),
  amountFen: positiveFen,
  split: splitSchema,
  createdAt: instant,
  mode: z.enum(['online', 'offline']),
});

export const secretHashSchema = z.strictObject({
  alg: z.literal('scrypt'),
  n: z
    .number()
    .int()
    .min(2)
    .max(2 ** 20),
  r: z.number().int().min(1).max(32),
  p: z.number().int().min(1).max(16),
  salt: z.string().regex(/^[0-9a-f]{16,128}$/),
  hash: z.string().regex(/^[0-9a-f]{32,128}$/),
});

const openingFen = balanceFen.nullable();

export const BODIES = {
  /** The password only as a PIN block under the session's PIN key (core/host/terminal-keys.ts). */
  verifyPassword: z.strictObject({ cardId, pinBlock: z.string().regex(/^(?:[0-9a-f]{16}|[0-9a-f]{32})$/) }),
  signOn: z.strictObject({
    terminalId,
    nonce: z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 hex digits'),
    at: instant,
  }),
  balances: z.strictObject({ cardId }),
  cardStatus: z.strictObject({ cardId }),
  pay: paymentRequestSchema,
  forward: paymentRequestSchema,
  forwardBatch: z.strictObject({ requests: z.array(paymentRequestSchema).min(1).max(MAX_BATCH) }),
  reverse: z.strictObject({ reversalId: transactionId, paymentId: transactionId, at: instant }),
  refund: z.strictObject({
    refundId: transactionId,
    paymentId: transactionId,
    amountFen: positiveFen,
    at: instant,
  }),
  records: z.strictObject({
    terminalId,
    date: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a business day as YYYY-MM-DD')
      .refine((d) => instantProblem(`${d}T00:00:00Z`) === null, 'is not a calendar day from 1970 to 2999')
      .optional(),
  }),
  registerCard: z.strictObject({
    cardId,
    generation: z.union([z.literal(1), z.literal(2), z.literal(3)]),
    status: z.enum(['active', 'not-activated', 'loss-reported', 'closed']),
    passwordHash: secretHashSchema.nullable(),
    opening: z.strictObject({ reserve: openingFen, medicalCurrent: openingFen, medicalPrior: openingFen }),
    terminalId,
  }),
  report: z.strictObject({
    terminalId,
    merchantId: merchantId.nullable().optional(),
    queueDepth: z.number().int().min(0).max(1e9).nullable().optional(),
    lastSyncAt: instant.nullable().optional(),
    reconciliation: z.enum(['agree', 'mismatch', 'unknown']).nullable().optional(),
    mismatches: z.number().int().min(0).max(1e9).nullable().optional(),
    reconciledAt: instant.nullable().optional(),
  }),
} as const;

export type WireErrorCode =
  | HostErrorCode
  | 'UNAUTHORIZED'
  | 'NOT_ENROLLED'
  | 'TERMINAL_REVOKED'
  | 'SIGN_ON_REQUIRED'
  | 'BAD_MAC'
  | 'REPLAYED'
  | 'FORBIDDEN'
  | 'HOST_FAILED'
  | 'NOT_FOUND';

export interface WireError {
  readonly code: WireErrorCode;
  readonly message: string;
  readonly triesLeft?: number;
}

export const wireErrorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    triesLeft: z.number().int().optional(),
  }),
});

/**
 * The environment variable the host's operator token comes from (host serve and status), and
 * a till's credential (sscard-terminal:…, as sscard host enrol prints it).
 */
export const TOKEN_ENV = 'SSCARD_HOST_TOKEN';
