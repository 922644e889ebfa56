/**
 * The scenario runner on the 1,000 generated mixed scenarios (fixtures/scenarios-mixed, written
 * by scripts/gen-mixed-scenarios.ts): headless, in worker processes, jobs = cores, as
 * `sscard run` does — every file checked, each scenario on its own fresh ledger (a copy of the
 * worker's template for its cards), PINs stored only as salted scrypt hashes. Next to a baseline
 * measured in the same run: as many bare gen 3 payments in this one process, on one ledger
 * (openPosSystem, the card inserted, runPayment, removed). Target: the 1,000 in under 10 s.
 * Prints figures; fails only when a scenario does not pass (never on time).
 * Run: npm run bench:scenarios   (BENCH_SCENARIO_JOBS=n to change the number of workers)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { openPosSystem } from '../core/pos/pos-system.ts';
import { runPayment } from '../core/pos/run-payment.ts';
import { resolveCard } from '../core/card/wallet.ts';
import { findScenarioFiles } from '../core/scenario/load.ts';
import { defaultJobs, runScenarioFiles } from '../core/scenario/runner.ts';
import { scratchRoot } from '../core/scenario/template.ts';
import type { VirtualReader } from '../device/virtual-reader.ts';
import {
  generateMixedScenarios,
  mixedCounts,
  mixedDifferences,
  MIXED_DIR,
} from '../scripts/gen-mixed-scenarios.ts';

const TARGET_MS = 10_000;
const jobs = Number(process.env.BENCH_SCENARIO_JOBS ?? defaultJobs());
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const generated = generateMixedScenarios();
const stale = mixedDifferences(MIXED_DIR, generated);
if (stale.length > 0)
  console.warn(
    `warning: ${relative(process.cwd(), MIXED_DIR)} differs from the generator (${stale.length} files): run node --import tsx scripts/gen-mixed-scenarios.ts`,
  );
const { files } = findScenarioFiles([MIXED_DIR]);
const n = files.length;

/** n bare gen 3 payments, one process, one ledger (in the same folder the scenarios use). */
async function baseline(count: number): Promise<number> {
  const dir = mkdtempSync(join(scratchRoot(), 'sscard-bench-'));
  try {
    const pos = openPosSystem({ dbPath: join(dir, 'baseline.db') });
    const reader = pos.reader as VirtualReader;
    const t = pos.terminal.start();
    const card = pos.register(resolveCard('gen3-active').profile);
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      reader.insert(card);
      const r = await runPayment(t, { amountFen: 10, method: 'medical', pin: '258014' });
      if (!r.approved) throw new Error(`baseline payment ${i} not approved: ${r.message.code}`);
      reader.remove();
      await t.until((x) => x.snapshot.matches('idle'));
    }
    const ms = performance.now() - start;
    if (pos.ledger.payments().length !== count) throw new Error('baseline payments missing from the books');
    pos.close();
    return ms;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await baseline(20); // warm-up (JIT, the scrypt memo of the PIN)
const baseMs = await baseline(n);

const summary = await runScenarioFiles(files, { jobs });
const total = summary.durationMs;
const passed = summary.results.filter((r) => r.status === 'passed').length;
const failed = summary.results.filter((r) => r.status !== 'passed');

console.log(
  `Scenario runner: ${n} mixed scenarios (${relative(process.cwd(), MIXED_DIR)}), headless, ${jobs} worker processes (jobs = cores: ${defaultJobs()})`,
);
console.log(`  each on its own fresh ledger, made in ${scratchRoot()}`);
console.log(
  `  mix: ${Object.entries(mixedCounts(generated))
    .sort((a, b) => b[1] - a[1])
    .map(([k, c]) => `${k} ${c}`)
    .join(', ')}`,
);
console.log(`  scenarios:  total ${secs(total)}, ${(total / n).toFixed(2)} ms per scenario`);
console.log(
  `  passed:     ${passed} of ${n}${failed.length ? `, ${failed.length} NOT passed` : ''}${summary.broken.length ? `, ${summary.broken.length} broken files` : ''}`,
);
console.log(
  `  baseline:   ${n} bare gen 3 payments in one process, one ledger: total ${secs(baseMs)}, ${(baseMs / n).toFixed(2)} ms per payment`,
);
console.log(`  ratio scenario/payment: ${(total / baseMs).toFixed(2)}`);
console.log(
  `  target: ${n} mixed scenarios in under ${secs(TARGET_MS)}: ${total < TARGET_MS && n >= 1000 ? 'met' : 'NOT met'}`,
);
for (const r of failed.slice(0, 10)) {
  console.log(`  ✘ ${r.file}: ${r.error ?? r.failures.map((f) => `line ${f.line}: ${f.field}`).join('; ')}`);
}
if (failed.length > 0 || summary.broken.length > 0 || passed < n) process.exitCode = 1;
