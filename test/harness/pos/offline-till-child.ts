/**
 * A till in its own process for core/pos/offline-failure-modes.test.ts: pays gen 3 medical
 * payments with the card PIN on the given ledger, online or (--link down) offline, and
 * "prints" each receipt to stdout the moment the till hands it out:
 *
 *   node --import tsx test/harness/pos/offline-till-child.ts --db <file> --payments <n> --link up|down \
 *     [--at <ISO instant the clock starts at>]
 *
 * stdout, per payment: `RECEIPT <id>` + the receipt + `END RECEIPT`, then `paid <id>`; or
 * `declined <result> <code>`. Crash points (SSCARD_CRASH_AT, core/crash-points.ts) kill
 * it mid-payment.
 */
import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openPosSystem } from '../../../core/pos/pos-system.ts';
import { runPayment } from '../../../core/pos/run-payment.ts';
import { resolveCard } from '../../../core/card/wallet.ts';
import { steadyClock } from './concurrency-support.ts';
import type { VirtualReader } from '../../../device/virtual-reader.ts';

/** Unbuffered: what the till printed is on the pipe before the next instruction runs. */
const print = (s: string) => writeSync(1, s);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      db: { type: 'string' },
      payments: { type: 'string', default: '3' },
      link: { type: 'string', default: 'up' },
      at: { type: 'string', default: '2026-11-26T02:00:00Z' },
    },
  });
  if (!values.db) throw new Error('--db is required');
  const payments = Number(values.payments);
  if (!Number.isSafeInteger(payments) || payments < 1)
    throw new Error(`--payments: not a count: ${values.payments}`);
  if (values.link !== 'up' && values.link !== 'down')
    throw new Error(`--link must be up or down, not ${values.link}`);
  const pos = openPosSystem({ dbPath: values.db, clock: steadyClock(values.at), link: values.link });
  try {
    pos.terminal.start();
    const profile = resolveCard('gen3-active').profile;
    const card = pos.register(profile);
    const reader = pos.reader as VirtualReader;
    for (let i = 0; i < payments; i++) {
      reader.insert(card);
      const r = await runPayment(pos.terminal, { amountFen: 101 + i, method: 'medical', pin: profile.pin });
      if (r.approved && r.outcome) {
        print(
          `RECEIPT ${r.outcome.paymentId}\n${r.outcome.receiptText}\nEND RECEIPT\npaid ${r.outcome.paymentId}\n`,
        );
      } else {
        print(`declined ${r.result} ${r.message.code}\n`);
      }
      reader.remove();
      await pos.terminal.settled();
    }
    print('done\n');
  } finally {
    pos.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
