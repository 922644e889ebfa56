/**
 * A till in its own process for core/pos/in-doubt.test.ts: one gen 3 medical payment with the
 * card PIN, on a host whose `pay` misbehaves as `--host` says, for the process to die with the
 * debit in doubt:
 *
 *   node --import tsx test/harness/pos/in-doubt-child.ts --db <file> --host <behaviour> [--amount <fen>]
 *     [--host-url <central host URL>] [--host-token <the till's credential>] [--at <ISO instant the clock starts at> | --at system]
 *
 * With `--host-url` the till talks to the central host (core/host/server/) instead of the
 * in-process one: the misbehaving `pay` wraps its HTTP client.
 * - `die-after-apply`: the host applies the debit and commits it, then the till is SIGKILLed
 *   before the answer reaches it (a remote host's commit, then the till's death);
 * - `die-before-apply`: the till is SIGKILLed as the request leaves, before the host has it;
 * - `hang-after-apply`: the host applies the debit and its answer never comes; the till waits
 *   (the parent kills it when it likes).
 *
 * stdout (unbuffered): `ready`, then `sending <payment id>` as the request leaves and
 * `applied <payment id>` once the host has applied it.
 */
import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openPosSystem } from '../../../core/pos/pos-system.ts';
import { runPayment } from '../../../core/pos/run-payment.ts';
import { resolveCard } from '../../../core/card/wallet.ts';
import { steadyClock } from './concurrency-support.ts';
import { systemClock } from '../../../core/time.ts';
import type { Host, HostPaymentRequest, HostRecord } from '../../../core/host/types.ts';
import type { VirtualReader } from '../../../device/virtual-reader.ts';

const BEHAVIOURS = ['die-after-apply', 'die-before-apply', 'hang-after-apply'] as const;
type Behaviour = (typeof BEHAVIOURS)[number];

const print = (s: string) => writeSync(1, s);

/** The host as `--host` says: every call but `pay` goes through unchanged. */
function misbehaving(host: Host, behaviour: Behaviour): Host {
  return new Proxy(host, {
    get(target, prop, receiver) {
      if (prop !== 'pay') {
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      return async (request: HostPaymentRequest): Promise<HostRecord> => {
        print(`sending ${request.paymentId}\n`);
        if (behaviour === 'die-before-apply') process.kill(process.pid, 'SIGKILL');
        // Without the in-transaction callback: the host commits on its own, as a remote one does.
        await target.pay(request);
        print(`applied ${request.paymentId}\n`);
        if (behaviour === 'die-after-apply') process.kill(process.pid, 'SIGKILL');
        setInterval(() => undefined, 60_000); // the till stays up, waiting for the answer
        return new Promise<HostRecord>(() => undefined);
      };
    },
  }) as Host;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      db: { type: 'string' },
      host: { type: 'string' },
      amount: { type: 'string', default: '1250' },
      at: { type: 'string', default: '2026-11-26T02:00:00Z' },
      'host-url': { type: 'string' },
      'host-token': { type: 'string' },
    },
  });
  if (!values.db) throw new Error('in-doubt-child: --db is required');
  const behaviour = values.host as Behaviour;
  if (!BEHAVIOURS.includes(behaviour))
    throw new Error(`in-doubt-child: --host must be one of ${BEHAVIOURS.join(', ')}, not ${values.host}`);
  const amountFen = Number(values.amount);
  if (!Number.isSafeInteger(amountFen) || amountFen < 1)
    throw new Error(`in-doubt-child: --amount must be fen ≥ 1, got ${values.amount}`);
  const pos = openPosSystem({
    dbPath: values.db,
    clock: values.at === 'system' ? systemClock : steadyClock(values.at),
    hostUrl: values['host-url'],
    hostToken: values['host-token'],
    hostTimeoutMs: 5_000,
    wrapHost: (h) => misbehaving(h, behaviour),
  });
  try {
    pos.terminal.start();
    const profile = resolveCard('gen3-active').profile;
    const card = pos.register(profile);
    await pos.enrolled();
    print('ready\n');
    (pos.reader as VirtualReader).insert(card);
    const r = await runPayment(pos.terminal, { amountFen, method: 'medical', pin: profile.pin });
    print(`ended ${r.result} ${r.message.code}\n`);
  } finally {
    pos.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
