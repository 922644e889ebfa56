/**
 * Full gen 3 payments per second, in-process: card read (SSSE, EF05, PSAM external
 * authentication, EF06, debit application), PSAM authentication, PIN verified by the card,
 * online debit at the in-process host, the terminal's books and receipt, durable commits
 * (SQLite WAL, synchronous=FULL, on a file). Next to a baseline measured in the same run: a raw
 * better-sqlite3 loop of one insert + commit per iteration with the same pragmas.
 * Run: npm run bench:payments
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPosSystem } from '../core/pos/pos-system.ts';
import { resolveCard } from '../core/card/wallet.ts';
import type { VirtualReader } from '../device/virtual-reader.ts';

const N = Number(process.env.BENCH_PAYMENTS ?? 300);
const dir = mkdtempSync(join(tmpdir(), 'sscard-bench-'));

async function payments(n: number, round: number): Promise<number> {
  const pos = openPosSystem({ dbPath: join(dir, `pos-${round}.db`) });
  const reader = pos.reader as VirtualReader;
  const t = pos.terminal.start();
  const card = pos.register(resolveCard('gen3-active').profile);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    reader.insert(card);
    await t.until((x) => x.stateName().endsWith('/holder'));
    t.send({ type: 'AMOUNT_ENTERED', amountFen: 10, method: 'medical' });
    await t.until((x) => x.stateName().endsWith('/awaitingPin'));
    t.send({ type: 'PIN_ENTERED', pin: '258014' });
    await t.until((x) => x.snapshot.matches('removeCard'));
    if (t.snapshot.context.last?.result !== 'paid')
      throw new Error(`payment ${i} not approved: ${t.message().code}`);
    reader.remove();
  }
  const rate = n / ((performance.now() - start) / 1000);
  if (pos.ledger.payments().length !== n) throw new Error('payments missing from the terminal books');
  pos.close();
  return rate;
}

function rawInserts(n: number, round: number): number {
  const db = new Database(join(dir, `raw-${round}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.exec(
    'CREATE TABLE t (id INTEGER PRIMARY KEY, payment TEXT NOT NULL, amount_fen INTEGER NOT NULL) STRICT',
  );
  const insert = db.prepare('INSERT INTO t (payment, amount_fen) VALUES (?, ?)');
  const start = performance.now();
  for (let i = 0; i < n; i++) insert.run(`p${i}`, 10); // autocommit: one durable transaction each
  const rate = n / ((performance.now() - start) / 1000);
  db.close();
  return rate;
}

let best = 0;
let bestRaw = 0;
await payments(20, 99); // warm-up (JIT, scrypt memo of the PIN)
for (let round = 0; round < 3; round++) {
  best = Math.max(best, await payments(N, round));
  bestRaw = Math.max(bestRaw, rawInserts(N, round));
}
console.log(`Full gen 3 payments in-process, durable (WAL, synchronous=FULL), ${N} per round, best of 3`);
console.log(`  payments:                 ${best.toFixed(0)} /s`);
console.log(`  raw insert + commit loop: ${bestRaw.toFixed(0)} /s`);
console.log(
  `  ratio payments/raw: ${(best / bestRaw).toFixed(2)}   target ≥ 0.5: ${best / bestRaw >= 0.5 ? 'met' : 'NOT met'}`,
);
rmSync(dir, { recursive: true, force: true });
