import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openPosSystem, type PosSystem } from './pos-system.ts';
import { PendingReversals } from './pending-reversals.ts';
import { runPayment } from './run-payment.ts';
import { startChild } from '../../test/harness/pos/in-doubt-support.ts';
import { checkBooks } from '../faults/crash-harness.ts';
import { withHostFaults } from '../host/faulty-host.ts';
import type { Host, HostPaymentRequest, HostRecord } from '../host/types.ts';
import { MIGRATIONS, migrate } from '../db/migrate.ts';
import { resolveCard } from '../card/wallet.ts';
import { fixedClock } from '../time.ts';
import type { VirtualReader } from '../../device/virtual-reader.ts';

/**
 * A debit in doubt: the host applied it, and the till died (or is still waiting) before it
 * booked it. The till writes the reversal ahead of every online debit (pending_host_reversals,
 * 'armed', owned by the till process): booking the sale drops it in the same transaction, a
 * definite "not applied" drops it, a lost answer makes it owed, and a restarted till reverses an
 * armed one whose process is gone. A sync while that debit is still in flight — in the same
 * process or in another till process on the file — leaves it alone.
 */
const GEN3 = resolveCard('gen3-active').profile;
const CARD = GEN3.card.number;
const AT = '2026-11-26T02:00:00Z';
const LATER = '2026-11-26T03:00:00Z';
const FAR = new Date('9999-12-31T23:59:59Z');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function freshDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sscard-in-doubt-'));
  dirs.push(dir);
  return join(dir, 'ledger.db');
}

const count = (db: Database.Database, sql: string, ...args: unknown[]) =>
  db
    .prepare(sql)
    .pluck()
    .get(...args) as number;

/** Registers the card on a new ledger file, as a till set up before the day; its balances then. */
function prepare(dbPath: string) {
  const pos = openPosSystem({ dbPath, clock: fixedClock('2026-11-26T01:00:00Z') });
  try {
    pos.register(GEN3);
    return pos.store.balances(CARD);
  } finally {
    pos.close();
  }
}

/** What the host holds for a payment id: its payment and reversal records. */
function atHost(db: Database.Database, paymentId: string) {
  return {
    payments: count(
      db,
      "SELECT COUNT(*) FROM host_records WHERE payment_id = ? AND kind = 'payment'",
      paymentId,
    ),
    reversals: count(
      db,
      "SELECT COUNT(*) FROM host_records WHERE ref_payment_id = ? AND kind = 'reversal'",
      paymentId,
    ),
  };
}

function reversalRow(db: Database.Database, paymentId: string) {
  return db
    .prepare<
      [string],
      { state: string; owner: string | null; done_at: string | null; outcome: string | null }
    >('SELECT state, owner, done_at, outcome FROM pending_host_reversals WHERE payment_id = ?')
    .get(paymentId);
}

/** Everything that must hold once the till is back: nothing charged, books agree, PIN untouched. */
async function expectSettled(
  pos: PosSystem,
  paymentId: string,
  before: ReturnType<PosSystem['store']['balances']>,
) {
  const db = pos.store.db;
  expect(pos.store.balances(CARD)).toEqual(before);
  expect(count(db, 'SELECT COUNT(*) FROM terminal_payments')).toBe(0);
  expect(pos.ledger.checkBalanced().balanced).toBe(true);
  const rec = await pos.reconcile();
  expect(rec.agree, JSON.stringify(rec.mismatches)).toBe(true);
  expect(checkBooks(pos)).toEqual([]);
  expect(new PendingReversals(db).armed()).toEqual([]);
  const sec = pos.store.security(CARD);
  expect(sec.pinTriesLeft).toBe(sec.pinRetryLimit);
  return rec;
}

describe('a till killed with a debit in doubt reverses it at the restart', () => {
  it('the host applied the debit, the till was SIGKILLed before hearing of it: reversed exactly once at the restart, nothing charged, books balance, reconciliation agrees, PIN tries untouched (R1.3)', async () => {
    const dbPath = freshDb();
    const before = prepare(dbPath);
    const child = startChild(dbPath, 'die-after-apply');
    const paymentId = await child.said('applied');
    const exit = await child.exit;
    expect(exit.signal, exit.stderr).toBe('SIGKILL');

    const pos = openPosSystem({ dbPath, clock: fixedClock(LATER) });
    try {
      const db = pos.store.db;
      // As the till died: the card charged at the host, nothing at the till but the armed reversal.
      expect(atHost(db, paymentId)).toEqual({ payments: 1, reversals: 0 });
      expect(pos.store.balances(CARD)).not.toEqual(before);
      const row = reversalRow(db, paymentId)!;
      expect(row.state).toBe('armed');
      expect(row.owner).toContain(`|${child.process.pid}|`);
      expect(new PendingReversals(db).armed()).toEqual([
        { reversalId: `${paymentId}-R`, paymentId, owner: row.owner, inFlight: false },
      ]);

      pos.terminal.start();
      const synced = await pos.sync({ now: FAR });
      expect(synced.reversalsSettled).toBe(1);
      expect(synced.pending).toBe(0);
      expect(atHost(db, paymentId)).toEqual({ payments: 1, reversals: 1 });
      expect(reversalRow(db, paymentId)).toMatchObject({ state: 'owed', outcome: 'reversed' });
      const rec = await expectSettled(pos, paymentId, before);
      expect(rec.timedOutReversed).toEqual([paymentId]);

      // Once: a second sync (another restart) sends nothing more.
      expect((await pos.sync({ now: FAR })).reversalsSettled).toBe(0);
      expect(atHost(db, paymentId)).toEqual({ payments: 1, reversals: 1 });

      // The till pays again on the same file, and leaves nothing armed.
      const reader = pos.reader as VirtualReader;
      reader.insert(pos.register(GEN3));
      const r = await runPayment(pos.terminal, { amountFen: 800, method: 'medical', pin: GEN3.pin });
      reader.remove();
      expect(r.approved).toBe(true);
      expect(count(db, "SELECT COUNT(*) FROM pending_host_reversals WHERE state = 'armed'")).toBe(0);
      expect((await pos.reconcile()).agree).toBe(true);
    } finally {
      pos.close();
    }
  }, 60_000);

  it('killed as the request left, before the host had it: the restart settles the armed reversal as never applied, nothing at the host', async () => {
    const dbPath = freshDb();
    const before = prepare(dbPath);
    const child = startChild(dbPath, 'die-before-apply');
    const paymentId = await child.said('sending');
    expect((await child.exit).signal).toBe('SIGKILL');
    const pos = openPosSystem({ dbPath, clock: fixedClock(LATER) });
    try {
      expect(reversalRow(pos.store.db, paymentId)?.state).toBe('armed');
      const synced = await pos.sync({ now: FAR });
      expect(synced).toMatchObject({ reversalsSettled: 1, pending: 0 });
      expect(atHost(pos.store.db, paymentId)).toEqual({ payments: 0, reversals: 0 });
      expect(reversalRow(pos.store.db, paymentId)).toMatchObject({ outcome: 'never-applied' });
      const rec = await expectSettled(pos, paymentId, before);
      expect(rec.timedOutReversed).toEqual([]);
    } finally {
      pos.close();
    }
  }, 60_000);

  it('another till process syncing while the debit is in flight in a live process leaves it alone; once that process is killed, it is reversed', async () => {
    const dbPath = freshDb();
    const before = prepare(dbPath);
    const child = startChild(dbPath, 'hang-after-apply');
    try {
      const paymentId = await child.said('applied');
      const pos = openPosSystem({ dbPath, clock: fixedClock(LATER) });
      try {
        const db = pos.store.db;
        expect(new PendingReversals(db).armed()).toMatchObject([{ paymentId, inFlight: true }]);
        const synced = await pos.sync({ now: FAR });
        expect(synced).toMatchObject({ reversalsSettled: 0, pending: 0 });
        expect(atHost(db, paymentId)).toEqual({ payments: 1, reversals: 0 });
        expect(reversalRow(db, paymentId)).toMatchObject({ state: 'armed', done_at: null });

        child.process.kill('SIGKILL');
        expect((await child.exit).signal).toBe('SIGKILL');
        expect(new PendingReversals(db).armed()).toMatchObject([{ paymentId, inFlight: false }]);
        expect(await pos.sync({ now: FAR })).toMatchObject({ reversalsSettled: 1, pending: 0 });
        expect(atHost(db, paymentId)).toEqual({ payments: 1, reversals: 1 });
        await expectSettled(pos, paymentId, before);
      } finally {
        pos.close();
      }
    } finally {
      child.process.kill('SIGKILL');
      await child.exit;
    }
  }, 60_000);

  it('the checks are not blind: without the reversal written ahead (the till before this fix), the restart leaves the card charged and reconciliation disagrees', async () => {
    const dbPath = freshDb();
    const before = prepare(dbPath);
    const child = startChild(dbPath, 'die-after-apply');
    const paymentId = await child.said('applied');
    await child.exit;
    const raw = new Database(dbPath);
    raw.prepare('DELETE FROM pending_host_reversals WHERE payment_id = ?').run(paymentId);
    raw.close();
    const pos = openPosSystem({ dbPath, clock: fixedClock(LATER) });
    try {
      expect((await pos.sync({ now: FAR })).reversalsSettled).toBe(0);
      expect(pos.store.balances(CARD)).not.toEqual(before);
      const rec = await pos.reconcile();
      expect(rec.agree).toBe(false);
      expect(rec.mismatches).toMatchObject([{ kind: 'missing-at-terminal', paymentId }]);
      expect(checkBooks(pos).join('\n')).toContain(`${paymentId}: applied at the host, LOST at the terminal`);
    } finally {
      pos.close();
    }
  }, 60_000);
});

/** The host applies the debit (committing on its own, as a remote host does), then waits for `release`. */
function gated(host: Host) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let appliedId!: (id: string) => void;
  const applied = new Promise<string>((r) => (appliedId = r));
  const wrapped = new Proxy(host, {
    get(target, prop, receiver) {
      if (prop !== 'pay') {
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      return async (request: HostPaymentRequest): Promise<HostRecord> => {
        const record = await target.pay(request);
        appliedId(request.paymentId);
        await gate;
        return record;
      };
    },
  }) as Host;
  return { wrapped, applied, release };
}

/** A till on a fresh file whose host is wrapped; the card registered. */
function till(wrap: (h: Host) => Host) {
  const dbPath = freshDb();
  const pos = openPosSystem({ dbPath, clock: fixedClock(AT), wrapHost: wrap, hostTimeoutMs: 100 });
  pos.terminal.start();
  const card = pos.register(GEN3);
  const reader = pos.reader as VirtualReader;
  const pay = async (amountFen: number) => {
    reader.insert(card);
    try {
      return await runPayment(pos.terminal, { amountFen, method: 'medical', pin: GEN3.pin });
    } finally {
      reader.remove();
      await pos.terminal.settled();
    }
  };
  return { pos, pay, db: pos.store.db, before: pos.store.balances(CARD) };
}

describe('the reversal written ahead, in one till process', () => {
  it('a sync in the same process while the debit is in flight does not reverse it; the sale is then booked and nothing is owed', async () => {
    let g!: ReturnType<typeof gated>;
    const t = till((h) => (g = gated(h)).wrapped);
    try {
      const paying = t.pay(1250);
      const paymentId = await g.applied;
      expect(reversalRow(t.db, paymentId)).toMatchObject({ state: 'armed', owner: PendingReversals.owner });
      expect(PendingReversals.inFlight(paymentId)).toBe(true);
      const synced = await t.pos.sync({ now: FAR });
      expect(synced).toMatchObject({ reversalsSettled: 0, pending: 0 });
      expect(atHost(t.db, paymentId)).toEqual({ payments: 1, reversals: 0 });

      g.release();
      const r = await paying;
      expect(r.approved).toBe(true);
      expect(r.outcome?.paymentId).toBe(paymentId);
      expect(r.outcome?.mode).toBe('online');
      expect(PendingReversals.inFlight(paymentId)).toBe(false);
      // Booked, and the armed reversal gone with the same transaction.
      expect(reversalRow(t.db, paymentId)).toBeUndefined();
      expect((await t.pos.sync({ now: FAR })).reversalsSettled).toBe(0);
      expect(atHost(t.db, paymentId)).toEqual({ payments: 1, reversals: 0 });
      const rec = await t.pos.reconcile();
      expect(rec.agree).toBe(true);
      expect(rec.timedOutReversed).toEqual([]);
      expect(checkBooks(t.pos)).toEqual([]);
    } finally {
      t.pos.close();
    }
  });

  it('an ordinary online payment leaves nothing in pending_host_reversals; a host refusal (nothing applied) clears it too', async () => {
    let faulty!: ReturnType<typeof withHostFaults>;
    const t = till((h) => (faulty = withHostFaults(h)));
    try {
      expect((await t.pay(900)).approved).toBe(true);
      expect(count(t.db, 'SELECT COUNT(*) FROM pending_host_reversals')).toBe(0);
      faulty.setFault({ kind: 'error', code: 'DECLINED' });
      const declined = await t.pay(700);
      expect(declined.result).toBe('declined');
      expect(count(t.db, 'SELECT COUNT(*) FROM pending_host_reversals')).toBe(0);
      faulty.setFault(null);
      expect(checkBooks(t.pos)).toEqual([]);
    } finally {
      t.pos.close();
    }
  });

  it('the answer lost (drop-after-apply) on a gen 3 medical sale: taken offline under the same id, the armed reversal dropped with that booking, forwarded once', async () => {
    let faulty!: ReturnType<typeof withHostFaults>;
    const t = till((h) => (faulty = withHostFaults(h)));
    try {
      faulty.setFault({ kind: 'drop-after-apply' });
      const r = await t.pay(1100);
      faulty.setFault(null);
      expect(r.approved).toBe(true);
      expect(r.outcome?.mode).toBe('offline');
      expect(count(t.db, 'SELECT COUNT(*) FROM pending_host_reversals')).toBe(0);
      await t.pos.sync({ now: FAR });
      expect(atHost(t.db, r.outcome!.paymentId)).toEqual({ payments: 1, reversals: 0 });
      expect((await t.pos.reconcile()).agree).toBe(true);
    } finally {
      t.pos.close();
    }
  });

  it('the host applied it and then the connection failed in an unforeseen way: declined, the reversal owed, reversed by the next sync', async () => {
    const t = till(
      (h) =>
        new Proxy(h, {
          get(target, prop, receiver) {
            if (prop === 'pay')
              return async (request: HostPaymentRequest) => {
                await target.pay(request);
                throw new Error('socket closed after the request was sent');
              };
            const v: unknown = Reflect.get(target, prop, receiver);
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          },
        }) as Host,
    );
    try {
      const r = await t.pay(1300);
      expect(r.approved).toBe(false);
      const paymentId = t.db
        .prepare<[], string>("SELECT payment_id FROM host_records WHERE kind = 'payment'")
        .pluck()
        .get()!;
      expect(reversalRow(t.db, paymentId)).toMatchObject({ state: 'owed', done_at: null });
      expect(await t.pos.sync({ now: FAR })).toMatchObject({ reversalsSettled: 1, pending: 0 });
      expect(atHost(t.db, paymentId)).toEqual({ payments: 1, reversals: 1 });
      await expectSettled(t.pos, paymentId, t.before);
    } finally {
      t.pos.close();
    }
  });

  it('a reversal that cannot be written ahead stops the debit: declined, nothing sent to the host, PIN tries untouched', async () => {
    const t = till((h) => h);
    try {
      t.db.exec(`CREATE TEMP TRIGGER injected BEFORE INSERT ON main.pending_host_reversals
                 BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END`);
      const r = await t.pay(1000);
      expect(r.result).toBe('declined');
      expect(String(r.message.params?.reason)).toContain('could not write ahead the reversal');
      expect(count(t.db, 'SELECT COUNT(*) FROM host_records')).toBe(0);
      t.db.exec('DROP TRIGGER temp.injected');
      const sec = t.pos.store.security(CARD);
      expect(sec.pinTriesLeft).toBe(sec.pinRetryLimit);
      expect((await t.pay(1000)).approved).toBe(true);
    } finally {
      t.pos.close();
    }
  });

  it('an armed reversal of a till on another machine (its process cannot be seen) is not sent', async () => {
    const t = till((h) => h);
    try {
      t.db
        .prepare(
          `INSERT INTO pending_host_reversals (reversal_id, payment_id, card_id, created_at, state, owner)
           VALUES ('T9-1-R', 'T9-1', ?, ?, 'armed', 'another-machine|4242|-|abc')`,
        )
        .run(CARD, AT);
      expect(await t.pos.sync({ now: FAR })).toMatchObject({ reversalsSettled: 0, pending: 0 });
      expect(reversalRow(t.db, 'T9-1')).toMatchObject({ state: 'armed', done_at: null });
    } finally {
      t.pos.close();
    }
  });
});

describe('migration 80', () => {
  it('reversals owed before it stay owed (state owed, no owner) and are still sent', () => {
    const db = new Database(':memory:');
    try {
      migrate(
        db,
        MIGRATIONS.filter((m) => m.version <= 70),
      );
      db.prepare(
        "INSERT INTO pending_host_reversals (reversal_id, payment_id, card_id, created_at) VALUES ('P1-R', 'P1', 'C1', ?)",
      ).run(AT);
      migrate(db);
      expect(db.prepare('SELECT state, owner FROM pending_host_reversals').get()).toEqual({
        state: 'owed',
        owner: null,
      });
      expect(() => db.prepare("UPDATE pending_host_reversals SET state = 'maybe'").run()).toThrow(
        /CHECK constraint failed/,
      );
    } finally {
      db.close();
    }
  });
});
