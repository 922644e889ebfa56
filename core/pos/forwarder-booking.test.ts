import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { openLedgerDb } from '../db/open.ts';
import { fixedClock } from '../time.ts';
import {
  HostError,
  type Host,
  type HostPaymentRequest,
  type HostRecord,
  type LinkState,
  type PaymentSplit,
} from '../host/types.ts';
import { BOOKING_GROUP, forwardPending } from './forwarder.ts';
import { TerminalLedger, TerminalLedgerError, type TerminalPayment } from './terminal-ledger.ts';

/**
 * The forwarder books the host's confirmations in groups, one IMMEDIATE transaction (one
 * durable commit) per group, instead of one commit per entry. What must hold: the books end
 * the same as when booking one by one, and a crash between the host's answers and their
 * booking loses and doubles nothing — the entries are still pending, are sent again, and the
 * host, idempotent by payment id, answers with its first records.
 */

const T = 'T01';
const START = '2026-11-26T02:00:00.000Z';
const SPLIT: PaymentSplit = { medicalCurrentFen: 100, medicalPriorFen: 0, reserveFen: 0, selfPayFen: 0 };

/** A host idempotent by id, as the contract requires: a known id gets its first record back. */
class IdempotentHost implements Host {
  link: LinkState = 'up';
  readonly applied = new Map<string, HostRecord>();
  calls = 0;
  /** Answers with another id's record (a broken answer) for these ids. */
  readonly wrongAnswer = new Set<string>();

  constructor(private readonly clock: () => Date) {}

  setLink(state: LinkState): void {
    this.link = state;
  }
  async verifyPassword(): Promise<{ ok: true }> {
    return { ok: true };
  }
  async balances() {
    return { reserve: 0, medicalCurrent: 0, medicalPrior: 0 };
  }
  async cardStatus(): Promise<'active'> {
    return 'active';
  }
  async pay(r: HostPaymentRequest): Promise<HostRecord> {
    return this.forward(r);
  }
  async forward(r: HostPaymentRequest): Promise<HostRecord> {
    return this.apply(r.paymentId, () => ({
      paymentId: r.paymentId,
      kind: 'payment',
      refPaymentId: null,
      terminalId: r.terminalId,
      cardId: r.cardId,
      method: r.method,
      amountFen: r.amountFen,
      split: { ...r.split },
      advancedFen: 0,
      createdAt: r.createdAt,
      appliedAt: this.clock().toISOString(),
    }));
  }
  async reverse(id: string, paymentId: string, at: string): Promise<HostRecord> {
    return this.correction(id, 'reversal', paymentId, null, at);
  }
  async refund(id: string, paymentId: string, amountFen: number, at: string): Promise<HostRecord> {
    return this.correction(id, 'refund', paymentId, amountFen, at);
  }
  async records(terminalId: string): Promise<HostRecord[]> {
    return [...this.applied.values()].filter((r) => r.terminalId === terminalId);
  }

  private correction(
    id: string,
    kind: 'refund' | 'reversal',
    paymentId: string,
    amountFen: number | null,
    at: string,
  ): HostRecord {
    return this.apply(id, () => {
      const p = this.applied.get(paymentId);
      if (!p) throw new HostError('UNKNOWN_PAYMENT', `no payment ${paymentId}`);
      const fen = amountFen ?? p.amountFen;
      return {
        ...p,
        paymentId: id,
        kind,
        refPaymentId: paymentId,
        amountFen: fen,
        split: { ...SPLIT, medicalCurrentFen: fen },
        createdAt: at,
        appliedAt: this.clock().toISOString(),
      };
    });
  }

  private apply(id: string, make: () => HostRecord): HostRecord {
    this.calls += 1;
    if (this.link === 'down') throw new HostError('HOST_DOWN', 'link down');
    let r = this.applied.get(id);
    if (!r) this.applied.set(id, (r = make()));
    return this.wrongAnswer.has(id) ? { ...r, paymentId: `${id}-OTHER` } : r;
  }
}

const dbs: Database.Database[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const db of dbs.splice(0)) if (db.open) db.close();
});
const tmp = mkdtempSync(join(tmpdir(), 'sscard-booking-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function till(path = ':memory:', clock = fixedClock(START)) {
  const db = openLedgerDb(path);
  dbs.push(db);
  const ledger = new TerminalLedger({ db, clock, terminalId: T, merchantId: 'M0001' });
  return { db, clock, ledger };
}

function takeOffline(ledger: TerminalLedger, n: number): TerminalPayment[] {
  return Array.from({ length: n }, (_, i) =>
    ledger.recordPayment({
      paymentId: `P${String(i + 1).padStart(4, '0')}`,
      cardId: 'C44010048',
      generation: 3,
      method: 'medical',
      amountFen: 100,
      split: SPLIT,
      mode: 'offline',
      forward: true,
    }),
  );
}

function hostRecordOf(p: TerminalPayment, over: Partial<HostRecord> = {}): HostRecord {
  return {
    paymentId: p.paymentId,
    kind: p.kind,
    refPaymentId: p.refPaymentId,
    terminalId: p.terminalId,
    cardId: p.cardId,
    method: p.method,
    amountFen: p.amountFen,
    split: p.split,
    advancedFen: 0,
    createdAt: p.createdAt,
    appliedAt: 'H',
    ...over,
  };
}

describe('TerminalLedger.markSentMany', () => {
  it('books many confirmations at once, idempotently, all or nothing', () => {
    const { ledger } = till();
    const [p1, p2, p3] = takeOffline(ledger, 3) as [TerminalPayment, TerminalPayment, TerminalPayment];
    expect(
      ledger.markSentMany([{ paymentId: 'P0001', hostRecord: hostRecordOf(p1, { advancedFen: 40 }) }]),
    ).toBe(1);
    // A record for another id, or an id not queued: nothing of the group is booked.
    expect(() =>
      ledger.markSentMany([
        { paymentId: 'P0002', hostRecord: hostRecordOf(p2) },
        { paymentId: 'P0003', hostRecord: hostRecordOf(p2) },
      ]),
    ).toThrow(expect.objectContaining({ code: 'HOST_RECORD_MISMATCH' }) as Error);
    expect(() =>
      ledger.markSentMany([
        { paymentId: 'P0002', hostRecord: hostRecordOf(p2) },
        { paymentId: 'NOPE', hostRecord: hostRecordOf(p2, { paymentId: 'NOPE' }) },
      ]),
    ).toThrow(TerminalLedgerError);
    expect(ledger.pendingCount()).toBe(2);
    // P0001 again (a replay) stays as first booked; the others are booked.
    const group = [p1, p2, p3].map((p) => ({ paymentId: p.paymentId, hostRecord: hostRecordOf(p) }));
    expect(ledger.markSentMany(group)).toBe(2);
    expect(ledger.pendingCount()).toBe(0);
    expect(ledger.queueEntry('P0001')).toMatchObject({ state: 'sent', advancedFen: 40 });
    expect(ledger.markSentMany(group)).toBe(0);
  });
});

describe('forwardPending books confirmations in groups', () => {
  it(`one transaction per ${BOOKING_GROUP} confirmations, the same books as one by one`, async () => {
    const { ledger, clock } = till();
    takeOffline(ledger, 2 * BOOKING_GROUP + 100);
    const host = new IdempotentHost(clock);
    const single = vi.spyOn(ledger, 'markSent');
    const many = vi.spyOn(ledger, 'markSentMany');
    const r = await forwardPending(ledger, host);
    expect(r).toMatchObject({ sent: 2 * BOOKING_GROUP + 100, failed: 0, pending: 0 });
    expect(single).not.toHaveBeenCalled();
    expect(many.mock.calls.map(([group]) => group.length)).toEqual([BOOKING_GROUP, BOOKING_GROUP, 100]);
    expect(ledger.forwardQueue().every((e) => e.state === 'sent' && e.sentAt === START)).toBe(true);
    expect(ledger.reconcile(await host.records(T)).agree).toBe(true);
  });

  it('a refund or reversal in the same run finds its payment booked; a broken answer fails only its entry', async () => {
    const { ledger, clock } = till();
    takeOffline(ledger, 4);
    ledger.recordRefund('RF1', 'P0002', 50, true);
    ledger.recordReversal('RV1', 'P0003', true);
    const host = new IdempotentHost(clock);
    host.wrongAnswer.add('P0004');
    const r = await forwardPending(ledger, host);
    expect(r).toMatchObject({
      sent: 5,
      failed: 1,
      waiting: [],
      sentIds: ['P0001', 'P0002', 'P0003', 'RF1', 'RV1'],
    });
    expect(r.errors).toMatchObject([{ paymentId: 'P0004', code: 'HOST_RECORD_MISMATCH' }]);
    expect(ledger.queueEntry('P0004')).toMatchObject({ state: 'pending', attempts: 1 });
  });

  it('a crash between the host’s answers and their booking loses and doubles nothing', async () => {
    const path = join(tmp, 'crash.db');
    const first = till(path);
    takeOffline(first.ledger, 30);
    first.ledger.recordRefund('RF1', 'P0007', 60, true);
    const host = new IdempotentHost(first.clock);
    // The power goes while the first group is being booked: part of it was written, nothing
    // commits, and nothing more is written by this run.
    const real = first.ledger.markSentMany.bind(first.ledger);
    vi.spyOn(first.ledger, 'markSentMany').mockImplementation((group) =>
      first.db.transaction(() => {
        real(group.slice(0, 3));
        throw new Error('simulated power cut while booking');
      })(),
    );
    await expect(forwardPending(first.ledger, host)).rejects.toThrow(/power cut/);
    // The host applied what it was sent (up to the refund, which asked for its payment's booking).
    expect(host.applied.size).toBe(30);
    const firstRecords = new Map(host.applied);
    first.db.close();

    // The till starts again on its file: every entry is still pending, and is sent again.
    const clock = fixedClock('2026-11-26T02:05:00.000Z');
    const second = till(path, clock);
    expect(second.ledger.pendingCount()).toBe(31);
    const r = await forwardPending(second.ledger, host);
    expect(r).toMatchObject({ sent: 31, failed: 0, pending: 0 });
    // Exactly once at the host; the till books the host's first answers.
    expect(host.applied.size).toBe(31);
    for (const [id, rec] of firstRecords) {
      expect(host.applied.get(id)).toBe(rec);
      expect(second.ledger.queueEntry(id)).toMatchObject({ state: 'sent', hostAppliedAt: rec.appliedAt });
    }
    expect(second.ledger.reconcile(await host.records(T)).agree).toBe(true);
  });

  it('HOST_DOWN midway: the confirmations before it are booked, the rest waits for the link', async () => {
    const { ledger, clock } = till();
    takeOffline(ledger, 6);
    const host = new IdempotentHost(clock);
    const forward = host.forward.bind(host);
    vi.spyOn(host, 'forward').mockImplementation(async (r) => {
      if (r.paymentId === 'P0004') host.setLink('down');
      return forward(r);
    });
    const r = await forwardPending(ledger, host);
    expect(r).toMatchObject({ sent: 3, failed: 1, pending: 3, stoppedOnHostDown: true });
    expect(ledger.forwardQueue('sent').map((e) => e.paymentId)).toEqual(['P0001', 'P0002', 'P0003']);
    expect(new Set(ledger.forwardQueue('pending').map((e) => e.nextAttemptAt))).toEqual(
      new Set(['2026-11-26T02:00:30.000Z']),
    );
  });
});
