import { afterEach, describe, expect, it } from 'vitest';
import { openLab, type Lab } from '../../test/harness/reader-interface/session.ts';
import { RC } from './codes.ts';
import { parsePayInfo } from './debit-functions.ts';

/** iDoDebit through the till's payment path, and iReadDebitRecord agreeing with the ledger (R1, R4). */
let lab: Lab | null = null;
afterEach(() => {
  lab?.pos.close();
  lab = null;
});
const open = (...a: Parameters<typeof openLab>) => (lab = openLab(...a));
const fieldsOf = (s: string) => s.slice(0, -1).split('|');

async function debit(l: Lab, pPayInfo: string, ...pins: string[]) {
  const pCardInfo = await l.cardInfo();
  if (pins.length) l.pad.enter(...pins);
  return l.ri.call({ function: 'iDoDebit', iType: 1, pCardInfo, pPayInfo });
}

describe('iDoDebit', () => {
  it('R1.3: a gen 3 medical debit with the card PIN, 95000 first; the record agrees with the ledger', async () => {
    const l = open('gen3-active');
    const r = await debit(l, '12.50|1|HIS-0001|', '258014');
    expect(r.code).toBe(0);
    const f = fieldsOf(r.pOutInfo);
    expect(f).toHaveLength(10);
    const [paymentId, amount, current, prior, reserve, selfPay, online, time, terminal, ref] = f;
    expect([amount, current, prior, reserve, selfPay, online, terminal, ref]).toEqual([
      '12.50',
      '12.50',
      '0.00',
      '0.00',
      '0.00',
      '1',
      'T0001',
      'HIS-0001',
    ]);
    expect(time).toBe('20261126100000');
    const booked = l.pos.ledger.payment(paymentId!);
    expect(booked).toMatchObject({ amountFen: 1250, cardId: 'C44010048', method: 'medical', mode: 'online' });
    expect(l.pos.store.balances('C44010048').medicalCurrent).toBe(86000 - 1250);

    const rec = await l.ri.call({ function: 'iReadDebitRecord', iType: 1 });
    expect(rec.code).toBe(0);
    expect(fieldsOf(rec.pOutInfo)).toEqual([
      paymentId,
      '01',
      '12.50',
      '12.50',
      '0.00',
      '0.00',
      '0.00',
      '1',
      time,
      'T0001',
      '0',
    ]);
  });

  it('R4: a debit larger than 95000 takes the rest from 95001; several records come newest first', async () => {
    const l = open('gen3-active', { settings: { debitRecordCount: 2, amountUnit: 'fen' } });
    expect((await debit(l, '1000|1|', '258014')).code).toBe(0);
    const r = await debit(l, '90000|1|', '258014');
    expect(fieldsOf(r.pOutInfo).slice(1, 6)).toEqual(['90000', '85000', '5000', '0', '0']);
    const rec = fieldsOf((await l.ri.call({ function: 'iReadDebitRecord', iType: 1 })).pOutInfo);
    expect(rec).toHaveLength(22);
    expect(rec[0]).toBe(fieldsOf(r.pOutInfo)[0]);
    expect([rec[2], rec[13]]).toEqual(['90000', '1000']);
    const ledger = l.pos.ledger.payments({ cardId: 'C44010048', kind: 'payment' });
    expect(ledger.map((p) => p.amountFen).sort((a, b) => a - b)).toEqual([1000, 90000]);
  });

  it('R1.2: a gen 2 debit checks the transaction password with the host; host down → -2301', async () => {
    const l = open('gen2');
    expect((await debit(l, '20.00|2|', '246810')).code).toBe(0);
    expect(l.pos.store.balances('B44010024').reserve).toBe(500000 - 2000);
    l.pos.host.setLink('down');
    expect((await debit(l, '20.00|2|', '246810')).code).toBe(RC.HOST_UNREACHABLE);
  });

  it('R1.3: a gen 3 medical debit goes offline with the host down (flag 0) and is queued', async () => {
    const l = open('gen3-active');
    l.pos.host.setLink('down');
    const r = await debit(l, '8.00|1|', '258014');
    expect(r.code).toBe(0);
    expect(fieldsOf(r.pOutInfo)[6]).toBe('0');
    expect(l.pos.ledger.pendingCount()).toBe(1);
  });

  it('R1.1: a gen 1 card is declined with -1', async () => {
    expect((await debit(open('gen1'), '5.00|1|')).code).toBe(RC.WRONG_CARD_TYPE);
  });

  it('R1.3, R1.4: wrong PIN -51 with tries left, initial PIN -35, cancel -31, blocked -52; nothing booked', async () => {
    const l = open('gen3-active');
    expect(await debit(l, '5.00|1|', '111111')).toMatchObject({ code: RC.WRONG_PIN, pOutInfo: '2|' });
    expect((await debit(l, '5.00|1|', 'CANCEL')).code).toBe(RC.PIN_CANCELLED);
    expect(l.pos.ledger.payments()).toHaveLength(0);
    lab!.pos.close();
    expect((await debit(open('gen3-initial-pin'), '5.00|1|', '123456')).code).toBe(RC.INITIAL_PIN);
    lab!.pos.close();
    expect((await debit(open('gen3-pin-blocked'), '5.00|1|', '731904')).code).toBe(RC.PIN_BLOCKED);
  });

  it('checks pPayInfo (-14) and pCardInfo (-22) before the card is touched', async () => {
    const l = open('gen3-active');
    const pCardInfo = await l.cardInfo();
    for (const pPayInfo of ['12.5|1|', '12.50|3|', '12.50|1', '0.00|1|', '12.50|1|bad ref!|', '|'])
      expect((await l.ri.call({ function: 'iDoDebit', iType: 1, pCardInfo, pPayInfo })).code).toBe(
        RC.BAD_PARAMETER,
      );
    const other = pCardInfo.replace('C44010048', 'C44010049');
    expect(
      (await l.ri.call({ function: 'iDoDebit', iType: 1, pCardInfo: other, pPayInfo: '1.00|1|' })).code,
    ).toBe(RC.CARD_MISMATCH);
    expect(l.pad.pending).toBe(0);
  });

  it('without a till iDoDebit and iReadDebitRecord answer -13; a card with no debit reads as 6A83', async () => {
    expect((await debit(open('gen2', { noTill: true }), '1.00|1|')).code).toBe(RC.UNSUPPORTED);
    expect((await lab!.ri.call({ function: 'iReadDebitRecord', iType: 1 })).code).toBe(RC.UNSUPPORTED);
    lab!.pos.close();
    expect((await open('gen2').ri.call({ function: 'iReadDebitRecord', iType: 1 })).code).toBe(-0x6a83);
  });
});

describe('pPayInfo', () => {
  it('reads yuan or fen into integer fen', () => {
    expect(parsePayInfo('12.50|1|', 'yuan')).toEqual({ amountFen: 1250, method: 'medical', reference: '' });
    expect(parsePayInfo('1250|2|X-1|', 'fen')).toEqual({
      amountFen: 1250,
      method: 'reserve',
      reference: 'X-1',
    });
    expect(parsePayInfo('12.50|1|', 'fen')).toMatch(/whole fen/);
  });
});
