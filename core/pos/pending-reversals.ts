import type Database from 'better-sqlite3';
import { HostError, type Host } from '../host/types.ts';

/**
 * Reversals of debits whose outcome the terminal never learnt (the host timed out, or the card
 * was pulled while the host was being asked). Each is sent until the host either reverses the
 * payment or says it never applied it; until then it stays here, across restarts.
 */
export class PendingReversals {
  constructor(private readonly db: Database.Database) {}

  add(reversalId: string, paymentId: string, cardId: string, at: Date): void {
    this.db
      .prepare(
        `INSERT INTO pending_host_reversals (reversal_id, payment_id, card_id, created_at)
         VALUES (?, ?, ?, ?) ON CONFLICT (reversal_id) DO NOTHING`,
      )
      .run(reversalId, paymentId, cardId, at.toISOString());
  }

  /** Tries one reversal now; true when it is settled with the host (reversed or never applied). */
  async settle(host: Host, reversalId: string, at: Date): Promise<boolean> {
    const row = this.db
      .prepare<[string], { payment_id: string; done_at: string | null }>(
        'SELECT payment_id, done_at FROM pending_host_reversals WHERE reversal_id = ?',
      )
      .get(reversalId);
    if (!row) return false;
    if (row.done_at) return true;
    let outcome: 'reversed' | 'never-applied';
    try {
      await host.reverse(reversalId, row.payment_id, at.toISOString());
      outcome = 'reversed';
    } catch (e) {
      if (e instanceof HostError && e.code === 'UNKNOWN_PAYMENT') outcome = 'never-applied';
      else {
        this.db
          .prepare(
            'UPDATE pending_host_reversals SET attempts = attempts + 1, last_error = ? WHERE reversal_id = ?',
          )
          .run(e instanceof Error ? e.message : String(e), reversalId);
        return false;
      }
    }
    this.db
      .prepare(
        'UPDATE pending_host_reversals SET attempts = attempts + 1, done_at = ?, outcome = ? WHERE reversal_id = ?',
      )
      .run(at.toISOString(), outcome, reversalId);
    return true;
  }

  /** Sends every reversal still owed; returns how many are settled now and how many remain. */
  async settleAll(host: Host, at: Date): Promise<{ settled: number; pending: number }> {
    const ids = this.db
      .prepare<[], string>(
        'SELECT reversal_id FROM pending_host_reversals WHERE done_at IS NULL ORDER BY created_at',
      )
      .pluck()
      .all();
    let settled = 0;
    for (const id of ids) if (await this.settle(host, id, at)) settled++;
    return { settled, pending: ids.length - settled };
  }

  /** Payment ids the host applied and then reversed here, without the terminal ever booking them. */
  reversedUnbooked(): Set<string> {
    return new Set(
      this.db
        .prepare<[], string>("SELECT payment_id FROM pending_host_reversals WHERE outcome = 'reversed'")
        .pluck()
        .all(),
    );
  }
}
