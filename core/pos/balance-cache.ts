import type Database from 'better-sqlite3';
import type { HostBalances } from '../host/types.ts';
import { carryOverYearDue } from '../host/medical.ts';

/**
 * The terminal's balance list: refreshed from every online answer, spent by offline gen 3
 * payments, so an offline payment never promises more than the accounts held when the
 * terminal last heard from the host (minus what it has taken offline since).
 */
export class BalanceCache {
  private readonly getStmt: Database.Statement<[string], CacheRow>;
  private readonly putStmt: Database.Statement<[CacheRow]>;

  constructor(private readonly db: Database.Database) {
    this.getStmt = db.prepare('SELECT * FROM card_balance_cache WHERE card_id = ?');
    this.putStmt = db.prepare(`
      INSERT INTO card_balance_cache (card_id, reserve_fen, medical_current_fen, medical_prior_fen, as_of)
      VALUES (@card_id, @reserve_fen, @medical_current_fen, @medical_prior_fen, @as_of)
      ON CONFLICT (card_id) DO UPDATE SET reserve_fen = excluded.reserve_fen,
        medical_current_fen = excluded.medical_current_fen, medical_prior_fen = excluded.medical_prior_fen,
        as_of = excluded.as_of`);
  }

  /**
   * Balances as of `now`: when a 21 June has passed since the host's answer, the cached
   * current-year balance is carried over here too, as the host will have done (R4.2).
   */
  get(cardId: string, now: Date): HostBalances | null {
    const row = this.getStmt.get(cardId);
    if (!row) return null;
    const b: HostBalances = {
      reserve: row.reserve_fen,
      medicalCurrent: row.medical_current_fen,
      medicalPrior: row.medical_prior_fen,
    };
    const asOf = new Date(row.as_of);
    if (carryOverYearDue(now) > carryOverYearDue(asOf) && (b.medicalCurrent ?? 0) > 0) {
      return { ...b, medicalPrior: (b.medicalPrior ?? 0) + (b.medicalCurrent ?? 0), medicalCurrent: 0 };
    }
    return b;
  }

  /** Stores the host's answer; a no-op (no write, no commit) when nothing changed. */
  refresh(cardId: string, balances: HostBalances, asOf: Date): void {
    const row = this.getStmt.get(cardId);
    if (
      row &&
      row.reserve_fen === balances.reserve &&
      row.medical_current_fen === balances.medicalCurrent &&
      row.medical_prior_fen === balances.medicalPrior &&
      carryOverYearDue(new Date(row.as_of)) === carryOverYearDue(asOf)
    ) {
      return;
    }
    this.set(cardId, balances, asOf);
  }

  set(cardId: string, balances: HostBalances, asOf: Date): void {
    this.putStmt.run({
      card_id: cardId,
      reserve_fen: balances.reserve,
      medical_current_fen: balances.medicalCurrent,
      medical_prior_fen: balances.medicalPrior,
      as_of: asOf.toISOString(),
    });
  }
}

interface CacheRow {
  card_id: string;
  reserve_fen: number | null;
  medical_current_fen: number | null;
  medical_prior_fen: number | null;
  as_of: string;
}
