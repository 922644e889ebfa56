import type { SecretHash } from '../../../card/pin.ts';
import type { HostBalances, HostRecord } from '../../types.ts';

/**
 * What PgHost offers beyond the Host contract — card registration, batches, terminal reports
 * and the chain's status — as plain shapes, shared by the HTTP server and client (http-host.ts)
 * and the terminals that register with the central host.
 */

/** A card as a terminal registers it with the host: its first registration seeds its accounts. */
export interface CardRegistration {
  readonly cardId: string;
  readonly generation: 1 | 2 | 3;
  readonly status: 'active' | 'not-activated' | 'loss-reported' | 'closed';
  /** Salted scrypt hash of the bank transaction password (gen 2/3), never the password. */
  readonly passwordHash: SecretHash | null;
  /** Opening balances in fen; null leaves the account unopened, 0 opens it empty. */
  readonly opening: {
    readonly reserve: number | null;
    readonly medicalCurrent: number | null;
    readonly medicalPrior: number | null;
  };
  /** The terminal that registered it (for the record). */
  readonly terminalId: string;
}

export interface RegistrationResult {
  /** False when the card was known already: nothing was changed. */
  readonly created: boolean;
  readonly balances: HostBalances;
}

/** One payment of a forwarded batch: its record, or why the host refused it. */
export interface ForwardBatchOutcome {
  readonly paymentId: string;
  readonly record?: HostRecord;
  readonly error?: { readonly code: string; readonly message: string };
}

/** What a terminal reports about itself (sscard host status). */
export interface TerminalReport {
  readonly terminalId: string;
  readonly merchantId?: string | null;
  readonly queueDepth?: number | null;
  readonly lastSyncAt?: string | null;
  readonly reconciliation?: 'agree' | 'mismatch' | 'unknown' | null;
  readonly mismatches?: number | null;
  readonly reconciledAt?: string | null;
}

export interface TerminalStatus {
  readonly terminalId: string;
  readonly merchantId: string | null;
  readonly lastSeen: string | null;
  readonly queueDepth: number | null;
  readonly lastSync: string | null;
  readonly reconciliation: 'agree' | 'mismatch' | 'unknown';
  readonly mismatches: number | null;
  readonly reconciledAt: string | null;
  /** From the host's own records. */
  readonly payments: number;
  readonly refunds: number;
  readonly reversals: number;
  /**
   * Net of the terminal's records at the host: payments − refunds − reversals, in fen; null
   * only if it left the safe integer range (then netYuan still has it exactly).
   */
  readonly netFen: number | null;
  /** The same net as exact yuan text ('-12.50'), whatever its size. */
  readonly netYuan: string;
  readonly lastAppliedAt: string | null;
}

export interface HostStatus {
  readonly terminals: readonly TerminalStatus[];
  readonly chain: {
    readonly terminals: number;
    readonly cards: number;
    readonly payments: number;
    /** Sum of the terminals' nets (null beyond the safe integer range; netYuan is exact). */
    readonly netFen: number | null;
    readonly netYuan: string;
    readonly queueDepth: number;
    /** Every terminal reported agreement at its last reconciliation. */
    readonly allReconciled: boolean;
    /** The host's own books: postings sum to zero and every card balance is its postings' sum. */
    readonly booksBalanced: boolean;
  };
  readonly schemaVersion: number;
}
