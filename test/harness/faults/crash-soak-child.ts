/**
 * The till the crash soak kills: opens the ledger as the app does at start (forwards what it
 * still owes, settles the reversals owed), then plays steps `from`…`from + count − 1` of the
 * soak plan, each at the plan's clock and link state. Started by test/harness/faults/crash-soak.ts,
 * with SSCARD_CRASH_AT / SSCARD_CRASH_AFTER in its environment or a SIGKILL from the parent.
 *
 *   node --import tsx test/harness/faults/crash-soak-child.ts --db <file> --plan <plan.json> --from <i> --count <n>
 *
 * It appends one JSON line per step to `--log` (default `<db>.soak-log`): `begin` before the
 * step, `end` after it with what the till answered and every transaction the step committed.
 * Lines are written with one write() each: a SIGKILL leaves at most a partial last line.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openPosSystem } from '../../../core/pos/pos-system.ts';
import { runPayment, type TillResult } from '../../../core/pos/run-payment.ts';
import { resolveCard } from '../../../core/card/wallet.ts';
import { onVirtualCard, unblockPin } from '../../../core/bank/pin-services.ts';
import { withHostFaults, type FaultyHost } from '../../../core/host/faulty-host.ts';
import type { Host, PaymentMethod } from '../../../core/host/types.ts';
import type { VirtualReader } from '../../../device/virtual-reader.ts';
import {
  EVERYTHING_DUE,
  IN_DOUBT_POINT,
  SOAK_CARDS,
  type SoakLogLine,
  type SoakLogTxn,
  type SoakPlan,
  type SoakStep,
} from './crash-soak-plan.ts';

/**
 * The in-doubt window of a remote host, made reachable: with
 * `SSCARD_CRASH_AT=${IN_DOUBT_POINT}` (and SSCARD_CRASH_AFTER=k) the till dies right after
 * the host applied the k-th debit whose answer is lost (pay without the in-transaction
 * callback: the drop-after-apply fault), before the till hears of it: all it has is the
 * reversal it wrote ahead of the debit, still armed, which the next start settles.
 */
function killedWhenAnswerLost(host: Host): Host {
  if (process.env.SSCARD_CRASH_AT !== IN_DOUBT_POINT) return host;
  const after = Number(process.env.SSCARD_CRASH_AFTER ?? '1');
  let reached = 0;
  return new Proxy(host, {
    get(target, prop, receiver) {
      if (prop !== 'pay') {
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      return async (...args: Parameters<Host['pay']>) => {
        const record = await target.pay(...args);
        if (args[1] === undefined && ++reached >= after) process.kill(process.pid, 'SIGKILL');
        return record;
      };
    },
  }) as Host;
}

async function main(): Promise<void> {
  process.stdout.write('loaded\n');
  const { values } = parseArgs({
    options: {
      db: { type: 'string' },
      plan: { type: 'string' },
      from: { type: 'string' },
      count: { type: 'string' },
      log: { type: 'string' },
    },
  });
  if (!values.db) throw new Error('crash-soak-child: --db is required');
  if (!values.plan) throw new Error('crash-soak-child: --plan is required');
  const plan = JSON.parse(readFileSync(values.plan, 'utf8')) as SoakPlan;
  const from = Number(values.from ?? '0');
  const count = Number(values.count ?? String(plan.steps.length));
  if (!Number.isSafeInteger(from) || from < 0 || from >= plan.steps.length)
    throw new Error(`crash-soak-child: --from must be a step of the plan (0–${plan.steps.length - 1})`);
  if (!Number.isSafeInteger(count) || count < 1) throw new Error('crash-soak-child: --count must be ≥ 1');
  const logFile = values.log ?? `${values.db}.soak-log`;
  const log = (line: SoakLogLine) => appendFileSync(logFile, `${JSON.stringify(line)}\n`);

  // The plan's clock: each step sets its instant, and time runs on in real time within it.
  let base = new Date(plan.steps[from]!.at).getTime();
  let t0 = Date.now();
  const clock = () => new Date(base + (Date.now() - t0));
  let faulty: FaultyHost | null = null;
  const pos = openPosSystem({
    dbPath: values.db,
    clock,
    link: plan.steps[from]!.link,
    wrapHost: (h) => (faulty = withHostFaults(killedWhenAnswerLost(h))),
  });
  const wrapped = faulty as FaultyHost | null;
  if (!wrapped) throw new Error('crash-soak-child: the host was not wrapped');
  const host: FaultyHost = wrapped;
  const reader = pos.reader as VirtualReader;
  const t = pos.terminal;
  const maxSeq = pos.store.db
    .prepare<[], number>('SELECT COALESCE(MAX(seq), 0) FROM terminal_payments')
    .pluck();
  const newTxns = pos.store.db.prepare<
    [number],
    {
      payment_id: string;
      kind: SoakLogTxn['kind'];
      ref_payment_id: string | null;
      card_id: string;
      amount_fen: number;
      mode: SoakLogTxn['mode'];
    }
  >(
    'SELECT payment_id, kind, ref_payment_id, card_id, amount_fen, mode FROM terminal_payments WHERE seq > ? ORDER BY seq',
  );
  const profile = (id: string) => resolveCard(id).profile;

  try {
    // What the till does when it starts: the terminal, then whatever it still owes the host.
    t.start();
    await pos.sync({ now: EVERYTHING_DUE });
    process.stdout.write('ready\n');

    const pay = async (
      cardId: string,
      p: { amountFen: number; method: PaymentMethod; pin: string },
    ): Promise<TillResult> => {
      reader.insert(pos.register(profile(cardId)));
      try {
        return await runPayment(t, p);
      } finally {
        if (reader.cardPresent()) reader.remove();
        await t.settled();
      }
    };

    const end = Math.min(from + count, plan.steps.length);
    for (let i = from; i < end; i++) {
      const step = plan.steps[i]!;
      base = new Date(step.at).getTime();
      t0 = Date.now();
      host.setLink(step.link);
      const before = maxSeq.get() ?? 0;
      log({ ev: 'begin', step: i });
      const r = await runStep(step);
      const txns = newTxns.all(before).map((x) => ({
        id: x.payment_id,
        kind: x.kind,
        ref: x.ref_payment_id,
        cardId: x.card_id,
        amountFen: x.amount_fen,
        mode: x.mode,
      }));
      log({ ev: 'end', step: i, result: r.result, code: r.code, txns });
    }
    process.stdout.write('done\n');

    async function runStep(step: SoakStep): Promise<{ result: string; code: string }> {
      const till = (r: TillResult) => ({ result: r.result, code: r.message.code });
      const amountFen = step.amountFen ?? 0;
      const method = step.method ?? 'medical';
      switch (step.kind) {
        case 'gen3-medical':
          return till(await pay(SOAK_CARDS.gen3.id, { amountFen, method, pin: SOAK_CARDS.gen3.pin }));
        case 'gen3-reserve':
          return till(await pay(SOAK_CARDS.gen3.id, { amountFen, method, pin: SOAK_CARDS.gen3.password }));
        case 'gen2':
          return till(await pay(SOAK_CARDS.gen2.id, { amountFen, method, pin: SOAK_CARDS.gen2.password }));
        case 'gen2-answer-lost':
          host.setFault({ kind: 'drop-after-apply' });
          try {
            return till(await pay(SOAK_CARDS.gen2.id, { amountFen, method, pin: SOAK_CARDS.gen2.password }));
          } finally {
            host.setFault(null);
          }
        case 'wrong-pin':
          return till(
            await pay(SOAK_CARDS.pinWitness.id, {
              amountFen: 100,
              method: 'medical',
              pin: SOAK_CARDS.pinWitness.wrongPin,
            }),
          );
        case 'wrong-password':
          return till(
            await pay(SOAK_CARDS.passwordWitness.id, {
              amountFen: 100,
              method: 'reserve',
              pin: SOAK_CARDS.passwordWitness.wrongPassword,
            }),
          );
        case 'pulled':
          return pulledWhilePaying(amountFen);
        case 'unblock': {
          const r = await onVirtualCard(pos.register(profile(SOAK_CARDS.pinWitness.id)), (rd) =>
            unblockPin(rd),
          );
          return { result: r.ok ? 'done' : 'failed', code: r.ok ? 'UNBLOCKED' : r.code };
        }
        case 'settle':
          pos.ledger.closeDay(step.date!);
          return { result: 'done', code: 'SETTLED' };
        case 'sync': {
          const r = await pos.sync({ now: EVERYTHING_DUE });
          return { result: 'done', code: r.stoppedOnHostDown ? 'HOST_DOWN' : `PENDING_${r.pending}` };
        }
      }
    }

    /** A gen 3 medical sale whose card is pulled out as soon as the till is paying. */
    async function pulledWhilePaying(amountFen: number): Promise<{ result: string; code: string }> {
      reader.insert(pos.register(profile(SOAK_CARDS.gen3.id)));
      await t.settled();
      t.send({ type: 'AMOUNT_ENTERED', amountFen, method: 'medical' });
      await t.settled();
      const off = t.subscribe(() => {
        if (t.stateName().endsWith('/paying') && reader.cardPresent()) reader.remove();
      });
      try {
        t.send({ type: 'PIN_ENTERED', pin: SOAK_CARDS.gen3.pin });
        await t.settled();
      } finally {
        off();
      }
      const last = t.snapshot.context.last;
      const code = t.message().code;
      if (t.snapshot.matches('session')) {
        t.send({ type: 'CANCEL' });
        await t.settled();
      }
      if (reader.cardPresent()) reader.remove();
      await t.settled();
      return { result: last?.result ?? 'refused', code: last?.message.code ?? code };
    }
  } finally {
    pos.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
