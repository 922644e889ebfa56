/**
 * The full crash soak: 1,000 payments committed on one ledger file by a till process that is
 * SIGKILLed again and again (named crash points after a random number of passes, and the
 * parent's SIGKILL at random instants), restarted, recovered and checked after every kill.
 * Then the baseline: the same plan, the same steps, played by one till that is never killed.
 * Prints the kills by kind and point, the restarts, the invariant violations (must be 0) and
 * the time per payment against the baseline's, as a ratio.
 *
 * Run: npm run bench:crash -- [--seed <n>] [--payments 1000] [--batch 25] [--no-in-doubt]
 * (the mix kills also right after the host applied a debit whose answer is lost; --no-in-doubt
 * leaves that out, --in-doubt is the default: see docs/faults.md, "The crash soak".) Exits 1
 * when an invariant was broken.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCrashSoak, type SoakReport } from '../test/harness/faults/crash-soak.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    payments: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '25' },
    'in-doubt': { type: 'boolean', default: true },
    'no-in-doubt': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
});
const whole = (name: string, text: string | undefined, min: number): number => {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min)
    throw new Error(`--${name} must be a whole number ≥ ${min}, got ${text}`);
  return n;
};
const seed = values.seed === undefined ? Date.now() % 2_147_483_647 : whole('seed', values.seed, 0);
const payments = whole('payments', values.payments, 1);
const batch = whole('batch', values.batch, 1);

const dir = mkdtempSync(join(tmpdir(), 'sscard-crash-soak-'));
console.log(
  `crash soak: seed ${seed}, ${payments} payments, ${batch} steps per child (replay: --seed ${seed})`,
);
let code = 0;
try {
  const crash = await runCrashSoak({
    dir: join(dir, 'crash'),
    seed,
    payments,
    batch,
    inDoubtKills: values['in-doubt'] && !values['no-in-doubt'],
    onProgress: (l) => {
      if (values.verbose) console.log(`  ${l}`);
    },
  });
  const baseline = await runCrashSoak({
    dir: join(dir, 'baseline'),
    seed,
    payments,
    mode: 'baseline',
    steps: crash.stepsPlayed + crash.inFlight.tookEffect,
  });
  print(crash, baseline);
  if (crash.violations.length > 0 || baseline.violations.length > 0) code = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = code;

function print(crash: SoakReport, baseline: SoakReport): void {
  const perPayment = (r: SoakReport) => r.elapsedMs / Math.max(1, r.paymentsCommitted);
  const points = Object.entries(crash.kills.byPoint)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([p, n]) => `${p} ${n}`)
    .join(', ');
  console.log(`
payments committed:   ${crash.paymentsCommitted} (${crash.paymentsApproved} seen approved by a till; the rest taken as it was killed, or reversed)
steps played:         ${crash.stepsPlayed} (+${crash.inFlight.tookEffect} that took effect as the till died, ${crash.inFlight.redone} played again)
children:             ${crash.children} (${crash.restarts} restarts, ${crash.cleanExits} ran to the end of their steps)
kills:                ${crash.kills.total}: SIGKILL from the parent at a random instant ${crash.kills.byTimer}; at crash points ${points}
outcomes:             ${Object.entries(crash.outcomes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')}
invariant violations: ${crash.violations.length}${crash.violations.length ? '\n  ' + crash.violations.slice(0, 20).join('\n  ') : ''}
baseline violations:  ${baseline.violations.length}${baseline.violations.length ? '\n  ' + baseline.violations.slice(0, 20).join('\n  ') : ''}

time per payment, crash soak: ${perPayment(crash).toFixed(1)} ms  (children ${(crash.childMs / 1000).toFixed(1)} s, recovery + checks ${(crash.checkMs / 1000).toFixed(1)} s, total ${(crash.elapsedMs / 1000).toFixed(1)} s)
time per payment, baseline:   ${perPayment(baseline).toFixed(1)} ms  (the same ${baseline.stepsPlayed} steps, one till never killed, checked once: ${baseline.paymentsCommitted} payments in ${(baseline.elapsedMs / 1000).toFixed(1)} s)
ratio crash soak / baseline:  ${(perPayment(crash) / perPayment(baseline)).toFixed(1)}×  (process start-up after every kill dominates)`);
}
