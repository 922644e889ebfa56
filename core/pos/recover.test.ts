import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { openPosSystem } from './pos-system.ts';
import { runPayment } from './run-payment.ts';
import { startChild } from '../../test/harness/pos/in-doubt-support.ts';
import { checkBooks } from '../faults/crash-harness.ts';
import { InProcessHost } from '../host/in-process-host.ts';
import { createCore, type Core } from '../api/create-core.ts';
import type { CoreEvent } from '../api/events.ts';
import { resolveCard } from '../card/wallet.ts';
import { fixedClock } from '../time.ts';
import type { VirtualReader } from '../../device/virtual-reader.ts';

/**
 * Recovery at start (PosSystem.recover): a till that starts settles the reversals it owes —
 * a debit the host applied that a till killed mid-debit never booked is reversed when the next
 * till starts on the file, not only at the operator's next sync. The app's live workspace does
 * it in the background right after opening; it costs no host call when nothing is owed, and
 * never touches a debit still in flight in a live till.
 */
const GEN3 = resolveCard('gen3-active').profile;
const CARD = GEN3.card.number;
const LATER = '2026-11-26T03:00:00Z';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function freshDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sscard-recover-'));
  dirs.push(dir);
  return join(dir, 'ledger.db');
}

afterEach(() => {
  vi.restoreAllMocks();
});

/** Spies on every host call recovery could make. */
function spyHost() {
  return [
    vi.spyOn(InProcessHost.prototype, 'reverse'),
    vi.spyOn(InProcessHost.prototype, 'records'),
    vi.spyOn(InProcessHost.prototype, 'forward'),
    vi.spyOn(InProcessHost.prototype, 'refund'),
  ];
}
const hostCalls = (spies: ReturnType<typeof spyHost>) => spies.reduce((n, s) => n + s.mock.calls.length, 0);

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

const atHost = (db: Database.Database, paymentId: string) =>
  db
    .prepare<[string, string], { kind: string }>(
      'SELECT kind FROM host_records WHERE payment_id = ? OR ref_payment_id = ? ORDER BY kind',
    )
    .all(paymentId, paymentId)
    .map((r) => r.kind);

/** A till killed after the host applied its debit, before it booked it; the debit's id. */
async function crashedMidDebit(dbPath: string): Promise<string> {
  const child = startChild(dbPath, 'die-after-apply');
  const id = await child.said('applied');
  const exit = await child.exit;
  expect(exit.signal, exit.stderr).toBe('SIGKILL');
  return id;
}

describe('PosSystem.recover', () => {
  it('a fresh ledger, or one that owes nothing: a no-op without any host call', async () => {
    const spies = spyHost();
    const pos = openPosSystem({ dbPath: freshDb(), clock: fixedClock(LATER) });
    try {
      expect(await pos.recover()).toEqual({ reversed: [], neverApplied: [], pending: 0 });
      // An online payment booked: its armed reversal went with the booking; still nothing owed.
      pos.terminal.start();
      (pos.reader as VirtualReader).insert(pos.register(GEN3));
      const r = await runPayment(pos.terminal, { amountFen: 500, method: 'medical', pin: GEN3.pin });
      expect(r.outcome?.mode).toBe('online');
      const before = hostCalls(spies);
      expect(await pos.recover()).toEqual({ reversed: [], neverApplied: [], pending: 0 });
      expect(hostCalls(spies)).toBe(before);
    } finally {
      pos.close();
    }
  });

  it('after a till died mid-debit: reverses it; host down at start leaves it owed without a call', async () => {
    const dbPath = freshDb();
    const before = prepare(dbPath);
    const id = await crashedMidDebit(dbPath);

    const down = openPosSystem({ dbPath, clock: fixedClock(LATER), link: 'down' });
    try {
      const spies = spyHost();
      expect(await down.recover()).toEqual({ reversed: [], neverApplied: [], pending: 1 });
      expect(hostCalls(spies)).toBe(0);
    } finally {
      down.close();
    }

    const pos = openPosSystem({ dbPath, clock: fixedClock(LATER) });
    try {
      expect(atHost(pos.store.db, id)).toEqual(['payment']);
      expect(await pos.recover()).toEqual({ reversed: [id], neverApplied: [], pending: 0 });
      expect(atHost(pos.store.db, id)).toEqual(['payment', 'reversal']);
      expect(pos.store.balances(CARD)).toEqual(before);
      expect(await pos.recover()).toEqual({ reversed: [], neverApplied: [], pending: 0 });
      const rec = await pos.reconcile();
      expect(rec.agree, JSON.stringify(rec.mismatches)).toBe(true);
      expect(rec.timedOutReversed).toEqual([id]);
      expect(checkBooks(pos)).toEqual([]);
    } finally {
      pos.close();
    }
  }, 60_000);
});

describe('the app reverses at start what a dead till owes (createCore, no sync)', () => {
  let core: Core | null = null;
  afterEach(async () => {
    await core?.close();
    core = null;
  });

  it('createCore on the file of a till SIGKILLed mid-debit reverses it in the background; books-changed', async () => {
    const dbPath = freshDb();
    const before = prepare(dbPath);
    const id = await crashedMidDebit(dbPath);
    const forward = vi.spyOn(InProcessHost.prototype, 'forward');
    core = await createCore({ dbPath, clock: fixedClock(LATER) });
    const events: CoreEvent['type'][] = [];
    core.subscribe((e) => events.push(e.type));
    const r = await core.workspace().recovered;
    expect(r).toEqual({ reversed: [id], neverApplied: [], pending: 0 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events).toContain('books-changed');
    expect(forward).not.toHaveBeenCalled(); // no sync ran
    const pos = core.workspace().pos;
    expect(atHost(pos.store.db, id)).toEqual(['payment', 'reversal']);
    expect(pos.store.balances(CARD)).toEqual(before);
    const rec = await core.api.reconcile({});
    expect(rec.agree).toBe(true);
    expect(rec.timedOutReversed).toEqual([id]);
  }, 60_000);

  it('a fresh ledger: nothing to do, no host call, no event; training mode does not recover', async () => {
    const spies = spyHost();
    core = await createCore({ dbPath: freshDb(), clock: fixedClock(LATER) });
    const events: CoreEvent['type'][] = [];
    core.subscribe((e) => events.push(e.type));
    expect(await core.workspace().recovered).toEqual({ reversed: [], neverApplied: [], pending: 0 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events).not.toContain('books-changed');
    expect(hostCalls(spies)).toBe(0);
    await core.api.startTraining({});
    expect(await core.workspace().recovered).toBeNull();
    await core.api.endTraining({});
  });

  it('a debit still in flight in a live till is left alone; reversed once that till is gone', async () => {
    const dbPath = freshDb();
    const before = prepare(dbPath);
    const child = startChild(dbPath, 'hang-after-apply');
    try {
      const id = await child.said('applied');
      core = await createCore({ dbPath, clock: fixedClock(LATER) });
      expect(await core.workspace().recovered).toEqual({ reversed: [], neverApplied: [], pending: 0 });
      expect(atHost(core.workspace().pos.store.db, id)).toEqual(['payment']);
      await core.close();
      core = null;
      child.process.kill('SIGKILL');
      expect((await child.exit).signal).toBe('SIGKILL');
      core = await createCore({ dbPath, clock: fixedClock(LATER) });
      expect(await core.workspace().recovered).toEqual({ reversed: [id], neverApplied: [], pending: 0 });
      expect(core.workspace().pos.store.balances(CARD)).toEqual(before);
    } finally {
      child.process.kill('SIGKILL');
    }
  }, 60_000);
});
