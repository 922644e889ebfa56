import { describe, expect, it } from 'vitest';
import { PASSWORD, hostFixture, offline, payment } from '../../test/harness/host/test-support.ts';

describe('host link', () => {
  it('link down → HOST_DOWN at once for every method, and nothing changes', async () => {
    // Start on the eve of 21 June, so that even a due carry-over would show up as a change.
    const f = hostFixture({}, '2025-06-20T02:00:00.000Z');
    const card = f.card('A00000001', { reserve: 5_000, current: 3_000 });
    const paid = await f.host.pay(payment(card, 1_000));
    f.clock.set('2025-06-21T02:00:00.000Z');
    f.host.setLink('down');
    expect(f.host.link).toBe('down');
    const before = f.snapshot();

    const t0 = Date.now();
    const calls: Promise<unknown>[] = [
      f.host.verifyPassword(card, '000000'),
      f.host.balances(card),
      f.host.cardStatus(card),
      f.host.pay(payment(card, 500)),
      f.host.forward(offline(card, { medicalCurrentFen: 500 })),
      f.host.reverse('rev-1', paid.paymentId, '2025-06-21T02:00:00.000Z'),
      f.host.refund('ref-1', paid.paymentId, 100, '2025-06-21T02:00:00.000Z'),
      f.host.records('T0001'),
    ];
    for (const c of calls) await expect(c).rejects.toMatchObject({ code: 'HOST_DOWN' });
    expect(Date.now() - t0).toBeLessThan(40);
    expect(f.snapshot()).toEqual(before);
  });

  it('slow → HOST_TIMEOUT after timeoutMs, the request not applied; back up → works', async () => {
    const f = hostFixture({ timeoutMs: 50, slowDelayMs: 5_000 });
    const card = f.card('A00000001', { current: 3_000 });
    f.host.setLink('slow');
    const before = f.snapshot();
    const request = payment(card, 1_000);

    const t0 = Date.now();
    await expect(f.host.pay(request)).rejects.toMatchObject({ code: 'HOST_TIMEOUT' });
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(45);
    expect(waited).toBeLessThan(1_000);
    await expect(f.host.verifyPassword(card, PASSWORD)).rejects.toMatchObject({ code: 'HOST_TIMEOUT' });
    expect(f.snapshot()).toEqual(before);

    f.host.setLink('up');
    const r = await f.host.pay(request); // the terminal's retry, same paymentId
    expect(r.split.medicalCurrentFen).toBe(1_000);
    expect(await f.host.balances(card)).toMatchObject({ medicalCurrent: 2_000 });
  });

  it('slow but within the timeout → the answer just comes late', async () => {
    const f = hostFixture({ timeoutMs: 200, slowDelayMs: 30 });
    const card = f.card('A00000001', { current: 3_000 });
    f.host.setLink('slow');
    const t0 = Date.now();
    expect(await f.host.balances(card)).toMatchObject({ medicalCurrent: 3_000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
  });

  it("timedOutRequests 'applied': the request is applied but the answer lost; the retry is safe", async () => {
    const f = hostFixture({ timeoutMs: 20, slowDelayMs: 5_000, timedOutRequests: 'applied' });
    const card = f.card('A00000001', { current: 3_000 });
    const request = offline(card, { medicalCurrentFen: 1_000 });
    f.host.setLink('slow');
    await expect(f.host.forward(request)).rejects.toMatchObject({ code: 'HOST_TIMEOUT' });
    expect(f.ledger.balances(card).medicalCurrent).toBe(2_000);

    f.host.setLink('up');
    const r = await f.host.forward(request);
    expect(r.paymentId).toBe(request.paymentId);
    expect(f.ledger.balances(card).medicalCurrent).toBe(2_000);
    expect(f.ledger.journal({ txnId: request.paymentId })).toHaveLength(2);
  });

  it('refuses an unknown link state', () => {
    const f = hostFixture();
    expect(() => f.host.setLink('sideways' as never)).toThrow(TypeError);
    expect(f.host.link).toBe('up');
  });
});
