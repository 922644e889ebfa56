import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { checkRecovery, runCrashingPayments } from './crash-harness.ts';
import { PAYMENT_CRASH_POINTS, type CrashPoint } from '../crash-points.ts';

/**
 * SIGKILL at every crash point a payment goes through, then the till restarts on the same
 * file: nothing committed is lost, nothing is doubled, both books balance, the queue holds,
 * PIN counters are not given back. Each run is a real child process (node --import tsx).
 */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freshDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sscard-crash-'));
  dirs.push(dir);
  return join(dir, 'ledger.db');
}

/** Which occurrence to kill at: the second payment for the per-payment points. */
const AFTER: Record<CrashPoint, number> = {
  'during-apdu': 30, // in the second payment's card session (~25 APDUs a payment)
  'after-card-debit': 2,
  'before-journal-commit': 2,
  'after-journal-commit': 2,
  'during-settlement': 1,
  'during-carry-over': 1,
};

describe('crash recovery (SIGKILL mid-payment)', () => {
  it.each(PAYMENT_CRASH_POINTS)(
    'killed at %s: recovery finds 0 lost, 0 doubled, balanced books, PIN counters intact',
    async (point) => {
      const dbPath = freshDb();
      const run = await runCrashingPayments({
        dbPath,
        crashAt: point,
        crashAfter: AFTER[point],
        payments: 3,
      });
      expect(run.stderr).toBe('');
      expect(run.killed).toBe(true);
      expect(run.exitSignal).toBe('SIGKILL');
      // The first payment went through before the crash.
      expect(run.approved.length).toBeGreaterThanOrEqual(1);
      const check = checkRecovery(dbPath);
      expect(check.problems).toEqual([]);
      expect(check.ok).toBe(true);
      // Committed before the kill: the approved ones, plus (after-journal-commit) the one that
      // committed as the process died.
      const committed = point === 'after-journal-commit' ? 2 : 1;
      expect(check.payments).toBe(committed);
    },
    30_000,
  );

  it('after a crash the till carries on: a clean run on the same file pays, and the books still agree', async () => {
    const dbPath = freshDb();
    const crashed = await runCrashingPayments({
      dbPath,
      crashAt: 'before-journal-commit',
      crashAfter: 1,
      payments: 2,
    });
    expect(crashed.killed).toBe(true);
    expect(checkRecovery(dbPath).payments).toBe(0);
    // A crash point that is never reached: the child runs to the end.
    const clean = await runCrashingPayments({ dbPath, crashAt: 'during-carry-over', payments: 2 });
    expect(clean.stderr).toBe('');
    expect(clean.killed).toBe(false);
    expect(clean.exitCode).toBe(0);
    expect(clean.approved).toHaveLength(2);
    const check = checkRecovery(dbPath);
    expect(check.problems).toEqual([]);
    expect(check.payments).toBe(2);

    // The check is not blind: a PIN try given back and a balance off its journal are reported.
    const db = new Database(dbPath);
    db.prepare(
      "UPDATE card_security SET pin_tries_left = pin_retry_limit WHERE card_id <> 'C44010048'",
    ).run();
    db.prepare(
      "UPDATE accounts SET balance_fen = balance_fen + 1 WHERE kind = 'medical_prior' AND card_id = 'C44010048'",
    ).run();
    db.close();
    const damaged = checkRecovery(dbPath);
    expect(damaged.ok).toBe(false);
    expect(damaged.problems.join('\n')).toMatch(/PIN tries left 3, expected 2/);
    expect(damaged.problems.join('\n')).toMatch(/holds \d+ fen, its journal/);
  }, 30_000);

  it('killed during the day closing: no half settlement, the payments stay', async () => {
    const dbPath = freshDb();
    const run = await runCrashingPayments({ dbPath, crashAt: 'during-settlement', payments: 1 });
    expect(run.killed).toBe(true);
    expect(run.approved).toHaveLength(1);
    const check = checkRecovery(dbPath);
    expect(check.problems).toEqual([]);
    expect(check.payments).toBe(1);
    const db = new Database(dbPath, { readonly: true });
    expect(db.prepare('SELECT COUNT(*) FROM terminal_settlements').pluck().get()).toBe(0);
    db.close();
  }, 30_000);

  it('killed during the 21 June carry-over: nothing moved, nothing paid; the next start carries over once', async () => {
    const dbPath = freshDb();
    const run = await runCrashingPayments({ dbPath, crashAt: 'during-carry-over', payments: 1 });
    expect(run.killed).toBe(true);
    expect(run.approved).toHaveLength(0);
    expect(checkRecovery(dbPath)).toEqual({ ok: true, problems: [], payments: 0 });
    const again = await runCrashingPayments({
      dbPath,
      crashAt: 'during-settlement',
      crashAfter: 99,
      payments: 1,
    });
    expect(again.killed).toBe(false);
    expect(again.approved).toHaveLength(1);
    expect(checkRecovery(dbPath).problems).toEqual([]);
    const db = new Database(dbPath, { readonly: true });
    expect(db.prepare('SELECT COUNT(*) FROM host_carry_overs').pluck().get()).toBe(1);
    expect(
      db
        .prepare("SELECT balance_fen FROM accounts WHERE card_id = 'C44010048' AND kind = 'medical_current'")
        .pluck()
        .get(),
    ).toBe(0);
    db.close();
  }, 30_000);
});
