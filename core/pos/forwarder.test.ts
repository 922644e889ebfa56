import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openLedgerDb } from '../db/open.ts';
import { businessDate, fixedClock } from '../time.ts';
import {
  HostError,
  type Host,
  type HostBalances,
  type HostErrorCode,
  type HostPaymentRequest,
  type HostRecord,
  type LinkState,
  type PasswordCheck,
  type PaymentSplit,
} from '../host/types.ts';
import { TerminalLedger, type RecordPaymentInput } from './terminal-ledger.ts';
import { backoffDelayMs, forwardPending } from './forwarder.ts';

const CARD = 'C44010048';
const T = 'T01';
const M = 'M0001';
const START = '2026-11-26T02:00:00.000Z'; // 10:00 in Beijing
const DAY = '2026-11-26';

/**
 * A small in-memory host: records keyed by id, idempotent, a switchable link, and knobs to
 * lose an answer after applying (HOST_TIMEOUT) or to refuse an id once.
 */
class FakeHost implements Host {
  link: LinkState = 'up';
  readonly applied = new Map<string, HostRecord>();
  readonly calls: { op: string; id: string }[] = [];
  /** Ids whose request is applied but whose answer is lost, once. */
  readonly loseAnswer = new Set<string>();
  /** Ids refused once with the given code. */
  readonly refuseOnce = new Map<string, HostErrorCode>();
  /** advancedFen the host reports for an offline payment, by id. */
  readonly advance = new Map<string, number>();

  constructor(private readonly clock: () => Date) {}

  setLink(state: LinkState): void {
    this.link = state;
  }

  async verifyPassword(): Promise<PasswordCheck> {
    return { ok: true };
  }

  async balances(): Promise<HostBalances> {
    return { reserve: 0, medicalCurrent: 0, medicalPrior: 0 };
  }

  async cardStatus(): Promise<'active'> {
    return 'active';
  }

  async pay(request: HostPaymentRequest): Promise<HostRecord> {
    return this.apply('pay', request.paymentId, () => this.paymentRecord(request));
  }

  async forward(request: HostPaymentRequest): Promise<HostRecord> {
    return this.apply('forward', request.paymentId, () => this.paymentRecord(request));
  }

  async reverse(reversalId: string, paymentId: string, at: string): Promise<HostRecord> {
    return this.apply('reverse', reversalId, () => {
      const p = this.original(paymentId);
      return { ...this.head(reversalId, 'reversal', p, at), amountFen: p.amountFen, split: { ...p.split } };
    });
  }

  async refund(refundId: string, paymentId: string, amountFen: number, at: string): Promise<HostRecord> {
    return this.apply('refund', refundId, () => {
      const p = this.original(paymentId);
      const left = { ...p.split };
      for (const r of this.applied.values()) {
        if (r.kind !== 'refund' || r.refPaymentId !== paymentId) continue;
        for (const k of Object.keys(left) as (keyof PaymentSplit)[]) left[k] -= r.split[k];
      }
      // Same rule as the terminal: accounts last-drawn first, cash last.
      const split: PaymentSplit = { medicalCurrentFen: 0, medicalPriorFen: 0, reserveFen: 0, selfPayFen: 0 };
      let rest = amountFen;
      for (const k of ['reserveFen', 'medicalPriorFen', 'medicalCurrentFen', 'selfPayFen'] as const) {
        split[k] = Math.min(left[k], rest);
        rest -= split[k];
      }
      if (rest > 0) throw new HostError('INVALID_REQUEST', 'refund exceeds what is left');
      return { ...this.head(refundId, 'refund', p, at), amountFen, split };
    });
  }

  async records(terminalId: string, date?: string): Promise<HostRecord[]> {
    return [...this.applied.values()].filter(
      (r) =>
        r.terminalId === terminalId && (date === undefined || businessDate(new Date(r.createdAt)) === date),
    );
  }

  private apply(op: string, id: string, make: () => HostRecord): HostRecord {
    this.calls.push({ op, id });
    if (this.link === 'down') throw new HostError('HOST_DOWN', 'link down');
    const refusal = this.refuseOnce.get(id);
    if (refusal) {
      this.refuseOnce.delete(id);
      throw new HostError(refusal, `refused ${id}`);
    }
    let record = this.applied.get(id);
    if (!record) {
      record = make();
      this.applied.set(id, record);
    }
    if (this.loseAnswer.delete(id)) throw new HostError('HOST_TIMEOUT', 'no answer');
    return record;
  }

  private original(paymentId: string): HostRecord {
    const p = this.applied.get(paymentId);
    if (!p || p.kind !== 'payment') throw new HostError('UNKNOWN_PAYMENT', `no payment ${paymentId}`);
    return p;
  }

  private head(id: string, kind: 'refund' | 'reversal', p: HostRecord, at: string) {
    return {
      paymentId: id,
      kind,
      refPaymentId: p.paymentId,
      terminalId: p.terminalId,
      cardId: p.cardId,
      method: p.method,
      advancedFen: 0,
      createdAt: at,
      appliedAt: this.clock().toISOString(),
    };
  }

  private paymentRecord(r: HostPaymentRequest): HostRecord {
    return {
      paymentId: r.paymentId,
      kind: 'payment',
      refPaymentId: null,
      terminalId: r.terminalId,
      cardId: r.cardId,
      method: r.method,
      amountFen: r.amountFen,
      split: { ...r.split },
      advancedFen: this.advance.get(r.paymentId) ?? 0,
      createdAt: r.createdAt,
      appliedAt: this.clock().toISOString(),
    };
  }
}

const dbs: Database.Database[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) if (db.open) db.close();
});

const tmp = mkdtempSync(join(tmpdir(), 'sscard-pos-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function setup(path = ':memory:') {
  const db = openLedgerDb(path);
  dbs.push(db);
  const clock = fixedClock(START);
  const ledger = new TerminalLedger({ db, clock, terminalId: T, merchantId: M });
  const host = new FakeHost(clock);
  return { db, clock, ledger, host };
}

function split(current = 0, prior = 0, reserve = 0, selfPay = 0): PaymentSplit {
  return { medicalCurrentFen: current, medicalPriorFen: prior, reserveFen: reserve, selfPayFen: selfPay };
}

function offline(
  paymentId: string,
  amountFen: number,
  s: PaymentSplit,
  extra: Partial<RecordPaymentInput> = {},
): RecordPaymentInput {
  return {
    paymentId,
    cardId: CARD,
    generation: 3,
    method: 'medical',
    amountFen,
    split: s,
    mode: 'offline',
    forward: true,
    ...extra,
  };
}

const TABLES = ['terminal_payments', 'terminal_journal', 'forward_queue', 'terminal_settlements'];
function snapshot(db: Database.Database) {
  return Object.fromEntries(TABLES.map((t) => [t, db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()]));
}

/** Three payments, a refund and a reversal, all taken offline. */
function offlineDay(ledger: TerminalLedger) {
  ledger.recordPayment(offline('P1', 1250, split(1000, 0, 0, 250)));
  ledger.recordPayment(offline('P2', 2000, split(500, 1500)));
  ledger.recordPayment(offline('P3', 800, split(0, 0, 800), { method: 'reserve' }));
  ledger.recordRefund('RF1', 'P2', 1600, true);
  ledger.recordReversal('RV1', 'P3', true);
}

describe('backoffDelayMs', () => {
  it('doubles from the base delay and stops at the ceiling', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, 1000, 10_000))).toEqual([
      1000, 2000, 4000, 8000, 10_000,
    ]);
    expect(backoffDelayMs(1)).toBe(30_000);
    expect(backoffDelayMs(1000)).toBe(3_600_000);
  });
});

describe('forwardPending', () => {
  it('sends payments, refunds and reversals in order with forward, refund and reverse', async () => {
    const { ledger, host } = setup();
    offlineDay(ledger);
    const r = await forwardPending(ledger, host);
    expect(r).toMatchObject({
      sent: 5,
      failed: 0,
      pending: 0,
      stoppedOnHostDown: false,
      waiting: [],
      exhausted: [],
    });
    expect(host.calls).toEqual([
      { op: 'forward', id: 'P1' },
      { op: 'forward', id: 'P2' },
      { op: 'forward', id: 'P3' },
      { op: 'refund', id: 'RF1' },
      { op: 'reverse', id: 'RV1' },
    ]);
    // What the host got is what the till took, to the fen.
    expect(host.applied.get('P1')).toMatchObject({
      amountFen: 1250,
      split: split(1000, 0, 0, 250),
      terminalId: T,
    });
    expect(host.applied.get('RF1')).toMatchObject({
      amountFen: 1600,
      split: split(100, 1500),
      refPaymentId: 'P2',
    });
    expect(ledger.forwardQueue().every((e) => e.state === 'sent' && e.sentAt === START)).toBe(true);
    const rec = ledger.reconcile(await host.records(T, DAY), DAY);
    expect(rec).toMatchObject({ agree: true, mismatches: [], terminalTotalFen: 1400, hostTotalFen: 1400 });
  });

  it('replay of the forward queue twice changes nothing', async () => {
    const { ledger, host, db, clock } = setup();
    offlineDay(ledger);
    await forwardPending(ledger, host);
    const books = snapshot(db);
    const hostState = structuredClone([...host.applied.entries()]);
    const calls = host.calls.length;

    clock.advance(3_600_000);
    const again = await forwardPending(ledger, host);
    expect(again).toMatchObject({ sent: 0, failed: 0, pending: 0, sentIds: [], errors: [] });
    expect(host.calls).toHaveLength(calls);
    expect(snapshot(db)).toEqual(books);
    expect([...host.applied.entries()]).toEqual(hostState);
  });

  it("treats the host's idempotent answer as success: an answer lost after applying is not applied twice", async () => {
    const { ledger, host, clock } = setup();
    ledger.recordPayment(offline('P1', 100, split(100)));
    ledger.recordPayment(offline('P2', 200, split(200)));
    host.loseAnswer.add('P1');
    const first = await forwardPending(ledger, host);
    // A timeout concerns that entry only: P2 went on.
    expect(first).toMatchObject({
      sent: 1,
      failed: 1,
      pending: 1,
      stoppedOnHostDown: false,
      sentIds: ['P2'],
    });
    expect(first.errors).toEqual([
      {
        paymentId: 'P1',
        code: 'HOST_TIMEOUT',
        message: 'no answer',
        nextAttemptAt: '2026-11-26T02:00:30.000Z',
      },
    ]);
    expect(host.applied.has('P1')).toBe(true); // it did arrive
    expect(ledger.queueEntry('P1')).toMatchObject({
      state: 'pending',
      attempts: 1,
      lastError: 'HOST_TIMEOUT: no answer',
    });

    clock.advance(30_000);
    const second = await forwardPending(ledger, host);
    expect(second).toMatchObject({ sent: 1, failed: 0, pending: 0, sentIds: ['P1'] });
    expect([...host.applied.keys()]).toEqual(['P1', 'P2']);
    expect(ledger.reconcile(await host.records(T)).agree).toBe(true);
  });

  it('HOST_DOWN stops the run and keeps entries pending; backoff schedules the retries; link up sends them', async () => {
    const { ledger, host, clock } = setup();
    offlineDay(ledger);
    host.setLink('down');

    const r1 = await forwardPending(ledger, host, { baseDelayMs: 1000, maxDelayMs: 10_000 });
    expect(r1).toMatchObject({ sent: 0, failed: 1, pending: 5, stoppedOnHostDown: true });
    expect(host.calls).toEqual([{ op: 'forward', id: 'P1' }]); // stopped at the first
    expect(r1.errors[0]).toMatchObject({
      paymentId: 'P1',
      code: 'HOST_DOWN',
      nextAttemptAt: '2026-11-26T02:00:01.000Z',
    });
    // The whole queue waits for the link; only the entry tried counts an attempt.
    expect(ledger.forwardQueue().map((e) => [e.paymentId, e.state, e.attempts, e.nextAttemptAt])).toEqual([
      ['P1', 'pending', 1, '2026-11-26T02:00:01.000Z'],
      ['P2', 'pending', 0, '2026-11-26T02:00:01.000Z'],
      ['P3', 'pending', 0, '2026-11-26T02:00:01.000Z'],
      ['RF1', 'pending', 0, '2026-11-26T02:00:01.000Z'],
      ['RV1', 'pending', 0, '2026-11-26T02:00:01.000Z'],
    ]);

    // Not due yet: nothing is tried.
    const early = await forwardPending(ledger, host, { baseDelayMs: 1000, maxDelayMs: 10_000 });
    expect(early).toMatchObject({ sent: 0, failed: 0, pending: 5 });
    expect(host.calls).toHaveLength(1);

    // Still down: the delay doubles, capped at maxDelayMs.
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      clock.set(ledger.queueEntry('P1')?.nextAttemptAt as string);
      const before = clock().getTime();
      await forwardPending(ledger, host, { baseDelayMs: 1000, maxDelayMs: 10_000 });
      delays.push(Date.parse(ledger.queueEntry('P1')?.nextAttemptAt as string) - before);
    }
    expect(delays).toEqual([2000, 4000, 8000, 10_000, 10_000]);
    expect(host.calls.every((c) => c.id === 'P1')).toBe(true);
    expect(ledger.queueEntry('P1')?.attempts).toBe(6);

    // Link back up: at the next attempt everything goes, oldest first.
    host.setLink('up');
    clock.set(ledger.queueEntry('P1')?.nextAttemptAt as string);
    const r2 = await forwardPending(ledger, host);
    expect(r2).toMatchObject({ sent: 5, failed: 0, pending: 0, sentIds: ['P1', 'P2', 'P3', 'RF1', 'RV1'] });
    expect(ledger.reconcile(await host.records(T)).agree).toBe(true);
  });

  it('a refund waits for its payment when the payment is refused', async () => {
    const { ledger, host, clock } = setup();
    ledger.recordPayment(offline('P1', 1000, split(1000)));
    ledger.recordPayment(offline('P2', 300, split(300)));
    ledger.recordRefund('RF1', 'P1', 400, true);
    host.refuseOnce.set('P1', 'INVALID_REQUEST');
    const r1 = await forwardPending(ledger, host);
    expect(r1).toMatchObject({ sent: 1, failed: 1, pending: 2, sentIds: ['P2'], waiting: ['RF1'] });
    expect(host.calls.map((c) => c.id)).toEqual(['P1', 'P2']);

    clock.advance(30_000);
    const r2 = await forwardPending(ledger, host);
    expect(r2).toMatchObject({ sent: 2, pending: 0, sentIds: ['P1', 'RF1'], waiting: [] });
  });

  it('maxAttempts leaves an entry that keeps failing pending, never drops it', async () => {
    const { ledger, host, clock } = setup();
    ledger.recordPayment(offline('P1', 100, split(100)));
    for (let i = 0; i < 3; i++) {
      host.refuseOnce.set('P1', 'UNKNOWN_CARD');
      await forwardPending(ledger, host, { maxAttempts: 2 });
      clock.advance(3_600_000);
    }
    expect(ledger.queueEntry('P1')).toMatchObject({
      state: 'pending',
      attempts: 2,
      lastError: 'UNKNOWN_CARD: refused P1',
    });
    const r = await forwardPending(ledger, host, { maxAttempts: 2 });
    expect(r).toMatchObject({ sent: 0, failed: 0, pending: 1, exhausted: ['P1'] });
    // A run without the limit (an operator's retry) sends it.
    host.refuseOnce.clear();
    expect(await forwardPending(ledger, host)).toMatchObject({ sent: 1, pending: 0 });
  });

  it('limit tries at most that many entries', async () => {
    const { ledger, host } = setup();
    offlineDay(ledger);
    expect(await forwardPending(ledger, host, { limit: 2 })).toMatchObject({ sent: 2, pending: 3 });
    expect(await forwardPending(ledger, host)).toMatchObject({ sent: 3, pending: 0 });
  });

  it('two overlapping runs send each entry once', async () => {
    const { ledger, host } = setup();
    offlineDay(ledger);
    const [a, b] = await Promise.all([forwardPending(ledger, host), forwardPending(ledger, host)]);
    expect(a).toBe(b);
    expect(host.calls).toHaveLength(5);
  });

  it('online payments confirmed at the till are not forwarded; their refunds are', async () => {
    const { ledger, host } = setup();
    const input = offline('ON1', 500, split(500), { mode: 'online', forward: false });
    const record = await host.pay({ ...input, terminalId: T, merchantId: M, createdAt: START });
    ledger.recordPayment({ ...input, hostRecord: record });
    ledger.recordRefund('RF1', 'ON1', 200, true);
    const r = await forwardPending(ledger, host);
    expect(r).toMatchObject({ sent: 1, sentIds: ['RF1'] });
    expect(host.calls.map((c) => c.op)).toEqual(['pay', 'refund']);
    expect(ledger.reconcile(await host.records(T))).toMatchObject({ agree: true, hostTotalFen: 300 });
  });

  it('an offline payment the centre partly advanced agrees and is noted', async () => {
    const { ledger, host } = setup();
    ledger.recordPayment(offline('P1', 1000, split(1000)));
    host.advance.set('P1', 400);
    await forwardPending(ledger, host);
    expect(ledger.queueEntry('P1')).toMatchObject({ state: 'sent', advancedFen: 400 });
    const rec = ledger.reconcile(await host.records(T));
    expect(rec.agree).toBe(true);
    expect(rec.notes).toMatchObject([{ paymentId: 'P1', kind: 'advanced', advancedFen: 400 }]);
  });

  it('closing the day keeps unforwarded payments queued and they are forwarded afterwards', async () => {
    const { ledger, host, clock } = setup();
    host.setLink('down');
    offlineDay(ledger);
    await forwardPending(ledger, host);

    clock.set('2026-11-26T14:00:00.000Z'); // 22:00 in Beijing: close the day with the link still down
    const closed = ledger.closeDay(DAY);
    expect(closed).toMatchObject({ version: 1, payments: 3, refunds: 1, reversals: 1, totalFen: 1650 });
    expect(closed.pendingForward).toBe(5);
    expect(ledger.pendingCount()).toBe(5);
    const beforeUp = ledger.reconcile(await host.records(T, DAY), DAY);
    expect(beforeUp.mismatches.map((m) => m.kind)).toEqual(Array(5).fill('not-yet-forwarded'));

    // Next morning the link is back: the closed day's transactions still go.
    clock.set('2026-11-27T01:00:00.000Z');
    host.setLink('up');
    const r = await forwardPending(ledger, host);
    expect(r).toMatchObject({ sent: 5, pending: 0 });
    expect(ledger.settlement(DAY).pendingForward).toBe(0);
    // Reclosing: the money is the same, so the stored closing stands.
    expect(ledger.closeDay(DAY)).toEqual(closed);
    expect(ledger.reconcile(await host.records(T, DAY), DAY).agree).toBe(true);
  });

  it('the queue survives a restart (file database) and is forwarded after it', async () => {
    const path = join(tmp, 'terminal.db');
    const first = setup(path);
    first.host.setLink('down');
    offlineDay(first.ledger);
    const p1 = first.ledger.payment('P1');
    await forwardPending(first.ledger, first.host);
    first.db.close(); // the till is switched off

    const second = setup(path);
    expect(second.ledger.payment('P1')).toEqual(p1);
    expect(second.ledger.pendingCount()).toBe(5);
    expect(second.ledger.checkBalanced()).toEqual({ balanced: true, totalFen: 0, unbalanced: [] });
    second.clock.set('2026-11-26T03:00:00.000Z');
    expect(await forwardPending(second.ledger, second.host)).toMatchObject({ sent: 5, pending: 0 });
    second.db.close();

    const third = setup(path);
    expect(third.ledger.forwardQueue('sent')).toHaveLength(5);
    expect(await forwardPending(third.ledger, third.host)).toMatchObject({ sent: 0, pending: 0 });
    expect(third.host.calls).toEqual([]);
  });
});
