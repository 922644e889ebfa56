import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openPosSystem, type PosSystem } from './pos-system.ts';
import { runPayment } from './run-payment.ts';
import { forwardPending, hostRequestOf } from './forwarder.ts';
import { withHostFaults } from '../host/faulty-host.ts';
import type { Host } from '../host/types.ts';
import { resolveCard } from '../card/wallet.ts';
import { BUSY_TIMEOUT_MS, openLedgerDb } from '../db/open.ts';
import { fixedClock } from '../time.ts';
import type { VirtualReader } from '../../device/virtual-reader.ts';

/**
 * The failure modes offline tills are known for, each shown not to happen here:
 * (a) a receipt printed for a payment that was never committed;
 * (b) a paid offline payment that later reverts or disappears;
 * (c) payments lost because the day was closed before they were forwarded;
 * (d) storage that is not durable on power loss.
 */

// Every SQLite connection opened in this file is tracked, so that (d) can check the pragmas
// of each connection the till (library and CLI) opens, not only the one it hands out.
const tracked = vi.hoisted(
  () =>
    [] as {
      file: string;
      db: { pragma(s: string, o: { simple: true }): unknown; open: boolean; memory: boolean };
      atClose?: Record<string, unknown>;
    }[],
);
vi.mock('better-sqlite3', async (importOriginal) => {
  const Real = (await importOriginal<{ default: typeof BetterSqlite3 }>()).default;
  const pragmasOf = (db: BetterSqlite3.Database) => ({
    journal_mode: db.pragma('journal_mode', { simple: true }),
    synchronous: db.pragma('synchronous', { simple: true }),
    busy_timeout: db.pragma('busy_timeout', { simple: true }),
    foreign_keys: db.pragma('foreign_keys', { simple: true }),
  });
  class Tracked extends Real {
    private readonly entry: (typeof tracked)[number];
    constructor(file: string, options?: BetterSqlite3.Options) {
      super(file, options);
      this.entry = { file, db: this };
      tracked.push(this.entry);
    }
    override close(): this {
      if (this.open) this.entry.atClose = pragmasOf(this);
      return super.close();
    }
  }
  return { default: Tracked };
});

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('../../test/harness/pos/offline-till-child.ts', import.meta.url));
const GEN3 = resolveCard('gen3-active').profile;
const CARD = GEN3.card.number;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function freshDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sscard-offline-'));
  dirs.push(dir);
  return join(dir, 'ledger.db');
}

async function pay(pos: PosSystem, amountFen: number) {
  const reader = pos.reader as VirtualReader;
  reader.insert(pos.register(GEN3));
  const r = await runPayment(pos.terminal, { amountFen, method: 'medical', pin: GEN3.pin });
  reader.remove();
  await pos.terminal.settled();
  return r;
}

const count = (db: BetterSqlite3.Database, sql: string, ...params: unknown[]): number =>
  db
    .prepare<unknown[], number>(sql)
    .pluck()
    .get(...params) ?? 0;

/** What the books hold of one id: terminal rows, host records, host postings. */
function traces(db: BetterSqlite3.Database, id: string) {
  return {
    terminal: count(
      db,
      'SELECT COUNT(*) FROM terminal_payments WHERE payment_id = ? OR ref_payment_id = ?',
      id,
      id,
    ),
    host: count(db, 'SELECT COUNT(*) FROM host_records WHERE payment_id = ? OR ref_payment_id = ?', id, id),
    postings: count(
      db,
      'SELECT COUNT(DISTINCT txn_id) FROM journal WHERE txn_id = ? OR ref_txn_id = ?',
      id,
      id,
    ),
  };
}

/** The terminal's write fails inside the transaction, as a full or failing disk would make it. */
function failTerminalWrites(db: BetterSqlite3.Database): () => void {
  db.exec(`CREATE TEMP TRIGGER injected_write_failure BEFORE INSERT ON main.terminal_payments
           BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END`);
  return () => db.exec('DROP TRIGGER temp.injected_write_failure');
}

interface ChildRun {
  killed: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

function startChild(dbPath: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!env.SSCARD_CRASH_AT) delete e.SSCARD_CRASH_AT;
  if (!env.SSCARD_CRASH_AFTER) delete e.SSCARD_CRASH_AFTER;
  return spawn(process.execPath, ['--import', 'tsx', CHILD, '--db', dbPath, ...args], {
    cwd: REPO_ROOT,
    env: e,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function runChild(dbPath: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ChildRun> {
  const child = startChild(dbPath, args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ killed: signal === 'SIGKILL', code, stdout, stderr });
    });
  });
}

/** Resolves once the process is really stopped (kill() may return before it is, on another core). */
async function stopped(child: ChildProcess): Promise<void> {
  const stat = `/proc/${child.pid}/stat`;
  if (!existsSync(stat)) return; // not Linux: SIGSTOP is as good as it gets
  for (let i = 0; i < 1000; i++) {
    // Field 3, after the parenthesised command name: T = stopped.
    if (/\) T /.test(readFileSync(stat, 'utf8'))) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`child ${child.pid} did not stop`);
}

/** The receipts a child printed, by payment id. */
function printedReceipts(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of stdout.matchAll(/^RECEIPT (\S+)\n([\s\S]*?)\nEND RECEIPT$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** Registers the card on a new ledger file, as a till set up before the day starts. */
function prepare(dbPath: string, at = '2026-11-26T01:00:00Z'): void {
  const pos = openPosSystem({ dbPath, clock: fixedClock(at) });
  pos.register(GEN3);
  pos.close();
}

// ---- (a) ------------------------------------------------------------------------------------

describe('(a) no receipt is ever handed out for a payment that was not committed', () => {
  it.each(['up', 'down'] as const)(
    'the commit fails (link %s): the till says declined, hands out no receipt, and neither book keeps a trace',
    async (link) => {
      const pos = openPosSystem({ dbPath: freshDb(), clock: fixedClock('2026-11-26T02:00:00Z'), link });
      pos.terminal.start();
      pos.register(GEN3);
      const before = pos.store.balances(CARD);
      const restore = failTerminalWrites(pos.store.db);
      const r = await pay(pos, 1250);
      expect(r.approved).toBe(false);
      expect(r.result).toBe('declined');
      expect(r.message.code).toBe('PAYMENT_DECLINED');
      expect(String(r.message.params?.reason)).toContain('disk I/O error (injected)');
      // Nothing to print: no outcome, no receipt anywhere.
      expect(r.outcome).toBeNull();
      expect(pos.terminal.snapshot.context.last?.outcome ?? null).toBeNull();
      expect(count(pos.store.db, 'SELECT COUNT(*) FROM terminal_payments')).toBe(0);
      // In-process the host's posting and the terminal's books are one transaction: both rolled back.
      expect(count(pos.store.db, 'SELECT COUNT(*) FROM host_records')).toBe(0);
      expect(count(pos.store.db, "SELECT COUNT(*) FROM journal WHERE kind = 'payment'")).toBe(0);
      expect(pos.store.balances(CARD)).toEqual(before);
      expect(pos.ledger.pendingCount()).toBe(0);
      // The disk is back: the next payment goes through, with its receipt.
      restore();
      const ok = await pay(pos, 1250);
      expect(ok.approved).toBe(true);
      expect(ok.outcome!.receiptText).toBe(pos.ledger.payment(ok.outcome!.paymentId)!.receiptText);
      pos.close();
    },
  );

  it('a host that applied the debit without the terminal in its transaction: the commit fails, the till reverses the debit and hands out no receipt', async () => {
    // As a remote host does: it applies the payment and answers, the terminal records it afterwards.
    const remote = (h: Host): Host =>
      new Proxy(h, {
        get(target, p) {
          if (p === 'pay') return (request: Parameters<Host['pay']>[0]) => target.pay(request);
          const v: unknown = Reflect.get(target, p, target);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    const pos = openPosSystem({
      dbPath: freshDb(),
      clock: fixedClock('2026-11-26T02:00:00Z'),
      wrapHost: remote,
    });
    pos.terminal.start();
    pos.register(GEN3);
    const before = pos.store.balances(CARD);
    const restore = failTerminalWrites(pos.store.db);
    const r = await pay(pos, 1250);
    restore();
    expect(r.approved).toBe(false);
    expect(r.result).toBe('declined');
    expect(String(r.message.params?.reason)).toContain('reversed at the host');
    expect(r.outcome).toBeNull();
    expect(count(pos.store.db, 'SELECT COUNT(*) FROM terminal_payments')).toBe(0);
    // The debit the host applied was reversed: the card holds what it held, and the host's
    // payment and its reversal net to zero.
    expect(pos.store.balances(CARD)).toEqual(before);
    const id = pos.store.db
      .prepare<[], string>("SELECT payment_id FROM host_records WHERE kind = 'payment'")
      .pluck()
      .get()!;
    expect(traces(pos.store.db, id)).toEqual({ terminal: 0, host: 2, postings: 2 });
    const rec = await pos.reconcile();
    expect(rec.agree).toBe(true);
    expect(rec.timedOutReversed).toEqual([id]);
    pos.close();
  });

  it.each(['up', 'down'] as const)(
    'SIGKILL between the receipt and the commit (link %s): nothing was printed for it, nothing is in the books after restart',
    async (link) => {
      const dbPath = freshDb();
      prepare(dbPath);
      // Killed in the second payment, after its receipt was rendered, before its commit.
      const run = await runChild(dbPath, ['--payments', '3', '--link', link], {
        SSCARD_CRASH_AT: 'before-journal-commit',
        SSCARD_CRASH_AFTER: '2',
      });
      expect(run.stderr).toBe('');
      expect(run.killed).toBe(true);
      const printed = printedReceipts(run.stdout);
      expect(printed.size).toBe(1);
      const pos = openPosSystem({ dbPath, clock: fixedClock('2026-11-26T03:00:00Z') });
      try {
        const booked = pos.ledger.payments({ kind: 'payment' });
        expect(booked.map((p) => p.paymentId)).toEqual([...printed.keys()]);
        // Every receipt printed is the committed one, word for word.
        for (const p of booked) expect(printed.get(p.paymentId)).toBe(p.receiptText);
        expect(count(pos.store.db, 'SELECT COUNT(*) FROM host_records')).toBe(link === 'up' ? 1 : 0);
        expect(pos.store.ledger.checkConsistency()).toEqual([]);
      } finally {
        pos.close();
      }
    },
    60_000,
  );
});

// ---- (b) ------------------------------------------------------------------------------------

describe('(b) a paid offline payment never reverts or disappears', () => {
  it('through restarts, a down link, host errors, a lost answer, duplicates, day closing, the 21 June carry-over and reconciliation it stays booked and reaches the host exactly once', async () => {
    const dbPath = freshDb();
    // 20 June, 10:00 Beijing: the day before the carry-over.
    const clock = fixedClock('2026-06-20T02:00:00Z');
    let pos = openPosSystem({ dbPath, clock, link: 'down' });
    pos.terminal.start();
    const paid = await pay(pos, 1250);
    expect(paid.approved).toBe(true);
    expect(paid.outcome!.mode).toBe('offline');
    expect(paid.outcome!.receiptText).toContain('脱机（待上送）');
    const id = paid.outcome!.paymentId;
    const booked = pos.ledger.payment(id);
    expect(booked).not.toBeNull();
    const stillBooked = () => {
      expect(pos.ledger.payment(id)).toEqual(booked);
      expect(pos.ledger.payments({ refPaymentId: id })).toEqual([]); // never refunded nor reversed
    };
    const atHost = () => traces(pos.store.db, id).host;

    // Restart: the till comes back with the payment queued.
    pos.close();
    pos = openPosSystem({ dbPath, clock });
    stillBooked();
    expect(pos.ledger.queueEntry(id)?.state).toBe('pending');
    const host = withHostFaults(pos.host);
    const far = () => ({ now: new Date(clock().getTime() + 86_400_000) });

    // The link is down.
    host.setLink('down');
    let f = await forwardPending(pos.ledger, host, far());
    expect(f.stoppedOnHostDown).toBe(true);
    host.setLink('up');
    // The host answers with an error.
    host.setFault({ kind: 'error', code: 'INTERNAL' });
    f = await forwardPending(pos.ledger, host, far());
    expect(f.errors.map((e) => e.code)).toEqual(['INTERNAL']);
    stillBooked();
    expect(atHost()).toBe(0);

    // The day is closed while it is still queued.
    const closing = pos.ledger.closeDay('2026-06-20');
    expect(closing).toMatchObject({ payments: 1, grossFen: 1250, pendingForward: 1 });

    // Two days later (the 21 June carry-over has moved 95000 into 95001) the host applies it,
    // but the answer is lost.
    clock.set('2026-06-22T02:00:00Z');
    host.setFault({ kind: 'drop-after-apply' });
    f = await forwardPending(pos.ledger, host, far());
    expect(f.errors.map((e) => e.code)).toEqual(['HOST_TIMEOUT']);
    expect(pos.ledger.queueEntry(id)).toMatchObject({ state: 'pending', attempts: 3 });
    expect(atHost()).toBe(1);
    stillBooked();

    // Restart again, and forward: the host answers the repeat with its first record.
    pos.close();
    pos = openPosSystem({ dbPath, clock });
    stillBooked();
    f = await forwardPending(pos.ledger, pos.host, far());
    expect(f.sentIds).toEqual([id]);
    expect(pos.ledger.queueEntry(id)?.state).toBe('sent');
    // A duplicate (a second forwarder, a replayed request) changes nothing.
    const entry = pos.ledger.queueEntry(id)!;
    const again = await pos.host.forward(hostRequestOf(entry));
    expect(again.paymentId).toBe(id);
    expect((await pos.sync(far())).sent).toBe(0);
    expect(traces(pos.store.db, id)).toEqual({ terminal: 1, host: 1, postings: 1 });
    stillBooked();

    // The centre advanced what 95000 no longer held after the carry-over: noted, not reverted.
    const rec = await pos.reconcile('2026-06-20');
    expect(rec.agree).toBe(true);
    expect(rec.mismatches).toEqual([]);
    expect(rec.notes).toEqual([
      expect.objectContaining({ paymentId: id, kind: 'advanced', advancedFen: 1250 }),
    ]);
    // The closing still stands: the same money, so closing again changes nothing.
    expect(pos.ledger.closeDay('2026-06-20')).toEqual(closing);
    expect(pos.ledger.checkBalanced().balanced).toBe(true);
    expect(pos.store.ledger.checkConsistency()).toEqual([]);
    pos.close();
  });
});

// ---- (c) ------------------------------------------------------------------------------------

describe('(c) closing the day before the offline payments are forwarded loses none of them', () => {
  it('the closing counts them as pending, they stay queued, are forwarded the next day and reconcile with the host', async () => {
    const dbPath = freshDb();
    const clock = fixedClock('2026-11-26T02:00:00Z');
    let pos = openPosSystem({ dbPath, clock, link: 'down' });
    pos.terminal.start();
    const ids: string[] = [];
    for (const fen of [101, 202, 303]) {
      const r = await pay(pos, fen);
      expect(r.outcome?.mode).toBe('offline');
      ids.push(r.outcome!.paymentId);
    }
    // 日结 with the host still unreachable.
    const closing = pos.ledger.closeDay('2026-11-26');
    expect(closing).toMatchObject({ version: 1, payments: 3, grossFen: 606, pendingForward: 3 });
    expect(pos.ledger.forwardQueue('pending').map((e) => e.paymentId)).toEqual(ids);
    expect(pos.ledger.reconcile([], '2026-11-26').mismatches.map((m) => m.kind)).toEqual([
      'not-yet-forwarded',
      'not-yet-forwarded',
      'not-yet-forwarded',
    ]);
    pos.close();

    // The next morning, the till is switched on with the link back.
    clock.set('2026-11-27T01:00:00Z');
    pos = openPosSystem({ dbPath, clock });
    expect(pos.ledger.pendingForwards(clock()).map((e) => e.paymentId)).toEqual(ids);
    const sync = await pos.sync();
    expect(sync.sentIds).toEqual(ids);
    expect(pos.ledger.pendingCount()).toBe(0);
    for (const id of ids) expect(traces(pos.store.db, id)).toEqual({ terminal: 1, host: 1, postings: 1 });
    const rec = await pos.reconcile('2026-11-26');
    expect(rec.agree).toBe(true);
    expect(rec.terminalTotalFen).toBe(606);
    expect(rec.hostTotalFen).toBe(606);
    // They stay on their own day: the closing stands, the new day is empty.
    expect(pos.ledger.closeDay('2026-11-26')).toEqual(closing);
    expect(pos.ledger.settlement('2026-11-26').pendingForward).toBe(0);
    expect(pos.ledger.settlement('2026-11-27').payments).toBe(0);
    pos.close();
  });
});

// ---- (d) ------------------------------------------------------------------------------------

describe('(d) durable on power loss', () => {
  it('every connection the till opens runs WAL with synchronous=FULL (tracked at the driver, checked as each closes)', async () => {
    const dbPath = freshDb();
    const from = tracked.length;
    const pos = openPosSystem({ dbPath, clock: fixedClock('2026-11-26T02:00:00Z') });
    pos.terminal.start();
    expect((await pay(pos, 500)).approved).toBe(true);
    pos.host.setLink('down');
    expect((await pay(pos, 600)).outcome?.mode).toBe('offline');
    pos.host.setLink('up');
    await pos.sync();
    pos.ledger.closeDay('2026-11-26');
    await pos.reconcile();
    pos.close();
    // Restarted, as the sscard commands do (each opens the till through openPosSystem).
    const again = openPosSystem({ dbPath, clock: fixedClock('2026-11-26T03:00:00Z'), link: 'down' });
    again.terminal.start();
    expect((await pay(again, 321)).outcome?.mode).toBe('offline');
    again.host.setLink('up');
    await again.sync();
    again.close();
    const opened = tracked.slice(from);
    expect(opened.length).toBeGreaterThanOrEqual(2);
    for (const c of opened) {
      expect(c.file).toBe(dbPath);
      expect(c.db.open).toBe(false);
      expect(c.atClose, c.file).toEqual({
        journal_mode: 'wal',
        synchronous: 2,
        busy_timeout: BUSY_TIMEOUT_MS,
        foreign_keys: 1,
      });
    }
  });

  it('SIGKILL right after an offline payment committed: after restart it is booked, queued with its receipt, and reaches the host once', async () => {
    const dbPath = freshDb();
    prepare(dbPath);
    const run = await runChild(dbPath, ['--payments', '3', '--link', 'down'], {
      SSCARD_CRASH_AT: 'after-journal-commit',
      SSCARD_CRASH_AFTER: '2',
    });
    expect(run.stderr).toBe('');
    expect(run.killed).toBe(true);
    const printed = printedReceipts(run.stdout);
    expect(printed.size).toBe(1); // the second committed, the process died before printing it
    const pos = openPosSystem({ dbPath, clock: fixedClock('2026-11-26T03:00:00Z') });
    try {
      const booked = pos.ledger.payments({ kind: 'payment' });
      expect(booked).toHaveLength(2);
      expect(booked.every((p) => p.mode === 'offline' && p.receiptText?.includes('脱机（待上送）'))).toBe(
        true,
      );
      expect(printed.get(booked[0]!.paymentId)).toBe(booked[0]!.receiptText);
      expect(pos.ledger.forwardQueue('pending').map((e) => e.paymentId)).toEqual(
        booked.map((p) => p.paymentId),
      );
      const sync = await pos.sync();
      expect(sync.sent).toBe(2);
      for (const p of booked)
        expect(traces(pos.store.db, p.paymentId)).toEqual({ terminal: 1, host: 1, postings: 1 });
      expect((await pos.reconcile()).agree).toBe(true);
    } finally {
      pos.close();
    }
  }, 60_000);

  it('the database and WAL files as they are at any instant mid-run (the till frozen, copied, resumed) hold every payment handed out before that instant, intact', async () => {
    const dbPath = freshDb();
    prepare(dbPath);
    const child = startChild(dbPath, ['--payments', '150', '--link', 'down']);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const paidIds = () => [...stdout.matchAll(/^paid (\S+)$/gm)].map((m) => m[1]!);
    const snapshots: { dir: string; paid: string[] }[] = [];
    for (const threshold of [10, 47, 93]) {
      while (paidIds().length < threshold && child.exitCode === null)
        await new Promise((r) => setTimeout(r, 5));
      // Frozen mid-whatever-it-was-doing (possibly mid-commit): what is on the files now is
      // what a power cut at this instant would leave, given that every commit is fsynced.
      child.kill('SIGSTOP');
      await stopped(child);
      const paid = paidIds();
      const dir = mkdtempSync(join(tmpdir(), 'sscard-snapshot-'));
      dirs.push(dir);
      copyFileSync(dbPath, join(dir, 'ledger.db'));
      if (existsSync(`${dbPath}-wal`)) copyFileSync(`${dbPath}-wal`, join(dir, 'ledger.db-wal'));
      // The -shm index lives in memory after a power cut: not copied, SQLite rebuilds it.
      child.kill('SIGCONT');
      snapshots.push({ dir, paid });
    }
    expect(await closed).toBe(0);
    expect(stderr).toBe('');
    for (const s of snapshots) {
      const db = openLedgerDb(join(s.dir, 'ledger.db'));
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        const stored = new Map(
          db
            .prepare<[], { payment_id: string; receipt_text: string }>(
              'SELECT payment_id, receipt_text FROM terminal_payments',
            )
            .all()
            .map((r) => [r.payment_id, r.receipt_text]),
        );
        const receipts = printedReceipts(stdout);
        for (const id of s.paid) expect(stored.get(id), id).toBe(receipts.get(id));
        // Whatever else is in the copy is whole: each payment with its lines and its queue row.
        expect(count(db, 'SELECT COUNT(*) FROM forward_queue')).toBe(stored.size);
        expect(count(db, 'SELECT COUNT(DISTINCT payment_id) FROM terminal_journal')).toBe(stored.size);
        expect(count(db, 'SELECT COALESCE(SUM(amount_fen), 0) FROM terminal_journal')).toBe(0);
      } finally {
        db.close();
      }
    }
  }, 120_000);
});
