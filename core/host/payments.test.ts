import { describe, expect, it } from 'vitest';
import { InProcessHost } from './in-process-host.ts';
import { hostFixture, offline, payment } from '../../test/harness/host/test-support.ts';

describe('online payments (pay)', () => {
  it('R4: current year first by default; prior-first when configured', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { current: 3_000, prior: 5_000 });
    const r = await f.host.pay(payment(card, 4_000));
    expect(r.split).toEqual({
      medicalCurrentFen: 3_000,
      medicalPriorFen: 1_000,
      reserveFen: 0,
      selfPayFen: 0,
    });
    expect(await f.host.balances(card)).toMatchObject({ medicalCurrent: 0, medicalPrior: 4_000 });

    const g = hostFixture({ medicalOrder: 'prior-first' });
    const other = g.card('A00000001', { current: 3_000, prior: 5_000 });
    const s = await g.host.pay(payment(other, 6_000));
    expect(s.split).toEqual({
      medicalCurrentFen: 1_000,
      medicalPriorFen: 5_000,
      reserveFen: 0,
      selfPayFen: 0,
    });
    expect(await g.host.balances(other)).toMatchObject({ medicalCurrent: 2_000, medicalPrior: 0 });
  });

  it('R4: a shortfall is self-pay by default: the till takes it in cash, the merchant gets the covered part', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { current: 6_000, prior: 2_000 });
    const r = await f.host.pay(payment(card, 10_000));
    expect(r.split).toEqual({
      medicalCurrentFen: 6_000,
      medicalPriorFen: 2_000,
      reserveFen: 0,
      selfPayFen: 2_000,
    });
    expect(r.advancedFen).toBe(0);
    const lines = f.ledger.journal({ txnId: r.paymentId });
    expect(lines.map((l) => [l.accountKind, l.amountFen])).toEqual([
      ['medical_current', -6_000],
      ['medical_prior', -2_000],
      ['merchant', 8_000],
    ]);
    expect(lines.every((l) => l.kind === 'payment')).toBe(true);
  });

  it('R4: a shortfall is declined when configured, naming the shortfall in yuan, and nothing changes', async () => {
    const f = hostFixture({ shortfall: 'decline' });
    const card = f.card('A00000001', { current: 6_000, prior: 2_000 });
    await f.host.balances(card); // first use: the host records its carry-over baseline
    const before = f.snapshot();
    await expect(f.host.pay(payment(card, 10_000))).rejects.toMatchObject({
      code: 'INSUFFICIENT_FUNDS',
      message: expect.stringMatching(/short by 20\.00 yuan/),
    });
    expect(f.snapshot()).toEqual(before);
  });

  it('R4: a payment the medical accounts cannot cover at all is all self-pay and posts nothing', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { reserve: 1_000 });
    const r = await f.host.pay(payment(card, 700));
    expect(r.split).toEqual({ medicalCurrentFen: 0, medicalPriorFen: 0, reserveFen: 0, selfPayFen: 700 });
    expect(f.ledger.journal({ txnId: r.paymentId })).toEqual([]);
    const back = await f.host.refund('ref-1', r.paymentId, 700, '2025-03-10T03:00:00.000Z');
    expect(back.split.selfPayFen).toBe(700);
    expect(f.ledger.journal({ txnId: 'ref-1' })).toEqual([]);
  });

  it('the host refuses bad settings at construction', () => {
    const f = hostFixture();
    const base = { ledger: f.ledger, db: f.db, clock: f.clock };
    expect(() => new InProcessHost({ ...base, medicalOrder: 'newest' as never })).toThrow(TypeError);
    expect(() => new InProcessHost({ ...base, timeoutMs: -1 })).toThrow(RangeError);
    expect(() => new InProcessHost({ ...base, passwordRetryLimit: 0 })).toThrow(RangeError);
  });

  it('reserve payments need the whole amount in the reserve account', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { reserve: 5_000, current: 100_000 });
    const r = await f.host.pay(payment(card, 5_000, { method: 'reserve' }));
    expect(r.split).toEqual({ medicalCurrentFen: 0, medicalPriorFen: 0, reserveFen: 5_000, selfPayFen: 0 });
    await expect(f.host.pay(payment(card, 1, { method: 'reserve' }))).rejects.toMatchObject({
      code: 'INSUFFICIENT_FUNDS',
    });
    const noReserve = f.card('A00000002', { current: 100 });
    await expect(f.host.pay(payment(noReserve, 1, { method: 'reserve' }))).rejects.toMatchObject({
      code: 'INSUFFICIENT_FUNDS',
      message: expect.stringMatching(/no reserve account/),
    });
  });

  it('the same paymentId again returns the stored record and posts nothing', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { current: 3_000 });
    const request = payment(card, 1_000);
    const first = await f.host.pay(request);
    f.clock.advance(60_000);
    const again = await f.host.pay(request);
    expect(again).toEqual(first);
    expect(await f.host.forward({ ...request, mode: 'offline' })).toEqual(first);
    expect(f.ledger.journal({ txnId: request.paymentId })).toHaveLength(2);
    expect(f.ledger.balances(card).medicalCurrent).toBe(2_000);
    // Reusing the id for a different payment is a terminal bug, not a replay.
    await expect(f.host.pay({ ...request, amountFen: 999 })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
  });

  it('cards that are not active, gen 1 cards and unknown cards are refused', async () => {
    const f = hostFixture();
    const statuses = [
      ['S00000001', 'loss-reported'],
      ['S00000002', 'closed'],
      ['S00000003', 'not-activated'],
    ] as const;
    for (const [cardId, status] of statuses) {
      const card = f.card(cardId, { status, current: 1_000 });
      await expect(f.host.pay(payment(card, 100))).rejects.toMatchObject({
        code: 'CARD_NOT_USABLE',
        message: expect.stringContaining(status),
      });
      await expect(f.host.cardStatus(card)).resolves.toBe(status);
    }
    const gen1 = f.card('G10000001', { generation: 1 });
    await expect(f.host.pay(payment(gen1, 100))).rejects.toMatchObject({
      code: 'CARD_NOT_USABLE',
      message: expect.stringMatching(/gen 1.*R1\.1/),
    });
    await expect(f.host.pay(payment('Z99999999', 100))).rejects.toMatchObject({ code: 'UNKNOWN_CARD' });
    await expect(f.host.cardStatus('Z99999999')).rejects.toMatchObject({ code: 'UNKNOWN_CARD' });
    await expect(f.host.balances('Z99999999')).rejects.toMatchObject({ code: 'UNKNOWN_CARD' });
  });

  it('money is integer fen: bad amounts are INVALID_REQUEST naming the field', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { current: 3_000 });
    for (const amountFen of [12.5, -1, 0, 2 ** 53, Number.NaN, '100' as unknown as number]) {
      await expect(f.host.pay(payment(card, amountFen))).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
        message: expect.stringMatching(/^amountFen /),
      });
    }
    await expect(
      f.host.forward(
        offline(
          card,
          { medicalCurrentFen: 100 },
          { split: { medicalCurrentFen: 1.5, medicalPriorFen: 0, reserveFen: 0, selfPayFen: 0 } },
        ),
      ),
    ).rejects.toMatchObject({ message: expect.stringMatching(/^split\.medicalCurrentFen /) });
    await expect(f.host.pay(payment(card, 100, { paymentId: '' }))).rejects.toMatchObject({
      message: expect.stringMatching(/^paymentId /),
    });
    await expect(f.host.pay(payment(card, 100, { createdAt: 'yesterday' }))).rejects.toMatchObject({
      message: expect.stringMatching(/^createdAt /),
    });
    expect(f.ledger.balances(card).medicalCurrent).toBe(3_000);
  });
});

describe('offline payments (forward)', () => {
  it('forward applied twice → applied once (replay-safe)', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { current: 3_000, prior: 1_000 });
    const request = offline(card, { medicalCurrentFen: 2_500, selfPayFen: 300 });
    const first = await f.host.forward(request);
    const second = await f.host.forward(request);
    expect(second).toEqual(first);
    expect(first).toMatchObject({ kind: 'payment', amountFen: 2_800, advancedFen: 0, refPaymentId: null });
    expect(first.split).toEqual(request.split);
    expect(f.ledger.balances(card)).toMatchObject({ medicalCurrent: 500, medicalPrior: 1_000 });
    expect(f.ledger.journal({ txnId: request.paymentId })).toHaveLength(2);
  });

  it('forward with stale balances → the centre advances the rest (advancedFen), the payment never reverts', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { current: 3_000, prior: 1_000 });
    // Taken offline at one till against the balances the card showed...
    const atTill = offline(card, { medicalCurrentFen: 3_000, medicalPriorFen: 1_000 });
    // ...while another payment went through online first.
    await f.host.pay(payment(card, 3_500));
    const r = await f.host.forward(atTill);
    expect(r.split).toEqual(atTill.split);
    expect(r.advancedFen).toBe(3_500);
    expect(f.ledger.balances(card)).toMatchObject({ medicalCurrent: 0, medicalPrior: 0 });
    const lines = f.ledger.journal({ txnId: atTill.paymentId });
    expect(lines.map((l) => [l.accountKind, l.amountFen])).toEqual([
      ['medical_funding', -3_000],
      ['medical_prior', -500],
      ['medical_funding', -500],
      ['merchant', 4_000],
    ]);
    expect(f.total()).toBe(0);
    expect(f.ledger.checkConsistency()).toEqual([]);
  });

  it('the card status is recorded, not re-checked, for a forwarded offline payment', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { current: 3_000 });
    f.ledger.setCardStatus(card, 'loss-reported');
    const request = offline(card, { medicalCurrentFen: 1_000 });
    const r = await f.host.forward(request);
    expect(r.amountFen).toBe(1_000);
    expect(
      f.db.prepare('SELECT card_status, mode FROM host_records WHERE payment_id = ?').get(r.paymentId),
    ).toEqual({
      card_status: 'loss-reported',
      mode: 'offline',
    });
  });

  it('a split that does not add up to the amount is refused', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { current: 3_000, reserve: 3_000 });
    const bad = { ...offline(card, { medicalCurrentFen: 1_000 }), amountFen: 1_200 };
    await expect(f.host.forward(bad)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/sum to 1000 fen, not amountFen 1200/),
    });
    const mixed = offline(card, { medicalCurrentFen: 100, reserveFen: 100 }, { method: 'reserve' });
    await expect(f.host.forward(mixed)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('an offline reserve payment short of money is advanced by the bank', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { reserve: 200 });
    const r = await f.host.forward(offline(card, { reserveFen: 500 }, { method: 'reserve' }));
    expect(r.advancedFen).toBe(300);
    expect(f.ledger.journal({ txnId: r.paymentId }).map((l) => [l.accountKind, l.amountFen])).toEqual([
      ['reserve', -200],
      ['bank_funding', -300],
      ['merchant', 500],
    ]);
  });
});
