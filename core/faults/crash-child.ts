/**
 * The process the crash harness kills: a till on the given ledger making small gen 3 payments
 * (or whichever card is named), then closing the day. Started by runCrashingPayments with
 * SSCARD_CRASH_AT / SSCARD_CRASH_AFTER in its environment; the crash point kills it.
 *
 *   node --import tsx core/faults/crash-child.ts --db <file> --payments <n> [--card gen3-active]
 *
 * Every payment the till approved is appended to `<db>.approved` (one id a line) once the
 * terminal has it, so that the harness can check none of them was lost.
 */
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openPosSystem } from '../pos/pos-system.ts';
import { runPayment } from '../pos/run-payment.ts';
import { resolveCard } from '../card/wallet.ts';
import { businessDate } from '../time.ts';
import type { VirtualReader } from '../../device/virtual-reader.ts';
import { CHILD_CLOCK_START, approvedFile, clockFrom } from './crash-harness.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      db: { type: 'string' },
      payments: { type: 'string', default: '3' },
      card: { type: 'string', default: 'gen3-active' },
      at: { type: 'string', default: CHILD_CLOCK_START },
    },
  });
  if (!values.db) throw new Error('--db is required');
  const payments = Number(values.payments);
  const clock = clockFrom(values.at);
  const pos = openPosSystem({ dbPath: values.db, clock, hostTimeoutMs: 2000 });
  try {
    pos.terminal.start();
    // A till coming back up forwards what it still owes first.
    await pos.sync({ now: new Date(clock().getTime() + 86_400_000) });
    const profile = resolveCard(values.card).profile;
    const pin = profile.generation === 2 ? (profile.transactionPassword ?? profile.pin) : profile.pin;
    const card = pos.register(profile);
    const reader = pos.reader as VirtualReader;
    for (let i = 0; i < payments; i++) {
      reader.insert(card);
      const r = await runPayment(pos.terminal, { amountFen: 101 + i, method: 'medical', pin });
      if (r.approved && r.outcome) {
        appendFileSync(approvedFile(values.db), `${r.outcome.paymentId}\n`);
        process.stdout.write(`paid ${r.outcome.paymentId}\n`);
      } else {
        process.stdout.write(`not paid: ${r.result} ${r.message.code}\n`);
      }
      reader.remove();
      await pos.terminal.settled();
    }
    pos.ledger.closeDay(businessDate(clock()));
    process.stdout.write('done\n');
  } finally {
    pos.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
