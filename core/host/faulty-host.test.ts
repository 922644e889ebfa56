import { afterEach, describe, expect, it } from 'vitest';
import { HostFaultError, withHostFaults } from './faulty-host.ts';
import { HostError } from './types.ts';
import { hostFixture, offline, payment, PASSWORD } from '../../test/harness/host/test-support.ts';
import { faultyTill, type FaultyTill } from '../../test/harness/faults/test-support.ts';

describe('withHostFaults on its own', () => {
  it('without a fault, forwards every call unchanged (link, payments, enquiries)', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { current: 5_000, reserve: 1_000 });
    const host = withHostFaults(f.host);
    expect(host.fault).toBeNull();
    expect(host.link).toBe('up');
    host.setLink('down');
    expect(f.host.link).toBe('down');
    host.setLink('up');
    let applied = 0;
    const r = await host.pay(payment(card, 1_200), () => applied++);
    expect(applied).toBe(1);
    expect(await host.balances(card)).toMatchObject({ medicalCurrent: 3_800 });
    expect(await host.cardStatus(card)).toBe('active');
    expect(await host.verifyPassword(card, PASSWORD)).toEqual({ ok: true });
    await host.refund('ref-1', r.paymentId, 200, r.createdAt);
    expect((await host.records('T0001')).map((x) => x.kind)).toEqual(['payment', 'refund']);
  });

  it("'error': every request that checks or applies is answered with the error; nothing is applied; enquiries still work", async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { current: 5_000, reserve: 1_000 });
    const host = withHostFaults(f.host);
    const paid = await host.pay(payment(card, 500));
    await host.balances(card);
    host.setFault({ kind: 'error' });
    expect(host.fault).toEqual({ kind: 'error', code: 'DECLINED' });
    const before = f.snapshot();
    const calls = [
      host.verifyPassword(card, PASSWORD),
      host.pay(payment(card, 100)),
      host.forward(offline(card, { medicalCurrentFen: 100 })),
      host.reverse('rev-1', paid.paymentId, paid.createdAt),
      host.refund('ref-1', paid.paymentId, 100, paid.createdAt),
    ];
    for (const call of calls) {
      await expect(call).rejects.toBeInstanceOf(HostFaultError);
      await expect(call).rejects.toMatchObject({ code: 'DECLINED', message: /declined by the host/ });
    }
    expect(f.snapshot()).toEqual(before);
    expect(await host.cardStatus(card)).toBe('active');
    expect((await host.balances(card)).medicalCurrent).toBe(4_500);
    expect(await host.records('T0001')).toHaveLength(1);

    host.setFault({ kind: 'error', code: 'INTERNAL', message: '系统故障 96' });
    await expect(host.pay(payment(card, 100))).rejects.toMatchObject({
      code: 'INTERNAL',
      message: '系统故障 96',
    });
    // A link that is down stays down: nothing reaches the host to answer with an error.
    host.setLink('down');
    await expect(host.pay(payment(card, 100))).rejects.toMatchObject({ code: 'HOST_DOWN' });
    host.setLink('up');
    host.setFault(null);
    await expect(host.pay(payment(card, 100))).resolves.toMatchObject({ amountFen: 100 });
  });

  it("'drop-after-apply': the payment is applied once but the answer is lost (HOST_TIMEOUT); a reversal goes through", async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { current: 5_000 });
    const host = withHostFaults(f.host);
    host.setFault({ kind: 'drop-after-apply' });
    const req = payment(card, 700);
    let called = false;
    const e = await host.pay(req, () => (called = true)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HostError);
    expect(e).toMatchObject({ code: 'HOST_TIMEOUT' });
    expect(called).toBe(false); // the terminal never hears of it
    expect((await host.balances(card)).medicalCurrent).toBe(4_300);
    expect((await host.records('T0001')).map((r) => r.paymentId)).toEqual([req.paymentId]);
    // A retry with the same id is a replay: still lost, still applied once.
    await expect(host.pay(req)).rejects.toMatchObject({ code: 'HOST_TIMEOUT' });
    expect((await host.balances(card)).medicalCurrent).toBe(4_300);
    const rev = await host.reverse(`${req.paymentId}-R`, req.paymentId, req.createdAt);
    expect(rev.kind).toBe('reversal');
    expect((await host.balances(card)).medicalCurrent).toBe(5_000);
  });

  it('refuses faults it does not know', () => {
    const host = withHostFaults(hostFixture().host);
    expect(() => host.setFault({ kind: 'nope' } as never)).toThrow(TypeError);
    expect(() => host.setFault({ kind: 'error', code: 'X' } as never)).toThrow(TypeError);
  });
});

describe('host faults at the till', () => {
  let till: FaultyTill;
  afterEach(() => till?.close());

  it("'error': a gen 2 payment is declined with the host's reason; nothing charged, no password try spent", async () => {
    till = faultyTill();
    await till.insert('gen2');
    const before = till.money('gen2');
    till.faults.setHostFault({ kind: 'error' });
    const r = await till.pay(500, 'gen2');
    expect(r.result).toBe('declined');
    expect(r.message.code).toBe('PAYMENT_DECLINED');
    expect(String(r.message.params?.reason)).toContain('declined by the host');
    expect(till.screen().zh).toContain('交易被拒绝');
    expect(till.money('gen2')).toEqual(before);
    const failures = till.pos.store.db
      .prepare('SELECT password_failures FROM bank_secrets WHERE card_id = ?')
      .pluck()
      .get(till.profile('gen2').card.number);
    expect(failures).toBe(0);
  });

  it("'error': a gen 3 medical payment is declined too — the host answered, so the till does not go offline", async () => {
    till = faultyTill();
    await till.insert('gen3-active');
    const before = till.money('gen3-active');
    till.faults.setHostFault({ kind: 'error', code: 'INTERNAL' });
    const r = await till.pay(1250, 'gen3-active');
    expect(r.result).toBe('declined');
    expect(r.message.code).toBe('PAYMENT_DECLINED');
    expect(String(r.message.params?.reason)).toContain('internal error');
    expect(till.money('gen3-active')).toEqual(before);
    expect(till.pos.ledger.pendingCount()).toBe(0);
    // Healed: the same card pays at once.
    till.faults.setHostFault(null);
    await till.remove();
    await till.insert('gen3-active');
    expect((await till.pay(1250, 'gen3-active')).approved).toBe(true);
  });

  it("'drop-after-apply', gen 3 medical: the till takes it offline with the same id, sync replays it, charged once, books agree", async () => {
    till = faultyTill();
    await till.insert('gen3-active');
    const before = till.money('gen3-active');
    till.faults.setHostFault({ kind: 'drop-after-apply' });
    const r = await till.pay(1250, 'gen3-active');
    expect(r.approved).toBe(true);
    expect(r.message.code).toBe('APPROVED_OFFLINE');
    const id = r.outcome!.paymentId;
    const after = till.money('gen3-active');
    // Applied at the host once (while the answer was lost), recorded once at the till, queued.
    expect(after.hostRecords).toBe(before.hostRecords + 1);
    expect(after.terminalPayments).toBe(before.terminalPayments + 1);
    const total = (b: typeof before.balances) => (b.medicalCurrent ?? 0) + (b.medicalPrior ?? 0);
    expect(total(after.balances)).toBe(total(before.balances) - 1250);
    expect(till.pos.ledger.queueEntry(id)?.state).toBe('pending');

    till.faults.setHostFault(null);
    const sync = await till.pos.sync({ now: new Date(till.clock().getTime() + 3_600_000) });
    expect(sync.sentIds).toEqual([id]);
    const rec = await till.pos.reconcile();
    expect(rec.mismatches).toEqual([]);
    expect(rec.agree).toBe(true);
    // Still charged once.
    expect(total(till.money('gen3-active').balances)).toBe(total(before.balances) - 1250);
  });

  it("'drop-after-apply', gen 2: the till reverses the timed-out debit; nothing charged; reconciliation nets it", async () => {
    till = faultyTill();
    await till.insert('gen2');
    const before = till.money('gen2');
    till.faults.setHostFault({ kind: 'drop-after-apply' });
    const r = await till.pay(500, 'gen2');
    expect(r.result).toBe('reversed');
    expect(r.message.code).toBe('REVERSED');
    const after = till.money('gen2');
    expect(after.balances).toEqual(before.balances);
    expect(after.terminalPayments).toBe(before.terminalPayments);
    expect(after.hostRecords).toBe(before.hostRecords + 2); // the payment and its reversal
    const rec = await till.pos.reconcile();
    expect(rec.agree).toBe(true);
    expect(rec.timedOutReversed).toHaveLength(1);
  });
});
