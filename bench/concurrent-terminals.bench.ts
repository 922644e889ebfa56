/**
 * Payments per second of 8 terminals (8 processes) sharing one ledger file, against 1 terminal
 * alone on its own file paying the same mix, in the same run: gen 3 medical online and offline
 * (link down for stretches, forwarded after), gen 2 medical and reserve with the transaction
 * password, cards shared between terminals, day closings. Each run is checked afterwards
 * (0 lost, 0 doubled, books balanced, no SQLITE_BUSY); a failed check fails the benchmark.
 *
 * Run: node --import tsx bench/concurrent-terminals.bench.ts
 *      BENCH_CONCURRENT_PAYMENTS=10000 (total per run, default 10,000)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTerminals, verifyConcurrentRun } from '../test/harness/pos/concurrency-support.ts';

const TOTAL = Number(process.env.BENCH_CONCURRENT_PAYMENTS ?? 10_000);
const SEED = Number(process.env.BENCH_CONCURRENT_SEED ?? 7);
if (!Number.isSafeInteger(TOTAL) || TOTAL < 8 || TOTAL % 8 !== 0)
  throw new Error(`BENCH_CONCURRENT_PAYMENTS must be a multiple of 8, not ${TOTAL}`);
const dir = mkdtempSync(join(tmpdir(), 'sscard-bench-concurrent-'));

async function measure(terminals: number): Promise<{ rate: number; approved: number; offline: number }> {
  const dbPath = join(dir, `ledger-${terminals}.db`);
  const run = await runTerminals({ dbPath, terminals, payments: TOTAL / terminals, seed: SEED });
  const check = verifyConcurrentRun(dbPath, run, terminals);
  if (check.problems.length > 0) {
    throw new Error(
      `${terminals} terminal(s), seed ${SEED}: ${check.problems.length} problems:\n${check.problems.slice(0, 20).join('\n')}`,
    );
  }
  return { rate: TOTAL / (run.wallMs / 1000), approved: check.approved, offline: check.offline };
}

try {
  const one = await measure(1);
  const eight = await measure(8);
  console.log(`${TOTAL} payments per run on one ledger file (WAL, synchronous=FULL), same mix, seed ${SEED}`);
  console.log(
    `  1 terminal:  ${one.rate.toFixed(0)} payments/s  (${one.approved} approved, ${one.offline} offline)`,
  );
  console.log(
    `  8 terminals: ${eight.rate.toFixed(0)} payments/s  (${eight.approved} approved, ${eight.offline} offline)`,
  );
  console.log(
    `  ratio 8/1: ${(eight.rate / one.rate).toFixed(2)}   checks: 0 lost, 0 doubled, no SQLITE_BUSY`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
