import { describe, expect, it } from 'vitest';
import type { InProcessHost } from './in-process-host.ts';
import { hostFixture, offline, payment, type HostFixture } from '../../test/harness/host/test-support.ts';

const AT = '2025-03-10T03:00:00.000Z';

/** 95000 3000 + 95001 1000 + 500 cash, current-first: the drawing order is 95000, 95001, cash. */
async function paidWithCash(f: HostFixture, host: InProcessHost = f.host) {
  const card = f.card('A00000001', { current: 3_000, prior: 1_000 });
  const paid = await host.pay(payment(card, 4_500));
  expect(paid.split).toEqual({
    medicalCurrentFen: 3_000,
    medicalPriorFen: 1_000,
    reserveFen: 0,
    selfPayFen: 500,
  });
  return { card, paid };
}

describe('reversal (冲正)', () => {
  it('is a new entry pointing at the original that puts the money back exactly; idempotent by reversalId', async () => {
    const f = hostFixture();
    const { card, paid } = await paidWithCash(f);
    const r = await f.host.reverse('rev-1', paid.paymentId, AT);
    expect(r).toMatchObject({
      paymentId: 'rev-1',
      kind: 'reversal',
      refPaymentId: paid.paymentId,
      terminalId: paid.terminalId,
      cardId: card,
      amountFen: 4_500,
      split: paid.split,
      createdAt: AT,
    });
    expect(f.ledger.balances(card)).toMatchObject({ medicalCurrent: 3_000, medicalPrior: 1_000 });
    const lines = f.ledger.journal({ txnId: 'rev-1' });
    expect(lines.every((l) => l.kind === 'reversal' && l.refTxnId === paid.paymentId)).toBe(true);
    expect(lines.map((l) => [l.accountKind, l.amountFen])).toEqual([
      ['medical_prior', 1_000],
      ['medical_current', 3_000],
      ['merchant', -4_000],
    ]);
    // The original is untouched (append-only).
    expect(f.ledger.journal({ txnId: paid.paymentId })).toHaveLength(3);

    expect(await f.host.reverse('rev-1', paid.paymentId, AT)).toEqual(r);
    expect(f.ledger.journal({ txnId: 'rev-1' })).toHaveLength(3);
    await expect(f.host.reverse('rev-2', paid.paymentId, AT)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/already reversed by rev-1/),
    });
    await expect(f.host.refund('ref-1', paid.paymentId, 100, AT)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
  });

  it('a payment never applied → UNKNOWN_PAYMENT', async () => {
    const f = hostFixture();
    await expect(f.host.reverse('rev-1', 'never', AT)).rejects.toMatchObject({ code: 'UNKNOWN_PAYMENT' });
    await expect(f.host.refund('ref-1', 'never', 100, AT)).rejects.toMatchObject({ code: 'UNKNOWN_PAYMENT' });
  });

  it('returns an advance to the centre, not to the card', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { current: 1_000 });
    const fwd = await f.host.forward(offline(card, { medicalCurrentFen: 1_500 }));
    expect(fwd.advancedFen).toBe(500);
    const r = await f.host.reverse('rev-1', fwd.paymentId, AT);
    expect(r.advancedFen).toBe(500);
    expect(f.ledger.balances(card).medicalCurrent).toBe(1_000);
    expect(f.total()).toBe(0);
  });

  it('after a partial refund, returns what is left', async () => {
    const f = hostFixture();
    const { card, paid } = await paidWithCash(f);
    await f.host.refund('ref-1', paid.paymentId, 700, AT);
    const r = await f.host.reverse('rev-1', paid.paymentId, AT);
    expect(r.amountFen).toBe(3_800);
    expect(r.split).toEqual({ medicalCurrentFen: 3_000, medicalPriorFen: 800, reserveFen: 0, selfPayFen: 0 });
    expect(f.ledger.balances(card)).toMatchObject({ medicalCurrent: 3_000, medicalPrior: 1_000 });
  });
});

describe('refund (退费)', () => {
  it('returns money last-drawn first: cash, then the sub-accounts in reverse drawing order', async () => {
    const f = hostFixture();
    const { card, paid } = await paidWithCash(f);

    const r1 = await f.host.refund('ref-1', paid.paymentId, 700, AT);
    expect(r1).toMatchObject({ kind: 'refund', refPaymentId: paid.paymentId, amountFen: 700 });
    expect(r1.split).toEqual({ medicalCurrentFen: 0, medicalPriorFen: 200, reserveFen: 0, selfPayFen: 500 });
    expect(f.ledger.balances(card)).toMatchObject({ medicalCurrent: 0, medicalPrior: 200 });

    const r2 = await f.host.refund('ref-2', paid.paymentId, 1_000, AT);
    expect(r2.split).toEqual({ medicalCurrentFen: 200, medicalPriorFen: 800, reserveFen: 0, selfPayFen: 0 });
    expect(f.ledger.balances(card)).toMatchObject({ medicalCurrent: 200, medicalPrior: 1_000 });

    const lines = f.ledger.journal({ txnId: 'ref-2' });
    expect(lines.every((l) => l.kind === 'refund' && l.refTxnId === paid.paymentId)).toBe(true);
    expect(lines.map((l) => [l.accountKind, l.amountFen])).toEqual([
      ['medical_prior', 800],
      ['medical_current', 200],
      ['merchant', -1_000],
    ]);
  });

  it('follows the order the payment was drawn in (prior-first)', async () => {
    const f = hostFixture({ medicalOrder: 'prior-first' });
    const card = f.card('A00000001', { current: 3_000, prior: 1_000 });
    const paid = await f.host.pay(payment(card, 2_000));
    expect(paid.split).toMatchObject({ medicalPriorFen: 1_000, medicalCurrentFen: 1_000 });
    const r = await f.host.refund('ref-1', paid.paymentId, 1_200, AT);
    expect(r.split).toMatchObject({ medicalCurrentFen: 1_000, medicalPriorFen: 200 });
  });

  it('never more than what remains unrefunded; idempotent by refundId', async () => {
    const f = hostFixture();
    const { card, paid } = await paidWithCash(f);
    await expect(f.host.refund('ref-0', paid.paymentId, 4_501, AT)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/exceeds the 45\.00 yuan not yet refunded/),
    });
    const r1 = await f.host.refund('ref-1', paid.paymentId, 4_000, AT);
    expect(await f.host.refund('ref-1', paid.paymentId, 4_000, AT)).toEqual(r1);
    expect(f.ledger.balances(card)).toMatchObject({ medicalCurrent: 2_500, medicalPrior: 1_000 });
    await expect(f.host.refund('ref-2', paid.paymentId, 501, AT)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/5\.00 yuan not yet refunded/),
    });
    await expect(f.host.refund('ref-1', paid.paymentId, 300, AT)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    await f.host.refund('ref-2', paid.paymentId, 500, AT);
    expect(f.ledger.balances(card)).toMatchObject({ medicalCurrent: 3_000, medicalPrior: 1_000 });
    await expect(f.host.reverse('rev-1', paid.paymentId, AT)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/fully refunded/),
    });
    for (const bad of [0, -5, 1.5]) {
      await expect(f.host.refund('ref-9', paid.paymentId, bad, AT)).rejects.toMatchObject({
        message: expect.stringMatching(/^amountFen /),
      });
    }
  });

  it('a refund or reversal of a refund is refused', async () => {
    const f = hostFixture();
    const { paid } = await paidWithCash(f);
    await f.host.refund('ref-1', paid.paymentId, 100, AT);
    await expect(f.host.refund('ref-2', 'ref-1', 100, AT)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/is a refund, not a payment/),
    });
    await expect(f.host.reverse('rev-1', 'ref-1', AT)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });
});

describe('reconciliation and conservation', () => {
  it('records(terminalId, date) lists one terminal, by Beijing business day of createdAt', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { current: 10_000 });
    const a = await f.host.pay(payment(card, 100, { createdAt: '2025-03-10T15:59:59.000Z' })); // 23:59:59 Beijing
    const b = await f.host.pay(payment(card, 200, { createdAt: '2025-03-10T16:00:00.000Z' })); // 00:00 next day
    await f.host.pay(payment(card, 300, { terminalId: 'T0002' }));
    const r = await f.host.refund('ref-1', b.paymentId, 50, '2025-03-11T01:00:00.000Z');

    expect((await f.host.records('T0001')).map((x) => x.paymentId)).toEqual([
      a.paymentId,
      b.paymentId,
      r.paymentId,
    ]);
    expect((await f.host.records('T0001', '2025-03-10')).map((x) => x.paymentId)).toEqual([a.paymentId]);
    expect((await f.host.records('T0001', '2025-03-11')).map((x) => x.paymentId)).toEqual([
      b.paymentId,
      r.paymentId,
    ]);
    expect(await f.host.records('T0009')).toEqual([]);
    await expect(f.host.records('T0001', '11/03/2025')).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('conservation: card balances + merchant + funding accounts stay constant across payments, refunds, reversals and carry-over', async () => {
    const f = hostFixture({}, '2025-06-20T02:00:00.000Z');
    const a = f.card('A00000001', { reserve: 20_000, current: 9_000, prior: 1_000 });
    const b = f.card('A00000002', { current: 4_000 });
    const check = () => {
      const sums = f.db
        .prepare<[], { cards: number; system: number }>(
          `SELECT COALESCE(SUM(CASE WHEN card_id IS NOT NULL THEN balance_fen END), 0) AS cards,
                  COALESCE(SUM(CASE WHEN card_id IS NULL THEN balance_fen END), 0) AS system FROM accounts`,
        )
        .get();
      expect(sums && sums.cards + sums.system).toBe(0);
      expect(f.ledger.checkConsistency()).toEqual([]);
    };
    check();
    const p1 = await f.host.pay(payment(a, 12_000));
    check();
    const p2 = await f.host.pay(payment(a, 5_000, { method: 'reserve' }));
    check();
    const p3 = await f.host.forward(offline(b, { medicalCurrentFen: 6_000, selfPayFen: 100 }));
    check();
    await f.host.refund('ref-1', p1.paymentId, 2_500, AT);
    check();
    await f.host.reverse('rev-1', p2.paymentId, AT);
    check();
    await f.host.refund('ref-2', p3.paymentId, 6_100, AT);
    check();
    f.clock.set('2025-06-20T16:00:00.000Z');
    expect(f.host.runCarryOver()).toEqual([{ year: 2025, cards: 1, movedFen: 4_000 }]);
    check();
    const p4 = await f.host.pay(payment(b, 1_000));
    expect(p4.split.medicalPriorFen).toBe(1_000);
    check();
    // The merchant holds exactly what was paid and not given back.
    const merchant = f.db.prepare(`SELECT balance_fen FROM accounts WHERE kind = 'merchant'`).pluck().get();
    // p1 10 000 covered, 500 of it refunded (the first 2 000 of the refund was cash); p2 reversed;
    // p3 refunded in full; p4 1 000.
    expect(merchant).toBe(10_000 - 500 + 1_000);
  });

  it('host records are append-only', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { current: 1_000 });
    const r = await f.host.pay(payment(card, 100));
    expect(() =>
      f.db.prepare('UPDATE host_records SET amount_fen = 1 WHERE payment_id = ?').run(r.paymentId),
    ).toThrow(/append-only/);
    expect(() => f.db.prepare('DELETE FROM host_legs').run()).toThrow(/append-only/);
  });
});
