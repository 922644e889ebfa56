import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { openLedgerDb } from '../db/open.ts';
import { fixedClock } from '../time.ts';
import type { HostRecord, PaymentMethod, PaymentSplit } from '../host/types.ts';
import {
  TerminalLedger,
  TerminalLedgerError,
  type RecordPaymentInput,
  type TerminalLedgerErrorCode,
  type TerminalPayment,
} from './terminal-ledger.ts';

const CARD = 'C44010048';
const T = 'T01';
const M = 'M0001';
// 10:00 in Beijing on 26 November 2026.
const START = '2026-11-26T02:00:00.000Z';
const DAY = '2026-11-26';

const dbs: Database.Database[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) if (db.open) db.close();
});

function setup(opts: { medicalOrder?: 'current-first' | 'prior-first' } = {}) {
  const db = openLedgerDb(':memory:');
  dbs.push(db);
  const clock = fixedClock(START);
  const ledger = new TerminalLedger({ db, clock, terminalId: T, merchantId: M, ...opts });
  return { db, clock, ledger };
}

function split(current = 0, prior = 0, reserve = 0, selfPay = 0): PaymentSplit {
  return { medicalCurrentFen: current, medicalPriorFen: prior, reserveFen: reserve, selfPayFen: selfPay };
}

function payInput(
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

/** What the host would record for a terminal transaction it applied as the till did. */
function hostRecordOf(t: TerminalPayment, overrides: Partial<HostRecord> = {}): HostRecord {
  return {
    paymentId: t.paymentId,
    kind: t.kind,
    refPaymentId: t.refPaymentId,
    terminalId: t.terminalId,
    cardId: t.cardId,
    method: t.method,
    amountFen: t.amountFen,
    split: { ...t.split },
    advancedFen: 0,
    createdAt: t.createdAt,
    appliedAt: t.createdAt,
    ...overrides,
  };
}

const TABLES = [
  'terminal_payments',
  'terminal_journal',
  'forward_queue',
  'terminal_settlements',
  'terminal_events',
];

function snapshot(db: Database.Database) {
  return Object.fromEntries(TABLES.map((t) => [t, db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()]));
}

function expectCode(fn: () => unknown, code: TerminalLedgerErrorCode): TerminalLedgerError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TerminalLedgerError);
    expect((e as TerminalLedgerError).code).toBe(code);
    return e as TerminalLedgerError;
  }
  throw new Error(`expected TerminalLedgerError ${code}, nothing was thrown`);
}

const lines = (ledger: TerminalLedger, id: string) =>
  ledger.journal(id).map((l) => [l.account, l.amountFen] as const);

describe('construction', () => {
  it('refuses a database that was not opened with openLedgerDb', () => {
    const raw = new Database(':memory:');
    expect(
      () => new TerminalLedger({ db: raw, clock: fixedClock(START), terminalId: T, merchantId: M }),
    ).toThrow(/schema version 0.*openLedgerDb/);
    raw.close();
  });

  it('refuses a terminal id that would make unreadable payment ids', () => {
    const { db } = setup();
    for (const terminalId of ['', 'T 01', 'T-01', 'x'.repeat(40)]) {
      expectCode(
        () => new TerminalLedger({ db, clock: fixedClock(START), terminalId, merchantId: M }),
        'INVALID_ID',
      );
    }
  });
});

describe('newPaymentId', () => {
  it('is readable: terminal, Beijing business day and time, random part', () => {
    const { ledger } = setup();
    expect(ledger.newPaymentId()).toMatch(/^T01-20261126-100000000-[0-9a-f]{8}$/);
  });

  it('uses the Beijing date, not UTC', () => {
    const { ledger, clock } = setup();
    clock.set('2026-11-26T16:30:00.000Z'); // 00:30 on the 27th in Beijing
    expect(ledger.newPaymentId()).toMatch(/^T01-20261127-003000000-/);
  });

  it('is unique and sorts in creation order even within one millisecond', () => {
    const { ledger, clock } = setup();
    const ids: string[] = [];
    for (let i = 0; i < 500; i++) {
      ids.push(ledger.newPaymentId());
      if (i % 100 === 99) clock.advance(1);
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('is unique across processes and restarts on the same clock', () => {
    const { db } = setup();
    const a = new TerminalLedger({ db, clock: fixedClock(START), terminalId: T, merchantId: M });
    const b = new TerminalLedger({ db, clock: fixedClock(START), terminalId: T, merchantId: M });
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) {
      ids.add(a.newPaymentId());
      ids.add(b.newPaymentId());
    }
    expect(ids.size).toBe(400);
  });

  it('never returns an id already in the books', () => {
    const { ledger } = setup();
    const first = ledger.newPaymentId();
    ledger.recordPayment(payInput(first, 100, split(100)));
    // A fresh ledger on the same clock (a restart) draws again until the id is free.
    for (let i = 0; i < 20; i++) expect(ledger.newPaymentId()).not.toBe(first);
  });
});

describe('recordPayment', () => {
  it('journals 1250 fen = 1000 from 95000 + 250 cash as sales −1250, medical-current +1000, cash +250', () => {
    const { ledger } = setup();
    const p = ledger.recordPayment(
      payInput('P1', 1250, split(1000, 0, 0, 250), { receiptText: '收据 1250', operator: '王' }),
    );
    expect(p).toMatchObject({
      paymentId: 'P1',
      kind: 'payment',
      refPaymentId: null,
      terminalId: T,
      merchantId: M,
      cardId: CARD,
      generation: 3,
      method: 'medical',
      amountFen: 1250,
      split: split(1000, 0, 0, 250),
      mode: 'offline',
      createdAt: START,
      businessDate: DAY,
      receiptText: '收据 1250',
      operator: '王',
    });
    expect(lines(ledger, 'P1')).toEqual([
      ['sales', -1250],
      ['receivable:medical-current', 1000],
      ['cash', 250],
    ]);
    expect(ledger.journal('P1').map((l) => l.line)).toEqual([1, 2, 3]);
    expect(ledger.queueEntry('P1')).toMatchObject({ state: 'pending', origin: 'queued', attempts: 0 });
    expect(ledger.checkBalanced()).toEqual({ balanced: true, totalFen: 0, unbalanced: [] });
  });

  it('a reserve payment debits receivable:reserve', () => {
    const { ledger } = setup();
    ledger.recordPayment(payInput('R1', 800, split(0, 0, 700, 100), { method: 'reserve' }));
    expect(lines(ledger, 'R1')).toEqual([
      ['sales', -800],
      ['receivable:reserve', 700],
      ['cash', 100],
    ]);
  });

  it('forward=false is not queued; with the host record it is host-confirmed', () => {
    const { ledger } = setup();
    ledger.recordPayment(payInput('ON1', 500, split(500), { mode: 'online', forward: false }));
    expect(ledger.queueEntry('ON1')).toBeNull();

    const p2 = payInput('ON2', 500, split(300, 200), { mode: 'online', forward: false });
    const record: HostRecord = {
      paymentId: 'ON2',
      kind: 'payment',
      refPaymentId: null,
      terminalId: T,
      cardId: CARD,
      method: 'medical',
      amountFen: 500,
      split: split(300, 200),
      advancedFen: 0,
      createdAt: START,
      appliedAt: '2026-11-26T02:00:00.500Z',
    };
    ledger.recordPayment({ ...p2, hostRecord: record });
    expect(ledger.queueEntry('ON2')).toMatchObject({
      origin: 'online',
      state: 'sent',
      advancedFen: 0,
      hostAppliedAt: '2026-11-26T02:00:00.500Z',
    });
    expect(ledger.pendingForwards()).toEqual([]);

    // ON1 confirmed after the fact; idempotent.
    const r1 = { ...record, paymentId: 'ON1', split: split(500) };
    expect(ledger.confirmOnline('ON1', r1)).toMatchObject({ origin: 'online', state: 'sent' });
    expect(ledger.confirmOnline('ON1', r1)).toMatchObject({ origin: 'online', state: 'sent' });
    expectCode(
      () => ledger.recordPayment({ ...payInput('X', 1, split(1)), hostRecord: r1 }),
      'INVALID_INPUT',
    );
    expectCode(
      () => ledger.recordPayment({ ...payInput('X', 1, split(1)), forward: false, hostRecord: r1 }),
      'HOST_RECORD_MISMATCH',
    );
  });

  it('refuses bad amounts and splits with a typed error and writes nothing (atomic)', () => {
    const { ledger, db } = setup();
    ledger.recordPayment(payInput('OK', 100, split(100)));
    const before = snapshot(db);
    const bad: [Partial<RecordPaymentInput>, TerminalLedgerErrorCode][] = [
      [{ amountFen: 0, split: split() }, 'INVALID_AMOUNT'],
      [{ amountFen: -5, split: split() }, 'INVALID_AMOUNT'],
      [{ amountFen: 12.5, split: split(12.5) }, 'INVALID_AMOUNT'],
      [{ amountFen: Number.MAX_SAFE_INTEGER + 1, split: split() }, 'INVALID_AMOUNT'],
      [{ amountFen: 1250, split: split(1000, 0, 0, 200) }, 'INVALID_SPLIT'], // sums to 1200
      [{ amountFen: 1250, split: split(1300, 0, 0, -50) }, 'INVALID_SPLIT'],
      [{ amountFen: 100, split: split(99.5, 0.5) }, 'INVALID_SPLIT'],
      [{ amountFen: 100, split: split(50, 0, 50) }, 'INVALID_SPLIT'], // medical drawing on reserve
      [{ amountFen: 100, split: split(50, 0, 50), method: 'reserve' }, 'INVALID_SPLIT'],
      [{ paymentId: '' }, 'INVALID_ID'],
      [{ paymentId: 'has space' }, 'INVALID_ID'],
      [{ cardId: '' }, 'INVALID_ID'],
      [{ generation: 4 as 3 }, 'INVALID_INPUT'],
      [{ method: 'cash' as PaymentMethod }, 'INVALID_INPUT'],
      [{ mode: 'maybe' as 'online' }, 'INVALID_INPUT'],
    ];
    for (const [override, code] of bad) {
      expectCode(() => ledger.recordPayment({ ...payInput('BAD', 100, split(100)), ...override }), code);
    }
    // Parts whose sum leaves the safe range.
    const big = Number.MAX_SAFE_INTEGER;
    expectCode(() => ledger.recordPayment(payInput('BIG', big, split(big - 1, 0, 0, 2))), 'INVALID_SPLIT');
    expect(snapshot(db)).toEqual(before);
  });

  it('a failure halfway through (journal refused) leaves no row, no line and no queue entry', () => {
    const { ledger, db } = setup();
    db.exec(`CREATE TEMP TRIGGER fail_cash BEFORE INSERT ON terminal_journal WHEN NEW.account = 'cash'
             BEGIN SELECT RAISE(ABORT, 'disk full'); END;`);
    const before = snapshot(db);
    expect(() => ledger.recordPayment(payInput('HALF', 1250, split(1000, 0, 0, 250)))).toThrow(/disk full/);
    expect(snapshot(db)).toEqual(before);
    expect(ledger.payment('HALF')).toBeNull();
  });

  it('ids are used once: a repeat is refused (DUPLICATE_PAYMENT_ID) and changes nothing', () => {
    const { ledger, db } = setup();
    ledger.recordPayment(payInput('P1', 100, split(100)));
    ledger.recordRefund('RF1', 'P1', 50, true);
    const before = snapshot(db);
    expectCode(() => ledger.recordPayment(payInput('P1', 100, split(100))), 'DUPLICATE_PAYMENT_ID');
    expectCode(() => ledger.recordPayment(payInput('RF1', 100, split(100))), 'DUPLICATE_PAYMENT_ID');
    expectCode(() => ledger.recordRefund('P1', 'P1', 10, true), 'DUPLICATE_PAYMENT_ID');
    expectCode(() => ledger.recordRefund('RF1', 'P1', 10, true), 'DUPLICATE_PAYMENT_ID');
    expectCode(() => ledger.recordReversal('RF1', 'P1', true), 'DUPLICATE_PAYMENT_ID');
    expect(snapshot(db)).toEqual(before);
  });

  it('uses the Beijing business date', () => {
    const { ledger, clock } = setup();
    clock.set('2026-11-26T16:00:00.000Z'); // midnight in Beijing
    expect(ledger.recordPayment(payInput('LATE', 100, split(100))).businessDate).toBe('2026-11-27');
  });
});

describe('append-only books', () => {
  it('the database refuses UPDATE and DELETE of payments, journal lines, settlements and events', () => {
    const { ledger, db } = setup();
    ledger.recordPayment(payInput('P1', 100, split(100)));
    ledger.closeDay(DAY);
    ledger.logEvent({ kind: 'decline', message: 'PIN blocked' });
    const refused: [string, RegExp][] = [
      [`UPDATE terminal_payments SET amount_fen = 1`, /append-only/],
      [`DELETE FROM terminal_payments`, /append-only/],
      [`UPDATE terminal_journal SET amount_fen = 1`, /append-only/],
      [`DELETE FROM terminal_journal`, /append-only/],
      [`UPDATE terminal_settlements SET total_fen = 0`, /append-only/],
      [`DELETE FROM terminal_settlements`, /append-only/],
      [`UPDATE terminal_events SET message = ''`, /append-only/],
      [`DELETE FROM terminal_events`, /append-only/],
      [`DELETE FROM forward_queue`, /never deleted/],
      [`UPDATE forward_queue SET enqueued_at = 'x'`, /never change/],
    ];
    for (const [sql, message] of refused) expect(() => db.exec(sql), sql).toThrow(message);
    expect(ledger.payments()).toHaveLength(1);
    expect(ledger.journal('P1')).toHaveLength(2);
  });

  it('a sent queue entry never goes back to pending', () => {
    const { ledger, db } = setup();
    const p = ledger.recordPayment(payInput('P1', 100, split(100)));
    ledger.markSent('P1', hostRecordOf(p));
    expect(() => db.exec(`UPDATE forward_queue SET state = 'pending', sent_at = NULL`)).toThrow(
      /never goes back/,
    );
  });

  it('the database refuses a refund that points at a refund or at another card', () => {
    const { ledger, db } = setup();
    ledger.recordPayment(payInput('P1', 100, split(100)));
    ledger.recordRefund('RF1', 'P1', 10, true);
    const insert = (id: string, ref: string, card: string) =>
      db
        .prepare(
          `INSERT INTO terminal_payments (payment_id, seq, kind, ref_payment_id, terminal_id, merchant_id, card_id,
             generation, method, amount_fen, medical_current_fen, medical_prior_fen, reserve_fen, self_pay_fen,
             mode, created_at, business_date)
           VALUES (?, 99, 'refund', ?, '${T}', '${M}', ?, 3, 'medical', 1, 1, 0, 0, 0, 'offline', 'x', '${DAY}')`,
        )
        .run(id, ref, card);
    expect(() => insert('X1', 'RF1', CARD)).toThrow(/must refer to a payment/);
    expect(() => insert('X2', 'P1', 'OTHER0001')).toThrow(/must refer to a payment/);
  });
});

describe('refunds and reversals', () => {
  it('a reversal posts the mirror lines and happens at most once', () => {
    const { ledger } = setup();
    ledger.recordPayment(payInput('P1', 1250, split(1000, 0, 0, 250)));
    expect(ledger.planReversal('P1')).toEqual(split(1000, 0, 0, 250));
    const r = ledger.recordReversal('RV1', 'P1', true, { receiptText: '冲正', operator: '王' });
    expect(r).toMatchObject({
      kind: 'reversal',
      refPaymentId: 'P1',
      amountFen: 1250,
      split: split(1000, 0, 0, 250),
      mode: 'offline',
      receiptText: '冲正',
    });
    expect(lines(ledger, 'RV1')).toEqual([
      ['sales', 1250],
      ['receivable:medical-current', -1000],
      ['cash', -250],
    ]);
    expectCode(() => ledger.recordReversal('RV2', 'P1', true), 'ALREADY_REVERSED');
    expectCode(() => ledger.recordRefund('RF1', 'P1', 10, true), 'ALREADY_REVERSED');
    expectCode(() => ledger.recordReversal('RV3', 'RV1', true), 'NOT_A_PAYMENT');
    expectCode(() => ledger.recordReversal('RV4', 'NOPE', true), 'UNKNOWN_PAYMENT');
    // forward=false: done online with the host, recorded as such.
    ledger.recordPayment(payInput('P2', 100, split(100), { mode: 'online', forward: false }));
    expect(ledger.recordReversal('RV5', 'P2', false).mode).toBe('online');
    expect(ledger.queueEntry('RV5')).toBeNull();
  });

  it('refunds return the covered parts in reverse drawing order (95001, then 95000) and cash last', () => {
    const { ledger } = setup();
    // Drawn current-first: 600 from 95000, 300 from 95001, 100 cash.
    ledger.recordPayment(payInput('P1', 1000, split(600, 300, 0, 100)));
    expect(ledger.planRefund('P1', 400)).toEqual(split(100, 300, 0, 0));
    ledger.recordRefund('RF1', 'P1', 400, true);
    expect(lines(ledger, 'RF1')).toEqual([
      ['sales', 400],
      ['receivable:medical-current', -100],
      ['receivable:medical-prior', -300],
    ]);
    expect(ledger.recordRefund('RF2', 'P1', 550, true).split).toEqual(split(500, 0, 0, 50));
    expectCode(() => ledger.recordRefund('RF3', 'P1', 51, true), 'REFUND_EXCEEDS_REMAINING');
    expect(ledger.recordRefund('RF3', 'P1', 50, true).split).toEqual(split(0, 0, 0, 50));
    expectCode(() => ledger.recordRefund('RF4', 'P1', 1, true), 'REFUND_EXCEEDS_REMAINING');
    expectCode(() => ledger.recordRefund('RF4', 'RF1', 1, true), 'NOT_A_PAYMENT');
    expectCode(() => ledger.recordRefund('RF4', 'P1', 0, true), 'INVALID_AMOUNT');
    // Fully refunded: a reversal is refused too (refund the rest instead).
    expectCode(() => ledger.recordReversal('RV1', 'P1', true), 'ALREADY_REFUNDED');
    expect(ledger.payments({ refPaymentId: 'P1' }).map((p) => p.paymentId)).toEqual(['RF1', 'RF2', 'RF3']);
    expect(ledger.checkBalanced().balanced).toBe(true);
  });

  it('with prior-first drawing, refunds return 95000 before 95001', () => {
    const { ledger } = setup({ medicalOrder: 'prior-first' });
    ledger.recordPayment(payInput('P1', 1000, split(600, 300, 0, 100)));
    expect(ledger.planRefund('P1', 700)).toEqual(split(600, 100, 0, 0));
  });

  it("with cashRefund 'first', the cash part goes back before the accounts", () => {
    const { db } = setup();
    const ledger = new TerminalLedger({
      db,
      clock: fixedClock(START),
      terminalId: 'T02',
      merchantId: M,
      cashRefund: 'first',
    });
    ledger.recordPayment(payInput('P1', 1000, split(600, 300, 0, 100)));
    expect(ledger.planRefund('P1', 500)).toEqual(split(100, 300, 0, 100));
  });

  it('reserve refunds go back to the reserve, then cash', () => {
    const { ledger } = setup();
    ledger.recordPayment(payInput('R1', 800, split(0, 0, 700, 100), { method: 'reserve' }));
    expect(ledger.recordRefund('RF1', 'R1', 750, true).split).toEqual(split(0, 0, 700, 50));
  });

  it('a reversal after a partial refund is refused and writes nothing', () => {
    const { ledger, db } = setup();
    ledger.recordPayment(payInput('P1', 1000, split(1000)));
    ledger.recordRefund('RF1', 'P1', 100, true);
    const before = snapshot(db);
    expectCode(() => ledger.recordReversal('RV1', 'P1', true), 'ALREADY_REFUNDED');
    expect(snapshot(db)).toEqual(before);
  });
});

describe('forward queue', () => {
  it('lists due entries in the order taken; failures count attempts and schedule the next', () => {
    const { ledger, clock } = setup();
    const p1 = ledger.recordPayment(payInput('P1', 100, split(100)));
    clock.advance(1000);
    ledger.recordPayment(payInput('P2', 200, split(200)));
    ledger.recordRefund('RF1', 'P1', 50, true);
    expect(ledger.pendingForwards().map((e) => [e.paymentId, e.kind, e.refPaymentId])).toEqual([
      ['P1', 'payment', null],
      ['P2', 'payment', null],
      ['RF1', 'refund', 'P1'],
    ]);
    const next = new Date(clock().getTime() + 60_000);
    expect(ledger.markFailed('P1', new Error('boom'), next)).toMatchObject({
      attempts: 1,
      lastError: 'boom',
      nextAttemptAt: next.toISOString(),
      state: 'pending',
    });
    expect(ledger.pendingForwards().map((e) => e.paymentId)).toEqual(['P2', 'RF1']);
    expect(ledger.pendingForwards(next).map((e) => e.paymentId)).toEqual(['P1', 'P2', 'RF1']);

    const sent = ledger.markSent('P1', hostRecordOf(p1, { advancedFen: 30, appliedAt: 'H1' }));
    expect(sent).toMatchObject({ state: 'sent', advancedFen: 30, hostAppliedAt: 'H1', attempts: 1 });
    // Idempotent; a later failure report for it is refused.
    expect(ledger.markSent('P1', hostRecordOf(p1))).toEqual(sent);
    expectCode(() => ledger.markFailed('P1', 'late', next), 'ALREADY_SENT');
    expectCode(() => ledger.markSent('P2', hostRecordOf(p1)), 'HOST_RECORD_MISMATCH');
    expect(ledger.pendingCount()).toBe(2);
    expect(ledger.forwardQueue('sent').map((e) => e.paymentId)).toEqual(['P1']);
  });

  it('only queued entries can be marked', () => {
    const { ledger } = setup();
    const p = ledger.recordPayment(payInput('ON', 100, split(100), { mode: 'online', forward: false }));
    expectCode(() => ledger.markSent('ON', hostRecordOf(p)), 'NOT_QUEUED');
    expectCode(() => ledger.markFailed('ON', 'x', new Date()), 'NOT_QUEUED');
    expectCode(() => ledger.markSent('NOPE', hostRecordOf(p, { paymentId: 'NOPE' })), 'NOT_QUEUED');
  });

  it('deferForwards puts off every due pending entry without counting an attempt', () => {
    const { ledger, clock } = setup();
    ledger.recordPayment(payInput('P1', 100, split(100)));
    ledger.recordPayment(payInput('P2', 100, split(100)));
    const later = new Date(clock().getTime() + 30_000);
    expect(ledger.deferForwards(later)).toBe(2);
    expect(ledger.pendingForwards()).toEqual([]);
    expect(ledger.pendingForwards(later).map((e) => [e.paymentId, e.attempts])).toEqual([
      ['P1', 0],
      ['P2', 0],
    ]);
  });
});

describe('settlement (日结)', () => {
  function dayOfBusiness() {
    const s = setup();
    const { ledger, clock } = s;
    ledger.recordPayment(payInput('P1', 1250, split(1000, 0, 0, 250)));
    ledger.recordPayment(payInput('P2', 2000, split(500, 1500, 0, 0)));
    ledger.recordPayment(payInput('P3', 800, split(0, 0, 800, 0), { method: 'reserve' }));
    ledger.recordPayment(payInput('P4', 300, split(300), { mode: 'online', forward: false }));
    ledger.recordRefund('RF1', 'P2', 1600, true); // 1500 from 95001, 100 from 95000
    ledger.recordReversal('RV1', 'P3', true);
    clock.set('2026-11-26T16:00:01.000Z'); // the next Beijing day
    ledger.recordPayment(payInput('N1', 999, split(999)));
    return s;
  }

  it('totals per account and per method, refunds and reversals netted', () => {
    const { ledger } = dayOfBusiness();
    expect(ledger.settlement(DAY)).toEqual({
      terminalId: T,
      date: DAY,
      payments: 4,
      refunds: 1,
      reversals: 1,
      grossFen: 4350,
      refundedFen: 1600,
      reversedFen: 800,
      totalFen: 1950,
      byAccount: {
        'receivable:medical-current': 1000 + 500 + 300 - 100,
        'receivable:medical-prior': 0,
        'receivable:reserve': 0,
        cash: 250,
      },
      byMethod: { medical: 1250 + 2000 + 300 - 1600, reserve: 0 },
      pendingForward: 5,
    });
    expect(ledger.settlement('2026-11-27')).toMatchObject({ payments: 1, totalFen: 999, pendingForward: 1 });
    expect(ledger.settlement('2026-11-25')).toMatchObject({
      payments: 0,
      totalFen: 0,
      byMethod: { medical: 0 },
    });
    expectCode(() => ledger.settlement('26/11/2026'), 'INVALID_DATE');
  });

  it('closing stores the settlement, leaves the queue alone, and recloses by version', () => {
    const { ledger, clock } = dayOfBusiness();
    const queueBefore = ledger.forwardQueue();
    clock.set('2026-11-26T14:00:00.000Z'); // 22:00 the same day in Beijing
    const closed = ledger.closeDay(DAY);
    expect(closed).toMatchObject({ version: 1, closedAt: '2026-11-26T14:00:00.000Z', totalFen: 1950 });
    expect(closed.pendingForward).toBe(5);
    expect(ledger.forwardQueue()).toEqual(queueBefore);
    expect(ledger.closedSettlement(DAY)).toEqual(closed);

    // Same books: the stored closing comes back, nothing new is stored.
    clock.advance(60_000);
    expect(ledger.closeDay(DAY)).toEqual(closed);
    // A sale after closing, still on that business day: a new version.
    ledger.recordPayment(payInput('LATE', 100, split(100)));
    const v2 = ledger.closeDay(DAY);
    expect(v2).toMatchObject({ version: 2, payments: 5, totalFen: 2050 });
    expect(ledger.settlementVersions(DAY).map((s) => s.version)).toEqual([1, 2]);
    expect(ledger.closedSettlement('2026-11-20')).toBeNull();
  });

  it('closing refuses impossible dates and days after today (Beijing), writing nothing (issue 16)', () => {
    const { ledger, clock } = dayOfBusiness();
    clock.set('2026-11-26T15:59:59.000Z'); // 23:59:59 on the 26th in Beijing
    for (const bad of ['0000-00-00', '9999-99-99', '2026-02-29', '2026-11-31']) {
      expect(expectCode(() => ledger.closeDay(bad), 'INVALID_DATE').message).toBe(
        `${bad} is not a day of the calendar`,
      );
    }
    for (const future of ['2026-11-27', '2999-01-01']) {
      expect(expectCode(() => ledger.closeDay(future), 'INVALID_DATE').message).toMatch(
        new RegExp(
          `^cannot close ${future}: it is after today's business date 2026-11-26 \\(Beijing time\\)`,
        ),
      );
      expect(ledger.settlementVersions(future)).toEqual([]);
    }
    clock.advance(1000); // midnight in Beijing: the 27th has begun
    expect(ledger.closeDay('2026-11-27')).toMatchObject({ date: '2026-11-27', version: 1 });
    expect(ledger.closeDay('2024-02-29')).toMatchObject({ date: '2024-02-29', version: 1 });
  });
});

describe('reconciliation (对账)', () => {
  it('agrees when the host applied the same covered parts; advanced money is a note', () => {
    const { ledger } = setup();
    const p1 = ledger.recordPayment(payInput('P1', 1250, split(1000, 0, 0, 250)));
    const rf = ledger.recordRefund('RF1', 'P1', 500, true);
    for (const t of [p1, rf]) ledger.markSent(t.paymentId, hostRecordOf(t));
    // The host records only the covered part: its record may leave the cash out entirely.
    const hostP1 = hostRecordOf(p1, { amountFen: 1000, split: split(1000), advancedFen: 200 });
    const r = ledger.reconcile([hostP1, hostRecordOf(rf)]);
    expect(r).toMatchObject({ agree: true, mismatches: [], terminalTotalFen: 500, hostTotalFen: 500 });
    expect(r.notes).toEqual([
      { paymentId: 'P1', kind: 'advanced', advancedFen: 200, detail: expect.any(String) },
    ]);
  });

  it('lists every kind of mismatch', () => {
    const { ledger, db } = setup();
    const sent = (input: RecordPaymentInput) => {
      const t = ledger.recordPayment(input);
      ledger.markSent(t.paymentId, hostRecordOf(t));
      return t;
    };
    const ok = sent(payInput('OK', 100, split(100)));
    const lost = sent(payInput('LOST', 200, split(200)));
    const amount = sent(payInput('AMT', 300, split(300)));
    const splitDiff = sent(payInput('SPL', 400, split(300, 100)));
    const queued = ledger.recordPayment(payInput('Q', 500, split(500)));
    const other = sent(payInput('OTH', 600, split(600)));
    void lost;
    const host: HostRecord[] = [
      hostRecordOf(ok),
      hostRecordOf(amount, { split: split(250), amountFen: 250 }),
      hostRecordOf(splitDiff, { split: split(100, 300) }),
      hostRecordOf(other, { cardId: 'OTHER0001' }),
      hostRecordOf(queued), // timed out at the till but arrived
      hostRecordOf(ok, { paymentId: 'GHOST', createdAt: START }),
      hostRecordOf(ok, { paymentId: 'ELSEWHERE', terminalId: 'T02' }), // another terminal: ignored
    ];
    const r = ledger.reconcile(host);
    expect(r.agree).toBe(false);
    expect(r.mismatches.map((m) => [m.paymentId, m.kind])).toEqual([
      ['LOST', 'missing-at-host'],
      ['AMT', 'amount-differs'],
      ['SPL', 'split-differs'],
      ['Q', 'not-yet-forwarded'],
      ['OTH', 'record-differs'],
      ['GHOST', 'missing-at-terminal'],
    ]);
    for (const m of r.mismatches) expect(m.detail).toMatch(/[\u4e00-\u9fff].* \/ [a-z]/);
    const spl = r.mismatches.find((m) => m.kind === 'split-differs');
    expect(spl?.detail).toMatch(/95000.*300\/100.*95001.*100\/300/);
    expect(r.terminalTotalFen).toBe(100 + 200 + 300 + 400 + 500 + 600);
    expect(r.hostTotalFen).toBe(100 + 250 + 400 + 600 + 500 + 100);

    // A queued transaction the host does not have yet is only 'not-yet-forwarded'.
    const r2 = ledger.reconcile([hostRecordOf(ok)]);
    expect(r2.mismatches.filter((m) => m.paymentId === 'Q').map((m) => m.kind)).toEqual([
      'not-yet-forwarded',
    ]);
    void db;
  });

  it('with a date, compares that business day only', () => {
    const { ledger, clock } = setup();
    const a = ledger.recordPayment(payInput('DAY1', 100, split(100), { forward: false }));
    clock.set('2026-11-27T02:00:00.000Z');
    const b = ledger.recordPayment(payInput('DAY2', 200, split(200), { forward: false }));
    const ghost = hostRecordOf(b, { paymentId: 'GHOST2', createdAt: '2026-11-27T03:00:00.000Z' });
    const host = [hostRecordOf(a), hostRecordOf(b), ghost];
    expect(ledger.reconcile(host, DAY)).toMatchObject({
      agree: true,
      terminalTotalFen: 100,
      hostTotalFen: 100,
    });
    const day2 = ledger.reconcile(host, '2026-11-27');
    expect(day2.mismatches.map((m) => [m.paymentId, m.kind])).toEqual([['GHOST2', 'missing-at-terminal']]);
    expect(ledger.reconcile([hostRecordOf(a)], '2026-11-27').mismatches.map((m) => m.kind)).toEqual([
      'missing-at-host',
    ]);
  });
});

describe('books', () => {
  it('journal() of an unknown or foreign id is empty; terminals sharing a database keep apart', () => {
    const { db, ledger } = setup();
    const t2 = new TerminalLedger({ db, clock: fixedClock(START), terminalId: 'T02', merchantId: M });
    ledger.recordPayment(payInput('A1', 100, split(100)));
    t2.recordPayment(payInput('B1', 200, split(200)));
    expect(ledger.payments().map((p) => p.paymentId)).toEqual(['A1']);
    expect(t2.payments().map((p) => p.paymentId)).toEqual(['B1']);
    expect(ledger.journal('B1')).toEqual([]);
    expect(ledger.payment('B1')).toBeNull();
    expect(ledger.settlement(DAY).totalFen).toBe(100);
    expect(t2.pendingForwards().map((e) => e.paymentId)).toEqual(['B1']);
    expectCode(() => ledger.recordRefund('RF', 'B1', 10, true), 'UNKNOWN_PAYMENT');
  });

  it('payments(filter) filters by day, kind, card, reference and mode', () => {
    const { ledger, clock } = setup();
    ledger.recordPayment(payInput('P1', 100, split(100)));
    ledger.recordPayment(
      payInput('P2', 100, split(100), { cardId: 'C00000002', mode: 'online', forward: false }),
    );
    ledger.recordRefund('RF1', 'P1', 10, true);
    clock.set('2026-11-28T02:00:00.000Z');
    ledger.recordPayment(payInput('P3', 100, split(100)));
    const ids = (f: Parameters<TerminalLedger['payments']>[0]) => ledger.payments(f).map((p) => p.paymentId);
    expect(ids({})).toEqual(['P1', 'P2', 'RF1', 'P3']);
    expect(ids({ date: DAY })).toEqual(['P1', 'P2', 'RF1']);
    expect(ids({ kind: 'payment', date: DAY })).toEqual(['P1', 'P2']);
    expect(ids({ cardId: 'C00000002' })).toEqual(['P2']);
    expect(ids({ refPaymentId: 'P1' })).toEqual(['RF1']);
    expect(ids({ mode: 'online' })).toEqual(['P2']);
  });

  it('checkBalanced finds a payment whose lines do not sum to zero', () => {
    const { ledger, db } = setup();
    ledger.recordPayment(payInput('P1', 100, split(100)));
    // Only possible by writing around the ledger.
    db.prepare(
      `INSERT INTO terminal_journal (payment_id, line, account, amount_fen, business_date) VALUES ('P1', 9, 'cash', 5, ?)`,
    ).run(DAY);
    expect(ledger.checkBalanced()).toEqual({
      balanced: false,
      totalFen: 5,
      unbalanced: [{ paymentId: 'P1', sumFen: 5, detail: 'lines sum to 5 fen' }],
    });
  });

  it('logs declines as events without touching the books', () => {
    const { ledger } = setup();
    const e = ledger.logEvent({
      kind: 'decline',
      message: '余额不足 insufficient funds',
      cardId: CARD,
      amountFen: 500,
      code: 'INSUFFICIENT_FUNDS',
    });
    expect(e).toMatchObject({
      eventId: 1,
      terminalId: T,
      businessDate: DAY,
      kind: 'decline',
      paymentId: null,
    });
    expect(ledger.events(DAY)).toEqual([e]);
    expect(ledger.events('2026-11-27')).toEqual([]);
    expect(ledger.payments()).toEqual([]);
  });

  it('conservation: any sequence of payments, refunds and reversals keeps every entry and the whole journal at zero', () => {
    const op = fc.record({
      what: fc.constantFrom('pay', 'pay', 'refund', 'reverse'),
      method: fc.constantFrom<PaymentMethod>('medical', 'reserve'),
      a: fc.nat(5000),
      b: fc.nat(5000),
      c: fc.nat(2000),
      pick: fc.nat(),
      hours: fc.nat(30),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const { ledger, clock } = setup();
        const paid: string[] = [];
        let n = 0;
        for (const o of ops) {
          clock.advance(o.hours * 3600_000);
          const id = `X${++n}`;
          try {
            if (o.what === 'pay') {
              const s = o.method === 'medical' ? split(o.a, o.b, 0, o.c) : split(0, 0, o.a + o.b, o.c);
              ledger.recordPayment(payInput(id, o.a + o.b + o.c, s, { method: o.method }));
              paid.push(id);
            } else if (paid.length > 0) {
              const target = paid[o.pick % paid.length] as string;
              if (o.what === 'refund') ledger.recordRefund(id, target, 1 + (o.a % 3000), true);
              else ledger.recordReversal(id, target, true);
            }
          } catch (e) {
            if (!(e instanceof TerminalLedgerError)) throw e;
          }
        }
        const check = ledger.checkBalanced();
        expect(check).toEqual({ balanced: true, totalFen: 0, unbalanced: [] });
        const all = ledger.journal();
        expect(all.reduce((sum, l) => sum + l.amountFen, 0)).toBe(0);
        // Per day, the accounts add up to net sales and no payment is over-refunded.
        for (const date of new Set(ledger.payments().map((p) => p.businessDate))) {
          const s = ledger.settlement(date);
          const byAccount = Object.values(s.byAccount).reduce((x, y) => x + y, 0);
          expect(byAccount).toBe(s.totalFen);
          expect(s.byMethod.medical + s.byMethod.reserve).toBe(s.totalFen);
          expect(s.grossFen - s.refundedFen - s.reversedFen).toBe(s.totalFen);
        }
        for (const p of ledger.payments({ kind: 'payment' })) {
          const back = ledger.payments({ refPaymentId: p.paymentId });
          for (const part of ['medicalCurrentFen', 'medicalPriorFen', 'reserveFen', 'selfPayFen'] as const) {
            const returned = back.reduce((sum, r) => sum + r.split[part], 0);
            expect(returned).toBeLessThanOrEqual(p.split[part]);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
