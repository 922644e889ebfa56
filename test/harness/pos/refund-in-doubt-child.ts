/**
 * A till in its own process for core/pos/refund-in-doubt.test.ts: one online gen 3 medical
 * payment, then a refund of part of it, with the host's `refund` misbehaving as `--host` says,
 * for the process to die with the refund in doubt:
 *
 *   node --import tsx test/harness/pos/refund-in-doubt-child.ts --db <file> --host <behaviour>
 *     [--amount <fen>] [--refund <fen>]
 *
 * - `die-after-apply`: the host applies the refund and commits it, then the till is SIGKILLed
 *   before the answer reaches it (the host's commit, then the till's death);
 * - `die-before-apply`: the till is SIGKILLed as the refund request leaves, before the host has it.
 *
 * stdout (unbuffered): `paid <payment id>`, then `sending <refund id>` as the request leaves
 * and `applied <refund id>` once the host has applied it.
 */
import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openPosSystem } from '../../../core/pos/pos-system.ts';
import { runPayment } from '../../../core/pos/run-payment.ts';
import { resolveCard } from '../../../core/card/wallet.ts';
import { steadyClock } from './concurrency-support.ts';
import type { VirtualReader } from '../../../device/virtual-reader.ts';

const BEHAVIOURS = ['die-after-apply', 'die-before-apply'] as const;
type Behaviour = (typeof BEHAVIOURS)[number];

const print = (s: string) => writeSync(1, s);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      db: { type: 'string' },
      host: { type: 'string' },
      amount: { type: 'string', default: '3000' },
      refund: { type: 'string', default: '1000' },
      at: { type: 'string', default: '2026-11-26T02:00:00Z' },
    },
  });
  if (!values.db) throw new Error('refund-in-doubt-child: --db is required');
  const behaviour = values.host as Behaviour;
  if (!BEHAVIOURS.includes(behaviour))
    throw new Error(
      `refund-in-doubt-child: --host must be one of ${BEHAVIOURS.join(', ')}, not ${values.host}`,
    );
  const amountFen = Number(values.amount);
  const refundFen = Number(values.refund);
  for (const [name, v] of [
    ['--amount', amountFen],
    ['--refund', refundFen],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new Error(`refund-in-doubt-child: ${name} must be fen ≥ 1`);
  }
  const pos = openPosSystem({ dbPath: values.db, clock: steadyClock(values.at) });
  try {
    pos.terminal.start();
    const profile = resolveCard('gen3-active').profile;
    const card = pos.register(profile);
    (pos.reader as VirtualReader).insert(card);
    const r = await runPayment(pos.terminal, { amountFen, method: 'medical', pin: profile.pin });
    if (!r.outcome || r.outcome.mode !== 'online')
      throw new Error(`refund-in-doubt-child: the payment was not approved online (${r.message.code})`);
    print(`paid ${r.outcome.paymentId}\n`);
    // The host the till refunds through (pos.host): the request leaves, then the till dies.
    const host = pos.host;
    const refund = host.refund.bind(host);
    host.refund = async (refundId, paymentId, fen, at) => {
      print(`sending ${refundId}\n`);
      if (behaviour === 'die-before-apply') process.kill(process.pid, 'SIGKILL');
      const record = await refund(refundId, paymentId, fen, at);
      print(`applied ${refundId}\n`);
      process.kill(process.pid, 'SIGKILL');
      return record;
    };
    await pos.refund(r.outcome.paymentId, refundFen);
    print('ended refund-returned\n');
  } finally {
    pos.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
