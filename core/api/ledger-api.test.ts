import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCore, toFailure, type Core } from './create-core.ts';
import { fixedClock } from '../time.ts';

let dir: string;
let core: Core;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sscard-ledger-api-'));
  core = await createCore({ dbPath: join(dir, 'ledger.db'), clock: fixedClock('2026-03-02T02:00:00Z') });
});

afterEach(async () => {
  await core.close();
  rmSync(dir, { recursive: true, force: true });
});

async function failureOf(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    return toFailure(e);
  }
  throw new Error('expected the call to fail');
}

async function badArgs(method: string, args: unknown, field: string) {
  const f = await failureOf(core.call(method, args));
  expect(f.code).toBe('BAD_ARGUMENTS');
  expect(f.en).toContain(field);
}

/** A gen 3 medical payment at the till, the card taken out after. */
async function pay(amountFen: number): Promise<string> {
  await core.api.insertCard({ cardId: 'gen3-active' });
  await core.workspace().pos.terminal.settled();
  await core.api.enterAmount({ amountFen, method: 'medical' });
  const done = await core.api.enterPin({ pin: '258014' });
  expect(done.last?.result).toBe('paid');
  await core.api.removeCard({});
  return (await core.api.payments({}))[0]!.paymentId;
}

describe('payments, payment, journals', () => {
  it('lists the payment with its mode and forwarding state; its journal entry balances at the till and the host', async () => {
    const id = await pay(1250);
    const [p] = await core.api.payments({});
    expect(p).toMatchObject({
      paymentId: id,
      kind: 'payment',
      mode: 'online',
      amountFen: 1250,
      forward: 'sent',
    });
    expect(await core.api.payments({ cardId: 'gen3-initial-pin' })).toEqual([]);
    expect(await core.api.payments({ cardId: 'gen3-active' })).toHaveLength(1);

    const entry = await core.api.payment({ paymentId: id });
    expect(entry.payment.receiptText).toContain('12.50');
    expect(entry.journal.map((l) => [l.account, l.amountFen])).toEqual([
      ['sales', -1250],
      ['receivable:medical-current', 1250],
    ]);
    expect(entry.hostJournal.reduce((s, l) => s + l.amountFen, 0)).toBe(0);
    expect(entry.hostJournal.find((l) => l.cardId !== null)).toMatchObject({
      accountKind: 'medical_current',
      amountFen: -1250,
    });

    expect(await core.api.terminalJournal({ paymentId: id })).toHaveLength(2);
    const host = await core.api.hostJournal({ paymentId: id });
    expect(host.every((l) => l.txnId === id)).toBe(true);
    expect((await core.api.hostJournal({ cardId: 'gen3-active' })).length).toBeGreaterThan(host.length);
  });

  it('an unknown payment is NOT_FOUND; bad arguments name the field', async () => {
    expect((await failureOf(core.api.payment({ paymentId: 'T0001-nothing' }))).code).toBe('NOT_FOUND');
    await badArgs('payments', { date: '2026/03/02' }, 'date');
    await badArgs('payments', { limit: 0 }, 'limit');
    await badArgs('hostJournal', { paymentId: '' }, 'paymentId');
  });
});

describe('balances', () => {
  it('per sub-account, in fen, after the payment', async () => {
    const before = await core.api.balances({ cardId: 'gen3-active' });
    await pay(1250);
    const after = await core.api.balances({ cardId: 'gen3-active' });
    expect(after).toMatchObject({ cardId: 'gen3-active', reserve: before.reserve });
    expect(after.medicalCurrent).toBe(before.medicalCurrent! - 1250);
    expect(after.medicalPrior).toBe(before.medicalPrior);
    expect((await failureOf(core.api.balances({ cardId: 'nope' }))).code).toBe('NOT_FOUND');
    await badArgs('balances', {}, 'cardId');
  });
});

describe('settlement, closeDay, reconcile', () => {
  it('the day totals, the close, and reconciliation agreeing with the host', async () => {
    await pay(1250);
    const s = await core.api.settlement({});
    expect(s.closed).toBeNull();
    expect(s.open).toMatchObject({ payments: 1, grossFen: 1250, totalFen: 1250, pendingForward: 0 });
    const closed = await core.api.closeDay({});
    expect(closed).toMatchObject({ version: 1, totalFen: 1250 });
    expect((await core.api.settlement({})).closed).toMatchObject({ version: 1 });
    expect(await core.api.reconcile({})).toMatchObject({
      agree: true,
      mismatches: [],
      terminalTotalFen: 1250,
    });
    await badArgs('closeDay', { date: 'today' }, 'date');
  });

  it('closeDay refuses impossible dates and days that have not begun, in words, never INTERNAL (issue 16)', async () => {
    for (const bad of ['0000-00-00', '9999-99-99', '2026-02-30', '2026-13-01']) {
      const f = await failureOf(core.call('closeDay', { date: bad }));
      expect(f.code, bad).toBe('BAD_ARGUMENTS');
      expect(JSON.stringify(f), bad).not.toMatch(/SQL|CHECK|constraint|internal/i);
    }
    // The clock stands at 2026-03-02 10:00 in Beijing: that day can be closed, the next cannot.
    for (const future of ['2026-03-03', '2999-01-01']) {
      const f = await failureOf(core.call('closeDay', { date: future }));
      expect(f).toMatchObject({ code: 'BAD_ARGUMENTS' });
      expect(f.en).toBe(
        `cannot close ${future}: it is after today's business date 2026-03-02 (Beijing time); close a day on or after it`,
      );
      expect(f.zh).toContain('晚于今天的营业日 2026-03-02');
    }
    expect(await core.api.closeDay({ date: '2026-03-02' })).toMatchObject({ date: '2026-03-02' });
    expect(await core.api.closeDay({ date: '2026-03-01' })).toMatchObject({ date: '2026-03-01', version: 1 });
    // Nothing of the refused ones was written.
    for (const d of ['2026-03-03', '2999-01-01'])
      expect((await core.api.settlement({ date: d })).closed, d).toBeNull();
  });

  it('with the host unreachable reconciliation is refused in words, not an internal error', async () => {
    await core.api.setHostLink({ link: 'down' });
    const f = await failureOf(core.api.reconcile({}));
    expect(f.code).toBe('CONFLICT');
    expect(f.zh).toContain('主机');
  });
});

describe('forwardQueue, sync (offline payments)', () => {
  it('an offline payment is pending, reconciliation lists it, sync sends it once the host is back', async () => {
    await pay(1250);
    await core.api.setHostLink({ link: 'down' });
    const id = await pay(300);
    const [p] = await core.api.payments({});
    expect(p).toMatchObject({ paymentId: id, mode: 'offline', forward: 'pending' });
    const q = await core.api.forwardQueue({});
    expect(q.pending.map((e) => e.paymentId)).toEqual([id]);

    const down = await core.api.sync({});
    expect(down).toMatchObject({ sent: 0, pending: 1, stoppedOnHostDown: true });

    await core.api.setHostLink({ link: 'up' });
    const r = await core.api.reconcile({});
    expect(r.agree).toBe(false);
    expect(r.mismatches).toEqual([expect.objectContaining({ paymentId: id, kind: 'not-yet-forwarded' })]);

    const up = await core.api.sync({});
    expect(up).toMatchObject({ sent: 1, pending: 0, sentIds: [id] });
    expect((await core.api.forwardQueue({})).pending).toEqual([]);
    expect((await core.api.payments({}))[0]!.forward).toBe('sent');
    expect(await core.api.reconcile({})).toMatchObject({ agree: true, terminalTotalFen: 1550 });
    await badArgs('sync', { now: 1 }, 'now');
  });
});

describe('refund', () => {
  it('refunds part of a payment; more than what is left is a conflict in words', async () => {
    const id = await pay(1250);
    const r = await core.api.refund({ paymentId: id, amountFen: 250 });
    expect(r).toMatchObject({ kind: 'refund', refPaymentId: id, amountFen: 250 });
    expect((await core.api.settlement({})).open).toMatchObject({ refunds: 1, totalFen: 1000 });
    expect((await failureOf(core.api.refund({ paymentId: id, amountFen: 5000 }))).code).toBe('CONFLICT');
    await badArgs('refund', { paymentId: id, amountFen: 0 }, 'amountFen');
  });
});
