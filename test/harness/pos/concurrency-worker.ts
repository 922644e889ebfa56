/**
 * One terminal of a concurrent run (see concurrency-support.ts), as its own process:
 *
 *   node --import tsx test/harness/pos/concurrency-worker.ts --db <file> --index <i> --terminals <n> \
 *     --payments <k> --seed <s>
 *
 * Started with an IPC channel (child_process.fork): sends {type:'ready'} once the till is open
 * and its cards are registered, waits for {type:'go'}, pays, then sends {type:'report'}.
 */
import { parseArgs } from 'node:util';
import { openPosSystem, type PosSystem } from '../../../core/pos/pos-system.ts';
import { runPayment } from '../../../core/pos/run-payment.ts';
import type { VirtualReader } from '../../../device/virtual-reader.ts';
import {
  BUSINESS_DECLINES,
  RUN_BUSINESS_DATE,
  cardsOfTerminal,
  isBusy,
  seededRandom,
  steadyClock,
  terminalIdOf,
  type ApprovedPayment,
  type TerminalProblem,
  type TerminalReport,
} from './concurrency-support.ts';
import type { SocialSecurityCard } from '../../../core/card/social-security-card.ts';
import type { PaymentMethod } from '../../../core/host/types.ts';

function int(v: string | undefined, name: string, min: number): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min)
    throw new Error(`--${name} must be a whole number ≥ ${min}, not ${v}`);
  return n;
}

function describe(e: unknown): { code: string; message: string } {
  if (e instanceof Error) {
    const code = (e as Error & { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : e.name, message: e.message };
  }
  if (e && typeof e === 'object' && 'code' in e) {
    const f = e as { code: unknown; message?: unknown };
    return { code: String(f.code), message: String(f.message ?? '') };
  }
  return { code: 'ERROR', message: String(e) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      db: { type: 'string' },
      index: { type: 'string' },
      terminals: { type: 'string' },
      payments: { type: 'string' },
      seed: { type: 'string' },
    },
  });
  if (!values.db) throw new Error('--db is required');
  const index = int(values.index, 'index', 0);
  const terminals = int(values.terminals, 'terminals', 1);
  const payments = int(values.payments, 'payments', 1);
  const baseSeed = int(values.seed, 'seed', 0);
  const seed = (baseSeed * 1000 + index) >>> 0;
  const terminalId = terminalIdOf(index);
  const random = seededRandom(seed);
  const clock = steadyClock();

  const problems: TerminalProblem[] = [];
  let busy = 0;
  const problem = (where: string, e: unknown) => {
    const d = describe(e);
    if (isBusy(`${d.code} ${d.message}`)) busy += 1;
    problems.push({ where, ...d });
  };
  process.on('unhandledRejection', (e) => problem('unhandled rejection', e));

  let pos: PosSystem;
  const cards: {
    card: SocialSecurityCard;
    generation: 2 | 3;
    secret: string;
    cardId: string;
    shared: boolean;
  }[] = [];
  try {
    pos = openPosSystem({ dbPath: values.db, clock, terminalId, hostTimeoutMs: 2000 });
    pos.terminal.start();
    // Registered by every terminal at once on a fresh file: the imports race, as 8 tills
    // switched on together would.
    for (const c of cardsOfTerminal(index, terminals)) {
      cards.push({
        card: pos.register(c.profile),
        generation: c.profile.generation === 2 ? 2 : 3,
        secret: c.secret,
        cardId: c.profile.card.number,
        shared: c.name.startsWith('shared-'),
      });
    }
  } catch (e) {
    problem('start', e);
    process.send!({ type: 'ready' });
    process.send!({ type: 'report', report: emptyReport() });
    return;
  }

  function emptyReport(): TerminalReport {
    return {
      terminalId,
      seed,
      attempted: 0,
      approved: [],
      declined: {},
      problems,
      busy,
      offlineApproved: 0,
      syncs: 0,
      closings: 0,
      payingMs: 0,
      reconcileAgrees: false,
      reconcileMismatches: [],
    };
  }

  await new Promise<void>((resolve) => {
    process.on('message', (m: { type?: string }) => {
      if (m.type === 'go') resolve();
    });
    process.send!({ type: 'ready' });
  });

  const reader = pos.reader as VirtualReader;
  const approved: ApprovedPayment[] = [];
  const declined: Record<string, number> = {};
  let offlineApproved = 0;
  let syncs = 0;
  let closings = 0;
  let offlineLeft = 0;
  const farAhead = () => new Date(clock().getTime() + 7 * 86_400_000);

  const sync = async (where: string) => {
    try {
      await pos.sync({ now: farAhead() });
      syncs += 1;
    } catch (e) {
      problem(where, e);
    }
  };

  const start = performance.now();
  for (let i = 0; i < payments; i++) {
    // The link goes down now and then for a stretch of payments, as a till's line does.
    if (offlineLeft === 0 && random() < 0.02) {
      offlineLeft = 5 + Math.floor(random() * 20);
      pos.host.setLink('down');
    }
    const pick = random();
    const wantShared = random() < 0.4;
    const pool = cards.filter((c) => c.shared === wantShared);
    const wantGen: 2 | 3 = pick < 0.45 ? 3 : 2;
    const candidates = pool.filter((c) => c.generation === wantGen);
    const c = candidates[Math.floor(random() * candidates.length)]!;
    const method: PaymentMethod = wantGen === 3 || pick < 0.7 ? 'medical' : 'reserve';
    const amountFen = 1 + Math.floor(random() * 800);
    try {
      reader.insert(c.card);
      const began = performance.now();
      const r = await runPayment(pos.terminal, { amountFen, method, pin: c.secret });
      if (r.approved && r.outcome) {
        approved.push({
          paymentId: r.outcome.paymentId,
          cardId: c.cardId,
          method,
          mode: r.outcome.mode,
          amountFen,
          split: r.outcome.split,
          receiptText: r.outcome.receiptText,
        });
        if (r.outcome.mode === 'offline') offlineApproved += 1;
      } else if (r.result === 'declined' && BUSINESS_DECLINES.has(r.message.code)) {
        declined[r.message.code] = (declined[r.message.code] ?? 0) + 1;
      } else {
        const ms = Math.round(performance.now() - began);
        problem(`payment ${i} (${c.cardId} ${method} ${amountFen} fen, ${ms} ms)`, {
          code: `${r.result}/${r.message.code}`,
          message: JSON.stringify(r.message.params ?? {}),
        });
      }
    } catch (e) {
      problem(`payment ${i}`, e);
    } finally {
      reader.remove();
      try {
        await pos.terminal.settled();
      } catch (e) {
        problem(`payment ${i} settle`, e);
      }
    }
    if (offlineLeft > 0 && --offlineLeft === 0) {
      pos.host.setLink('up');
      await sync(`sync after payment ${i}`);
    }
    if (i % 250 === 249) {
      try {
        pos.ledger.closeDay(RUN_BUSINESS_DATE);
        closings += 1;
      } catch (e) {
        problem(`close day after payment ${i}`, e);
      }
    }
  }
  const payingMs = performance.now() - start;

  // Back online: forward whatever is left, close the day, reconcile.
  pos.host.setLink('up');
  for (let k = 0; k < 5 && pos.ledger.pendingCount() > 0; k++) await sync('final sync');
  let reconcileAgrees = false;
  let reconcileMismatches: string[] = [];
  try {
    pos.ledger.closeDay(RUN_BUSINESS_DATE);
    closings += 1;
    const rec = await pos.reconcile();
    reconcileAgrees = rec.agree;
    reconcileMismatches = rec.mismatches.map((m) => `${m.paymentId} ${m.kind}`);
  } catch (e) {
    problem('close/reconcile', e);
  }
  pos.close();

  const report: TerminalReport = {
    terminalId,
    seed,
    attempted: payments,
    approved,
    declined,
    problems,
    busy,
    offlineApproved,
    syncs,
    closings,
    payingMs,
    reconcileAgrees,
    reconcileMismatches,
  };
  await new Promise<void>((resolve) => process.send!({ type: 'report', report }, () => resolve()));
  process.disconnect();
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
