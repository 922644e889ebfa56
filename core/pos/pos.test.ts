import { describe, expect, it } from 'vitest';
import { openPosSystem, type PosSystem } from './pos-system.ts';
import { resolveCard } from '../card/wallet.ts';
import { parseProfile, type CardProfile, type CardProfileInput } from '../card/profile.ts';
import { fixedClock } from '../time.ts';
import { fromHex, toHex } from '../card/hex.ts';
import type { VirtualReader } from '../../device/virtual-reader.ts';
import { HostError, type PaymentMethod } from '../host/types.ts';
import { renderMessage } from '../../state-machines/messages.ts';

/** The till end to end: real card in the in-process reader, in-process host, both ledgers. */
const NOW = '2026-11-26T02:00:00Z'; // 10:00 in Beijing

function system(extra: Partial<Parameters<typeof openPosSystem>[0]> = {}) {
  const clock = fixedClock(NOW);
  const pos = openPosSystem({ dbPath: ':memory:', clock, hostTimeoutMs: 100, ...extra });
  pos.terminal.start();
  return { pos, clock };
}

function profile(id: string, change?: (p: CardProfileInput) => void): CardProfile {
  const p = structuredClone(resolveCard(id).profile) as CardProfileInput;
  change?.(p);
  return parseProfile(p, id);
}

/** One payment at the till; returns what the till ended with. */
async function pay(
  pos: PosSystem,
  p: CardProfile,
  amountFen: number,
  pin: string,
  method: PaymentMethod = 'medical',
) {
  const t = pos.terminal;
  const reader = pos.reader as VirtualReader;
  reader.insert(pos.register(p));
  await t.settled();
  if (t.snapshot.matches('session')) {
    t.send({ type: 'AMOUNT_ENTERED', amountFen, method });
    await t.settled();
  }
  if (/awaiting(Pin|Password)/.test(t.stateName())) {
    t.send({ type: 'PIN_ENTERED', pin });
    await t.settled();
  }
  const message = t.message();
  const last = t.snapshot.context.last;
  reader.remove();
  await t.settled();
  return {
    result: last?.result ?? 'refused',
    message,
    text: renderMessage(message),
    outcome: last?.outcome ?? null,
  };
}

const balances = (pos: PosSystem, p: CardProfile) => {
  pos.register(p);
  return pos.store.balances(p.card.number);
};

/** Σ card accounts + merchant settlement: constant under payments, refunds, reversals and carry-over. */
function cardsPlusMerchant(pos: PosSystem): number {
  const row = pos.store.db
    .prepare("SELECT SUM(balance_fen) AS s FROM accounts WHERE card_id IS NOT NULL OR kind = 'merchant'")
    .get() as { s: number | null };
  return row.s ?? 0;
}

describe('the till, end to end', () => {
  it('R1.3: a gen 3 payment of 12.50: PSAM, card PIN, debit from 95000, receipt in Chinese saved with it', async () => {
    const { pos } = system();
    const p = resolveCard('gen3-active').profile;
    const before = balances(pos, p);
    const r = await pay(pos, p, 1250, '258014');
    expect(r.result).toBe('paid');
    expect(balances(pos, p).medicalCurrent).toBe(before.medicalCurrent! - 1250);
    const receipt = r.outcome!.receiptText;
    for (const text of [
      '商户名称',
      '终端编号',
      'T0001',
      '¥12.50',
      '医保当年(95000)',
      '95000 余额',
      '交易流水号',
      r.outcome!.paymentId,
      '交易时间        2026-11-26 10:00:00',
    ]) {
      expect(receipt).toContain(text);
    }
    expect(receipt).not.toContain(p.card.number); // masked
    expect(receipt).toContain('C44**0048');
    expect(pos.ledger.payment(r.outcome!.paymentId)!.receiptText).toBe(receipt);
    pos.close();
  });

  it('R1.4: the initial PIN is refused (初始密码不能交易); once the PIN is changed the card pays', async () => {
    const { pos } = system();
    const p = resolveCard('gen3-initial-pin').profile;
    const refused = await pay(pos, p, 1250, '123456');
    expect(refused.result).toBe('declined');
    expect(refused.text).toContain('初始密码不能交易');
    // The holder changes the PIN (at the bank counter, through the card's CHANGE PIN).
    const card = pos.register(p);
    card.powerOn();
    card.transmit(fromHex('00A404000F7378312E73682EC9E7BBE1B1A3D5CF'));
    expect(toHex(card.transmit(fromHex('805E010007123456FF864209')))).toBe('9000');
    const paid = await pay(pos, p, 1250, '864209');
    expect(paid.result).toBe('paid');
    pos.close();
  });

  it('R1.1: a gen 1 card is declined and told to apply for a gen 3 card', async () => {
    const { pos } = system();
    const r = await pay(pos, resolveCard('gen1').profile, 1250, '000000');
    expect(r.result).toBe('declined');
    expect(r.text).toContain('申领三代社保卡');
    pos.close();
  });

  it('R1.2: gen 2 uses one transaction password for the medical and the reserve account, checked online', async () => {
    const { pos } = system();
    const p = resolveCard('gen2').profile;
    const before = balances(pos, p);
    expect((await pay(pos, p, 500, '246810', 'medical')).result).toBe('paid');
    expect((await pay(pos, p, 700, '246810', 'reserve')).result).toBe('paid');
    expect(balances(pos, p)).toEqual({
      reserve: before.reserve! - 700,
      medicalCurrent: before.medicalCurrent! - 500,
      medicalPrior: before.medicalPrior,
    });
    const wrong = await pay(pos, p, 500, '111111');
    expect(wrong.text).toBe('交易密码错误，还可尝试 2 次');
    pos.close();
  });

  it('R1.2: with the host down a gen 2 payment is declined, saying why', async () => {
    const { pos } = system({ link: 'down' });
    const r = await pay(pos, resolveCard('gen2').profile, 500, '246810');
    expect(r.result).toBe('declined');
    expect(r.text).toContain('主机不可达');
    expect(r.text).toContain('联机');
    pos.close();
  });

  it('R1.3: with the host down a gen 3 payment is taken offline, forwarded once when the link returns', async () => {
    const { pos, clock } = system({ link: 'down' });
    const p = resolveCard('gen3-active').profile;
    const before = balances(pos, p);
    const r = await pay(pos, p, 2000, '258014');
    expect(r.result).toBe('paid');
    expect(r.outcome!.mode).toBe('offline');
    expect(r.outcome!.receiptText).toContain('脱机');
    expect(balances(pos, p)).toEqual(before); // the host has not seen it yet
    expect(pos.ledger.pendingCount()).toBe(1);
    expect((await pos.sync()).sent).toBe(0); // still down: retried later
    pos.host.setLink('up');
    clock.advance(60_000); // the forwarder's next attempt is due
    const first = await pos.sync();
    const second = await pos.sync();
    expect([first.sent, second.sent]).toEqual([1, 0]);
    expect(balances(pos, p).medicalCurrent).toBe(before.medicalCurrent! - 2000);
    expect((await pos.host.records('T0001')).length).toBe(1);
    expect(pos.ledger.reconcile(await pos.host.records('T0001')).agree).toBe(true);
    pos.close();
  });

  it('replay of the forward queue twice changes nothing', async () => {
    const { pos } = system({ link: 'down' });
    const p = resolveCard('gen3-active').profile;
    await pay(pos, p, 100, '258014');
    await pay(pos, p, 200, '258014');
    pos.host.setLink('up');
    await pos.sync();
    const after = {
      balances: balances(pos, p),
      records: (await pos.host.records('T0001')).length,
      journal: pos.store.ledger.journal().length,
    };
    await pos.sync();
    // Even entries re-sent by hand are applied once by the host.
    for (const q of pos.ledger.forwardQueue()) {
      const payment = pos.ledger.payment(q.paymentId)!;
      await pos.host.forward({
        paymentId: payment.paymentId,
        terminalId: 'T0001',
        merchantId: pos.ledger.merchantId,
        cardId: payment.cardId,
        method: payment.method,
        amountFen: payment.amountFen,
        split: payment.split,
        createdAt: payment.createdAt,
        mode: 'offline',
      });
    }
    expect({
      balances: balances(pos, p),
      records: (await pos.host.records('T0001')).length,
      journal: pos.store.ledger.journal().length,
    }).toEqual(after);
    pos.close();
  });

  it('R4: current year first, then prior year; what they cannot cover is self-pay on the receipt', async () => {
    const { pos } = system();
    const p = resolveCard('gen3-active').profile; // 95000 860.00, 95001 120.50
    const r = await pay(pos, p, 100000, '258014');
    expect(r.outcome!.split).toEqual({
      medicalCurrentFen: 86000,
      medicalPriorFen: 12050,
      reserveFen: 0,
      selfPayFen: 1950,
    });
    expect(r.outcome!.receiptText).toContain('个人自付(现金) ¥19.50');
    expect(balances(pos, p)).toMatchObject({ medicalCurrent: 0, medicalPrior: 0 });
    pos.close();
  });

  it('R4: the order is a setting: prior year first', async () => {
    const { pos } = system({ medicalOrder: 'prior-first' });
    const r = await pay(pos, resolveCard('gen3-active').profile, 20000, '258014');
    expect(r.outcome!.split).toMatchObject({ medicalPriorFen: 12050, medicalCurrentFen: 7950 });
    pos.close();
  });

  it('R4: with the decline setting a shortfall declines the payment and moves nothing', async () => {
    const { pos } = system({ shortfall: 'decline' });
    const p = resolveCard('gen3-active').profile;
    const before = balances(pos, p);
    const r = await pay(pos, p, 100000, '258014');
    expect(r.result).toBe('declined');
    expect(r.text).toContain('余额不足');
    expect(balances(pos, p)).toEqual(before);
    pos.close();
  });

  it('R4.1: a card never funded has no 95000; the first funding creates it and it pays', async () => {
    const { pos } = system();
    const p = profile('gen3-active', (x) => {
      x.accounts = { reserveFen: 1000 };
    });
    pos.register(p);
    expect(balances(pos, p).medicalCurrent).toBeNull();
    const cash = await pay(pos, p, 500, '258014');
    expect(cash.outcome!.split.selfPayFen).toBe(500);
    pos.store.ledger.fund(p.card.number, 'medical_current', 30000, 'funding-2026-1');
    expect(balances(pos, p).medicalCurrent).toBe(30000);
    expect((await pay(pos, p, 500, '258014')).outcome!.split.medicalCurrentFen).toBe(500);
    pos.close();
  });

  it('R4.2: on 21 June 95000 carries over into 95001; run twice it moves the money once; payments then draw 95001', async () => {
    const { pos, clock } = system();
    const p = resolveCard('gen3-initial-pin').profile; // 95000 500.00, no 95001 yet
    const q = resolveCard('gen3-active').profile;
    pos.register(p);
    pos.register(q);
    const total = cardsPlusMerchant(pos);
    clock.set('2027-06-21T00:30:00+08:00');
    const first = pos.host.runCarryOver();
    const second = pos.host.runCarryOver();
    expect(first.reduce((s, r) => s + r.movedFen, 0)).toBe(50000 + 86000);
    expect(second.reduce((s, r) => s + r.movedFen, 0)).toBe(0);
    expect(balances(pos, p)).toMatchObject({ medicalCurrent: 0, medicalPrior: 50000 });
    expect(cardsPlusMerchant(pos)).toBe(total);
    const r = await pay(pos, q, 1000, '258014');
    expect(r.outcome!.split).toMatchObject({ medicalCurrentFen: 0, medicalPriorFen: 1000 });
    pos.close();
  });

  it('R4.2: the terminal’s balance list carries over too, so an offline payment after 21 June draws 95001', async () => {
    const { pos, clock } = system();
    const q = resolveCard('gen3-active').profile;
    pos.register(q);
    clock.set('2027-06-22T09:00:00+08:00');
    pos.host.setLink('down');
    const r = await pay(pos, q, 1000, '258014');
    expect(r.outcome!.mode).toBe('offline');
    expect(r.outcome!.split).toMatchObject({ medicalCurrentFen: 0, medicalPriorFen: 1000 });
    pos.host.setLink('up');
    await pos.sync();
    expect(pos.ledger.reconcile(await pos.host.records('T0001')).agree).toBe(true);
    pos.close();
  });

  it('refunds (退费) are new entries pointing at the original; settlement nets them; reconciliation agrees', async () => {
    const { pos } = system();
    const p = resolveCard('gen3-active').profile;
    const before = balances(pos, p);
    const r = await pay(pos, p, 3000, '258014');
    const refund = await pos.refund(r.outcome!.paymentId, 1000);
    expect(refund).toMatchObject({ kind: 'refund', refPaymentId: r.outcome!.paymentId, amountFen: 1000 });
    expect(refund.receiptText).toContain('退费');
    expect(balances(pos, p).medicalCurrent).toBe(before.medicalCurrent! - 2000);
    const s = pos.ledger.settlement('2026-11-26');
    expect(s).toMatchObject({ payments: 1, refunds: 1, totalFen: 2000 });
    await expect(pos.refund(r.outcome!.paymentId, 2500)).rejects.toThrow();
    expect(pos.ledger.reconcile(await pos.host.records('T0001')).agree).toBe(true);
    pos.close();
  });

  it('conservation: Σ card balances + merchant settlement stays constant; both books balance', async () => {
    const { pos } = system();
    const ids = ['gen2', 'gen3-active', 'gen3-hong-kong'];
    for (const id of ids) pos.register(resolveCard(id).profile);
    const total = cardsPlusMerchant(pos);
    await pay(pos, resolveCard('gen2').profile, 1234, '246810');
    await pay(pos, resolveCard('gen2').profile, 999, '246810', 'reserve');
    const r = await pay(pos, resolveCard('gen3-active').profile, 100000, '258014'); // with self-pay
    await pay(pos, resolveCard('gen3-hong-kong').profile, 4321, '375168');
    await pos.refund(r.outcome!.paymentId, 5000);
    pos.host.setLink('down');
    await pay(pos, resolveCard('gen3-hong-kong').profile, 100, '375168');
    pos.host.setLink('up');
    await pos.sync();
    expect(cardsPlusMerchant(pos)).toBe(total);
    expect(pos.store.ledger.checkConsistency()).toEqual([]);
    expect(pos.ledger.checkBalanced()).toMatchObject({ balanced: true, totalFen: 0 });
    expect(pos.ledger.reconcile(await pos.host.records('T0001')).agree).toBe(true);
    pos.close();
  });

  it('in-process, the host applies a payment and the terminal records it in one commit: a failure undoes both', async () => {
    const { pos } = system();
    const p = resolveCard('gen3-active').profile;
    const before = balances(pos, p);
    const request = {
      paymentId: 'T0001-test-1',
      terminalId: 'T0001',
      merchantId: pos.ledger.merchantId,
      cardId: p.card.number,
      method: 'medical' as const,
      amountFen: 500,
      split: { medicalCurrentFen: 0, medicalPriorFen: 0, reserveFen: 0, selfPayFen: 0 },
      createdAt: new Date().toISOString(),
      mode: 'online' as const,
    };
    await expect(
      pos.host.pay(request, () => {
        throw new Error('the terminal could not write its books');
      }),
    ).rejects.toThrow(/could not write/);
    expect(balances(pos, p)).toEqual(before);
    expect(await pos.host.records('T0001')).toEqual([]);
    let seen: number | null = null;
    await pos.host.pay(request, (record, after) => void (seen = after.medicalCurrent));
    expect(seen).toBe(before.medicalCurrent! - 500);
    pos.close();
  });

  it('a debit that times out after the host applied it is reversed; the reversal is owed until the host confirms it', async () => {
    let link: { down: boolean } = { down: false };
    const { pos } = system({
      wrapHost: (h) =>
        Object.assign(Object.create(h) as typeof h, {
          // The host applies the payment, but its answer is lost on the way back.
          async pay(r: Parameters<typeof h.pay>[0]) {
            await h.pay(r);
            throw new HostError('HOST_TIMEOUT', 'no answer in time');
          },
          async reverse(...a: Parameters<typeof h.reverse>) {
            if (link.down) throw new HostError('HOST_DOWN', 'link down');
            return h.reverse(...a);
          },
        }),
    });
    const p = resolveCard('gen2').profile;
    const before = balances(pos, p);
    const r = await pay(pos, p, 1000, '246810');
    expect(r.result, r.text).toBe('reversed');
    expect(balances(pos, p)).toEqual(before);
    const rec = await pos.reconcile();
    expect(rec.agree).toBe(true);
    expect(rec.timedOutReversed.length).toBe(1);

    // Now the link is down when the reversal is due: it is kept and sent by the next sync.
    link = { down: true };
    const r2 = await pay(pos, p, 700, '246810');
    expect(r2.message.code).toBe('REVERSAL_QUEUED');
    expect(balances(pos, p).medicalCurrent).toBe(before.medicalCurrent! - 700);
    expect((await pos.reconcile()).agree).toBe(false);
    link = { down: false };
    const synced = await pos.sync();
    expect(synced.reversalsSettled).toBe(1);
    expect(balances(pos, p)).toEqual(before);
    expect((await pos.reconcile()).agree).toBe(true);
    pos.close();
  });

  it('cards refused at the till: expired, loss-reported, PIN blocked', async () => {
    const { pos } = system();
    expect((await pay(pos, resolveCard('gen3-expired').profile, 100, '604518')).text).toContain('已过有效期');
    expect((await pay(pos, resolveCard('gen3-loss-reported').profile, 100, '913562')).text).toContain('挂失');
    expect((await pay(pos, resolveCard('gen3-pin-blocked').profile, 100, '731904')).text).toContain('锁定');
    pos.close();
  });
});
