import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  runCards,
  runTerminals,
  verifyConcurrentRun,
  type RunResult,
} from '../../test/harness/pos/concurrency-support.ts';

/**
 * 8 terminals, each its own process, on ONE ledger file (cards, host books, terminal books):
 * 10,000 payments in total, with cards shared between terminals, gen 3 medical online and
 * offline (each terminal's link goes down for stretches), gen 2 with the transaction password,
 * forwarding and day closings while the others pay. Afterwards: 0 lost, 0 doubled, both books
 * balanced, balances equal to the journal and to the approved payments, no SQLITE_BUSY.
 *
 * The terminals start together on a file that does not exist yet, so the migrations and the
 * card imports race too. Seed: SSCARD_CONCURRENCY_SEED (printed on failure).
 */
const TERMINALS = 8;
const PAYMENTS_EACH = Number(process.env.SSCARD_CONCURRENCY_PAYMENTS ?? 1250); // 8 × 1,250 = 10,000
const SEED = Number(process.env.SSCARD_CONCURRENCY_SEED ?? 20261126);

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('8 terminals on one ledger file', () => {
  it(`${TERMINALS} × ${PAYMENTS_EACH} payments: 0 lost, 0 doubled, books balanced, no SQLITE_BUSY (seed ${SEED})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sscard-concurrency-'));
    dirs.push(dir);
    const dbPath = join(dir, 'ledger.db');
    const run: RunResult = await runTerminals({
      dbPath,
      terminals: TERMINALS,
      payments: PAYMENTS_EACH,
      seed: SEED,
    });
    const check = verifyConcurrentRun(dbPath, run, TERMINALS);
    const context = `seed ${SEED}; re-run with SSCARD_CONCURRENCY_SEED=${SEED}`;

    expect(check.problems, context).toEqual([]);
    expect(run.reports, context).toHaveLength(TERMINALS);
    // Every payment was either approved or declined for a business reason.
    const attempted = run.reports.reduce((s, r) => s + r.attempted, 0);
    expect(attempted).toBe(TERMINALS * PAYMENTS_EACH);
    expect(check.approved + check.declined, context).toBe(attempted);
    expect(run.reports.every((r) => r.busy === 0 && r.problems.length === 0)).toBe(true);

    // The mix was what it claims: offline payments forwarded later, gen 2 declined while the
    // link was down, and the shared gen 2 reserve drained by terminals racing for it.
    expect(check.offline, context).toBeGreaterThan(0);
    const declined = (code: string) => run.reports.reduce((s, r) => s + (r.declined[code] ?? 0), 0);
    expect(declined('HOST_UNREACHABLE_GEN2'), context).toBeGreaterThan(0);
    expect(declined('INSUFFICIENT_FUNDS'), context).toBeGreaterThan(0);
    const sharedG2 = runCards(TERMINALS).shared.find((c) => c.name === 'shared-g2-all')!;
    const takers = new Set(
      run.reports
        .filter((r) =>
          r.approved.some((a) => a.cardId === sharedG2.profile.card.number && a.method === 'reserve'),
        )
        .map((r) => r.terminalId),
    );
    expect(takers.size, context).toBeGreaterThan(1);

    // Counted straight from the file, apart from verifyConcurrentRun's own reading.
    const db = new Database(dbPath, { readonly: true });
    try {
      const count = (sql: string) => db.prepare<[], number>(sql).pluck().get();
      expect(count("SELECT COUNT(*) FROM terminal_payments WHERE kind = 'payment'")).toBe(check.approved);
      expect(count("SELECT COUNT(DISTINCT payment_id) FROM host_records WHERE kind = 'payment'")).toBe(
        check.approved,
      );
      expect(count('SELECT COUNT(*) FROM host_records')).toBe(check.approved);
      expect(count('SELECT COALESCE(SUM(amount_fen), 0) FROM journal')).toBe(0);
      expect(count('SELECT COALESCE(SUM(amount_fen), 0) FROM terminal_journal')).toBe(0);
      expect(count('SELECT MIN(balance_fen) >= 0 FROM accounts WHERE card_id IS NOT NULL')).toBe(1);
    } finally {
      db.close();
    }
  }, 300_000);
});
